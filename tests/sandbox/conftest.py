"""Helpers that speak the QIWI protocol by hand (plain httpx), so the emulator is tested from the outside."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.sandbox import EDGE_SERVICE, PAYMENTS_SERVICE, EmulatorServer
from bot.sandbox.jsonio import dumps

MAIN = "79001112233"
RECEIVER = "79002223344"
EMPTY = "79003334455"
PASSWORD = "demo-password"
SSO = {"Accept": "application/vnd.qiwi.sso-v1+json", "Content-Type": "application/json"}
EDGE = {"Accept": "application/json"}
V2 = {"Accept": "application/vnd.qiwi.v2+json", "Content-Type": "application/json", "User-Agent": "tests/1.0"}
PAYMENT_PATH = "/user/sinap/api/terms/99/payments/proxy.action"


def decode(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def payment_body(client_id: str = "1000000000001", amount: Any = 100, account: str = "9002223344") -> dict[str, Any]:
    return {
        "id": client_id,
        "sum": {"amount": amount, "currency": "643"},
        "source": "account_643",
        "paymentMethod": {"type": "Account", "accountId": "643"},
        "comment": "test",
        "fields": {"account": account},
    }


class Qiwi:
    """One test user's view of the three hosts."""

    def __init__(self, server: EmulatorServer, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http

    async def login(self, login: str = MAIN, password: str = PASSWORD) -> httpx.Response:
        return await self.http.post(
            f"{self.server.auth_url}/cas/tgts", headers=SSO, json={"login": login, "password": password}
        )

    async def tgt(self, login: str = MAIN) -> str:
        response = await self.login(login)
        assert response.status_code == 200, response.text
        ticket: str = response.json()["entity"]["ticket"]
        return ticket

    async def st_response(self, tgt: str, service: str = EDGE_SERVICE) -> httpx.Response:
        return await self.http.post(
            f"{self.server.auth_url}/cas/sts", headers=SSO, json={"service": service, "ticket": tgt}
        )

    async def st(self, tgt: str, service: str = EDGE_SERVICE) -> str:
        response = await self.st_response(tgt, service)
        assert response.status_code == 200, response.text
        ticket: str = response.json()["entity"]["ticket"]
        return ticket

    async def edge(
        self, path: str, tgt: str, params: Any = None, *, st: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        ticket = st or await self.st(tgt)
        return await self.http.get(
            f"{self.server.edge_url}{path}",
            params=params,
            headers={**EDGE, "Authorization": f"Token {ticket}", **(headers or {})},
        )

    async def history(self, tgt: str, wallet: str = MAIN, **params: Any) -> httpx.Response:
        return await self.edge(f"/payment-history/v1/persons/{wallet}/payments", tgt, params)

    async def session(self, tgt: str) -> str:
        st = await self.st(tgt, PAYMENTS_SERVICE)
        response = await self.http.get(f"{self.server.web_url}/j_spring_cas_security_check", params={"ticket": st})
        assert response.status_code == 200, response.text
        cookie = response.cookies["JSESSIONID"]
        self.http.cookies.clear()
        return cookie

    async def pay(
        self, cookie: str | None, body: dict[str, Any] | str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        merged = {**V2, **(headers or {})}
        if cookie is not None:
            merged["Cookie"] = f"JSESSIONID={cookie}"
        content = body if isinstance(body, str) else dumps(body)
        return await self.http.post(f"{self.server.web_url}{PAYMENT_PATH}", content=content, headers=merged)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
def qiwi(qiwi_server: EmulatorServer, http: httpx.AsyncClient) -> Qiwi:
    return Qiwi(qiwi_server, http)
