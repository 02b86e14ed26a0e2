"""History and statistics as text: compact payment lines, the walk back through history, statistics periods.

The whole history (`/history`)
------------------------------
QIWI answers history only inside a window of at most 90 days, and pages it with a cursor (nextTxnId +
nextTxnDate, which name the first payment of the next page). A `HistoryPosition` says where a page starts:
the end of its 90-day window, the cursor inside that window (None: from the window's newest payment) and
how many empty windows in a row came just before it. The first page's window ends at the moment /history
was sent; every later position is derived from it, so a button keeps showing the same list however many
payments arrive afterwards. When a window runs out, the walk goes on with the 90 days before it (window
end = previous start − 1 s: QIWI's bounds are inclusive and its dates whole seconds, so no payment falls
between two windows or into both). A page ends with its window once it has payments (one QIWI read per
page, however sparse the wallet); a press that finds its window empty reads on into older ones.

How the end is decided: QIWI has no call that names a wallet's first payment, so the history is taken to
have ended after `END_AFTER_EMPTY_WINDOWS` (4) windows in a row with nothing in them, that is 360 days of
silence, or at `HISTORY_FLOOR` (1 January 2008, before QIWI Wallet existed). Only then does the Older button
go. A payment older than a whole year of silence is therefore not reached by paging (the export of a
chosen month still finds it).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html import escape

from babel.dates import format_date

from bot.money import BABEL_LOCALES, format_money
from bot.phone import InvalidPhone, format_phone, normalize_phone
from bot.qiwi.models import Money, Payment, Totals
from bot.timeutil import MSK, show_moment

# QIWI refuses windows longer than 90 days, and without a window it answers only for the last day.
HISTORY_WINDOW = timedelta(days=90)
# Four empty 90-day windows in a row (360 days without a payment) end the history.
END_AFTER_EMPTY_WINDOWS = 4
# Nothing can be older than QIWI Wallet itself.
HISTORY_FLOOR = datetime(2008, 1, 1, tzinfo=MSK)
# QIWI reads one page may make: a page ends with its window once it has payments, so only empty windows
# add reads, and four of them end the history. A page stopped early (the member's read budget) carries on.
READS_PER_PAGE = END_AFTER_EMPTY_WINDOWS

Translate = Callable[[str], str]


def _msk_seconds(moment: datetime) -> datetime:
    return moment.astimezone(MSK).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class HistoryPosition:
    """Where a history page starts: a 90-day window (by its end), a cursor in it, empty windows before it."""

    window_end: datetime
    cursor: tuple[int, datetime] | None = None
    empty_windows: int = 0

    @property
    def window_start(self) -> datetime:
        return self.window_end - HISTORY_WINDOW

    def older_window(self, *, this_one_was_empty: bool) -> HistoryPosition | None:
        """The 90 days just before this window, or None when the history has ended."""
        empty = self.empty_windows + 1 if this_one_was_empty else 0
        end = self.window_start - timedelta(seconds=1)
        if empty >= END_AFTER_EMPTY_WINDOWS or end < HISTORY_FLOOR:
            return None
        return HistoryPosition(end, None, empty)


def newest_position(now: datetime) -> HistoryPosition:
    return HistoryPosition(_msk_seconds(now))


@dataclass(frozen=True, slots=True)
class HistoryWalk:
    """One page: its payments, newest first, and where the next page starts (None: nothing older)."""

    payments: list[Payment]
    older: HistoryPosition | None
    # The start of the oldest window this page read: how far back it has looked.
    searched_back_to: datetime


def history_window(now: datetime) -> tuple[datetime, datetime]:
    position = newest_position(now)
    return position.window_start, position.window_end


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


def position_fields(position: HistoryPosition) -> tuple[int, int, int, int]:
    """The position as button data carries it: (window end, cursor id, cursor date, empty windows), every
    moment in Unix seconds; a cursor of (0, 0) means the window's newest payment."""
    next_id, next_date = (
        (0, 0) if position.cursor is None else (position.cursor[0], int(position.cursor[1].timestamp()))
    )
    return int(position.window_end.timestamp()), next_id, next_date, position.empty_windows


def position_from_fields(window: int, next_id: int, next_date: int, empty: int, now: datetime) -> HistoryPosition:
    """Back from button data; window 0 is the newest page. A window ending after `now` (a forged button)
    is read as ending now, and a cursor needs both of its halves."""
    if window <= 0:
        return newest_position(now)
    end = min(datetime.fromtimestamp(window, MSK), _msk_seconds(now))
    cursor = (next_id, datetime.fromtimestamp(next_date, MSK)) if next_id > 0 and next_date > 0 else None
    return HistoryPosition(end, cursor, max(0, min(empty, END_AFTER_EMPTY_WINDOWS - 1)))


# ---- periods --------------------------------------------------------------------------------------------
# Every period is made of whole Moscow days, as QIWI counts: it starts at 00:00:00 of its first day and ends
# at 23:59:59 of its last day, or now when it reaches today (QIWI's bounds are inclusive, in whole seconds).

FIRST_MONTH = 2008 * 12  # January 2008 as a month number (year * 12 + month - 1)


@dataclass(frozen=True)
class Period:
    name: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        """Calendar days covered, the first and the last included."""
        return (self.end.astimezone(MSK).date() - self.start.astimezone(MSK).date()).days + 1

    @property
    def single_day(self) -> bool:
        return self.days == 1


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), MSK)


def last_days(name: str, days: int, now: datetime) -> Period:
    """The last `days` whole days, today (so far) included: "30 days" is today and the 29 days before it."""
    now = _msk_seconds(now)
    return Period(name, _day_start(now.date() - timedelta(days=days - 1)), now)


def month_number(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_of(number: int) -> tuple[int, int]:
    """(year, month) of a month number."""
    return number // 12, number % 12 + 1


def month_period(name: str, number: int, now: datetime) -> Period:
    """A calendar month by number: its first day 00:00:00 to its last day 23:59:59, or to now while it runs.
    ValueError for a month that has not begun or is older than QIWI Wallet."""
    now = _msk_seconds(now)
    if not FIRST_MONTH <= number <= month_number(now.date()):
        raise ValueError(f"month {number} is not a past or current month")
    year, month = month_of(number)
    start = _day_start(date(year, month, 1))
    last = _day_start(date(year, month, calendar.monthrange(year, month)[1])) + timedelta(days=1, seconds=-1)
    return Period(name, start, min(last, now))


def recent_months(now: datetime, count: int = 12, *, before: int | None = None) -> list[int]:
    """Month numbers, newest first: `count` months ending with `before` (default: last month), none older
    than January 2008."""
    last = month_number(now.astimezone(MSK).date()) - 1 if before is None else before
    return [number for number in range(last, last - count, -1) if number >= FIRST_MONTH]


@dataclass(frozen=True, slots=True)
class MonthPage:
    """One page of a month picker: month numbers newest first, and the `last` of the pages beside it."""

    months: list[int]
    earlier: int | None
    later: int | None


def month_picker_page(now: datetime, last: int | None = None, count: int = 12) -> MonthPage:
    """The `count` months up to `last` (default, and at most: last month); Earlier / Later page by `count`."""
    newest = last_month_number(now)
    last = newest if last is None else max(min(last, newest), FIRST_MONTH)
    months = recent_months(now, count, before=last)
    earlier = last - count if last - count >= FIRST_MONTH else None
    later = min(last + count, newest) if last < newest else None
    return MonthPage(months, earlier, later)


def last_month_number(now: datetime) -> int:
    """Last month's number: where a month picker starts (never before January 2008)."""
    return max(FIRST_MONTH, month_number(now.astimezone(MSK).date()) - 1)


def month_label(number: int, language: str) -> str:
    """`Nov 2026` / `нояб. 2026`: a calendar month in the member's language (Babel's month names)."""
    year, month = month_of(number)
    return format_date(date(year, month, 1), "LLL yyyy", locale=BABEL_LOCALES.get(language, "ru_RU"))


def stats_period(name: str, now: datetime) -> Period:
    """This month so far (on the 1st: only today), last month, or the last 7 / 30 days."""
    now = _msk_seconds(now)
    this_month = month_number(now.date())
    if name == "prev_month":
        return month_period(name, this_month - 1, now)
    if name == "days7":
        return last_days(name, 7, now)
    if name == "days30":
        return last_days(name, 30, now)
    return month_period("month", this_month, now)


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
