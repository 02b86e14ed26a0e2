"""/export: the history of a period as CSV a spreadsheet opens as it is.

UTF-8 with a BOM (Excel otherwise reads Cyrillic as cp1251 garbage), ISO 8601 dates with their offset,
amounts as plain decimals with `.` and two decimals ("10.00", "0.50"), one row per payment, every page of
the period. Periods: this month, last month, the last 30 or 90 whole days (today included), or any past
calendar month (`month_export_period`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING

from bot.phone import InvalidPhone, normalize_phone
from bot.services.history import Period, counterparty, last_days, month_period, stats_period
from bot.timeutil import MSK

if TYPE_CHECKING:
    from bot.qiwi.models import Payment

EXPORT_PERIODS = ("month", "prev_month", "days30", "days90")
COLUMNS = (
    "date",
    "direction",
    "amount",
    "currency",
    "counterparty",
    "comment",
    "status",
    "qiwi_txn_id",
    "client_id",
)
_DIRECTIONS = {"IN": "in", "OUT": "out", "QIWI_CARD": "card"}
# A cell starting with one of these is a formula to a spreadsheet; text from outside must not run as one.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_period(name: str, now: datetime) -> Period:
    """This month, last month, or the last 30 / 90 whole days, today included (Moscow time, as QIWI counts;
    90 days from 00:00 of the first day to now stay inside QIWI's 90-day window)."""
    if name == "days90":
        return last_days(name, 90, now)
    if name not in EXPORT_PERIODS:
        raise ValueError(f"unknown export period {name!r}")
    return stats_period(name, now)


def month_export_period(number: int, now: datetime) -> Period:
    """A calendar month by number (year * 12 + month - 1); ValueError for one not begun yet."""
    return month_period("picked_month", number, now)


_CENTS = Decimal("0.01")


def _amount(value: Decimal) -> str:
    """`10.00`, `0.50`: two decimals always. "f" keeps 1E+3 from ever appearing; the sign lives in
    `direction`. QIWI never sends fractions of a kopeck; should one come, it is written in full, not rounded."""
    with localcontext() as context:
        context.prec = max(context.prec, len(value.as_tuple().digits) + 4, value.adjusted() + 4)
        value = abs(value)
        if value.is_finite() and value == value.quantize(_CENTS):
            value = value.quantize(_CENTS)
    return format(value, "f")


def _text(value: str | None) -> str:
    if not value:
        return ""
    value = " ".join(value.split())
    return "'" + value if value.startswith(_FORMULA_START) else value


def _counterparty(payment: Payment) -> str:
    # A wallet goes out as its bare id (79001112233): "+7 900 …" would read as a formula in a spreadsheet and
    # would need the escaping quote, which then shows in the cell.
    if payment.account:
        try:
            return normalize_phone(payment.account)
        except InvalidPhone:
            pass
    return _text(counterparty(payment))


def payment_row(payment: Payment) -> list[str]:
    money = payment.sum or payment.total
    return [
        payment.date.isoformat(timespec="seconds"),
        _DIRECTIONS.get(payment.type or "", (payment.type or "").lower()),
        _amount(money.amount) if money else "",
        money.currency if money else "",
        _counterparty(payment),
        _text(payment.comment),
        payment.status or "",
        str(payment.txn_id),
        payment.trm_txn_id or "",
    ]


def write_csv(payments: Iterable[Payment]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for payment in payments:
        writer.writerow(payment_row(payment))
    return buffer.getvalue().encode("utf-8-sig")


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    content: bytes
    rows: int
    period: Period


def export_file(payments: list[Payment], period: Period) -> Export:
    start, end = period.start.astimezone(MSK), period.end.astimezone(MSK)
    filename = f"qiwi-{start:%Y-%m-%d}_{end:%Y-%m-%d}.csv"
    return Export(filename, write_csv(payments), len(payments), period)
