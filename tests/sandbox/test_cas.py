"""CAS: TGTs (8 h cap, 2 h idle, revoke, logout) and STs (single use, bound to their service)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.sandbox import EDGE_SERVICE, PAYMENTS_SERVICE, Emulator

from .conftest import EDGE, MAIN, SSO, Qiwi

BALANCE = f"/funding-sources/v1/accounts/{MAIN}"


async def test_login_answers_tgt_with_sts_link(qiwi: Qiwi) -> None:
    response = await qiwi.login()
    assert response.status_code == 200
    body = response.json()
    assert body["entity"]["user"] == MAIN
    assert body["entity"]["ticket"].startswith("TGT-")
    assert body["links"] == [{"rel": "sts", "href": f"{qiwi.server.auth_url}/cas/sts"}]


@pytest.mark.parametrize(("login", "password"), [(MAIN, "wrong"), ("79990000000", "demo-password")])
async def test_bad_credentials_are_401_with_empty_body(qiwi: Qiwi, login: str, password: str) -> None:
    response = await qiwi.login(login, password)
    assert response.status_code == 401
    assert response.content == b""


async def test_recipient_created_by_a_payment_cannot_log_in(qiwi: Qiwi, emulator: Emulator) -> None:
    emulator.add_incoming("79161110000", Decimal(5), MAIN)
    assert (await qiwi.login("79161110000", "")).status_code == 400
    assert (await qiwi.login("79161110000", "anything")).status_code == 401


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        (SSO, '{"login": "9001112233", "password": "demo-password"}'),
        (SSO, '{"login": "+79001112233", "password": "demo-password"}'),
        (SSO, '{"login": 79001112233, "password": "demo-password"}'),
        (SSO, '{"login": "79001112233"}'),
        (SSO, '{"login": "79001112233", "password": "demo-password", "extra": 1}'),
        (SSO, "login=79001112233&password=demo-password"),
        (SSO, '["79001112233", "demo-password"]'),
        ({**SSO, "Accept": "application/json"}, '{"login": "79001112233", "password": "demo-password"}'),
        ({**SSO, "Content-Type": "text/plain"}, '{"login": "79001112233", "password": "demo-password"}'),
    ],
)
async def test_malformed_login_is_400(qiwi: Qiwi, headers: dict[str, str], content: str) -> None:
    response = await qiwi.http.post(f"{qiwi.server.auth_url}/cas/tgts", headers=headers, content=content)
    assert response.status_code == 400


async def test_st_for_both_services_and_unknown_service_is_400(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    for service in (EDGE_SERVICE, PAYMENTS_SERVICE):
        response = await qiwi.st_response(tgt, service)
        assert response.status_code == 200
        assert response.json()["links"] == []
        assert response.json()["entity"]["ticket"].startswith("ST-")
    for service in ("https://t.qiwi.com/j_spring_cas_security_check", qiwi.server.edge_url, ""):
        assert (await qiwi.st_response(tgt, service)).status_code == 400


async def test_sts_are_random(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    tickets = {await qiwi.st(tgt) for _ in range(5)}
    assert len(tickets) == 5


async def test_st_is_single_use(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    st = await qiwi.st(tgt)
    assert (await qiwi.edge(BALANCE, tgt, st=st)).status_code == 200
    second = await qiwi.edge(BALANCE, tgt, st=st)
    assert second.status_code == 401
    record = next(ticket for ticket in emulator.issued_tickets if ticket.ticket == st)
    assert record.presented == 2
    assert record.service == EDGE_SERVICE


async def test_st_is_bound_to_its_service(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    payments_st = await qiwi.st(tgt, PAYMENTS_SERVICE)
    assert (await qiwi.edge(BALANCE, tgt, st=payments_st)).status_code == 401
    edge_st = await qiwi.st(tgt, EDGE_SERVICE)
    response = await qiwi.http.get(f"{qiwi.server.web_url}/j_spring_cas_security_check", params={"ticket": edge_st})
    assert response.status_code == 401
    # A refused ST is spent too.
    assert (await qiwi.edge(BALANCE, tgt, st=edge_st)).status_code == 401


async def test_st_expires_after_five_minutes(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    st = await qiwi.st(tgt)
    emulator.clock.advance(timedelta(minutes=6))
    assert (await qiwi.edge(BALANCE, tgt, st=st)).status_code == 401


async def test_tgt_dies_after_two_idle_hours(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    emulator.clock.advance(timedelta(hours=1, minutes=59))
    await qiwi.st(tgt)  # an ST request keeps the TGT alive
    emulator.clock.advance(timedelta(hours=1, minutes=59))
    await qiwi.st(tgt)
    emulator.clock.advance(timedelta(hours=2, seconds=1))
    response = await qiwi.st_response(tgt)
    assert response.status_code == 401
    assert response.content == b""


async def test_tgt_dies_after_eight_hours_even_when_used(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    for _ in range(5):
        emulator.clock.advance(timedelta(hours=1, minutes=30))
        await qiwi.st(tgt)
    emulator.clock.advance(timedelta(minutes=31))  # 8 h 01 min after login
    assert (await qiwi.st_response(tgt)).status_code == 401


async def test_st_of_a_dead_tgt_is_refused(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    st = await qiwi.st(tgt)
    emulator.expire_tgt(tgt)
    assert (await qiwi.edge(BALANCE, tgt, st=st)).status_code == 401


async def test_revoke_kills_every_tgt_of_the_wallet(qiwi: Qiwi, emulator: Emulator) -> None:
    first, second, other = await qiwi.tgt(), await qiwi.tgt(), await qiwi.tgt("79002223344")
    assert emulator.revoke_tgts(MAIN) == 2
    assert (await qiwi.st_response(first)).status_code == 401
    assert (await qiwi.st_response(second)).status_code == 401
    assert (await qiwi.st_response(other)).status_code == 200


async def test_get_tgts_checks_the_castgc_cookie(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    url = f"{qiwi.server.auth_url}/cas/tgts"
    live = await qiwi.http.get(url, headers={"Accept": SSO["Accept"], "Cookie": f"CASTGC={tgt}"})
    assert live.status_code == 200
    assert live.cookies["CASTGC"] == tgt
    qiwi.http.cookies.clear()
    missing = await qiwi.http.get(url, headers={"Accept": SSO["Accept"]})
    assert missing.status_code == 401
    wrong = await qiwi.http.get(url, headers={"Accept": SSO["Accept"], "Cookie": "CASTGC=TGT-1-nope"})
    assert wrong.status_code == 401


async def test_delete_tgt_logs_out(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    url = f"{qiwi.server.auth_url}/cas/tgts"
    body = {"service": PAYMENTS_SERVICE, "ticket": tgt}
    assert (await qiwi.http.request("DELETE", url, headers=SSO, json=body)).status_code == 200
    assert (await qiwi.st_response(tgt)).status_code == 401
    assert (await qiwi.http.request("DELETE", url, headers=SSO, json=body)).status_code == 401
    bad = {"service": "https://example.com", "ticket": tgt}
    assert (await qiwi.http.request("DELETE", url, headers=SSO, json=bad)).status_code == 400
    assert (await qiwi.http.request("DELETE", url, headers=EDGE, json=body)).status_code == 400


async def test_st_request_shape_is_checked(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    url = f"{qiwi.server.auth_url}/cas/sts"
    assert (await qiwi.http.post(url, headers=SSO, json={"ticket": tgt})).status_code == 400
    assert (await qiwi.http.post(url, headers=SSO, json={"service": EDGE_SERVICE, "ticket": 5})).status_code == 400
    headers = {**SSO, "Accept": "*/*"}
    assert (
        await qiwi.http.post(url, headers=headers, json={"service": EDGE_SERVICE, "ticket": tgt})
    ).status_code == 400
