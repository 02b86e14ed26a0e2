"""What the three sites share: header checks, JSON answers, error bodies and the fault wrapper."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.emulator import REFUSAL_MESSAGES, Emulator
from bot.sandbox.faults import Fault
from bot.sandbox.jsonio import BadJson, dumps, loads

EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator", Emulator)
STOPPING: web.AppKey[asyncio.Event] = web.AppKey("stopping", asyncio.Event)
HANG_SECONDS = 3600.0
EDGE_ENDPOINTS = frozenset({"balance", "history", "total"})
SESSION_COOKIE = "JSESSIONID"  # the web session's cookie (qiwi.com)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """The request breaks a rule of the spec: answered with HTTP 400 and the reason."""


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json", charset="utf-8")


class Unauthorized(Exception):
    """Raised by a handler's checks; `endpoint` answers it with an empty 401."""


def unauthorized() -> web.Response:
    # QIWI's 401 may come with no body at all; clients must not depend on one.
    return web.Response(status=401)


def edge_error(request: web.Request, status: int, service: str, code: str, message: str) -> web.Response:
    now = request.app[EMULATOR].clock.now()
    return json_response(
        {
            "serviceName": service,
            "errorCode": code,
            "userMessage": message,
            "dateTime": now.isoformat(timespec="milliseconds"),
            "traceId": secrets.token_hex(8),
        },
        status,
    )


def require_accept(request: web.Request, media_type: str) -> None:
    offered = [part.split(";")[0].strip().lower() for part in request.headers.get("Accept", "").split(",")]
    if media_type not in offered:
        raise BadRequest(f"Accept must include {media_type}")


def require_json_content(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise BadRequest("Content-Type must be application/json")


async def read_json_object(request: web.Request, keys: frozenset[str]) -> dict[str, Any]:
    """The body as a JSON object with exactly these keys."""
    try:
        body = loads(await request.read())
    except BadJson:
        raise BadRequest("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if set(body) != keys:
        raise BadRequest(f"the body must have exactly the keys {sorted(keys)}")
    return body


async def _hang(request: web.Request, seconds: float) -> None:
    try:
        await asyncio.wait_for(request.app[STOPPING].wait(), timeout=seconds)
    except TimeoutError:
        pass


def _fault_answer(request: web.Request, endpoint: str, status: int) -> web.Response:
    if status == 401:
        return unauthorized()
    if status == 423:
        return edge_error(request, 423, "payment-history", "request.blocked", "request blocked, try again later")
    if endpoint in EDGE_ENDPOINTS:
        return edge_error(request, status, "emulator", "emulator.fault", "injected fault")
    return web.Response(status=status, text="injected fault")


def _refusal(request: web.Request, code: str) -> web.Response:
    """A payment refusal as QIWI words it (HTTP 400 `{"code", "message"}`), in the envelope when it is on."""
    answer = {"code": code, "message": REFUSAL_MESSAGES.get(code, "Платеж отклонен")}
    if request.app[EMULATOR].payment_envelope:
        envelope = {"code": {"value": "0", "_name": "NORMAL"}, "data": {"body": answer, "status": 400}}
        return json_response({**envelope, "message": None, "messages": None})
    return json_response(answer, 400)


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (the client sees "server disconnected")."""
    transport = request.transport
    if transport is not None:
        transport.abort()
    return web.Response(status=503, text="the connection was dropped")  # never reaches the client


async def _before(request: web.Request, name: str, fault: Fault) -> web.StreamResponse | None:
    """A fault that strikes before the request is served; None: serve it (after any delay)."""
    if fault.kind == "status":
        assert fault.status is not None
        return _fault_answer(request, name, fault.status)
    if fault.kind == "refuse":
        return _refusal(request, fault.code or "QWPRC-220")
    if fault.kind == "reset":
        return _drop(request)
    if fault.kind == "latency":
        await asyncio.sleep(fault.delay)
    elif fault.kind == "hang":
        await _hang(request, fault.delay or HANG_SECONDS)
        return web.Response(status=503, text="the emulator is stopping")
    return None


async def _after(request: web.Request, name: str, fault: Fault, response: web.StreamResponse) -> web.StreamResponse:
    """A fault that strikes once the request was served (for a payment: the money has moved)."""
    if fault.kind == "hang_after_commit":
        await _hang(request, fault.delay or HANG_SECONDS)
        return web.Response(status=503, text="the emulator is stopping")
    if fault.kind == "lost_answer":
        if fault.delay:
            await _hang(request, fault.delay)
        return _drop(request)
    if fault.kind == "late_answer":
        await _hang(request, fault.delay)
        return response
    if fault.kind == "status_after_commit":
        assert fault.status is not None
        return _fault_answer(request, name, fault.status)
    return response


async def _record_payment(request: web.Request, fault: Fault | None) -> bool:
    """Note the payment request in `emulator.payment_requests`; False when its body never fully arrived
    (the client went away mid-request: nothing to serve)."""
    try:
        raw = await request.read()
    except ConnectionError:
        return False
    try:
        body: Any = loads(raw)
    except BadJson:
        body = None
    cookie = request.cookies.get(SESSION_COOKIE, "")
    request.app[EMULATOR].record_payment_request(cookie, body, None if fault is None else fault.label or fault.kind)
    return True


def endpoint(name: str) -> Callable[[Handler], Handler]:
    """Give a handler its fault-injection name; applies the global latency and any pending or mixed fault."""

    def wrap(handler: Handler) -> Handler:
        async def serve(request: web.Request) -> web.StreamResponse:
            faults = request.app[EMULATOR].faults
            if faults.latency > 0:
                await asyncio.sleep(faults.latency)
            fault = faults.take(name)
            if name == "payment" and not await _record_payment(request, fault):
                return web.Response(status=400, text="the request body never arrived")  # nobody is listening
            if fault is not None and not fault.after_commit:
                answered = await _before(request, name, fault)
                if answered is not None:
                    return answered
            try:
                response = await handler(request)
            except BadRequest as error:
                response = bad_request(request, name, str(error))
            except Unauthorized:
                response = unauthorized()
            except ConnectionError:
                # The client went away mid-request (a killed bot): nobody is listening for an answer.
                return web.Response(status=400, text="the request body never arrived")
            if fault is not None and fault.after_commit:
                return await _after(request, name, fault, response)
            return response

        return serve

    return wrap


def bad_request(request: web.Request, name: str, reason: str) -> web.Response:
    if name == "payment":
        return json_response({"code": "EMULATOR-400", "message": f"Некорректный запрос: {reason}"}, 400)
    service = "payment-history" if name in ("history", "total") else "funding-sources"
    if name not in EDGE_ENDPOINTS:
        service = "cas"
    return edge_error(request, 400, service, "request.invalid", reason)
