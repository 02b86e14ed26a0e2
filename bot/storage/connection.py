"""One aiosqlite connection for the whole bot, with explicit transactions.

SQLite serialises writers anyway, so one connection is enough. What the wrapper adds is statement-level
isolation between coroutines: a transaction opened by one coroutine must not swallow a statement another
coroutine sends in the meantime over the same connection, so every access goes through one asyncio lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Sequence[Any]


class Transaction:
    """Statements inside one `BEGIN IMMEDIATE … COMMIT`; only valid inside `SQLite.transaction()`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._conn.execute(sql, params) as cursor:
            row: sqlite3.Row | None = await cursor.fetchone()
            return row

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Runs one statement and returns how many rows it changed."""
        async with self._conn.execute(sql, params) as cursor:
            return cursor.rowcount


class SQLite:
    """The shared connection: single statements run in autocommit, multi-statement work in `transaction()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._closed = False
        self.path = path

    @classmethod
    async def connect(cls, path: Path, *, busy_timeout_ms: int = 5000) -> SQLite:
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        # isolation_level=None: the sqlite3 module must not open transactions behind our back;
        # transactions are explicit `BEGIN IMMEDIATE` so read-then-write never races.
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            async with conn.execute("PRAGMA journal_mode = WAL") as cursor:
                mode = await cursor.fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                log.warning("SQLite refused WAL mode for %s; running in %s mode", path, mode and mode[0])
            await conn.execute("PRAGMA foreign_keys = ON")
            # FULL, not NORMAL: a transfer marked `sending` must be on disk before the payment request
            # leaves, or a power cut could let the same summary be confirmed a second time.
            await conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            await conn.close()
            raise
        return cls(conn, path)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        async with self._lock:
            self._check_open()
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield Transaction(self._conn)
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # A cancelled await does not unqueue its statement: BEGIN or COMMIT may still run in the worker
        # thread. ROLLBACK is queued behind it, so either it ends what BEGIN opened or finds nothing open.
        try:
            await self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            pass  # no transaction was open (BEGIN failed, or COMMIT went through before the cancel)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        async with self._lock:
            self._check_open()
            return await Transaction(self._conn).fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            self._check_open()
            return await Transaction(self._conn).fetchall(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            self._check_open()
            return await Transaction(self._conn).execute(sql, params)

    async def create_function(self, name: str, num_params: int, func: Callable[..., Any]) -> None:
        """A Python function that SQL on this connection may call (a TEMP trigger's, say). It runs on aiosqlite's
        thread, inside the statement that calls it: it must be quick and must not raise."""
        async with self._lock:
            self._check_open()
            await self._conn.create_function(name, num_params, func)

    async def backup(self, dest: Path) -> None:
        """Online backup into `dest` (replaced atomically); writers keep going meanwhile.

        A second connection reads: in WAL mode it sees one committed snapshot and never blocks the bot's
        writes, and it cannot see a transaction the main connection has open.
        """
        self._check_open()
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        partial.unlink(missing_ok=True)
        _create_private(partial)
        # check_same_thread=False: aiosqlite hands the target to the source connection's worker thread.
        target = sqlite3.connect(partial, check_same_thread=False)
        try:
            async with aiosqlite.connect(self.path) as source:
                await source.execute("PRAGMA busy_timeout = 5000")
                # pages=-1 copies in one step, so the copy is one consistent snapshot.
                await source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode = DELETE")  # a backup is one self-contained file
        except BaseException:
            target.close()
            partial.unlink(missing_ok=True)
            raise
        target.close()
        os.replace(partial, dest)

    async def close(self) -> None:
        """Waits for work in flight, folds the WAL back into the database file and closes."""
        async with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                await self._conn.execute("PRAGMA optimize")
            finally:
                await self._conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed("the database is closed")


class DatabaseClosed(RuntimeError):
    pass


def _create_private(path: Path) -> None:
    """Creates `path` readable by its owner only if it does not exist (it holds encrypted tickets)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
