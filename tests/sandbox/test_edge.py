"""Edge host: balance, history (every 400 rule, default window, pagination, 404, 423) and totals."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.sandbox import Emulator
from bot.timeutil import MSK, qiwi_datetime

from .conftest import EMPTY, MAIN, RECEIVER, Qiwi, decode

BALANCE = f"/funding-sources/v1/accounts/{MAIN}"
TOTAL = f"/payment-history/v1/persons/{MAIN}/payments/total"


def window(emulator: Emulator, days: int) -> dict[str, str]:
    now = emulator.clock.now()
    return {"startDate": qiwi_datetime(now - timedelta(days=days)), "endDate": qiwi_datetime(now)}


async def test_balance_lists_every_account_in_the_v1_shape(qiwi: Qiwi) -> None:
    response = await qiwi.edge(BALANCE, await qiwi.tgt())
    assert response.status_code == 200
    accounts = decode(response)["accounts"]
    assert [account["currencyId"] for account in accounts] == [643, 840, 398, 978]
    assert accounts[0] == {
        "fsAlias": "qb_wallet",
        "title": "Qiwi Account",
        "type": {"id": "WALLET", "title": "Visa QIWI Wallet"},
        "currencyId": 643,
        "balance": {"amount": Decimal("15230.50"), "currencyId": 643},
    }
    assert accounts[3]["balance"] is None
    # Amounts are JSON numbers, never strings.
    assert b'"amount":15230.50' in response.content


async def test_balance_needs_the_ticket_owners_wallet_and_a_token(qiwi: Qiwi) -> None:
    tgt = await qiwi.tgt()
    assert (await qiwi.edge(f"/funding-sources/v1/accounts/{RECEIVER}", tgt)).status_code == 401
    st = await qiwi.st(tgt)
    no_token = await qiwi.http.get(f"{qiwi.server.edge_url}{BALANCE}", headers={"Accept": "application/json"})
    assert no_token.status_code == 401
    bearer = await qiwi.http.get(
        f"{qiwi.server.edge_url}{BALANCE}", headers={"Accept": "application/json", "Authorization": f"Bearer {st}"}
    )
    assert bearer.status_code == 401
    assert (await qiwi.edge(BALANCE, tgt, headers={"Accept": "text/html"})).status_code == 400


async def test_history_without_dates_covers_only_yesterday_to_now(qiwi: Qiwi, emulator: Emulator) -> None:
    response = await qiwi.history(await qiwi.tgt(), rows=50)
    assert response.status_code == 200
    body = decode(response)
    now = emulator.clock.now()
    yesterday = datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), MSK)
    dates = [datetime.fromisoformat(row["date"]) for row in body["data"]]
    assert dates, "the seed puts payments inside the last day"
    assert all(yesterday <= date <= now for date in dates)
    older = [row for row in emulator.wallet(MAIN).history if row.date < yesterday]
    assert len(older) > 50
    assert body["nextTxnId"] is None and body["nextTxnDate"] is None


async def test_history_item_shape(qiwi: Qiwi, emulator: Emulator) -> None:
    body = decode(await qiwi.history(await qiwi.tgt(), rows=50, **window(emulator, 90)))
    item = body["data"][0]
    assert set(item) >= {
        "txnId", "personId", "date", "errorCode", "error", "status", "type", "statusText", "trmTxnId", "account",
        "sum", "commission", "total", "provider", "comment", "currencyRate", "extras", "chequeReady",
        "bankDocumentAvailable", "bankDocumentReady", "repeatPaymentEnabled",
    }  # fmt: skip
    assert item["personId"] == int(MAIN)
    assert item["sum"]["currency"] in {"RUB", "USD", "KZT"}
    assert item["date"].endswith("+03:00")


async def test_pagination_walks_to_the_last_page(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    params: dict[str, Any] = {"rows": 20, **window(emulator, 90)}
    seen: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = await qiwi.history(tgt, **params)
        assert response.status_code == 200
        body = decode(response)
        pages += 1
        assert 1 <= len(body["data"]) <= 20
        seen.extend(body["data"])
        if body["nextTxnId"] is None:
            assert body["nextTxnDate"] is None
            break
        params.update(nextTxnId=body["nextTxnId"], nextTxnDate=body["nextTxnDate"])
    start = emulator.clock.now() - timedelta(days=90)
    expected = [row for row in emulator.wallet(MAIN).history if row.date >= start.replace(microsecond=0)]
    assert pages >= 3
    assert len(seen) == len(expected)
    assert len({row["txnId"] for row in seen}) == len(seen)
    keys = [(datetime.fromisoformat(row["date"]), row["txnId"]) for row in seen]
    assert keys == sorted(keys, reverse=True)


async def test_seed_spans_four_months_with_every_kind(emulator: Emulator) -> None:
    rows = emulator.wallet(MAIN).history
    assert len(rows) >= 70
    assert min(row.date for row in rows) < emulator.clock.now() - timedelta(days=100)
    assert {row.type for row in rows} == {"IN", "OUT", "QIWI_CARD"}
    assert {row.status for row in rows} == {"SUCCESS", "WAITING", "ERROR"}
    assert {row.currency for row in rows} == {"RUB", "USD", "KZT"}
    assert any(row.comment is None for row in rows) and any(row.provider is None for row in rows)
    again = Emulator(emulator.clock)
    assert [(row.amount, row.type) for row in again.wallet(MAIN).history] == [(r.amount, r.type) for r in rows]


async def test_history_filters_by_operation_and_source(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    incoming = decode(await qiwi.history(tgt, rows=50, operation="IN", **window(emulator, 90)))["data"]
    assert incoming and all(row["type"] == "IN" for row in incoming)
    usd = decode(
        await qiwi.edge(
            f"/payment-history/v1/persons/{MAIN}/payments",
            tgt,
            [("rows", 50), ("sources[0]", "QW_USD"), ("sources[1]", "QW_KZT"), *window(emulator, 90).items()],
        )
    )["data"]
    assert usd and {row["sum"]["currency"] for row in usd} <= {"USD", "KZT"}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"rows": 0},
        {"rows": 51},
        {"rows": "ten"},
        {"rows": 10, "operation": "SOME"},
        {"rows": 10, "sources[0]": "BITCOIN"},
        {"rows": 10, "sources[1]": "QW_RUB"},
        {"rows": 10, "sources": "QW_RUB"},
        {"rows": 10, "startDate": "2026-01-01T00:00:00+03:00"},
        {"rows": 10, "endDate": "2026-01-01T00:00:00+03:00"},
        {"rows": 10, "nextTxnId": 5},
        {"rows": 10, "nextTxnDate": "2026-01-01T00:00:00+03:00"},
        {"rows": 10, "nextTxnId": "x", "nextTxnDate": "2026-01-01T00:00:00+03:00"},
        {"rows": 10, "startDate": "2026-01-01", "endDate": "2026-01-02"},
        {"rows": 10, "startDate": "2026-01-01T00:00:00+03:00", "endDate": "2026-04-02T00:00:00+03:00"},
        {"rows": 10, "startDate": "2026-01-02T00:00:00+03:00", "endDate": "2026-01-01T00:00:00+03:00"},
        {"rows": 10, "startDate": "2026-01-01T00:00:00+03:00", "endDate": "2026-01-02T00:00:00+00:00"},
        {"rows": 10, "page": 2},
    ],
)
async def test_history_rules_answer_400(qiwi: Qiwi, params: dict[str, Any]) -> None:
    response = await qiwi.history(await qiwi.tgt(), **params)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "request.invalid"


async def test_an_unencoded_plus_is_400_and_a_90_day_window_is_fine(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    dates = window(emulator, 90)
    raw_query = f"rows=10&startDate={dates['startDate']}&endDate={dates['endDate']}"  # `+` left as is
    st = await qiwi.st(tgt)
    forgot = await qiwi.http.get(
        f"{qiwi.server.edge_url}/payment-history/v1/persons/{MAIN}/payments?{raw_query}",
        headers={"Accept": "application/json", "Authorization": f"Token {st}"},
    )
    assert forgot.status_code == 400
    assert (await qiwi.history(tgt, rows=10, **dates)).status_code == 200


async def test_no_payments_is_404_with_an_edge_error_body(qiwi: Qiwi, emulator: Emulator) -> None:
    response = await qiwi.history(await qiwi.tgt(EMPTY), wallet=EMPTY, rows=10, **window(emulator, 30))
    assert response.status_code == 404
    assert set(response.json()) == {"serviceName", "errorCode", "userMessage", "dateTime", "traceId"}


async def test_a_burst_of_history_requests_is_blocked_for_five_minutes(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    for _ in range(100):
        assert (await qiwi.history(tgt, rows=1)).status_code == 200
    blocked = await qiwi.history(tgt, rows=1)
    assert blocked.status_code == 423
    assert blocked.json()["errorCode"] == "request.blocked"
    assert (await qiwi.edge(BALANCE, tgt)).status_code == 200  # only history is blocked
    emulator.clock.advance(timedelta(minutes=4, seconds=50))
    assert (await qiwi.history(tgt, rows=1)).status_code == 423
    emulator.clock.advance(timedelta(seconds=11))
    assert (await qiwi.history(tgt, rows=1)).status_code == 200


async def test_totals_sum_successful_payments_per_currency(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    dates = window(emulator, 90)
    response = await qiwi.edge(TOTAL, tgt, dates)
    assert response.status_code == 200
    body = decode(response)
    start = datetime.fromisoformat(dates["startDate"])
    incoming: dict[str, Decimal] = defaultdict(Decimal)
    outgoing: dict[str, Decimal] = defaultdict(Decimal)
    for row in emulator.wallet(MAIN).history:
        if row.status == "SUCCESS" and row.date >= start:
            (incoming if row.type == "IN" else outgoing)[row.currency] += row.amount + row.commission
    assert {item["currency"]: Decimal(item["amount"]) for item in body["incomingTotal"]} == incoming
    assert {item["currency"]: Decimal(item["amount"]) for item in body["outgoingTotal"]} == outgoing
    assert len(outgoing) > 1


async def test_totals_default_to_the_first_of_the_month(qiwi: Qiwi, emulator: Emulator) -> None:
    tgt = await qiwi.tgt()
    now = emulator.clock.now()
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    default = decode(await qiwi.edge(TOTAL, tgt))
    explicit = decode(await qiwi.edge(TOTAL, tgt, {"startDate": qiwi_datetime(first), "endDate": qiwi_datetime(now)}))
    assert default == explicit
    too_long = {"startDate": qiwi_datetime(now - timedelta(days=91)), "endDate": qiwi_datetime(now)}
    assert (await qiwi.edge(TOTAL, tgt, too_long)).status_code == 400
    assert (await qiwi.edge(TOTAL, tgt, {"rows": 5})).status_code == 400
