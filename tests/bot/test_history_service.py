"""Periods, windows and totals arithmetic behind /history, /stats and /export (Moscow time, Decimal money)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.callbacks import HistoryOp, HistoryPage
from bot.qiwi.models import Money, Totals
from bot.services.export import export_period, month_export_period
from bot.services.history import (
    END_AFTER_EMPTY_WINDOWS,
    HISTORY_FLOOR,
    HistoryPosition,
    Period,
    history_window,
    month_label,
    month_number,
    month_period,
    month_picker_page,
    newest_position,
    position_fields,
    position_from_fields,
    stats_period,
    totals_by_currency,
)
from bot.services.sessions import session_expires_at
from bot.timeutil import MSK


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


def whole_days(period: Period) -> bool:
    """Starts at 00:00:00 of its first day; ends at 23:59:59 of its last day or at `now` (today)."""
    start, end = period.start.astimezone(MSK), period.end.astimezone(MSK)
    return start.time().isoformat() == "00:00:00" and end.microsecond == 0 and end >= start


def test_month_periods_follow_moscow_time_across_a_year_boundary() -> None:
    # 21:30 UTC on 31 December is already 1 January in Moscow.
    now = datetime(2025, 12, 31, 21, 30, tzinfo=UTC)
    month = stats_period("month", now)
    assert month.start == msk(2026, 1, 1) and month.end == msk(2026, 1, 1, 0, 30)
    assert month.single_day  # the 1st: "this month" is today so far, and /stats says so
    previous = stats_period("prev_month", now)
    assert previous.start == msk(2025, 12, 1)
    assert previous.end == msk(2025, 12, 31, 23, 59, 59)
    assert stats_period("unknown", now).name == "month"


@pytest.mark.parametrize(
    ("now", "first_day"),
    [
        (msk(2026, 3, 1, 0, 0, 1), msk(2026, 2, 23)),  # just after midnight on the 1st
        (msk(2026, 3, 31, 23, 59, 59), msk(2026, 3, 25)),  # the last second of a month
        (msk(2024, 3, 1, 12), msk(2024, 2, 24)),  # a leap February
    ],
)
def test_seven_and_thirty_days_are_that_many_whole_days_with_today(now: datetime, first_day: datetime) -> None:
    week, month = stats_period("days7", now), stats_period("days30", now)
    assert week.start == first_day and week.end == now and week.days == 7 and whole_days(week)
    assert month.days == 30 and month.end == now and whole_days(month)
    assert month.start == msk(now.year, now.month, now.day) - timedelta(days=29)
    ninety = export_period("days90", now)
    assert ninety.days == 90 and ninety.end - ninety.start <= timedelta(days=90)  # inside QIWI's window


@pytest.mark.parametrize(
    ("now", "previous_start", "previous_end"),
    [
        (msk(2026, 3, 1, 0, 0, 0), msk(2026, 2, 1), msk(2026, 2, 28, 23, 59, 59)),
        (msk(2024, 3, 15), msk(2024, 2, 1), msk(2024, 2, 29, 23, 59, 59)),
        (msk(2026, 1, 31, 23, 59, 59), msk(2025, 12, 1), msk(2025, 12, 31, 23, 59, 59)),
        (msk(2026, 5, 1, 0, 0, 0), msk(2026, 4, 1), msk(2026, 4, 30, 23, 59, 59)),
    ],
)
def test_months_at_their_edges(now: datetime, previous_start: datetime, previous_end: datetime) -> None:
    previous = stats_period("prev_month", now)
    assert (previous.start, previous.end) == (previous_start, previous_end)
    assert whole_days(previous) and previous.days == previous_end.day
    this = stats_period("month", now)
    assert this.start == msk(now.year, now.month, 1) and this.end == now
    assert this.single_day == (now.day == 1)
    assert export_period("prev_month", now) == previous


def test_any_past_month_and_no_future_one() -> None:
    now = msk(2026, 3, 1, 0, 10)
    february = month_export_period(month_number(msk(2026, 2, 1).date()), now)
    assert (february.start, february.end) == (msk(2026, 2, 1), msk(2026, 2, 28, 23, 59, 59))
    this = month_period("m", month_number(now.date()), now)
    assert this.end == now  # a running month ends now
    with pytest.raises(ValueError):
        month_export_period(month_number(now.date()) + 1, now)
    with pytest.raises(ValueError):
        month_export_period(2007 * 12 + 11, now)
    assert month_label(2026 * 12 + 10, "en") == "Nov 2026"
    assert month_label(2026 * 12 + 10, "ru").startswith("нояб")


def test_the_month_picker_pages_by_twelve() -> None:
    now = msk(2026, 3, 15)
    page = month_picker_page(now)
    assert page.months[0] == month_number(msk(2026, 2, 1).date()) and len(page.months) == 12
    assert page.later is None and page.earlier == page.months[0] - 12
    older = month_picker_page(now, page.earlier)
    assert older.months[0] == page.months[-1] - 1 and older.later == page.months[0]
    first = month_picker_page(now, 2008 * 12 + 3)
    assert first.months == [2008 * 12 + 3, 2008 * 12 + 2, 2008 * 12 + 1, 2008 * 12] and first.earlier is None
    assert month_picker_page(now, 2100 * 12).months == page.months  # a forged future page is clamped


def test_history_window_stays_within_qiwis_90_days() -> None:
    start, end = history_window(datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC))
    assert end - start == timedelta(days=90) and end.microsecond == 0 and end.utcoffset() == timedelta(hours=3)


def test_windows_follow_each_other_without_gap_or_overlap_and_end_after_a_silent_year() -> None:
    position: HistoryPosition | None = newest_position(msk(2026, 3, 1, 12))
    seen: list[HistoryPosition] = []
    while position is not None:
        seen.append(position)
        position = position.older_window(this_one_was_empty=True)
    assert len(seen) == END_AFTER_EMPTY_WINDOWS
    for newer, older in itertools.pairwise(seen):
        assert older.window_end == newer.window_start - timedelta(seconds=1)
    # A window with payments resets the count; the floor ends it regardless.
    assert seen[2].older_window(this_one_was_empty=False) == HistoryPosition(
        seen[2].window_start - timedelta(seconds=1), None, 0
    )
    assert HistoryPosition(HISTORY_FLOOR + timedelta(days=30)).older_window(this_one_was_empty=False) is None


def test_a_position_survives_the_button_and_fits_in_64_bytes() -> None:
    now = msk(2026, 3, 1, 12)
    position = HistoryPosition(msk(2025, 11, 30, 23, 59, 59), (2**63 - 1, msk(2025, 10, 1, 8, 0, 1)), 3)
    fields = position_fields(position)
    assert position_from_fields(*fields, now) == position
    data = HistoryPage(op=HistoryOp.ALL, window=fields[0], next_id=fields[1], next_date=fields[2], empty=fields[3])
    assert len(data.pack().encode()) <= 64
    assert HistoryPage.unpack(data.pack()) == data
    assert position_from_fields(0, 5, 5, 0, now) == newest_position(now)  # window 0: the newest page
    assert position_from_fields(2_000_000_000, 0, 0, 0, now).window_end == now  # no window in the future
    assert position_from_fields(fields[0], 7, 0, 0, now).cursor is None  # half a cursor is none
    HistoryPage(op=HistoryOp.IN, empty=END_AFTER_EMPTY_WINDOWS - 1)
    with pytest.raises(ValidationError):  # the end comes before a button could carry that many
        HistoryPage(op=HistoryOp.IN, empty=END_AFTER_EMPTY_WINDOWS)


def test_totals_per_currency_with_net() -> None:
    totals = Totals(
        incoming=[Money(Decimal("3500"), "RUB"), Money(Decimal("10.50"), "USD")],
        outgoing=[Money(Decimal("3497.5"), "RUB"), Money(Decimal("100"), "KZT")],
    )
    rows = totals_by_currency(totals)
    assert [row.currency for row in rows] == ["RUB", "KZT", "USD"]
    assert rows[0].net == Decimal("2.5") and rows[1].net == Decimal("-100") and rows[2].net == Decimal("10.50")


def test_session_ends_at_the_earlier_of_the_two_limits() -> None:
    login = datetime(2026, 1, 1, 9, 0, tzinfo=MSK)
    assert session_expires_at(login, None) == login + timedelta(hours=2)
    assert session_expires_at(login, login + timedelta(hours=5)) == login + timedelta(hours=7)
    assert session_expires_at(login, login + timedelta(hours=7)) == login + timedelta(hours=8)
