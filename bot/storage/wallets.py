"""The wallets each member has logged in to: one row per (member, wallet), the ticket only as ciphertext.

A row outlives its session: after a logout the ticket is gone but the wallet stays known, so /wallets can
offer it again and a money request still knows where the money goes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime

from .codec import dump_time, load_optional_time, load_time
from .connection import SQLite
from .models import WalletSession
from .user_cache import UserCache, changes_user

COLUMNS = "tg_id, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify, last_seen_txn_id, created_at"


def wallet_session(row: sqlite3.Row, prefix: str = "") -> WalletSession:
    ciphertext = row[f"{prefix}tgt_ciphertext"]
    return WalletSession(
        tg_id=row[f"{prefix}tg_id"],
        wallet=row[f"{prefix}wallet"],
        tgt_ciphertext=None if ciphertext is None else bytes(ciphertext),
        session_started_at=load_optional_time(row[f"{prefix}session_started_at"]),
        last_activity_at=load_optional_time(row[f"{prefix}last_activity_at"]),
        notify=bool(row[f"{prefix}notify"]),
        last_seen_txn_id=row[f"{prefix}last_seen_txn_id"],
        created_at=load_time(row[f"{prefix}created_at"]),
    )


class WalletRepository:
    """`users` is the user cache to drop an entry from when a member's wallet changes (their row reads
    the current wallet with it)."""

    def __init__(self, sql: SQLite, user_cache: UserCache) -> None:
        self._sql = sql
        self.user_cache = user_cache

    async def get(self, tg_id: int, wallet: str) -> WalletSession | None:
        row = await self._sql.fetchone(f"SELECT {COLUMNS} FROM wallets WHERE tg_id = ? AND wallet = ?", (tg_id, wallet))
        return None if row is None else wallet_session(row)

    async def owners(self, wallet: str) -> list[int]:
        """The members who have logged in to `wallet`, the earliest first."""
        rows = await self._sql.fetchall("SELECT tg_id FROM wallets WHERE wallet = ? ORDER BY created_at", (wallet,))
        return [int(row[0]) for row in rows]

    async def list_for(self, tg_id: int) -> list[WalletSession]:
        """The member's wallets in the order they were first logged in to."""
        rows = await self._sql.fetchall(
            f"SELECT {COLUMNS} FROM wallets WHERE tg_id = ? ORDER BY created_at, wallet", (tg_id,)
        )
        return [wallet_session(row) for row in rows]

    @changes_user
    async def set_session(self, tg_id: int, wallet: str, ciphertext: bytes, now: datetime) -> bool:
        """Stores a fresh login to `wallet` and makes it the member's current one. Alerts are switched on; the
        last seen payment is kept for a wallet seen before (nothing is announced twice) and unset for a new
        one (its old history is not news: the poller seeds it). False, and nothing stored, when `tg_id` is
        no user (any more): a login that finished after its member was removed leaves no ticket behind."""
        stamp = dump_time(now)
        async with self._sql.transaction() as tx:
            if await tx.execute("UPDATE users SET current_wallet = ? WHERE tg_id = ?", (wallet, tg_id)) != 1:
                return False
            await tx.execute(
                """
                INSERT INTO wallets (tg_id, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify,
                                     created_at)
                VALUES (?, ?, ?, ?, ?, 1, ?)
                ON CONFLICT (tg_id, wallet) DO UPDATE SET
                    tgt_ciphertext = excluded.tgt_ciphertext,
                    session_started_at = excluded.session_started_at,
                    last_activity_at = excluded.last_activity_at,
                    notify = 1
                """,
                (tg_id, wallet, bytes(ciphertext), stamp, stamp, stamp),
            )
        return True

    @changes_user
    async def touch(self, tg_id: int, wallet: str, now: datetime) -> bool:
        changed = await self._sql.execute(
            "UPDATE wallets SET last_activity_at = ? WHERE tg_id = ? AND wallet = ?", (dump_time(now), tg_id, wallet)
        )
        return changed == 1

    @changes_user
    async def clear_session(self, tg_id: int, wallet: str) -> str | None:
        """Drops the wallet's ticket. When it was the current wallet, another logged-in one (the most recently
        logged in) becomes current. Returns the member's current wallet afterwards."""
        async with self._sql.transaction() as tx:
            await tx.execute(
                "UPDATE wallets SET tgt_ciphertext = NULL, session_started_at = NULL WHERE tg_id = ? AND wallet = ?",
                (tg_id, wallet),
            )
            row = await tx.fetchone("SELECT current_wallet FROM users WHERE tg_id = ?", (tg_id,))
            current = None if row is None else row[0]
            if current == wallet:
                other = await tx.fetchone(
                    "SELECT wallet FROM wallets WHERE tg_id = ? AND tgt_ciphertext IS NOT NULL "
                    "ORDER BY session_started_at DESC, wallet LIMIT 1",
                    (tg_id,),
                )
                if other is not None:
                    current = other[0]
                    await tx.execute("UPDATE users SET current_wallet = ? WHERE tg_id = ?", (current, tg_id))
            return current if isinstance(current, str) else None

    @changes_user
    async def set_notify(self, tg_id: int, wallet: str, enabled: bool) -> bool:
        changed = await self._sql.execute(
            "UPDATE wallets SET notify = ? WHERE tg_id = ? AND wallet = ?", (1 if enabled else 0, tg_id, wallet)
        )
        return changed == 1

    @changes_user
    async def set_last_seen_txn(self, tg_id: int, wallet: str, txn_id: int | None) -> bool:
        changed = await self._sql.execute(
            "UPDATE wallets SET last_seen_txn_id = ? WHERE tg_id = ? AND wallet = ?", (txn_id, tg_id, wallet)
        )
        return changed == 1

    async def all_with_session(self) -> list[WalletSession]:
        rows = await self._sql.fetchall(
            f"SELECT {COLUMNS} FROM wallets WHERE tgt_ciphertext IS NOT NULL ORDER BY tg_id, wallet"
        )
        return [wallet_session(row) for row in rows]

    async def iter_ciphertexts(self) -> AsyncIterator[tuple[int, str, bytes]]:
        """Every stored ticket blob, for key rotation. Read up front: the lock is not held while you iterate."""
        rows = await self._sql.fetchall(
            "SELECT tg_id, wallet, tgt_ciphertext FROM wallets WHERE tgt_ciphertext IS NOT NULL ORDER BY tg_id, wallet"
        )
        for row in rows:
            yield int(row[0]), str(row[1]), bytes(row[2])

    @changes_user
    async def replace_ciphertext(self, tg_id: int, wallet: str, blob: bytes, *, expected: bytes) -> bool:
        """Swaps the ticket blob only if the stored one is still `expected`, so a rotation running beside a
        fresh /login never overwrites the new ticket with the old one."""
        changed = await self._sql.execute(
            "UPDATE wallets SET tgt_ciphertext = ? WHERE tg_id = ? AND wallet = ? AND tgt_ciphertext = ?",
            (bytes(blob), tg_id, wallet, bytes(expected)),
        )
        return changed == 1
