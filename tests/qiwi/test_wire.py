"""What goes on the wire, byte for byte where the spec is exact: headers, bodies, service ids, tickets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from bot.qiwi import EDGE_SERVICE, PAYMENTS_SERVICE, QiwiClient
from bot.sandbox import Emulator, EmulatorServer

from .conftest import MAIN, PASSWORD, RECEIVER


@dataclass
class Sent:
    method: str
    path: str
    query: bytes
    headers: httpx.Headers
    body: bytes


async def test_requests_on_the_wire(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    sent: list[Sent] = []

    async def record(request: httpx.Request) -> None:
        raw = request.url.raw_path
        query = raw.split(b"?", 1)[1] if b"?" in raw else b""
        sent.append(Sent(request.method, request.url.path, query, request.headers, request.content))

    http = httpx.AsyncClient(timeout=httpx.Timeout(2.0), event_hooks={"request": [record]})
    client = QiwiClient(http, auth_url=qiwi_server.auth_url, web_url=qiwi_server.web_url, edge_url=qiwi_server.edge_url)
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        assert await client.check_tgt(tgt)
        await client.balance(tgt, MAIN)
        await client.history(tgt, MAIN, rows=2)
        await client.totals(tgt, MAIN)
        await client.pay(tgt, MAIN, client_id="42", amount=Decimal("100.50"), account=RECEIVER[1:], comment="hi")
        await client.delete_tgt(tgt)
    finally:
        await client.aclose()

    calls = [(s.method, s.path) for s in sent]
    assert calls == [
        ("POST", "/cas/tgts"),
        ("GET", "/cas/tgts"),
        ("POST", "/cas/sts"),
        ("GET", f"/funding-sources/v1/accounts/{MAIN}"),
        ("POST", "/cas/sts"),
        ("GET", f"/payment-history/v1/persons/{MAIN}/payments"),
        ("POST", "/cas/sts"),
        ("GET", f"/payment-history/v1/persons/{MAIN}/payments/total"),
        ("POST", "/cas/sts"),
        ("GET", "/j_spring_cas_security_check"),
        ("POST", "/user/sinap/api/terms/99/payments/proxy.action"),
        ("DELETE", "/cas/tgts"),
    ]
    assert all(s.headers.get("user-agent") for s in sent)
    cas = [s for s in sent if s.path.startswith("/cas/")]
    for s in cas:
        assert s.headers["accept"] == "application/vnd.qiwi.sso-v1+json"
        assert s.headers["content-type"] == "application/json"
    assert json.loads(cas[0].body) == {"login": MAIN, "password": PASSWORD}
    assert cas[1].headers["cookie"] == f"CASTGC={tgt}" and cas[1].body == b""
    sts = [json.loads(s.body) for s in sent if s.path == "/cas/sts"]
    assert sts == [{"service": EDGE_SERVICE, "ticket": tgt}] * 3 + [{"service": PAYMENTS_SERVICE, "ticket": tgt}]
    assert json.loads(sent[-1].body) == {"service": "https://qiwi.com/j_spring_cas_security_check", "ticket": tgt}

    edge = [s for s in sent if s.path.startswith(("/funding-sources/", "/payment-history/"))]
    tickets = [s.headers["authorization"] for s in edge]
    assert all(t.startswith("Token ST-") for t in tickets) and len(set(tickets)) == 3
    assert all(s.headers["accept"] == "application/json" for s in edge)
    assert edge[1].query == b"rows=2&operation=ALL"

    session = sent[9]
    assert session.query.startswith(b"ticket=ST-") and b"&" not in session.query
    assert "cookie" not in session.headers
    payment = sent[10]
    assert payment.headers["accept"] == "application/vnd.qiwi.v2+json"
    assert payment.headers["content-type"] == "application/json"
    assert payment.headers["cookie"].startswith("JSESSIONID=")
    assert b'"amount": 100.50' in payment.body
    assert json.loads(payment.body, parse_float=Decimal) == {
        "id": "42",
        "sum": {"amount": Decimal("100.50"), "currency": "643"},
        "source": "account_643",
        "paymentMethod": {"type": "Account", "accountId": "643"},
        "comment": "hi",
        "fields": {"account": RECEIVER[1:]},
    }
    # Every ST, edge or payments, was presented exactly once.
    assert all(r.presented == 1 for r in emulator.issued_tickets if r.kind == "ST")


async def test_issue_st_refuses_other_services(qiwi: QiwiClient, tgt: str) -> None:
    with pytest.raises(ValueError):
        await qiwi.issue_st(tgt, "https://example.com/j_spring_cas_security_check")
