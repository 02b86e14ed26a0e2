"""Time: QIWI speaks Moscow time (`+03:00`, no DST since 2014); everything here is timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Literal

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


# How moments are shown to people, in one place: always Moscow time, as QIWI and its users keep it.
MomentStyle = Literal["moment", "time", "date", "short", "day_time"]
_FORMATS: dict[str, str] = {
    "moment": "%d.%m.%Y %H:%M MSK",  # until when a session, invite or request lasts
    "time": "%H:%M MSK",  # within the next minutes (confirm by)
    "date": "%d.%m.%Y",  # the bounds of a period
    "short": "%d.%m.%y %H:%M",  # a history line
    "day_time": "%d.%m %H:%M",  # an alert
}


def show_moment(moment: datetime, style: MomentStyle = "moment") -> str:
    return moment.astimezone(MSK).strftime(_FORMATS[style])


def show_span(start: datetime, end: datetime) -> str:
    """`01.11.2026 – 30.11.2026`: the days a period covers."""
    return f"{show_moment(start, 'date')} – {show_moment(end, 'date')}"
