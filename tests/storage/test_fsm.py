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


# -- the write-through cache: reads from memory, SQLite the truth -------------------------------------------


class _CountingReads:
    """Counts the storage's trips to SQLite for reads (`SQLite.fetchone`)."""

    def __init__(self, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = db.sql.fetchone

        async def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return await original(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(db.sql, "fetchone", counted)


async def test_reads_come_from_memory_after_the_first(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _CountingReads(db, monkeypatch)
    assert await db.fsm.get_state(KEY) is None
    assert await db.fsm.get_data(KEY) == {}
    assert reads.count == 1  # one SELECT for state and data together; a key without a row is remembered too
    await db.fsm.set_state(KEY, Transfer.amount)
    await db.fsm.update_data(KEY, {"amount": "5"})
    for _ in range(3):
        assert await db.fsm.get_state(KEY) == "Transfer:amount"
        assert await db.fsm.get_data(KEY) == {"amount": "5"}
    assert reads.count == 1


async def test_cache_is_coherent_after_set_update_and_clear(db: Database) -> None:
    context = FSMContext(storage=db.fsm, key=KEY)
    sql_state = "SELECT state, data FROM fsm WHERE user_id = 10"
    await context.set_state(Transfer.recipient)
    await context.set_data({"recipient": "79002223344"})
    await context.update_data(amount="10.00")
    assert await context.get_data() == {"recipient": "79002223344", "amount": "10.00"}
    row = await db.sql.fetchone(sql_state)
    assert row is not None and (row["state"], row["data"]) == (
        "Transfer:recipient",
        '{"recipient":"79002223344","amount":"10.00"}',
    )
    await context.set_state(Transfer.amount)
    assert await context.get_state() == "Transfer:amount"
    assert await context.get_data() == {"recipient": "79002223344", "amount": "10.00"}  # data kept
    await context.clear()
    assert await context.get_state() is None and await context.get_data() == {}
    assert await db.sql.fetchone(sql_state) is None


async def test_data_handed_out_is_a_copy(db: Database) -> None:
    await db.fsm.set_data(KEY, {"list": [1]})
    data = await db.fsm.get_data(KEY)
    data["list"].append(2)
    data["new"] = True
    assert await db.fsm.get_data(KEY) == {"list": [1]}


async def test_changes_made_past_the_storage_are_seen(db: Database) -> None:
    await db.fsm.set_state(KEY, Transfer.amount)
    await db.fsm.set_data(KEY, {"amount": "1"})
    assert await db.fsm.get_state(KEY) == "Transfer:amount"  # cached

    await db.sql.execute("UPDATE fsm SET state = 'Transfer:recipient', data = '{\"x\":1}' WHERE user_id = 10")
    assert await db.fsm.get_state(KEY) == "Transfer:recipient"
    assert await db.fsm.get_data(KEY) == {"x": 1}

    # A member's removal deletes their dialogs with plain SQL (storage/users.py): the cache must not keep them.
    await db.users.ensure(10, "member")
    assert await db.users.remove(10)
    assert await db.fsm.get_state(KEY) is None
    assert await db.fsm.get_data(KEY) == {}

    await db.sql.execute(
        "INSERT INTO fsm (bot_id, chat_id, user_id, destiny, state, updated_at) "
        "VALUES (1, 10, 10, 'default', 'Transfer:amount', '2026-01-01T00:00:00Z')"
    )
    assert await db.fsm.get_state(KEY) == "Transfer:amount"


async def test_a_rolled_back_change_leaves_the_cache_right(db: Database) -> None:
    await db.fsm.set_state(KEY, Transfer.amount)
    assert await db.fsm.get_state(KEY) == "Transfer:amount"
    with pytest.raises(RuntimeError):
        async with db.sql.transaction() as tx:
            await tx.execute("UPDATE fsm SET state = 'Transfer:recipient' WHERE user_id = 10")
            raise RuntimeError("changed my mind")
    assert await db.fsm.get_state(KEY) == "Transfer:amount"


async def test_every_storage_over_one_database_shares_the_cache(db: Database) -> None:
    other = SQLiteStorage(db)  # the dispatcher builds its own; `db.fsm` is another
    assert await other.get_state(KEY) is None
    await db.fsm.set_state(KEY, Transfer.amount)
    assert await other.get_state(KEY) == "Transfer:amount"
    await other.set_data(KEY, {"a": 1})
    assert await db.fsm.get_data(KEY) == {"a": 1}


async def test_a_restart_reads_from_sqlite(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.fsm.set_state(KEY, Transfer.amount)
    assert await db.fsm.get_state(KEY) == "Transfer:amount"
    await db.close()
    # While the bot is down, the file changes (a restore, say): the next start must read the file, not memory.
    changed = await Database.open(db_path)
    await changed.sql.execute("UPDATE fsm SET state = 'Transfer:recipient'")
    await changed.close()

    reopened = await Database.open(db_path)
    try:
        assert await reopened.fsm.get_state(KEY) == "Transfer:recipient"
    finally:
        await reopened.close()


def test_the_cache_is_bounded() -> None:
    from bot.storage.fsm import FsmCache

    cache = FsmCache(max_entries=2)
    keys = [(1, 1, user, 0, "", "default") for user in range(3)]
    for key in keys:
        cache.put(key, ("S", "{}"))
    assert cache.get(keys[0]) is None and cache.get(keys[2]) == ("S", "{}")
    cache.put(keys[1], ("T", "{}"))  # used again: now the newest
    cache.put(keys[0], ("S", "{}"))
    assert cache.get(keys[2]) is None and cache.get(keys[1]) == ("T", "{}")
