"""The edge host (`edge.qiwi.com`): balance, payment history and totals, each call with a fresh edge ST."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from aiohttp import web
from multidict import MultiMapping

from bot.sandbox.emulator import EDGE_SERVICE
from bot.sandbox.http_common import (
    EMULATOR,
    BadRequest,
    Unauthorized,
    edge_error,
    endpoint,
    json_response,
    require_accept,
)
from bot.sandbox.jsonio import history_amount
from bot.sandbox.wallets import SOURCES
from bot.timeutil import MSK, qiwi_datetime

_TOKEN = re.compile(r"Token (ST-\S+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}")
_SOURCE_KEY = re.compile(r"sources\[(\d+)\]")
_OPERATIONS = frozenset({"ALL", "IN", "OUT", "QIWI_CARD"})
MAX_WINDOW = timedelta(days=90)
HISTORY_SERVICE = "payment-history"


def _owner(request: web.Request) -> str:
    """The wallet of the request's edge ST, which must be the wallet in the path (otherwise 401: a ticket
    never opens someone else's wallet). The ST is used up here, whatever the outcome."""
    require_accept(request, "application/json")
    match = _TOKEN.fullmatch(request.headers.get("Authorization", ""))
    if match is None:
        raise Unauthorized
    owner = request.app[EMULATOR].redeem_st(match.group(1), EDGE_SERVICE)
    if owner is None or owner != request.match_info["wallet"]:
        raise Unauthorized
    return owner


def _date(query: MultiMapping[str], key: str) -> datetime:
    text = query[key]
    # A client that forgot to encode `+` as %2B arrives here with a space instead of the offset sign.
    if not _DATE.fullmatch(text):
        raise BadRequest(f"{key} must look like 2017-03-01T00:00:00+03:00 (URL-encoded)")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"{key} is not a date") from None


def _window(start: datetime, end: datetime) -> None:
    if start.utcoffset() != end.utcoffset():
        raise BadRequest("startDate and endDate must have the same offset")
    if end < start:
        raise BadRequest("endDate is before startDate")
    if end - start > MAX_WINDOW:
        raise BadRequest("the window is longer than 90 days")


def _filters(query: MultiMapping[str], allowed: frozenset[str]) -> tuple[str, frozenset[str]]:
    source_indexes = {key: int(match.group(1)) for key in query if (match := _SOURCE_KEY.fullmatch(key))}
    source_keys = set(source_indexes)
    unknown = set(query) - allowed - source_keys
    if unknown:
        raise BadRequest(f"unknown parameters: {sorted(unknown)}")
    if any(len(query.getall(key)) > 1 for key in query):
        raise BadRequest("a parameter is repeated")
    indexes = sorted(source_indexes.values())
    if indexes != list(range(len(indexes))):
        raise BadRequest("sources must be numbered sources[0], sources[1], ...")
    sources = frozenset(query[key] for key in source_keys)
    if not sources <= SOURCES:
        raise BadRequest(f"sources must be among {sorted(SOURCES)}")
    operation = query.get("operation", "ALL")
    if operation not in _OPERATIONS:
        raise BadRequest(f"operation must be one of {sorted(_OPERATIONS)}")
    return operation, sources


def _blocked(request: web.Request) -> web.Response:
    return edge_error(request, 423, HISTORY_SERVICE, "request.blocked", "request blocked, try again later")


@endpoint("balance")
async def balance(request: web.Request) -> web.StreamResponse:
    wallet = _owner(request)
    accounts = request.app[EMULATOR].wallet(wallet).accounts
    return json_response({"accounts": [account.to_json() for account in accounts]})


@endpoint("history")
async def history(request: web.Request) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    wallet = _owner(request)
    if not emulator.history_allowed(wallet):
        return _blocked(request)
    query = request.query
    operation, sources = _filters(
        query, frozenset({"rows", "operation", "startDate", "endDate", "nextTxnId", "nextTxnDate"})
    )
    rows_text = query.get("rows")
    if rows_text is None or not rows_text.isdigit() or not 1 <= int(rows_text) <= 50:
        raise BadRequest("rows is required: an integer from 1 to 50")
    rows = int(rows_text)
    if ("startDate" in query) != ("endDate" in query):
        raise BadRequest("startDate and endDate go only together")
    if ("nextTxnId" in query) != ("nextTxnDate" in query):
        raise BadRequest("nextTxnId and nextTxnDate go only together")
    now = emulator.clock.now()
    if "startDate" in query:
        start, end = _date(query, "startDate"), _date(query, "endDate")
        _window(start, end)
    else:
        # The original: the start defaults to yesterday's date, the end to today.
        start = datetime.combine(now.astimezone(MSK).date() - timedelta(days=1), datetime.min.time(), MSK)
        end = now
    found = emulator.select_history(wallet, start=start, end=end, operation=operation, sources=sources)
    if "nextTxnId" in query:
        if not query["nextTxnId"].isdigit():
            raise BadRequest("nextTxnId must be an integer")
        after = (_date(query, "nextTxnDate"), int(query["nextTxnId"]))
        # nextTxnId/nextTxnDate name the first payment of the next page ("the next transaction in the
        # full list"), so that one is included.
        found = [row for row in found if (row.date, row.txn_id) <= after]
    if not found:
        return edge_error(request, 404, HISTORY_SERVICE, "payment.history.not.found", "Платежи не найдены")
    page, rest = found[:rows], found[rows:]
    return json_response(
        {
            "data": [row.to_json() for row in page],
            "nextTxnId": rest[0].txn_id if rest else None,
            "nextTxnDate": qiwi_datetime(rest[0].date) if rest else None,
        }
    )


@endpoint("total")
async def total(request: web.Request) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    wallet = _owner(request)
    if not emulator.history_allowed(wallet):
        return _blocked(request)
    query = request.query
    operation, sources = _filters(query, frozenset({"operation", "startDate", "endDate"}))
    now = emulator.clock.now().astimezone(MSK)
    start = (
        _date(query, "startDate")
        if "startDate" in query
        else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    )
    end = _date(query, "endDate") if "endDate" in query else now
    _window(start, end)
    incoming: dict[str, Decimal] = defaultdict(Decimal)
    outgoing: dict[str, Decimal] = defaultdict(Decimal)
    for row in emulator.select_history(wallet, start=start, end=end, operation=operation, sources=sources):
        if row.status != "SUCCESS":
            continue
        if row.type == "IN":
            incoming[row.currency] += row.amount
        else:
            outgoing[row.currency] += row.total
    return json_response({"incomingTotal": _per_currency(incoming), "outgoingTotal": _per_currency(outgoing)})


def _per_currency(sums: dict[str, Decimal]) -> list[dict[str, object]]:
    return [{"amount": history_amount(amount), "currency": currency} for currency, amount in sorted(sums.items())]


def add_edge_routes(app: web.Application) -> None:
    app.router.add_get("/funding-sources/v1/accounts/{wallet}", balance, allow_head=False)
    app.router.add_get("/payment-history/v1/persons/{wallet}/payments", history, allow_head=False)
    app.router.add_get("/payment-history/v1/persons/{wallet}/payments/total", total, allow_head=False)
