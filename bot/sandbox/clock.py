"""The emulator's notion of "now": real time plus an offset that tests move forward."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.timeutil import MSK, now_msk


class Clock:
    """`now()` follows the wall clock (or stands still when `frozen`), shifted by every `advance()`.

    Ticket lifetimes, session idle time, history windows and the history rate limit all read this clock,
    so a test can age a TGT by eight hours without waiting eight hours.
    """

    def __init__(self, start: datetime | None = None, *, frozen: bool = False) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("naive datetime")
        self._frozen = frozen
        self._start = (start or now_msk()).astimezone(MSK)
        self._offset = self._start - now_msk()

    def now(self) -> datetime:
        if self._frozen:
            return self._start
        return now_msk() + self._offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self._start += delta
        self._offset += delta
