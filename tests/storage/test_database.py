from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from bot.storage import LATEST_VERSION, Database, DatabaseClosed, SchemaTooNew
from bot.storage.migrations import MIGRATIONS

from .conftest import NOW


def _pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


async def test_open_creates_folder_and_private_file(db_path: Path) -> None:
    assert not db_path.parent.exists()
    db = await Database.open(db_path)
    try:
        assert _mode(db_path) == 0o600
        assert await db.schema_version() == LATEST_VERSION
        assert await _live_pragma(db, "foreign_keys") == 1
        assert str(await _live_pragma(db, "journal_mode")).lower() == "wal"
        assert await _live_pragma(db, "busy_timeout") == 5000
        assert await _live_pragma(db, "synchronous") == 2  # FULL
    finally:
        await db.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def _live_pragma(db: Database, name: str) -> object:
    row = await db.sql.fetchone(f"PRAGMA {name}")
    assert row is not None
    return row[0]


def _make_file_at_version(path: Path, version: int) -> None:
    """Builds a file the way an older release of the bot left it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[:version]:
        for statement in step:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    if version >= 1:
        conn.execute(
            "INSERT INTO users (tg_id, role, language, created_at) VALUES (7, 'member', 'en', ?)",
            (NOW.isoformat(),),
        )
    conn.close()


@pytest.mark.parametrize("version", range(LATEST_VERSION))
async def test_migrates_older_files_forward(db_path: Path, version: int) -> None:
    _make_file_at_version(db_path, version)
    assert _pragma(db_path, "user_version") == version

    db = await Database.open(db_path)
    try:
        assert await db.schema_version() == LATEST_VERSION
        if version >= 1:
            kept = await db.users.get(7)
            assert kept is not None and kept.language == "en"
        # every table of the latest schema works
        await db.users.ensure(8, "member", now=NOW)
        draft = await db.transfers.create_draft(
            tg_id=8,
            wallet="79001112233",
            recipient="79002223344",
            amount=Decimal("1"),
            comment="",
            now=NOW,
        )
        assert draft.id >= 1
        assert await db.invites.get("nope") is None
        await db.wallets.set_session(8, "79001112233", b"blob", NOW)
        assert (await db.users.get(8)).tgt_ciphertext == b"blob"  # type: ignore[union-attr]
    finally:
        await db.close()


async def test_reopening_latest_runs_nothing(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.users.ensure(1, "admin", now=NOW)
    await db.close()
    db = await Database.open(db_path)
    try:
        assert await db.schema_version() == LATEST_VERSION
        assert await db.users.count() == 1
    finally:
        await db.close()


async def test_refuses_a_file_from_a_newer_bot(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    with pytest.raises(SchemaTooNew):
        await Database.open(db_path)
    assert _pragma(db_path, "user_version") == LATEST_VERSION + 1


async def test_close_checkpoints_and_is_idempotent(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.users.ensure(1, "admin", now=NOW)
    await db.close()
    await db.close()
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with pytest.raises(DatabaseClosed):
        await db.users.get(1)
    # the row reached the main file
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


async def test_close_waits_for_a_transaction_in_flight(db: Database) -> None:
    started = asyncio.Event()

    async def slow_writer() -> None:
        async with db.sql.transaction() as tx:
            started.set()
            await asyncio.sleep(0.05)
            await tx.execute("INSERT INTO users (tg_id, role, created_at) VALUES (5, 'member', 'x')")

    writer = asyncio.create_task(slow_writer())
    await started.wait()
    await db.close()
    await writer
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)


async def test_failed_transaction_rolls_back(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.sql.transaction() as tx:
            await tx.execute("INSERT INTO users (tg_id, role, created_at) VALUES (5, 'member', 'x')")
            raise RuntimeError("boom")
    assert await db.users.count() == 0
    await db.users.ensure(6, "member", now=NOW)  # the connection is usable again
    assert await db.users.count() == 1


async def test_backup_while_writes_are_going_on(db: Database, tmp_path: Path) -> None:
    committed = 0
    stop = asyncio.Event()
    progress = asyncio.Event()

    async def writer() -> None:
        nonlocal committed
        while not stop.is_set():
            await db.users.ensure(1000 + committed, "member", now=NOW)
            committed += 1
            progress.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    try:
        for round_ in range(3):
            while committed < 20 * (round_ + 1):
                progress.clear()
                await progress.wait()
            before = committed
            dest = tmp_path / "backups" / f"copy-{round_}.sqlite3"
            await db.backup(dest)
            after = committed
            with sqlite3.connect(dest) as copy:
                assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                assert copy.execute("PRAGMA user_version").fetchone() == (LATEST_VERSION,)
                (rows,) = copy.execute("SELECT count(*) FROM users").fetchone()
            assert before <= rows <= after
            assert _mode(dest) == 0o600
    finally:
        stop.set()
        await task

    final = tmp_path / "backups" / "final.sqlite3"
    await db.backup(final)
    copy_db = await Database.open(final)
    try:
        assert await copy_db.users.count() == committed
        assert {u.tg_id for u in await copy_db.users.list_members()} == set(range(1000, 1000 + committed))
    finally:
        await copy_db.close()
    assert not list((tmp_path / "backups").glob("*.partial"))


async def test_backup_excludes_an_uncommitted_transaction(db: Database, tmp_path: Path) -> None:
    await db.users.ensure(1, "admin", now=NOW)
    dest = tmp_path / "copy.sqlite3"
    async with db.sql.transaction() as tx:
        await tx.execute("INSERT INTO users (tg_id, role, created_at) VALUES (2, 'member', 'x')")
        await db.backup(dest)
    with sqlite3.connect(dest) as copy:
        assert copy.execute("SELECT tg_id FROM users").fetchall() == [(1,)]


@pytest.mark.parametrize("yields_before_cancel", range(6))
async def test_cancelled_transaction_leaves_the_connection_clean(db: Database, yields_before_cancel: int) -> None:
    async def writer() -> None:
        async with db.sql.transaction() as tx:
            await tx.execute("INSERT INTO users (tg_id, role, created_at) VALUES (5, 'member', 'x')")
            await asyncio.sleep(10)

    task = asyncio.create_task(writer())
    for _ in range(yields_before_cancel):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await db.users.count() == 0
    await db.users.ensure(6, "member", now=NOW)
    async with db.sql.transaction() as tx:
        await tx.execute("UPDATE users SET language = 'en' WHERE tg_id = 6")
    row = await db.sql.fetchone("SELECT language FROM users WHERE tg_id = 6")
    assert row is not None and row[0] == "en"


async def test_database_is_an_async_context_manager(db_path: Path) -> None:
    async with await Database.open(db_path) as db:
        await db.users.ensure(1, "admin", now=NOW)
    with pytest.raises(DatabaseClosed):
        await db.users.count()
