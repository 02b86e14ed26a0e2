"""Admins and members: role, language, the name Telegram last sent, and the wallet their commands act on.

Each user row is read together with its current wallet (`wallets.py`), so one query answers "who is this
and what is their session" on every update.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from .codec import dump_time, load_time
from .connection import SQLite
from .models import Role, User
from .user_cache import UserCache, changes_user
from .wallets import COLUMNS as WALLET_COLUMNS
from .wallets import wallet_session

_SELECT = (
    "SELECT u.tg_id, u.role, u.language, u.first_name, u.username, u.current_wallet, u.created_at, "
    + ", ".join(f"w.{c} AS w_{c}" for c in WALLET_COLUMNS.split(", "))
    + ", (SELECT count(*) FROM wallets c WHERE c.tg_id = u.tg_id) AS wallet_count"
    + " FROM users u LEFT JOIN wallets w ON w.tg_id = u.tg_id AND w.wallet = u.current_wallet"
)


def _user(row: sqlite3.Row) -> User:
    return User(
        tg_id=row["tg_id"],
        role=row["role"],
        language=row["language"],
        first_name=row["first_name"],
        username=row["username"],
        current=None if row["w_wallet"] is None else wallet_session(row, "w_"),
        created_at=load_time(row["created_at"]),
        wallet_count=row["wallet_count"],
    )


def _check_role(role: str) -> None:
    if role not in ("admin", "member"):
        raise ValueError(f"unknown role {role!r}")


class UserRepository:
    def __init__(self, sql: SQLite, user_cache: UserCache | None = None) -> None:
        self._sql = sql
        self.user_cache = user_cache or UserCache()

    async def get(self, tg_id: int) -> User | None:
        hit, user = self.user_cache.get(tg_id)
        if hit:
            return user
        row = await self._sql.fetchone(f"{_SELECT} WHERE u.tg_id = ?", (tg_id,))
        user = None if row is None else _user(row)
        self.user_cache.put(tg_id, user)
        return user

    @changes_user
    async def ensure(self, tg_id: int, role: Role, *, now: datetime | None = None) -> User:
        """Returns the user, creating them with `role` if new.

        An existing member passed as "admin" is promoted (ADMIN_IDS is the authority); an existing admin is
        never demoted here — an admin opening an invite link stays an admin. Use `set_role` to demote.
        """
        _check_role(role)
        await self._sql.execute(
            """
            INSERT INTO users (tg_id, role, created_at) VALUES (?, ?, ?)
            ON CONFLICT (tg_id) DO UPDATE
                SET role = CASE WHEN excluded.role = 'admin' THEN 'admin' ELSE users.role END
            """,
            (tg_id, role, dump_time(now or datetime.now(UTC))),
        )
        self.user_cache.drop(tg_id)
        user = await self.get(tg_id)
        assert user is not None  # just written
        return user

    @changes_user
    async def set_role(self, tg_id: int, role: Role) -> bool:
        _check_role(role)
        return await self._sql.execute("UPDATE users SET role = ? WHERE tg_id = ?", (role, tg_id)) == 1

    @changes_user
    async def set_language(self, tg_id: int, language: str | None) -> bool:
        changed = await self._sql.execute("UPDATE users SET language = ? WHERE tg_id = ?", (language, tg_id))
        return changed == 1

    @changes_user
    async def set_name(self, tg_id: int, first_name: str, username: str | None) -> bool:
        changed = await self._sql.execute(
            "UPDATE users SET first_name = ?, username = ? WHERE tg_id = ?", (first_name, username, tg_id)
        )
        return changed == 1

    @changes_user
    async def set_current_wallet(self, tg_id: int, wallet: str) -> bool:
        """Makes one of the member's known wallets the one their commands act on."""
        changed = await self._sql.execute(
            "UPDATE users SET current_wallet = ? WHERE tg_id = ? "
            "AND EXISTS (SELECT 1 FROM wallets WHERE tg_id = ? AND wallet = ?)",
            (wallet, tg_id, tg_id, wallet),
        )
        return changed == 1

    async def list_members(self) -> list[User]:
        rows = await self._sql.fetchall(f"{_SELECT} WHERE u.role = 'member' ORDER BY u.created_at, u.tg_id")
        return [_user(row) for row in rows]

    async def list_all(self) -> list[User]:
        rows = await self._sql.fetchall(f"{_SELECT} ORDER BY u.created_at, u.tg_id")
        return [_user(row) for row in rows]

    async def count(self, role: Role | None = None) -> int:
        if role is None:
            row = await self._sql.fetchone("SELECT count(*) FROM users")
        else:
            row = await self._sql.fetchone("SELECT count(*) FROM users WHERE role = ?", (role,))
        return int(row[0]) if row is not None else 0

    @changes_user
    async def remove(self, tg_id: int) -> bool:
        """Deletes the user together with their wallets (stored sessions) and any open dialog state."""
        async with self._sql.transaction() as tx:
            await tx.execute("DELETE FROM fsm WHERE user_id = ?", (tg_id,))
            await tx.execute("DELETE FROM wallets WHERE tg_id = ?", (tg_id,))
            return await tx.execute("DELETE FROM users WHERE tg_id = ?", (tg_id,)) == 1
