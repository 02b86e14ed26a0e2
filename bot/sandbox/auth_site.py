"""The CAS host (`auth.qiwi.com`): TGTs and STs. The `/_emulator/...` control endpoints live here too."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from bot.sandbox.emulator import SERVICES
from bot.sandbox.http_common import (
    EMULATOR,
    BadRequest,
    endpoint,
    json_response,
    read_json_object,
    require_accept,
    require_json_content,
    unauthorized,
)

SSO_JSON = "application/vnd.qiwi.sso-v1+json"
_LOGIN = re.compile(r"7\d{10}")


def _cas_headers(request: web.Request, *, with_body: bool = True) -> None:
    require_accept(request, SSO_JSON)
    if with_body:
        require_json_content(request)


def _ticket_and_service(body: dict[str, Any]) -> tuple[str, str]:
    service, ticket = body["service"], body["ticket"]
    if not isinstance(service, str) or service not in SERVICES:
        raise BadRequest("unknown service")
    if not isinstance(ticket, str) or not ticket.startswith("TGT-"):
        raise BadRequest("ticket must be a TGT")
    return ticket, service


def _tgt_answer(request: web.Request, wallet: str, ticket: str) -> dict[str, Any]:
    return {
        "entity": {"user": wallet, "ticket": ticket},
        "links": [{"rel": "sts", "href": f"{request.url.origin()}/cas/sts"}],
    }


@endpoint("tgts")
async def create_tgt(request: web.Request) -> web.StreamResponse:
    _cas_headers(request)
    body = await read_json_object(request, frozenset({"login", "password"}))
    login, password = body["login"], body["password"]
    if not isinstance(login, str) or not _LOGIN.fullmatch(login):
        raise BadRequest("login must be the wallet number: 11 digits starting with 7")
    if not isinstance(password, str) or not password:
        raise BadRequest("password must be a non-empty string")
    ticket = request.app[EMULATOR].create_tgt(login, password)
    if ticket is None:
        return unauthorized()
    return json_response(_tgt_answer(request, login, ticket))


@endpoint("tgts")
async def check_tgt(request: web.Request) -> web.StreamResponse:
    _cas_headers(request, with_body=False)
    ticket = request.cookies.get("CASTGC", "")
    tgt = request.app[EMULATOR].live_tgt(ticket)
    if tgt is None:
        return unauthorized()
    response = json_response(_tgt_answer(request, tgt.wallet, tgt.ticket))
    response.set_cookie("CASTGC", tgt.ticket, path="/cas", httponly=True)
    return response


@endpoint("tgts")
async def delete_tgt(request: web.Request) -> web.StreamResponse:
    _cas_headers(request)
    ticket, _ = _ticket_and_service(await read_json_object(request, frozenset({"service", "ticket"})))
    if not request.app[EMULATOR].delete_tgt(ticket):
        return unauthorized()
    return json_response({})


@endpoint("sts")
async def create_st(request: web.Request) -> web.StreamResponse:
    _cas_headers(request)
    ticket, service = _ticket_and_service(await read_json_object(request, frozenset({"service", "ticket"})))
    st = request.app[EMULATOR].issue_st(ticket, service)
    if st is None:
        return unauthorized()
    return json_response({"entity": {"ticket": st}, "links": []})


def add_cas_routes(app: web.Application) -> None:
    app.router.add_post("/cas/tgts", create_tgt)
    app.router.add_get("/cas/tgts", check_tgt, allow_head=False)
    app.router.add_delete("/cas/tgts", delete_tgt)
    app.router.add_post("/cas/sts", create_st)
