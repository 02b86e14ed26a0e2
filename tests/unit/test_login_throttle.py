"""LoginThrottle keeps memory only for users with recent failures, and a bounded number of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.sessions import LOGIN_THROTTLE_MAX_USERS, LoginThrottle, TooManyLoginAttempts


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def tracked(throttle: LoginThrottle) -> int:
    return len(throttle._failures)


def test_checks_without_failures_leave_nothing_behind() -> None:
    throttle = LoginThrottle(Clock())
    for tg_id in range(5000):
        throttle.check(tg_id)
    assert tracked(throttle) == 0


def test_five_failures_block_until_the_window_passes_then_forgotten() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, attempts=5, window=timedelta(minutes=15))
    for _ in range(4):
        throttle.record_failure(42)
        throttle.check(42)
    throttle.record_failure(42)
    with pytest.raises(TooManyLoginAttempts) as caught:
        throttle.check(42)
    assert caught.value.retry_at == datetime(2024, 5, 1, 12, 15, tzinfo=UTC)
    clock.now += timedelta(minutes=15)
    throttle.check(42)
    assert tracked(throttle) == 0, "a user whose failures all expired has no entry"


def test_reset_forgets() -> None:
    throttle = LoginThrottle(Clock(), attempts=1)
    throttle.record_failure(7)
    with pytest.raises(TooManyLoginAttempts):
        throttle.check(7)
    throttle.reset(7)
    throttle.check(7)
    assert tracked(throttle) == 0


def test_expired_users_are_swept_when_someone_else_fails() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, window=timedelta(minutes=15))
    for tg_id in range(100):
        throttle.record_failure(tg_id)
    clock.now += timedelta(minutes=16)
    throttle.record_failure(1000)
    assert list(throttle._failures) == [1000]


def test_the_number_of_users_is_bounded_oldest_failure_goes_first() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock, attempts=2, max_users=3)
    for tg_id in (1, 2, 3):
        throttle.record_failure(tg_id)
        clock.now += timedelta(seconds=1)
    throttle.record_failure(1)  # user 1 failed again: now the most recent
    clock.now += timedelta(seconds=1)
    throttle.record_failure(4)
    assert list(throttle._failures) == [3, 1, 4]
    with pytest.raises(TooManyLoginAttempts):
        throttle.check(1)  # its two failures survived the eviction of user 2


def test_the_default_bound_holds_for_many_users() -> None:
    throttle = LoginThrottle(Clock())
    for tg_id in range(LOGIN_THROTTLE_MAX_USERS + 500):
        throttle.record_failure(tg_id)
    assert tracked(throttle) == LOGIN_THROTTLE_MAX_USERS
    assert next(iter(throttle._failures)) == 500
