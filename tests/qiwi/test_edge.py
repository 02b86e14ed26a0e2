"""Balance, history and totals over loopback, with the emulator as the strict reader of every request."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from bot.qiwi import (
    EDGE_SERVICE,
    Money,
    QiwiAuthError,
    QiwiBadRequest,
    QiwiClient,
    QiwiNotFound,
    QiwiRateLimited,
    QiwiUnavailable,
)
from bot.sandbox import Emulator, EmulatorServer
from bot.timeutil import MSK

from .conftest import EMPTY, MAIN, PASSWORD, RECEIVER


def edge_tickets(emulator: Emulator) -> list[str]:
    return [r.ticket for r in emulator.issued_tickets if r.kind == "ST" and r.service == EDGE_SERVICE]


def window(emulator: Emulator, days: int) -> tuple[datetime, datetime]:
    end = emulator.clock.now().astimezone(MSK)
    return end - timedelta(days=days), end


async def test_balance(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    accounts = await qiwi.balance(tgt, MAIN)
    expected = {(a.currency, a.balance) for a in emulator.wallet(MAIN).accounts}
    got = {(a.currency, a.balance.amount if a.balance else None) for a in accounts}
    assert got == expected
    assert {a.currency for a in accounts} >= {"RUB", "USD", "KZT"}
    assert all(isinstance(a.balance.amount, Decimal) for a in accounts if a.balance)


async def test_balance_of_someone_elses_wallet_is_refused(qiwi: QiwiClient, tgt: str) -> None:
    with pytest.raises(QiwiAuthError):
        await qiwi.balance(tgt, RECEIVER)


async def test_balance_404_is_not_found(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.faults.inject("balance", "status", status=404)
    with pytest.raises(QiwiNotFound):
        await qiwi.balance(tgt, MAIN)


async def test_history_without_dates_covers_the_last_day(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    page = await qiwi.history(tgt, MAIN, rows=50)
    assert page.payments, "the demo wallet has payments within the last day"
    now = emulator.clock.now()
    assert all(now - p.date < timedelta(days=2) for p in page.payments)


async def test_history_page_and_filters(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    start, end = window(emulator, 89)
    page = await qiwi.history(tgt, MAIN, rows=5, operation="IN", sources=("QW_RUB",), start=start, end=end)
    assert len(page.payments) == 5
    assert all(p.type == "IN" for p in page.payments)
    assert all(p.sum is not None and p.sum.currency == "RUB" for p in page.payments)
    assert page.next_txn_id is not None and page.next_txn_date is not None
    dates = [p.date for p in page.payments]
    assert dates == sorted(dates, reverse=True)


async def test_iter_history_reaches_the_last_page(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    start, end = window(emulator, 80)
    expected = [
        row.txn_id for row in emulator.select_history(MAIN, start=start, end=end, operation="ALL", sources=frozenset())
    ]
    assert len(expected) > 2 * 7
    before = len(edge_tickets(emulator))
    got = [p.txn_id async for p in qiwi.iter_history(tgt, MAIN, start=start, end=end, rows=7)]
    assert got == expected
    pages = -(-len(expected) // 7)
    assert len(edge_tickets(emulator)) - before == pages


async def test_iter_history_longer_than_ninety_days(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    start, end = window(emulator, 150)
    expected = [
        row.txn_id for row in emulator.select_history(MAIN, start=start, end=end, operation="ALL", sources=frozenset())
    ]
    got = [p.txn_id async for p in qiwi.iter_history(tgt, MAIN, start=start, end=end)]
    assert got == expected and len(got) == len(set(got)) > 50


async def test_history_of_an_empty_wallet_is_an_empty_page(qiwi: QiwiClient, emulator: Emulator) -> None:
    tgt = await qiwi.create_tgt(EMPTY, PASSWORD)
    page = await qiwi.history(tgt, EMPTY)
    assert page.payments == [] and page.next_txn_id is None and page.next_txn_date is None
    start, end = window(emulator, 30)
    assert [p async for p in qiwi.iter_history(tgt, EMPTY, start=start, end=end)] == []


async def test_history_validation_happens_before_any_request(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    before = len(emulator.issued_tickets)
    start, _ = window(emulator, 10)
    for kwargs in ({"rows": 0}, {"rows": 51}, {"start": start}, {"next_txn_id": 5}):
        with pytest.raises(ValueError):
            await qiwi.history(tgt, MAIN, **kwargs)  # type: ignore[arg-type]
    assert len(emulator.issued_tickets) == before


async def test_dates_go_out_encoded(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    seen: list[bytes] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url.raw_path)

    http = httpx.AsyncClient(timeout=httpx.Timeout(2.0), event_hooks={"request": [record]})
    client = QiwiClient(http, auth_url=qiwi_server.auth_url, web_url=qiwi_server.web_url, edge_url=qiwi_server.edge_url)
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        start, end = window(emulator, 30)
        page = await client.history(tgt, MAIN, rows=3, start=start, end=end)
        assert page.next_txn_id is not None and page.next_txn_date is not None
        await client.history(
            tgt, MAIN, rows=3, start=start, end=end, next_txn_id=page.next_txn_id, next_txn_date=page.next_txn_date
        )
        await client.totals(tgt, MAIN, start=start, end=end)
    finally:
        await client.aclose()
    edge = [path for path in seen if b"/payment-history/" in path]
    assert len(edge) == 3
    for raw in edge:
        query = raw.split(b"?", 1)[1]
        assert b"+" not in query and b":" not in query and b" " not in query
        assert b"%2B03%3A00" in query
    assert b"nextTxnDate=" in edge[1] and b"nextTxnId=" in edge[1]


async def test_totals_match_the_history(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    start, end = window(emulator, 60)
    totals = await qiwi.totals(tgt, MAIN, start=start, end=end)
    incoming: dict[str, Decimal] = defaultdict(Decimal)
    outgoing: dict[str, Decimal] = defaultdict(Decimal)
    async for p in qiwi.iter_history(tgt, MAIN, start=start, end=end):
        if p.status == "SUCCESS" and p.sum is not None and p.total is not None:
            if p.type == "IN":
                incoming[p.sum.currency] += p.sum.amount
            else:
                outgoing[p.total.currency] += p.total.amount
    assert {m.currency: m.amount for m in totals.incoming} == dict(incoming)
    assert {m.currency: m.amount for m in totals.outgoing} == dict(outgoing)
    assert incoming and outgoing


async def test_totals_without_dates_and_with_filters(qiwi: QiwiClient, tgt: str) -> None:
    default = await qiwi.totals(tgt, MAIN)
    assert all(isinstance(m, Money) for m in default.incoming + default.outgoing)
    only_usd = await qiwi.totals(tgt, MAIN, operation="OUT", sources=("QW_USD",))
    assert only_usd.incoming == []
    assert all(m.currency == "USD" for m in only_usd.outgoing)


def attempts(emulator: Emulator, since: int) -> int:
    return len(edge_tickets(emulator)) - since


async def test_reads_retry_5xx_with_a_new_ticket_each_time(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    before = len(edge_tickets(emulator))
    emulator.faults.inject("balance", "status", status=502, times=2)
    assert await qiwi.balance(tgt, MAIN)
    assert attempts(emulator, before) == 3


async def test_retries_stop(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    client = QiwiClient.create(
        qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=2.0, read_retries=2, backoff=0.01
    )
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        emulator.faults.inject("history", "status", status=500, times=None)
        before = len(edge_tickets(emulator))
        with pytest.raises(QiwiUnavailable) as caught:
            await client.history(tgt, MAIN)
        assert caught.value.status == 500
        assert attempts(emulator, before) == 3
    finally:
        await client.aclose()


async def test_hang_times_out_and_is_retried_a_bounded_number_of_times(
    qiwi_server: EmulatorServer, emulator: Emulator
) -> None:
    client = QiwiClient.create(
        qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=0.3, read_retries=1, backoff=0.01
    )
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        emulator.faults.inject("total", "hang", times=None)
        before = len(edge_tickets(emulator))
        with pytest.raises(QiwiUnavailable):
            await client.totals(tgt, MAIN)
        assert attempts(emulator, before) == 2
        emulator.faults.clear()
        emulator.faults.inject("balance", "hang", times=1)
        assert await client.balance(tgt, MAIN)  # the retry gets through
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("endpoint", "status", "kind"),
    [
        ("balance", 401, QiwiAuthError),
        ("history", 423, QiwiRateLimited),
        ("total", 423, QiwiRateLimited),
        ("history", 400, QiwiBadRequest),
        ("balance", 404, QiwiNotFound),
    ],
)
async def test_client_errors_are_not_retried(
    qiwi: QiwiClient, tgt: str, emulator: Emulator, endpoint: str, status: int, kind: type[Exception]
) -> None:
    emulator.faults.inject(endpoint, "status", status=status, times=None)
    before = len(edge_tickets(emulator))
    call = {"balance": qiwi.balance, "history": qiwi.history, "total": qiwi.totals}[endpoint]
    with pytest.raises(kind) as caught:
        await call(tgt, MAIN)
    assert attempts(emulator, before) == 1
    assert getattr(caught.value, "status", None) == status


async def test_rate_limit_carries_qiwis_code(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.faults.inject("history", "status", status=423)
    with pytest.raises(QiwiRateLimited) as caught:
        await qiwi.history(tgt, MAIN)
    assert caught.value.code == "request.blocked"


async def test_real_rate_limit_after_a_burst(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    for _ in range(100):
        await qiwi.history(tgt, MAIN, rows=1)
    with pytest.raises(QiwiRateLimited):
        await qiwi.history(tgt, MAIN, rows=1)


async def test_every_edge_call_uses_a_fresh_ticket_once(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    start, end = window(emulator, 30)
    await qiwi.balance(tgt, MAIN)
    await qiwi.balance(tgt, MAIN)
    await qiwi.history(tgt, MAIN, rows=10, start=start, end=end)
    _ = [p async for p in qiwi.iter_history(tgt, MAIN, start=start, end=end, rows=5)]
    await qiwi.totals(tgt, MAIN)
    sts = [r for r in emulator.issued_tickets if r.kind == "ST"]
    assert len(sts) > 5
    assert len({r.ticket for r in sts}) == len(sts)
    assert all(r.presented == 1 for r in sts), "every ST shown exactly once"
    assert all(r.service == EDGE_SERVICE for r in sts)
