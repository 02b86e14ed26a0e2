"""Web host: the payment session, the payment body rules, refusals, idempotency and money moving."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bot.sandbox import UNIDENTIFIED_WALLET, Emulator, EmulatorServer

from .conftest import MAIN, RECEIVER, V2, Qiwi, decode, payment_body


async def paying(qiwi: Qiwi) -> tuple[str, str]:
    tgt = await qiwi.tgt()
    return tgt, await qiwi.session(tgt)


async def test_payment_moves_money_and_writes_both_histories(qiwi: Qiwi, emulator: Emulator) -> None:
    _, cookie = await paying(qiwi)
    sender_before, receiver_before = emulator.wallet(MAIN).balance(), emulator.wallet(RECEIVER).balance()
    response = await qiwi.pay(cookie, payment_body("1700000000001", Decimal("150.50")))
    assert response.status_code == 200
    body = decode(response)
    assert body["id"] == ":1700000000001"  # the stray colon of the original
    assert body["sum"] == {"amount": Decimal("150.50"), "currency": "643"}
    assert body["fields"] == {"account": "9002223344"}
    assert body["transaction"]["state"] == {"code": "Accepted"}
    txn_id = int(body["transaction"]["id"])
    assert emulator.wallet(MAIN).balance() == sender_before - Decimal("150.50")
    assert emulator.wallet(RECEIVER).balance() == receiver_before + Decimal("150.50")
    out = emulator.wallet(MAIN).history[-1]
    assert (out.type, out.txn_id, out.trm_txn_id, out.amount, out.account) == (
        "OUT", txn_id, "1700000000001", Decimal("150.50"), "+79002223344",
    )  # fmt: skip
    incoming = emulator.wallet(RECEIVER).history[-1]
    assert (incoming.type, incoming.txn_id, incoming.amount, incoming.account) == (
        "IN", txn_id, Decimal("150.50"), "+79001112233",
    )  # fmt: skip
    assert [(e.client_id, e.sender, e.recipient, e.amount, e.txn_id) for e in emulator.ledger] == [
        ("1700000000001", MAIN, RECEIVER, Decimal("150.50"), txn_id)
    ]


async def test_the_new_payment_is_first_in_history(qiwi: Qiwi) -> None:
    tgt, cookie = await paying(qiwi)
    txn_id = decode(await qiwi.pay(cookie, payment_body("1700000000002", 5)))["transaction"]["id"]
    newest = decode(await qiwi.history(tgt, rows=1))["data"][0]
    assert (newest["txnId"], newest["trmTxnId"], newest["type"]) == (int(txn_id), "1700000000002", "OUT")
    assert newest["sum"] == {"amount": 5, "currency": "RUB"}


async def test_a_repeated_id_never_moves_money_twice(qiwi: Qiwi, emulator: Emulator) -> None:
    _, cookie = await paying(qiwi)
    first = await qiwi.pay(cookie, payment_body("1700000000003", 100))
    second = await qiwi.pay(cookie, payment_body("1700000000003", 100))
    assert second.status_code == 200
    assert decode(second)["transaction"] == decode(first)["transaction"]
    assert len(emulator.ledger) == 1
    assert emulator.wallet(MAIN).balance() == Decimal("15130.50")


async def test_insufficient_funds(qiwi: Qiwi, emulator: Emulator) -> None:
    _, cookie = await paying(qiwi)
    response = await qiwi.pay(cookie, payment_body("1700000000004", 20000))
    assert response.status_code == 400
    assert response.json() == {"code": "QWPRC-220", "message": "Недостаточно средств"}
    assert emulator.ledger == [] and emulator.wallet(MAIN).balance() == Decimal("15230.50")
    # A refused id does not count as used: once the money is there, the same id goes through.
    emulator.add_incoming(MAIN, Decimal(10000), RECEIVER)
    assert (await qiwi.pay(cookie, payment_body("1700000000004", 20000))).status_code == 200


@pytest.mark.parametrize(
    ("amount", "account", "code"),
    [
        (Decimal("0.99"), "9002223344", "QWPRC-241"),
        (Decimal("99999.01"), "9002223344", "QWPRC-242"),
        (100, UNIDENTIFIED_WALLET[1:], "QWPRC-167"),
        (100, MAIN[1:], "QWPRC-319"),
    ],
)
async def test_refusals(qiwi: Qiwi, emulator: Emulator, amount: Any, account: str, code: str) -> None:
    _, cookie = await paying(qiwi)
    response = await qiwi.pay(cookie, payment_body("1700000000005", amount, account))
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert emulator.ledger == []


async def test_paying_a_new_wallet_creates_it(qiwi: Qiwi, emulator: Emulator) -> None:
    _, cookie = await paying(qiwi)
    assert (await qiwi.pay(cookie, payment_body("1700000000006", 42, "9161234500"))).status_code == 200
    assert emulator.wallet("79161234500").balance() == Decimal(42)


def _mutated(path: str, value: Any) -> dict[str, Any]:
    body = payment_body()
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[leaf]
    else:
        target[leaf] = value
    return body


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("id", 1000000000001),
        ("id", ""),
        ("id", "123456789012345678901"),
        ("id", "12a"),
        ("id", _DELETE),
        ("sum.amount", "100"),
        ("sum.amount", Decimal("100.001")),
        ("sum.amount", 0),
        ("sum.amount", -5),
        ("sum.amount", True),
        ("sum.currency", 643),
        ("sum.currency", "RUB"),
        ("sum.extra", 1),
        ("source", "account_840"),
        ("paymentMethod", {"type": "Account", "accountId": 643}),
        ("paymentMethod", {"type": "Card", "accountId": "643"}),
        ("comment", None),
        ("comment", _DELETE),
        ("fields.account", "79002223344"),
        ("fields.account", "+79002223344"),
        ("fields.account", 9002223344),
        ("fields.extra", "x"),
        ("extra", "x"),
    ],
)
async def test_payment_body_rules_answer_400(qiwi: Qiwi, emulator: Emulator, path: str, value: Any) -> None:
    _, cookie = await paying(qiwi)
    response = await qiwi.pay(cookie, _mutated(path, value))
    assert response.status_code == 400, response.text
    assert emulator.ledger == []


async def test_floats_and_two_decimal_amounts_as_json_numbers(qiwi: Qiwi) -> None:
    _, cookie = await paying(qiwi)
    text = json.dumps(payment_body("1700000000007", 0)).replace('"amount": 0', '"amount": 10.5')
    assert (await qiwi.pay(cookie, text)).status_code == 200
    assert (await qiwi.pay(cookie, "not json")).status_code == 400
    nan = json.dumps(payment_body("1700000000008", 0)).replace('"amount": 0', '"amount": NaN')
    assert (await qiwi.pay(cookie, nan)).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [{"Accept": "application/json"}, {"Content-Type": "text/plain"}, {"User-Agent": ""}],
)
async def test_payment_headers_are_checked(qiwi: Qiwi, headers: dict[str, str]) -> None:
    _, cookie = await paying(qiwi)
    assert (await qiwi.pay(cookie, payment_body(), headers)).status_code == 400


async def test_payment_needs_a_live_session(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt, cookie = await paying(qiwi)
    assert (await qiwi.pay(None, payment_body())).status_code == 401
    assert (await qiwi.pay("0123456789ABCDEF", payment_body())).status_code == 401
    emulator.clock.advance(timedelta(minutes=29))
    assert (await qiwi.pay(cookie, payment_body("1700000000009", 1))).status_code == 200
    emulator.clock.advance(timedelta(minutes=31))
    assert (await qiwi.pay(cookie, payment_body("1700000000010", 1))).status_code == 401
    cookie = await qiwi.session(tgt)
    emulator.revoke_tgts(MAIN)
    assert (await qiwi.pay(cookie, payment_body("1700000000011", 1))).status_code == 401
    assert len(emulator.ledger) == 1


async def test_session_needs_a_payments_st_once(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    url = f"{qiwi.server.web_url}/j_spring_cas_security_check"
    assert (await qiwi.http.get(url)).status_code == 400
    st = await qiwi.st(tgt, "https://qiwi.com/j_spring_cas_security_check")
    assert (await qiwi.http.get(url, params={"ticket": st})).status_code == 200
    assert (await qiwi.http.get(url, params={"ticket": st})).status_code == 401


async def test_each_host_serves_only_its_own_paths(qiwi: Qiwi) -> None:
    _, cookie = await paying(qiwi)
    wrong_host = await qiwi.http.post(
        f"{qiwi.server.edge_url}/user/sinap/api/terms/99/payments/proxy.action",
        content=json.dumps(payment_body()),
        headers={**V2, "Cookie": f"JSESSIONID={cookie}"},
    )
    assert wrong_host.status_code == 404
    assert (await qiwi.http.get(f"{qiwi.server.web_url}/funding-sources/v1/accounts/{MAIN}")).status_code == 404
    assert (await qiwi.http.get(f"{qiwi.server.edge_url}/_emulator/ledger")).status_code == 404


async def test_the_session_cookie_rides_in_an_ordinary_cookie_jar(
    qiwi_server: EmulatorServer, emulator: Emulator
) -> None:
    async with httpx.AsyncClient() as http:
        user = Qiwi(qiwi_server, http)
        st = await user.st(await user.tgt(), "https://qiwi.com/j_spring_cas_security_check")
        await http.get(f"{qiwi_server.web_url}/j_spring_cas_security_check", params={"ticket": st})
        response = await http.post(
            f"{qiwi_server.web_url}/user/sinap/api/terms/99/payments/proxy.action",
            content=json.dumps(payment_body("1700000000300", 3)),
            headers=V2,
        )
    assert response.status_code == 200
    assert len(emulator.ledger) == 1
