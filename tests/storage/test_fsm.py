from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Database, SQLiteStorage

KEY = StorageKey(bot_id=1, chat_id=10, user_id=10)


class Transfer(StatesGroup):
    recipient = State()
    amount = State()


async def _row_count(db: Database) -> int:
    row = await db.sql.fetchone("SELECT count(*) FROM fsm")
    assert row is not None
    return int(row[0])


async def test_state_and_data_round_trip(db: Database) -> None:
    storage: SQLiteStorage = db.fsm
    assert await storage.get_state(KEY) is None
    assert await storage.get_data(KEY) == {}

    await storage.set_state(KEY, Transfer.amount)
    assert await storage.get_state(KEY) == "Transfer:amount"
    await storage.set_state(KEY, "Transfer:recipient")
    assert await storage.get_state(KEY) == "Transfer:recipient"

    data = {"recipient": "79002223344", "amount": "150.50", "n": 3, "ok": True, "nested": {"a": [1, None]}}
    await storage.set_data(KEY, data)
    assert await storage.get_data(KEY) == data
    assert await storage.get_value(KEY, "amount") == "150.50"
    assert await storage.get_state(KEY) == "Transfer:recipient"  # data writes leave the state alone
    assert await _row_count(db) == 1


async def test_set_data_empty_really_clears(db: Database) -> None:
    await db.fsm.set_state(KEY, Transfer.amount)
    await db.fsm.set_data(KEY, {"amount": "1"})
    await db.fsm.set_data(KEY, {})
    assert await db.fsm.get_data(KEY) == {}
    assert await db.fsm.get_state(KEY) == "Transfer:amount"
    await db.fsm.set_state(KEY, None)
    assert await db.fsm.get_state(KEY) is None
    assert await _row_count(db) == 0  # nothing left behind for a finished dialog


async def test_update_data_merges_atomically(db: Database) -> None:
    await db.fsm.set_data(KEY, {"a": 1})
    merged = await db.fsm.update_data(KEY, {"b": 2})
    assert merged == {"a": 1, "b": 2}
    await asyncio.gather(*(db.fsm.update_data(KEY, {f"k{i}": i}) for i in range(10)))
    data = await db.fsm.get_data(KEY)
    assert all(data[f"k{i}"] == i for i in range(10))
    assert data["a"] == 1


async def test_keys_are_distinct(db: Database) -> None:
    keys = [
        KEY,
        StorageKey(bot_id=2, chat_id=10, user_id=10),
        StorageKey(bot_id=1, chat_id=11, user_id=10),
        StorageKey(bot_id=1, chat_id=10, user_id=12),
        StorageKey(bot_id=1, chat_id=10, user_id=10, thread_id=5),
        StorageKey(bot_id=1, chat_id=10, user_id=10, business_connection_id="bc"),
        StorageKey(bot_id=1, chat_id=10, user_id=10, destiny="other"),
    ]
    for index, key in enumerate(keys):
        await db.fsm.set_state(key, f"S:{index}")
        await db.fsm.set_data(key, {"i": index})
    for index, key in enumerate(keys):
        assert await db.fsm.get_state(key) == f"S:{index}"
        assert await db.fsm.get_data(key) == {"i": index}


async def test_non_json_values_are_refused(db: Database) -> None:
    with pytest.raises(TypeError, match="store Decimal amounts"):
        await db.fsm.set_data(KEY, {"amount": Decimal("1.5")})
    with pytest.raises(DataNotDictLikeError):
        await db.fsm.set_data(KEY, [("a", 1)])  # type: ignore[arg-type]
    assert await db.fsm.get_data(KEY) == {}


async def test_dialogs_survive_reopening(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.fsm.set_state(KEY, Transfer.amount)
    await db.fsm.set_data(KEY, {"recipient": "79002223344", "comment": "привет"})
    await db.fsm.close()  # the dispatcher's shutdown hook: must not close the shared database
    await db.users.ensure(10, "member")
    await db.close()

    reopened = await Database.open(db_path)
    try:
        assert await reopened.fsm.get_state(KEY) == "Transfer:amount"
        assert await reopened.fsm.get_data(KEY) == {"recipient": "79002223344", "comment": "привет"}
    finally:
        await reopened.close()


async def test_works_behind_aiogram_fsm_context(db: Database) -> None:
    context = FSMContext(storage=db.fsm, key=KEY)
    await context.set_state(Transfer.recipient)
    await context.update_data(recipient="79002223344")
    assert await context.get_state() == Transfer.recipient.state
    assert await context.get_data() == {"recipient": "79002223344"}
    await context.clear()
    assert await context.get_state() is None
    assert await context.get_data() == {}
    assert await _row_count(db) == 0
