"""One update at a time per user, as aiogram's SimpleEventIsolation, but with a lock only while in use.

aiogram's keeps a lock for every chat it ever saw, so anyone writing to the bot (outsiders included) would
grow its memory for good. Here a lock lives while some update of that user holds or waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey


class _Entry:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class TransientEventIsolation(BaseEventIsolation):
    def __init__(self) -> None:
        self._entries: dict[StorageKey, _Entry] = {}

    @property
    def held(self) -> int:
        """How many keys have a lock right now (for tests and diagnostics)."""
        return len(self._entries)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[key]

    async def close(self) -> None:
        self._entries.clear()
