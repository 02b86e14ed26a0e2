"""`/_emulator/...`: the emulator's controls over HTTP, for a bot or benchmark running in another process."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.phone import InvalidPhone, normalize_phone
from bot.sandbox.http_common import EMULATOR, json_response
from bot.sandbox.jsonio import BadJson, loads


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = loads(await request.read() or b"{}")
    except BadJson:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


async def inject_fault(request: web.Request) -> web.Response:
    body = await _body(request)
    faults = request.app[EMULATOR].faults
    if "latency" in body:
        faults.latency = float(body.pop("latency"))
    if body:
        try:
            faults.inject(
                str(body["endpoint"]),
                str(body["kind"]),
                status=None if body.get("status") is None else int(body["status"]),
                delay=float(body.get("delay", 0)),
                times=None if body.get("times", 1) is None else int(body.get("times", 1)),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise web.HTTPBadRequest(text=f"bad fault: {error}") from None
    return json_response({"latency": Decimal(str(faults.latency)), "pending": len(faults.pending)})


async def clear_faults(request: web.Request) -> web.Response:
    request.app[EMULATOR].faults.clear()
    return json_response({"pending": 0})


async def clock(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    if request.method == "POST":
        seconds = (await _body(request)).get("advance_seconds", 0)
        try:
            emulator.clock.advance(timedelta(seconds=float(seconds)))
        except (ValueError, TypeError) as error:
            raise web.HTTPBadRequest(text=f"bad advance_seconds: {error}") from None
    return json_response({"now": emulator.clock.now().isoformat()})


async def ledger(request: web.Request) -> web.Response:
    return json_response({"ledger": [entry.to_json() for entry in request.app[EMULATOR].ledger]})


async def reset(request: web.Request) -> web.Response:
    request.app[EMULATOR].reset()
    return json_response({"reset": True})


def _phone(value: Any) -> str:
    try:
        return normalize_phone(str(value))
    except InvalidPhone:
        raise web.HTTPBadRequest(text="bad phone") from None


async def incoming(request: web.Request) -> web.Response:
    body = await _body(request)
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal) or amount <= 0:
        raise web.HTTPBadRequest(text="amount must be a positive JSON number")
    row = request.app[EMULATOR].add_incoming(
        _phone(body.get("phone")),
        Decimal(amount),
        _phone(body.get("from")),
        body.get("comment"),
        str(body.get("currency", "RUB")),
    )
    return json_response({"txnId": row.txn_id})


async def revoke(request: web.Request) -> web.Response:
    count = request.app[EMULATOR].revoke_tgts(_phone((await _body(request)).get("phone")))
    return json_response({"revoked": count})


async def wallet(request: web.Request) -> web.Response:
    found = request.app[EMULATOR].wallets.get(request.match_info["phone"])
    if found is None:
        raise web.HTTPNotFound(text="no such wallet")
    return json_response(
        {
            "phone": found.phone,
            "identified": found.identified,
            "accounts": [account.to_json() for account in found.accounts],
            "payments": len(found.history),
        }
    )


def add_control_routes(app: web.Application) -> None:
    app.router.add_post("/_emulator/faults", inject_fault)
    app.router.add_delete("/_emulator/faults", clear_faults)
    app.router.add_get("/_emulator/clock", clock, allow_head=False)
    app.router.add_post("/_emulator/clock", clock)
    app.router.add_get("/_emulator/ledger", ledger, allow_head=False)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_post("/_emulator/incoming", incoming)
    app.router.add_post("/_emulator/revoke", revoke)
    app.router.add_get("/_emulator/wallets/{phone}", wallet, allow_head=False)
