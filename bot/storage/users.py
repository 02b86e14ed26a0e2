"""Admins and members, their language and their QIWI session (the ticket only as ciphertext)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from .codec import dump_time, load_optional_time, load_time
from .connection import SQLite
from .models import Role, User

_COLUMNS = (
    "tg_id, role, language, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify, "
    "last_seen_txn_id, created_at"
)


def _user(row: sqlite3.Row) -> User:
    return User(
        tg_id=row["tg_id"],
        role=row["role"],
        language=row["language"],
        wallet=row["wallet"],
        tgt_ciphertext=None if row["tgt_ciphertext"] is None else bytes(row["tgt_ciphertext"]),
        session_started_at=load_optional_time(row["session_started_at"]),
        last_activity_at=load_optional_time(row["last_activity_at"]),
        notify=bool(row["notify"]),
        last_seen_txn_id=row["last_seen_txn_id"],
        created_at=load_time(row["created_at"]),
    )


def _check_role(role: str) -> None:
    if role not in ("admin", "member"):
        raise ValueError(f"unknown role {role!r}")


class UserRepository:
    def __init__(self, sql: SQLite) -> None:
        self._sql = sql

    async def get(self, tg_id: int) -> User | None:
        row = await self._sql.fetchone(f"SELECT {_COLUMNS} FROM users WHERE tg_id = ?", (tg_id,))
        return None if row is None else _user(row)

    async def ensure(self, tg_id: int, role: Role, *, now: datetime | None = None) -> User:
        """Returns the user, creating them with `role` if new.

        An existing member passed as "admin" is promoted (ADMIN_IDS is the authority); an existing admin is
        never demoted here — an admin opening an invite link stays an admin. Use `set_role` to demote.
        """
        _check_role(role)
        row = await self._sql.fetchone(
            f"""
            INSERT INTO users (tg_id, role, created_at) VALUES (?, ?, ?)
            ON CONFLICT (tg_id) DO UPDATE
                SET role = CASE WHEN excluded.role = 'admin' THEN 'admin' ELSE users.role END
            RETURNING {_COLUMNS}
            """,
            (tg_id, role, dump_time(now or datetime.now(UTC))),
        )
        assert row is not None  # an upsert with RETURNING always yields the row
        return _user(row)

    async def set_role(self, tg_id: int, role: Role) -> bool:
        _check_role(role)
        return await self._sql.execute("UPDATE users SET role = ? WHERE tg_id = ?", (role, tg_id)) == 1

    async def set_language(self, tg_id: int, language: str | None) -> bool:
        changed = await self._sql.execute("UPDATE users SET language = ? WHERE tg_id = ?", (language, tg_id))
        return changed == 1

    async def set_session(self, tg_id: int, wallet: str, ciphertext: bytes, now: datetime) -> bool:
        """Stores a fresh login. Alerts are switched on; the last seen payment is forgotten if the wallet
        changed, so the new wallet's old history is not announced as new (the poller re-seeds it)."""
        changed = await self._sql.execute(
            """
            UPDATE users SET
                last_seen_txn_id = CASE WHEN wallet IS ? THEN last_seen_txn_id ELSE NULL END,
                wallet = ?, tgt_ciphertext = ?, session_started_at = ?, last_activity_at = ?, notify = 1
            WHERE tg_id = ?
            """,
            (wallet, wallet, bytes(ciphertext), dump_time(now), dump_time(now), tg_id),
        )
        return changed == 1

    async def touch(self, tg_id: int, now: datetime) -> bool:
        changed = await self._sql.execute(
            "UPDATE users SET last_activity_at = ? WHERE tg_id = ?", (dump_time(now), tg_id)
        )
        return changed == 1

    async def clear_session(self, tg_id: int) -> bool:
        """Drops the stored ticket. The wallet number stays: it is not a secret, and /request needs it to
        tell a payer where to send money."""
        changed = await self._sql.execute(
            "UPDATE users SET tgt_ciphertext = NULL, session_started_at = NULL "
            "WHERE tg_id = ? AND tgt_ciphertext IS NOT NULL",
            (tg_id,),
        )
        return changed == 1

    async def set_notify(self, tg_id: int, enabled: bool) -> bool:
        changed = await self._sql.execute("UPDATE users SET notify = ? WHERE tg_id = ?", (1 if enabled else 0, tg_id))
        return changed == 1

    async def set_last_seen_txn(self, tg_id: int, txn_id: int | None) -> bool:
        changed = await self._sql.execute("UPDATE users SET last_seen_txn_id = ? WHERE tg_id = ?", (txn_id, tg_id))
        return changed == 1

    async def list_members(self) -> list[User]:
        rows = await self._sql.fetchall(
            f"SELECT {_COLUMNS} FROM users WHERE role = 'member' ORDER BY created_at, tg_id"
        )
        return [_user(row) for row in rows]

    async def list_all(self) -> list[User]:
        rows = await self._sql.fetchall(f"SELECT {_COLUMNS} FROM users ORDER BY created_at, tg_id")
        return [_user(row) for row in rows]

    async def count(self, role: Role | None = None) -> int:
        if role is None:
            row = await self._sql.fetchone("SELECT count(*) FROM users")
        else:
            row = await self._sql.fetchone("SELECT count(*) FROM users WHERE role = ?", (role,))
        return int(row[0]) if row is not None else 0

    async def remove(self, tg_id: int) -> bool:
        """Deletes the user together with their stored session and any open dialog state."""
        async with self._sql.transaction() as tx:
            await tx.execute("DELETE FROM fsm WHERE user_id = ?", (tg_id,))
            return await tx.execute("DELETE FROM users WHERE tg_id = ?", (tg_id,)) == 1

    async def all_with_session(self) -> list[User]:
        rows = await self._sql.fetchall(f"SELECT {_COLUMNS} FROM users WHERE tgt_ciphertext IS NOT NULL ORDER BY tg_id")
        return [_user(row) for row in rows]

    async def iter_ciphertexts(self) -> AsyncIterator[tuple[int, bytes]]:
        """Every stored ticket blob, for key rotation. Read up front: the lock is not held while you iterate."""
        rows = await self._sql.fetchall(
            "SELECT tg_id, tgt_ciphertext FROM users WHERE tgt_ciphertext IS NOT NULL ORDER BY tg_id"
        )
        for row in rows:
            yield int(row[0]), bytes(row[1])

    async def replace_ciphertext(self, tg_id: int, blob: bytes, *, expected: bytes | None = None) -> bool:
        """Swaps the ticket blob. With `expected`, only if the stored blob is still that one — so a rotation
        running beside a fresh /login never overwrites the new ticket with the old one."""
        if expected is None:
            changed = await self._sql.execute(
                "UPDATE users SET tgt_ciphertext = ? WHERE tg_id = ? AND tgt_ciphertext IS NOT NULL",
                (bytes(blob), tg_id),
            )
        else:
            changed = await self._sql.execute(
                "UPDATE users SET tgt_ciphertext = ? WHERE tg_id = ? AND tgt_ciphertext = ?",
                (bytes(blob), tg_id, bytes(expected)),
            )
        return changed == 1
