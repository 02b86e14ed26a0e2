"""Periods, windows and totals arithmetic behind /history and /stats (Moscow time, Decimal money)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.qiwi.models import Money, Totals
from bot.services.history import history_window, stats_period, totals_by_currency
from bot.services.sessions import session_expires_at
from bot.timeutil import MSK


def test_month_periods_follow_moscow_time_across_a_year_boundary() -> None:
    # 21:30 UTC on 31 December is already 1 January in Moscow.
    now = datetime(2025, 12, 31, 21, 30, tzinfo=UTC)
    month = stats_period("month", now)
    assert month.start == datetime(2026, 1, 1, tzinfo=MSK)
    previous = stats_period("prev_month", now)
    assert previous.start == datetime(2025, 12, 1, tzinfo=MSK)
    assert previous.end == datetime(2025, 12, 31, 23, 59, 59, tzinfo=MSK)
    assert stats_period("days7", now).start == month.end - timedelta(days=7)
    assert stats_period("unknown", now).name == "month"


def test_history_window_stays_within_qiwis_90_days() -> None:
    start, end = history_window(datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC))
    assert end - start == timedelta(days=90) and end.microsecond == 0 and end.utcoffset() == timedelta(hours=3)


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
