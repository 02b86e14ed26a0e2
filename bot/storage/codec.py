"""How Python values are written to SQLite and read back.

Times are UTC ISO text with a fixed microsecond precision, so comparing the text compares the moments.
Amounts are TEXT so a Decimal comes back exactly as it went in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


def dump_time(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: storage needs timezone-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def load_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"stored time without offset: {text!r}")
    return moment


def load_optional_time(text: str | None) -> datetime | None:
    return None if text is None else load_time(text)


def dump_amount(amount: Decimal) -> str:
    if not isinstance(amount, Decimal):
        raise TypeError(f"amounts are Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError("amount is not a finite number")
    return str(amount)


def load_amount(text: str) -> Decimal:
    return Decimal(text)
