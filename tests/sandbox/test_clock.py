"""The emulator's clock: follows real time unless frozen, and only moves forward."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.sandbox import Clock
from bot.timeutil import MSK


def test_frozen_clock_moves_only_when_advanced() -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=MSK)
    clock = Clock(start, frozen=True)
    assert clock.now() == start
    clock.advance(timedelta(hours=8))
    assert clock.now() == start + timedelta(hours=8)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))


def test_running_clock_keeps_its_offset() -> None:
    clock = Clock()
    before = clock.now()
    clock.advance(timedelta(days=1))
    assert timedelta(days=1) <= clock.now() - before < timedelta(days=1, seconds=5)
    assert clock.now().utcoffset() == timedelta(hours=3)
    with pytest.raises(ValueError):
        Clock(datetime(2026, 1, 1))
