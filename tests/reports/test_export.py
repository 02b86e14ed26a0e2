"""CSV export: every page of a period, amounts exactly as QIWI sent them, a file Excel reads as UTF-8."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.qiwi.models import Money, Payment
from bot.services.export import COLUMNS, Export, _amount, export_file, export_period, payment_row, write_csv
from bot.services.sessions import Session
from bot.services.wallet import WalletService
from bot.timeutil import MSK
from tests.service_stack import ALICE, Stack


async def export_history(stack: Stack, period_name: str) -> Export:
    """What /export does: every payment of the period through the wallet service, then the CSV file."""
    period = export_period(period_name, stack.emulator.clock.now())
    return export_file(await WalletService(stack.sessions).payments(ALICE, period.start, period.end), period)


def parse(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = content[3:].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


async def api_pages(stack: Stack, start: datetime, end: datetime) -> tuple[list[Payment], int]:
    """The same period read page by page with a different page size, independently of the export."""
    session: Session = await stack.sessions.current(ALICE)
    payments: list[Payment] = []
    cursor: tuple[int, datetime] | None = None
    pages = 0
    while True:
        page = await stack.qiwi.history(
            session.tgt,
            session.wallet,
            rows=7,
            start=start,
            end=end,
            next_txn_id=cursor[0] if cursor else None,
            next_txn_date=cursor[1] if cursor else None,
        )
        pages += 1
        payments += page.payments
        if page.next_txn_id is None or page.next_txn_date is None or not page.payments:
            return payments, pages
        cursor = (page.next_txn_id, page.next_txn_date)


async def test_a_multi_page_period_parses_back_to_the_api_amounts(stack: Stack) -> None:
    await stack.login()
    for i in range(55):  # more than one 50-row page even without the seeded months
        stack.emulator.add_incoming("79001112233", Decimal(f"{i}.{i % 100:02d}"), "79261234567", f"№{i} «ёж»")
        stack.emulator.clock.advance(timedelta(minutes=1))
    export = await export_history(stack, "days90")
    rows = parse(export.content)
    expected, pages = await api_pages(stack, export.period.start, export.period.end)
    assert pages > 8 and len(rows) == len(expected) == export.rows > 50
    assert list(rows[0]) == list(COLUMNS)
    by_id = {p.txn_id: p for p in expected}
    assert {int(r["qiwi_txn_id"]) for r in rows} == set(by_id)
    for row in rows:
        payment = by_id[int(row["qiwi_txn_id"])]
        money = payment.sum or payment.total
        assert money is not None
        assert Decimal(row["amount"]) == money.amount and row["currency"] == money.currency
        assert datetime.fromisoformat(row["date"]) == payment.date and "+" in row["date"]
        assert row["direction"] == {"IN": "in", "OUT": "out"}.get(payment.type or "", row["direction"])
    assert sum(Decimal(r["amount"]) for r in rows if r["currency"] == "RUB") == sum(
        (p.sum or p.total).amount
        for p in expected
        if (p.sum or p.total).currency == "RUB"  # type: ignore[union-attr]
    )
    assert any(r["comment"] == "№54 «ёж»" for r in rows)  # Cyrillic survives the round trip
    assert export.filename.endswith(".csv") and export.filename.startswith("qiwi-")


async def test_an_empty_period_is_a_header_only_file(stack: Stack) -> None:
    await stack.login(wallet="79003334455")
    export = await export_history(stack, "month")
    assert export.rows == 0 and parse(export.content) == []
    assert export.content.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]


def test_rows_are_spreadsheet_safe() -> None:
    payment = Payment(
        txn_id=1,
        person_id=None,
        date=datetime(2026, 11, 2, 9, 5, tzinfo=MSK),
        status="SUCCESS",
        type="OUT",
        status_text=None,
        trm_txn_id="1764000000000",
        account="+79121112233",
        sum=Money(Decimal("1E+3"), "RUB"),
        commission=None,
        total=None,
        provider_name=None,
        comment='=HYPERLINK("x"), "quoted"',
        error_code=None,
        error=None,
    )
    row = payment_row(payment)
    assert row[0] == "2026-11-02T09:05:00+03:00" and row[1] == "out" and row[2] == "1000.00"
    assert row[5].startswith("'=")  # not run as a formula
    assert row[4] == "79121112233"  # a wallet as its bare id: no "+", so neither a formula nor a quote
    back = parse(write_csv([payment]))[0]
    assert back["comment"] == row[5] and back["client_id"] == "1764000000000"


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        ("10", "10.00"),
        ("0.5", "0.50"),
        ("3497.5", "3497.50"),
        ("-150.05", "150.05"),
        ("0", "0.00"),
        ("1E+5", "100000.00"),
    ],
)
def test_amounts_have_two_decimals(amount: str, written: str) -> None:
    assert _amount(Decimal(amount)) == written


def test_periods() -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=MSK)
    assert export_period("prev_month", now).start == datetime(2026, 2, 1, tzinfo=MSK)
    ninety = export_period("days90", now)
    assert ninety.days == 90 and ninety.start == datetime(2025, 12, 16, tzinfo=MSK) and ninety.end == now
    assert ninety.end - ninety.start < timedelta(days=90)  # QIWI's window holds it whole
