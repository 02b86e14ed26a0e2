"""Injected faults (status, latency, hang, reset, lost/late answers, refusals, the random mix, global latency)
and the HTTP controls."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest

from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.faults import Faults
from bot.sandbox.jsonio import dumps

from .conftest import MAIN, RECEIVER, Qiwi, decode, payment_body

BALANCE = f"/funding-sources/v1/accounts/{MAIN}"


async def test_status_fault_answers_once_then_serves(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    emulator.faults.inject("balance", "status", status=500)
    assert (await qiwi.edge(BALANCE, tgt)).status_code == 500
    assert (await qiwi.edge(BALANCE, tgt)).status_code == 200


async def test_status_faults_401_and_423(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    emulator.faults.inject("sts", "status", status=401, times=2)
    assert (await qiwi.st_response(tgt)).status_code == 401
    assert (await qiwi.st_response(tgt)).status_code == 401
    assert (await qiwi.st_response(tgt)).status_code == 200
    emulator.faults.inject("history", "status", status=423)
    blocked = await qiwi.history(tgt, rows=1)
    assert blocked.status_code == 423 and blocked.json()["errorCode"] == "request.blocked"


async def test_star_fault_hits_any_endpoint_until_cleared(qiwi: Qiwi, emulator: Emulator) -> None:
    emulator.faults.inject("*", "status", status=503, times=None)
    assert (await qiwi.login()).status_code == 503
    assert (await qiwi.http.get(f"{qiwi.server.web_url}/j_spring_cas_security_check?ticket=ST-1")).status_code == 503
    emulator.faults.clear()
    assert (await qiwi.login()).status_code == 200


def test_inject_refuses_nonsense(emulator: Emulator) -> None:
    for args, kwargs in [
        (("nowhere", "status"), {"status": 500}),
        (("balance", "explode"), {}),
        (("balance", "status"), {}),
        (("balance", "latency"), {"times": 0}),
    ]:
        with pytest.raises(ValueError):
            emulator.faults.inject(*args, **kwargs)  # type: ignore[arg-type]


async def test_latency_fault_and_global_latency(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    emulator.faults.inject("balance", "latency", delay=0.3)
    started = time.monotonic()
    assert (await qiwi.edge(BALANCE, tgt)).status_code == 200
    assert time.monotonic() - started >= 0.3
    emulator.faults.latency = 0.1
    started = time.monotonic()
    await qiwi.tgt()
    assert time.monotonic() - started >= 0.1


async def test_hang_times_the_client_out_without_blocking_others(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    emulator.faults.inject("balance", "hang")
    hanging = asyncio.create_task(qiwi.edge(BALANCE, tgt))
    await asyncio.sleep(0.05)
    # Other requests go through while one hangs.
    assert (await qiwi.history(tgt, rows=1)).status_code == 200
    assert not hanging.done()
    hanging.cancel()
    with pytest.raises(asyncio.CancelledError):
        await hanging
    emulator.faults.inject("balance", "hang")
    st = await qiwi.st(tgt)
    with pytest.raises(httpx.ReadTimeout):
        await qiwi.http.get(
            f"{qiwi.server.edge_url}{BALANCE}",
            headers={"Accept": "application/json", "Authorization": f"Token {st}"},
            timeout=0.3,
        )


async def test_hang_after_commit_moves_money_and_never_answers(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    emulator.faults.inject("payment", "hang_after_commit")
    with pytest.raises(httpx.ReadTimeout):
        await qiwi.http.post(
            f"{qiwi.server.web_url}/user/sinap/api/terms/99/payments/proxy.action",
            content='{"id":"1700000000100","sum":{"amount":10,"currency":"643"},"source":"account_643",'
            '"paymentMethod":{"type":"Account","accountId":"643"},"comment":"","fields":{"account":"9002223344"}}',
            headers={
                "Accept": "application/vnd.qiwi.v2+json",
                "Content-Type": "application/json",
                "User-Agent": "tests",
                "Cookie": f"JSESSIONID={cookie}",
            },
            timeout=0.3,
        )
    assert [entry.client_id for entry in emulator.ledger] == ["1700000000100"]
    assert emulator.wallet(RECEIVER).balance() == Decimal("1510.00")
    # Asking again with the same id tells the client what happened.
    again = await qiwi.pay(cookie, {**payment_body("1700000000100", 10), "comment": ""})
    assert again.status_code == 200
    assert int(decode(again)["transaction"]["id"]) == emulator.ledger[0].txn_id


async def test_stop_ends_hanging_requests_promptly() -> None:
    emulator = Emulator()
    emulator.faults.inject("tgts", "hang")
    async with httpx.AsyncClient() as http:
        async with EmulatorServer(emulator) as server:
            hanging = asyncio.create_task(http.post(f"{server.auth_url}/cas/tgts", json={}))
            await asyncio.sleep(0.1)
            started = time.monotonic()
        assert time.monotonic() - started < 5
        try:
            await asyncio.wait_for(hanging, 5)
        except httpx.HTTPError:
            pass


async def test_http_controls(qiwi: Qiwi, emulator: Emulator) -> None:
    control = f"{qiwi.server.auth_url}/_emulator"
    http = qiwi.http
    fault = await http.post(f"{control}/faults", json={"endpoint": "tgts", "kind": "status", "status": 500})
    assert fault.status_code == 200
    assert (await qiwi.login()).status_code == 500
    assert (await http.post(f"{control}/faults", json={"endpoint": "x", "kind": "status"})).status_code == 400
    assert (await http.post(f"{control}/faults", json={"latency": 0.05})).status_code == 200
    assert emulator.faults.latency == 0.05
    assert (await http.delete(f"{control}/faults")).status_code == 200
    assert emulator.faults.latency == 0

    before = emulator.clock.now()
    moved = await http.post(f"{control}/clock", json={"advance_seconds": 3600})
    assert decode(moved)["now"] >= (before.replace(microsecond=0)).isoformat()
    assert (emulator.clock.now() - before).total_seconds() >= 3600

    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    txn = decode(await qiwi.pay(cookie, payment_body("1700000000200", Decimal("12.34"))))["transaction"]["id"]
    ledger = decode(await http.get(f"{control}/ledger"))["ledger"]
    assert [(row["client_id"], row["amount"], str(row["txn_id"])) for row in ledger] == [
        ("1700000000200", Decimal("12.34"), txn)
    ]

    arrived = await http.post(f"{control}/incoming", json={"phone": MAIN, "amount": 500, "from": RECEIVER})
    assert arrived.status_code == 200
    wallet = decode(await http.get(f"{control}/wallets/{MAIN}"))
    assert wallet["accounts"][0]["balance"]["amount"] == Decimal("15718.16")

    assert decode(await http.post(f"{control}/revoke", json={"phone": MAIN}))["revoked"] == 1
    assert (await qiwi.st_response(tgt)).status_code == 401
    assert (await http.post(f"{control}/reset")).status_code == 200
    assert emulator.ledger == [] and emulator.wallet(MAIN).balance() == Decimal("15230.50")


# -- resets, lost and late answers, refusals, the random mix --------------------------------------------


async def test_reset_closes_the_connection_before_anything_is_served(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    emulator.faults.inject("payment", "reset")
    with pytest.raises(httpx.RemoteProtocolError):
        await qiwi.pay(cookie, payment_body("1700000000300", 10))
    assert emulator.ledger == []
    assert (await qiwi.pay(cookie, payment_body("1700000000300", 10))).status_code == 200
    assert [entry.client_id for entry in emulator.ledger] == ["1700000000300"]
    # Every request is noted on arrival, with the fault that struck it.
    assert [(request.client_id, request.sender, request.fault) for request in emulator.payment_requests] == [
        ("1700000000300", MAIN, "reset"),
        ("1700000000300", MAIN, None),
    ]


async def test_lost_answer_moves_the_money_and_drops_the_connection(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    emulator.faults.inject("payment", "lost_answer")
    with pytest.raises(httpx.RemoteProtocolError):
        await qiwi.pay(cookie, payment_body("1700000000301", 10))
    assert [entry.client_id for entry in emulator.ledger] == ["1700000000301"]
    again = await qiwi.pay(cookie, payment_body("1700000000301", 10))
    assert int(decode(again)["transaction"]["id"]) == emulator.ledger[0].txn_id
    assert len(emulator.ledger) == 1
    assert [(request.client_id, request.fault) for request in emulator.payment_requests] == [
        ("1700000000301", "lost_answer"),
        ("1700000000301", None),
    ]


async def test_late_answer_is_the_real_answer_after_the_delay(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    emulator.faults.inject("payment", "late_answer", delay=0.4, times=2)
    with pytest.raises(httpx.ReadTimeout):
        await qiwi.http.post(
            f"{qiwi.server.web_url}/user/sinap/api/terms/99/payments/proxy.action",
            content=dumps(payment_body("1700000000302", 10)),
            headers={
                "Accept": "application/vnd.qiwi.v2+json",
                "Content-Type": "application/json",
                "User-Agent": "tests",
                "Cookie": f"JSESSIONID={cookie}",
            },
            timeout=0.1,
        )
    assert len(emulator.ledger) == 1  # committed before the answer was held back
    started = time.monotonic()
    late = await qiwi.pay(cookie, payment_body("1700000000302", 10))
    assert time.monotonic() - started >= 0.4
    assert late.status_code == 200 and int(decode(late)["transaction"]["id"]) == emulator.ledger[0].txn_id
    assert len(emulator.ledger) == 1


async def test_status_after_commit_says_error_while_the_money_moved(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    emulator.faults.inject("payment", "status_after_commit", status=502)
    assert (await qiwi.pay(cookie, payment_body("1700000000303", 10))).status_code == 502
    assert [entry.client_id for entry in emulator.ledger] == ["1700000000303"]


async def test_refuse_answers_a_refusal_without_serving(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    emulator.faults.inject("payment", "refuse")
    emulator.faults.inject("payment", "refuse", code="QWPRC-241")
    refused = await qiwi.pay(cookie, payment_body("1700000000304", 10))
    assert refused.status_code == 400 and decode(refused) == {"code": "QWPRC-220", "message": "Недостаточно средств"}
    assert decode(await qiwi.pay(cookie, payment_body("1700000000304", 10)))["code"] == "QWPRC-241"
    assert emulator.ledger == []
    with pytest.raises(ValueError):
        emulator.faults.inject("balance", "refuse")


def test_mix_is_seeded_and_counted() -> None:
    def draws(seed: int) -> list[str | None]:
        faults = Faults()
        faults.mix(0.3, [500, "reset", 423, "lost_answer"], seed=seed)
        out = []
        for _ in range(200):
            fault = faults.take("payment")
            out.append(None if fault is None else fault.label)
        return out

    first = draws(7)
    assert first == draws(7) and first != draws(8)
    struck = [label for label in first if label is not None]
    assert 30 < len(struck) < 90  # about 30 % of 200
    assert set(struck) == {"500", "reset", "423", "lost_answer"}

    faults = Faults()
    faults.mix(1.0, ["500_after_commit", "refuse:QWPRC-220", "late_answer"], endpoints=["payment", "history"], seed=1)
    assert faults.take("balance") is None  # not one of the mix's endpoints
    kinds = {faults.take("history").kind for _ in range(30)}  # type: ignore[union-attr]
    assert kinds == {"status_after_commit", "late_answer"}  # a refusal is for payments only
    payment = [faults.take("payment") for _ in range(60)]
    assert {fault.kind for fault in payment if fault} == {"status_after_commit", "refuse", "late_answer"}
    late = next(fault for fault in payment if fault and fault.kind == "late_answer")
    assert late.delay > 0 and late.after_commit
    assert sum(faults.injected.values()) == 90
    # Pending faults come first; clear() ends the mix too.
    faults.inject("payment", "status", status=401)
    assert faults.take("payment").status == 401  # type: ignore[union-attr]
    faults.clear()
    assert faults.current_mix is None and faults.take("payment") is None
    for bad in ({"rate": 1.5}, {"rate": 0.1, "kinds": []}, {"rate": 0.1, "kinds": ["explode"]}):
        with pytest.raises(ValueError):
            Faults().mix(**bad)  # type: ignore[arg-type]


async def test_mix_over_http(qiwi: Qiwi, emulator: Emulator) -> None:
    control = f"{qiwi.server.auth_url}/_emulator"
    http = qiwi.http
    answer = await http.post(
        f"{control}/faults", json={"mix": {"rate": 1.0, "kinds": ["500"], "endpoints": ["tgts"], "seed": 3}}
    )
    assert answer.status_code == 200 and decode(answer)["mix"]["kinds"] == ["500"]
    assert (await qiwi.login()).status_code == 500
    state = decode(await http.get(f"{control}/faults"))
    assert state["injected"] == [{"endpoint": "tgts", "kind": "500", "count": 1}]
    assert (await http.post(f"{control}/faults", json={"mix": None})).status_code == 200
    assert emulator.faults.current_mix is None
    assert (await qiwi.login()).status_code == 200
    assert (await http.post(f"{control}/faults", json={"mix": {"rate": "often"}})).status_code == 400
    assert (await http.post(f"{control}/faults", json={"mix": {"rate": 0.5, "kinds": ["boom"]}})).status_code == 400
    await http.post(f"{control}/faults", json={"mix": {"rate": 0.5}})
    assert emulator.faults.current_mix is not None
    assert (await http.delete(f"{control}/faults")).status_code == 200
    assert emulator.faults.current_mix is None

    tgt = await qiwi.tgt()
    cookie = await qiwi.session(tgt)
    await qiwi.pay(cookie, payment_body("1700000000305", 10))
    requests = decode(await http.get(f"{control}/payment-requests"))["requests"]
    assert [(row["client_id"], row["sender"], row["amount"]) for row in requests] == [("1700000000305", MAIN, 10)]
