"""The user rows read lately, kept in memory in front of SQLite (see `UserCache`)."""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from .models import User


class UserCache:
    """The user rows read lately, in memory: every update reads its user, most never change it.

    One process owns the database file, and every write of a user's row or wallets goes through the
    repositories, which drop the entry they change; so a hit is always what SQLite holds. Unknown ids
    (outsiders) are remembered as None too, and the oldest entries go beyond `size`."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._rows: OrderedDict[int, User | None] = OrderedDict()
        # Counts the writes that change who has a session with alerts on (login, logout, the alerts switch,
        # a role or a removal): the alert poller re-reads its roster when this moves, not on a timer.
        self.generation = 0

    def get(self, tg_id: int) -> tuple[bool, User | None]:
        if tg_id not in self._rows:
            return False, None
        self._rows.move_to_end(tg_id)
        return True, self._rows[tg_id]

    def put(self, tg_id: int, user: User | None) -> None:
        self._rows[tg_id] = user
        self._rows.move_to_end(tg_id)
        while len(self._rows) > self.size:
            self._rows.popitem(last=False)

    def drop(self, tg_id: int) -> None:
        self._rows.pop(tg_id, None)

    def clear(self) -> None:
        self._rows.clear()


# The writes after which the alert poller's roster may differ.
ROSTER_WRITES = frozenset({"set_session", "clear_session", "set_notify", "ensure", "set_role", "remove"})


class _HasUserCache(Protocol):
    user_cache: UserCache


Repo = TypeVar("Repo", bound=_HasUserCache)
P = ParamSpec("P")
R = TypeVar("R")


def changes_user(
    method: Callable[Concatenate[Repo, int, P], Awaitable[R]],
) -> Callable[Concatenate[Repo, int, P], Awaitable[R]]:
    """For a repository method whose first argument is the tg_id it writes: the cached row is dropped once
    the write is done. After, not before: the one connection runs statements in order, so a read that
    started earlier has finished by then, and no read can put back what was there before the write."""

    @functools.wraps(method)
    async def wrapper(self: Repo, tg_id: int, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, tg_id, *args, **kwargs)
        finally:
            self.user_cache.drop(tg_id)
            if method.__name__ in ROSTER_WRITES:
                self.user_cache.generation += 1

    return wrapper
