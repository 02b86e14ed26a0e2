"""Time: QIWI speaks Moscow time (`+03:00`, no DST since 2014); everything here is timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

MSK = timezone(timedelta(hours=3), "MSK")


def now_utc() -> datetime:
    return datetime.now(UTC)


def now_msk() -> datetime:
    return datetime.now(MSK)


def qiwi_datetime(moment: datetime) -> str:
    """`2017-03-01T00:00:00+03:00`: the form the history and totals calls accept, always in Moscow time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(MSK).replace(microsecond=0).isoformat()


def parse_qiwi_datetime(text: str) -> datetime:
    """QIWI dates come as `+03:00` and sometimes `+0300`; both are aware datetimes here."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        raise ValueError(f"date without offset: {text!r}")
    return moment
