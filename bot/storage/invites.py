"""One-time invite codes an admin hands out with /invite."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from .codec import dump_time, load_optional_time, load_time
from .connection import SQLite
from .models import Invite

_COLUMNS = "code, created_by, created_at, expires_at, used_by, used_at"


def _invite(row: sqlite3.Row) -> Invite:
    return Invite(
        code=row["code"],
        created_by=row["created_by"],
        created_at=load_time(row["created_at"]),
        expires_at=load_time(row["expires_at"]),
        used_by=row["used_by"],
        used_at=load_optional_time(row["used_at"]),
    )


class InviteRepository:
    def __init__(self, sql: SQLite) -> None:
        self._sql = sql

    async def create(self, code: str, created_by: int, now: datetime, ttl: timedelta) -> Invite:
        """Stores a new code (raises `sqlite3.IntegrityError` if the code exists: codes are random, so
        the caller simply draws again)."""
        if ttl <= timedelta(0):
            raise ValueError("an invite needs a positive lifetime")
        row = await self._sql.fetchone(
            f"INSERT INTO invites (code, created_by, created_at, expires_at) VALUES (?, ?, ?, ?) RETURNING {_COLUMNS}",
            (code, created_by, dump_time(now), dump_time(now + ttl)),
        )
        assert row is not None
        return _invite(row)

    async def get(self, code: str) -> Invite | None:
        row = await self._sql.fetchone(f"SELECT {_COLUMNS} FROM invites WHERE code = ?", (code,))
        return None if row is None else _invite(row)

    async def consume(self, code: str, tg_id: int, now: datetime) -> bool:
        """Uses the code for `tg_id` and makes them a member, in one transaction.

        False if the code is unknown, already used or expired. An existing admin stays an admin. The caller
        decides whether someone who is already a user should burn a code at all.
        """
        async with self._sql.transaction() as tx:
            used = await tx.execute(
                "UPDATE invites SET used_by = ?, used_at = ? WHERE code = ? AND used_by IS NULL AND expires_at > ?",
                (tg_id, dump_time(now), code, dump_time(now)),
            )
            if used != 1:
                return False
            await tx.execute(
                "INSERT INTO users (tg_id, role, created_at) VALUES (?, 'member', ?) ON CONFLICT (tg_id) DO NOTHING",
                (tg_id, dump_time(now)),
            )
            return True

    async def list_active(self, now: datetime) -> list[Invite]:
        rows = await self._sql.fetchall(
            f"SELECT {_COLUMNS} FROM invites WHERE used_by IS NULL AND expires_at > ? ORDER BY expires_at",
            (dump_time(now),),
        )
        return [_invite(row) for row in rows]

    async def delete_expired(self, now: datetime) -> int:
        """Forgets unused codes past their expiry; used ones stay as the record of who let whom in."""
        return await self._sql.execute(
            "DELETE FROM invites WHERE used_by IS NULL AND expires_at <= ?", (dump_time(now),)
        )
