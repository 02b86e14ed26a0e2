"""aiogram FSM storage in the bot's SQLite file, so open dialogs survive a restart.

Data is JSON (never pickle). JSON has no Decimal or datetime: callers store amounts as `str(amount)` and
times as ISO text, and parse them back; anything else raises `TypeError` at `set_data`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from .codec import dump_time
from .connection import Transaction

if TYPE_CHECKING:
    from .database import Database

_KEY = "bot_id = ? AND chat_id = ? AND user_id = ? AND thread_id = ? AND business_connection_id = ? AND destiny = ?"


def _key(key: StorageKey) -> tuple[int, int, int, int, str, str]:
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


class SQLiteStorage(BaseStorage):
    def __init__(self, db: Database) -> None:
        self._sql = db.sql

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        async with self._sql.transaction() as tx:
            await tx.execute(
                "INSERT INTO fsm (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny, "
                "state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                (*_key(key), value, _now()),
            )
            await self._drop_if_empty(tx, key)

    async def get_state(self, key: StorageKey) -> str | None:
        row = await self._sql.fetchone(f"SELECT state FROM fsm WHERE {_KEY}", _key(key))
        return None if row is None else row["state"]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        encoded = _dumps(data)
        async with self._sql.transaction() as tx:
            await self._write_data(tx, key, encoded)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        row = await self._sql.fetchone(f"SELECT data FROM fsm WHERE {_KEY}", _key(key))
        return {} if row is None else _loads(row["data"])

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        # One transaction, unlike BaseStorage's get-then-set, so two updates never lose each other's keys.
        async with self._sql.transaction() as tx:
            row = await tx.fetchone(f"SELECT data FROM fsm WHERE {_KEY}", _key(key))
            current = {} if row is None else _loads(row["data"])
            current.update(data)
            await self._write_data(tx, key, _dumps(current))
        return current.copy()

    async def close(self) -> None:
        """Nothing to do: the Database belongs to the application, which closes it after the dispatcher."""

    async def _write_data(self, tx: Transaction, key: StorageKey, encoded: str) -> None:
        await tx.execute(
            "INSERT INTO fsm (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny, "
            "data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            (*_key(key), encoded, _now()),
        )
        await self._drop_if_empty(tx, key)

    @staticmethod
    async def _drop_if_empty(tx: Transaction, key: StorageKey) -> None:
        await tx.execute(f"DELETE FROM fsm WHERE {_KEY} AND state IS NULL AND data = '{{}}'", _key(key))


def _loads(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("stored FSM data is not a JSON object")
    return value
