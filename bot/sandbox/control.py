"""`/_emulator/...`: the emulator's controls over HTTP, for a bot or benchmark running in another process."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.phone import InvalidPhone, normalize_phone
from bot.sandbox.faults import DEFAULT_MIX, Faults
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
    """`{"endpoint", "kind", "status"?, "delay"?, "times"?, "code"?}` as `inject`; `{"latency": s}`; and
    `{"mix": {"rate": 0.15, "kinds": [500, "reset", 423, "lost_answer"], "endpoints"?: [...], "seed"?: 1,
    "delay"?: s}}` as `mix` (`{"mix": null}` stops it). Any combination in one body."""
    body = await _body(request)
    faults = request.app[EMULATOR].faults
    if "latency" in body:
        faults.latency = float(body.pop("latency"))
    if "mix" in body:
        _set_mix(faults, body.pop("mix"))
    if body:
        try:
            faults.inject(
                str(body["endpoint"]),
                str(body["kind"]),
                status=None if body.get("status") is None else int(body["status"]),
                delay=float(body.get("delay", 0)),
                times=None if body.get("times", 1) is None else int(body.get("times", 1)),
                code=None if body.get("code") is None else str(body["code"]),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise web.HTTPBadRequest(text=f"bad fault: {error}") from None
    return _faults_state(faults)


def _set_mix(faults: Faults, spec: Any) -> None:
    if spec is None:
        faults.stop_mix()
        return
    if not isinstance(spec, dict):
        raise web.HTTPBadRequest(text="mix must be an object or null")
    try:
        kinds = spec.get("kinds", list(DEFAULT_MIX))
        endpoints = spec.get("endpoints", ["*"])
        if not isinstance(kinds, list) or not isinstance(endpoints, list):
            raise TypeError("kinds and endpoints must be lists")
        faults.mix(
            float(spec["rate"]),
            [str(kind) for kind in kinds],
            endpoints=[str(name) for name in endpoints],
            seed=None if spec.get("seed") is None else int(spec["seed"]),
            delay=float(spec.get("delay", 0)),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise web.HTTPBadRequest(text=f"bad mix: {error}") from None


def _faults_state(faults: Faults) -> web.Response:
    mix = faults.current_mix
    return json_response(
        {
            "latency": Decimal(str(faults.latency)),
            "pending": len(faults.pending),
            "mix": None if mix is None else mix.describe(),
            "injected": [
                {"endpoint": endpoint, "kind": label, "count": count}
                for (endpoint, label), count in sorted(faults.injected.items())
            ],
        }
    )


async def faults_state(request: web.Request) -> web.Response:
    return _faults_state(request.app[EMULATOR].faults)


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


async def payment_requests(request: web.Request) -> web.Response:
    return json_response({"requests": [entry.to_json() for entry in request.app[EMULATOR].payment_requests]})


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
    app.router.add_get("/_emulator/faults", faults_state, allow_head=False)
    app.router.add_delete("/_emulator/faults", clear_faults)
    app.router.add_get("/_emulator/clock", clock, allow_head=False)
    app.router.add_post("/_emulator/clock", clock)
    app.router.add_get("/_emulator/ledger", ledger, allow_head=False)
    app.router.add_get("/_emulator/payment-requests", payment_requests, allow_head=False)
    app.router.add_post("/_emulator/reset", reset)
    app.router.add_post("/_emulator/incoming", incoming)
    app.router.add_post("/_emulator/revoke", revoke)
    app.router.add_get("/_emulator/wallets/{phone}", wallet, allow_head=False)
