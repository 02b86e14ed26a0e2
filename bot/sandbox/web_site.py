"""The web host (`qiwi.com`): the CAS-authenticated payment session and transfers to QIWI wallets."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.sandbox.emulator import Refused
from bot.sandbox.http_common import (
    EMULATOR,
    SESSION_COOKIE,
    BadRequest,
    endpoint,
    json_response,
    read_json_object,
    require_accept,
    require_json_content,
    unauthorized,
)

V2_JSON = "application/vnd.qiwi.v2+json"
PAYMENT_PATH = "/user/sinap/api/terms/99/payments/proxy.action"
_CLIENT_ID = re.compile(r"\d{1,20}")
_ACCOUNT = re.compile(r"\d{10}")
_PAYMENT_KEYS = frozenset({"id", "sum", "source", "paymentMethod", "comment", "fields"})
_PAYMENT_METHOD = {"type": "Account", "accountId": "643"}


@endpoint("session")
async def security_check(request: web.Request) -> web.StreamResponse:
    ticket = request.query.get("ticket", "")
    if not ticket.startswith("ST-") or len(request.query) != 1:
        raise BadRequest("exactly one query parameter: ticket=ST-...")
    cookie = request.app[EMULATOR].open_session(ticket)
    if cookie is None:
        return unauthorized()
    response = web.Response(text="<html><body>OK</body></html>", content_type="text/html")
    response.set_cookie(SESSION_COOKIE, cookie, path="/", httponly=True)
    return response


def validate_payment(body: dict[str, Any]) -> dict[str, Any]:
    """The spec's table, read as strictly as it can be: anything else is a malformed request."""
    client_id = body["id"]
    if not isinstance(client_id, str) or not _CLIENT_ID.fullmatch(client_id):
        raise BadRequest("id must be a string of 1 to 20 digits")
    total = body["sum"]
    if not isinstance(total, dict) or set(total) != {"amount", "currency"}:
        raise BadRequest("sum must be {amount, currency}")
    amount = total["amount"]
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal):
        raise BadRequest("sum.amount must be a JSON number")
    amount = Decimal(amount)
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or not isinstance(exponent, int) or exponent < -2:
        raise BadRequest("sum.amount has more than two decimals")
    if amount <= 0:
        raise BadRequest("sum.amount must be positive")
    total["amount"] = amount
    if total["currency"] != "643":
        raise BadRequest('sum.currency must be "643"')
    if body["source"] != "account_643":
        raise BadRequest('source must be "account_643"')
    if body["paymentMethod"] != _PAYMENT_METHOD or not all(
        isinstance(value, str) for value in body["paymentMethod"].values()
    ):
        raise BadRequest('paymentMethod must be {"type": "Account", "accountId": "643"}')
    if not isinstance(body["comment"], str):
        raise BadRequest("comment must be a string")
    fields = body["fields"]
    if not isinstance(fields, dict) or set(fields) != {"account"}:
        raise BadRequest("fields must be {account}")
    account = fields["account"]
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise BadRequest("fields.account must be 10 digits, the phone without the 7 prefix")
    return body


@endpoint("payment")
async def pay(request: web.Request) -> web.StreamResponse:
    require_accept(request, V2_JSON)
    require_json_content(request)
    if not request.headers.get("User-Agent", "").strip():
        raise BadRequest("a User-Agent is required")
    emulator = request.app[EMULATOR]
    wallet = emulator.session_wallet(request.cookies.get(SESSION_COOKIE, ""))
    if wallet is None:
        return unauthorized()
    body = validate_payment(await read_json_object(request, _PAYMENT_KEYS))
    try:
        answer, status = emulator.pay(wallet, body), 200
    except Refused as refusal:
        answer, status = {"code": refusal.code, "message": refusal.message}, 400
    if emulator.payment_envelope:
        envelope = {"code": {"value": "0", "_name": "NORMAL"}, "data": {"body": answer, "status": status}}
        return json_response({**envelope, "message": None, "messages": None})
    return json_response(answer, status)


def add_web_routes(app: web.Application) -> None:
    app.router.add_get("/j_spring_cas_security_check", security_check, allow_head=False)
    app.router.add_post(PAYMENT_PATH, pay)
