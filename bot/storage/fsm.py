"""aiogram FSM storage in the bot's SQLite file, so open dialogs survive a restart; hot reads from memory.

Data is JSON (never pickle). JSON has no Decimal or datetime: callers store amounts as `str(amount)` and
times as ISO text, and parse them back; anything else raises `TypeError` at `set_data`.

**The cache.** aiogram reads the state on every update (and handlers the data on most dialog steps); each read
was a trip to aiosqlite's thread. `FsmCache` keeps each key's state and data (as the JSON text SQLite holds)
in memory, write-through: SQLite stays the truth and is written exactly as before, synchronously, in the
same transactions; the cache only answers reads. It stays coherent because:
- every write here refreshes the key from what the write itself returned (`RETURNING`), after its commit;
- every change to the `fsm` table that does *not* come through here (a member's removal deletes their rows
  in `storage/users.py`, or any future statement) fires a TEMP trigger on this connection that calls back into
  Python and drops the key, so the next read goes to SQLite;
- a read fills the cache only if no change to the table was seen while it was reading.
One process owns the file (the bot); the cache belongs to its one connection (shared by every
`SQLiteStorage` over it) and is new, so empty, whenever the database is opened again. It is bounded
(`MAX_ENTRIES` keys, the oldest dropped first): a dropped key is just read from SQLite again.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from .codec import dump_time
from .connection import SQLite, Transaction

if TYPE_CHECKING:
    from .database import Database

_KEY = "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ? AND business_connection_id = ? AND destiny = ?"
_COLUMNS = "bot_id, chat_id, user_id, thread_id, business_connection_id, destiny"

Key = tuple[int, int, int, int, str, str]
Entry = tuple[str | None, str]  # (state, data as JSON text): a key without a row is (None, "{}")
ABSENT: Entry = (None, "{}")

MAX_ENTRIES = 10_000
_CHANGED = "bot_fsm_changed"  # the SQL function the triggers call (this connection only)


def _key(key: StorageKey) -> Key:
    return (
        key.bot_id,
        key.chat_id,
        key.user_id,
        key.thread_id or 0,
        key.business_connection_id or "",
        key.destiny,
    )


def _dumps(data: Mapping[str, Any]) -> str:
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"FSM data must be plain JSON (store Decimal amounts and datetimes as str): {error}") from None


def _now() -> str:
    return dump_time(datetime.now(UTC))


class FsmCache:
    """The state and data of recently used keys, kept coherent with the `fsm` table (see the module doc)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.entries: dict[Key, Entry] = {}
        # Counts changes to the table seen by the triggers; a read whose count moved meanwhile is not kept.
        self.changes = 0
        self.watching = False

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def put(self, key: Key, entry: Entry) -> None:
        entries = self.entries
        entries.pop(key, None)  # re-inserted last: the oldest is first to go
        entries[key] = entry
        while len(entries) > self.max_entries:
            entries.pop(next(iter(entries)), None)

    def changed(self, *key: Any) -> None:
        """Called by the triggers, on aiosqlite's thread, inside the changing statement: must never raise."""
        self.changes += 1
        self.entries.pop(key, None)  # type: ignore[call-overload]

    def clear(self) -> None:
        self.entries.clear()
        self.changes += 1


# One cache per connection, however many storages are built over it (the dispatcher's and `Database.fsm`).
_CACHES: weakref.WeakKeyDictionary[SQLite, FsmCache] = weakref.WeakKeyDictionary()


def cache_of(sql: SQLite) -> FsmCache:
    cache = _CACHES.get(sql)
    if cache is None:
        cache = _CACHES[sql] = FsmCache()
    return cache


async def _watch(sql: SQLite, cache: FsmCache) -> None:
    """TEMP triggers (this connection only, nothing in the file) that tell the cache of every row change."""
    await sql.create_function(_CHANGED, 6, cache.changed)
    for event, row in (("INSERT", "new"), ("UPDATE", "old"), ("DELETE", "old")):
        columns = ", ".join(f"{row}.{column.strip()}" for column in _COLUMNS.split(","))
        await sql.execute(
            f"CREATE TEMP TRIGGER IF NOT EXISTS bot_fsm_{event.lower()} AFTER {event} ON main.fsm "
            f"BEGIN SELECT {_CHANGED}({columns}); END"
        )
    cache.watching = True


class SQLiteStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self._sql = db.sql
        self._cache = cache_of(db.sql)

    async def _entry(self, key: Key) -> Entry:
        cache = self._cache
        if cache.watching:
            entry = cache.get(key)
            if entry is not None:
                return entry
        else:
            await _watch(self._sql, cache)
        seen = cache.changes
        row = await self._sql.fetchone(f"SELECT state, data FROM fsm WHERE {_KEY}", key)
        entry = ABSENT if row is None else (row["state"], row["data"])
        if cache.changes == seen:
            cache.put(key, entry)
        return entry

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        k = _key(key)
        await self._ensure_watching()
        async with self._sql.transaction() as tx:
            row = await tx.fetchone(
                f"INSERT INTO fsm ({_COLUMNS}, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at "
                "RETURNING state, data",
                (*k, value, _now()),
            )
            entry = await self._drop_if_empty(tx, k, row)
        self._cache.put(k, entry)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._entry(_key(key)))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        encoded = _dumps(data)
        k = _key(key)
        await self._ensure_watching()
        async with self._sql.transaction() as tx:
            entry = await self._write_data(tx, k, encoded)
        self._cache.put(k, entry)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return _loads((await self._entry(_key(key)))[1])

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        # One transaction, unlike BaseStorage's get-then-set, so two updates never lose each other's keys.
        k = _key(key)
        await self._ensure_watching()
        async with self._sql.transaction() as tx:
            # Inside the transaction the cache is as good as a SELECT: any other change to this key would have
            # dropped it (the triggers), and none can start while this transaction holds the connection.
            cached = self._cache.get(k)
            if cached is None:
                row = await tx.fetchone(f"SELECT data FROM fsm WHERE {_KEY}", k)
                current = {} if row is None else _loads(row["data"])
            else:
                current = _loads(cached[1])
            current.update(data)
            entry = await self._write_data(tx, k, _dumps(current))
        self._cache.put(k, entry)
        return current.copy()

    async def close(self) -> None:
        """Nothing to do: the Database belongs to the application, which closes it after the dispatcher."""

    async def _ensure_watching(self) -> None:
        if not self._cache.watching:
            await _watch(self._sql, self._cache)

    async def _write_data(self, tx: Transaction, key: Key, encoded: str) -> Entry:
        row = await tx.fetchone(
            f"INSERT INTO fsm ({_COLUMNS}, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at "
            "RETURNING state, data",
            (*key, encoded, _now()),
        )
        return await self._drop_if_empty(tx, key, row)

    @staticmethod
    async def _drop_if_empty(tx: Transaction, key: Key, row: Any) -> Entry:
        """A finished dialog leaves no row behind; returns what the key now holds."""
        state, data = (row["state"], row["data"]) if row is not None else ABSENT
        if state is None and data == "{}":
            await tx.execute(f"DELETE FROM fsm WHERE {_KEY}", key)
            return ABSENT
        return state, data


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored FSM data is not a JSON object")
    return value
