"""History and statistics as text: compact payment lines, history windows and statistics periods."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html import escape

from bot.money import format_money
from bot.phone import InvalidPhone, format_phone, normalize_phone
from bot.qiwi.models import Money, Payment, Totals
from bot.timeutil import MSK, show_moment

# QIWI refuses windows longer than 90 days, and without a window it answers only for the last day.
HISTORY_WINDOW = timedelta(days=90)

Translate = Callable[[str], str]


def history_window(now: datetime) -> tuple[datetime, datetime]:
    end = now.astimezone(MSK).replace(microsecond=0)
    return end - HISTORY_WINDOW, end


def counterparty(payment: Payment) -> str | None:
    if payment.account:
        try:
            return format_phone(normalize_phone(payment.account))
        except InvalidPhone:
            pass
    return payment.provider_name or payment.account


def payment_line(payment: Payment, language: str, translate: Translate) -> str:
    """`27.11.26 14:05 ⬇️ +1 500,00 ₽ · +7 900 111-22-33 · «comment» · status` (HTML-escaped)."""
    when = show_moment(payment.date, "short")
    incoming = payment.type == "IN"
    arrow, sign = ("⬇️", "+") if incoming else ("⬆️", "−")
    parts = [f"{when} {arrow}"]
    money = payment.sum or payment.total
    if money is not None:
        parts[0] += f" {sign}{format_money(money.amount, money.currency, language)}"
    other = counterparty(payment)
    if other:
        parts.append(escape(other))
    if payment.comment:
        parts.append(f"«{escape(payment.comment.strip()[:60])}»")
    if payment.status and payment.status != "SUCCESS":
        key = {"WAITING": "history.status.waiting", "ERROR": "history.status.error"}.get(payment.status)
        parts.append(translate(key) if key else escape(payment.status))
    return " · ".join(parts)


def next_cursor(next_txn_id: int | None, next_txn_date: datetime | None) -> tuple[int, int] | None:
    """The cursor as button data carries it (id, Unix seconds), or None on the last page."""
    if next_txn_id is None or next_txn_date is None:
        return None
    return next_txn_id, int(next_txn_date.timestamp())


def cursor_date(unix_seconds: int) -> datetime:
    return datetime.fromtimestamp(unix_seconds, MSK)


@dataclass(frozen=True)
class Period:
    name: str
    start: datetime
    end: datetime


def stats_period(name: str, now: datetime) -> Period:
    """This month so far, last month, or the last 7 / 30 days; Moscow time, as QIWI counts."""
    now = now.astimezone(MSK).replace(microsecond=0)
    month_start = now.replace(day=1, hour=0, minute=0, second=0)
    if name == "prev_month":
        prev_start = (month_start - timedelta(days=1)).replace(day=1)
        return Period(name, prev_start, month_start - timedelta(seconds=1))
    if name == "days7":
        return Period(name, now - timedelta(days=7), now)
    if name == "days30":
        return Period(name, now - timedelta(days=30), now)
    return Period("month", month_start, now)


@dataclass(frozen=True)
class CurrencyTotals:
    currency: str
    incoming: Decimal
    outgoing: Decimal

    @property
    def net(self) -> Decimal:
        return self.incoming - self.outgoing


def totals_by_currency(totals: Totals) -> list[CurrencyTotals]:
    """One row per currency that appears on either side; RUB first, then alphabetical."""
    incoming: dict[str, Decimal] = {}
    outgoing: dict[str, Decimal] = {}
    for side, items in ((incoming, totals.incoming), (outgoing, totals.outgoing)):
        for money in items:
            side[money.currency] = side.get(money.currency, Decimal(0)) + money.amount
    currencies = sorted(set(incoming) | set(outgoing), key=lambda code: (code != "RUB", code))
    return [CurrencyTotals(c, incoming.get(c, Decimal(0)), outgoing.get(c, Decimal(0))) for c in currencies]


def signed_money(amount: Decimal, currency: str, language: str) -> str:
    text = format_money(abs(amount), currency, language)
    if amount > 0:
        return f"+{text}"
    if amount < 0:
        return f"−{text}"
    return text


def money_text(money: Money, language: str) -> str:
    return format_money(money.amount, money.currency, language)
