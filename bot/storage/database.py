"""The bot's one SQLite database: connection, schema and the repositories built on it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .connection import SQLite
from .invites import InviteRepository
from .migrations import LATEST_VERSION, migrate, user_version
from .requests import RequestRepository
from .transfers import TransferRepository
from .users import UserRepository
from .wallets import WalletRepository

if TYPE_CHECKING:
    from .fsm import SQLiteStorage


class Database:
    def __init__(self, sql: SQLite) -> None:
        self.sql = sql
        self.users = UserRepository(sql)
        self.wallets = WalletRepository(sql, self.users.user_cache)
        self.invites = InviteRepository(sql)
        self.transfers = TransferRepository(sql)
        self.requests = RequestRepository(sql)

    @cached_property
    def fsm(self) -> SQLiteStorage:
        # Imported on first use: aiogram takes seconds to import, and `check`/`backup` never need it.
        from .fsm import SQLiteStorage

        return SQLiteStorage(self)

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = 5000) -> Database:
        """Opens (creating the file and its folder if missing) and migrates to the latest schema."""
        sql = await SQLite.connect(Path(path), busy_timeout_ms=busy_timeout_ms)
        try:
            await migrate(sql, LATEST_VERSION)
        except BaseException:
            await sql.close()
            raise
        return cls(sql)

    @property
    def path(self) -> Path:
        return self.sql.path

    async def schema_version(self) -> int:
        return await user_version(self.sql)

    async def backup(self, dest_path: str | Path) -> None:
        """A consistent copy of every committed row, taken while the bot keeps running."""
        await self.sql.backup(Path(dest_path))

    async def close(self) -> None:
        await self.sql.close()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
