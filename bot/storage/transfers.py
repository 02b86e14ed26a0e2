"""Transfers: the record that makes "one confirmation, at most one payment" hold.

Life of a row:

    awaiting_confirmation ──claim──▶ sending ──▶ accepted
          │                            │  ╰───▶ failed
          ├──cancel──▶ cancelled       ╰──────▶ unknown ──▶ accepted | failed
          ╰──(ttl)───▶ expired

Moves only go forward along these arrows; a `mark_*` that does not fit (a second call, a late answer
after reconciliation) changes nothing and returns False.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from .codec import dump_amount, dump_time, load_amount, load_optional_time, load_time
from .connection import SQLite, Transaction
from .models import Transfer, TransferStatus

_COLUMNS = (
    "id, client_id, tg_id, wallet, recipient, amount, comment, status, created_at, updated_at, "
    "qiwi_txn_id, failure_code, failure_message, chat_id, message_id, told_at"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_CLIENT_ID = 10**20 - 1  # QIWI takes at most 20 digits

S = TransferStatus


def _transfer(row: sqlite3.Row) -> Transfer:
    return Transfer(
        id=row["id"],
        client_id=row["client_id"],
        tg_id=row["tg_id"],
        wallet=row["wallet"],
        recipient=row["recipient"],
        amount=load_amount(row["amount"]),
        comment=row["comment"],
        status=TransferStatus(row["status"]),
        created_at=load_time(row["created_at"]),
        updated_at=load_time(row["updated_at"]),
        qiwi_txn_id=row["qiwi_txn_id"],
        failure_code=row["failure_code"],
        failure_message=row["failure_message"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        told_at=load_optional_time(row["told_at"]),
    )


def _placeholders(values: tuple[TransferStatus, ...]) -> str:
    return ", ".join("?" for _ in values)


class TransferRepository:
    def __init__(self, sql: SQLite) -> None:
        self._sql = sql

    async def create_draft(
        self,
        *,
        tg_id: int,
        wallet: str,
        recipient: str,
        amount: Decimal,
        comment: str,
        now: datetime,
    ) -> Transfer:
        """Writes the row shown as the summary, with its client id fixed from now on.

        The client id is milliseconds since the epoch, bumped past the newest row's id when two drafts fall
        in one millisecond (or the clock stepped back), so ids are unique and increasing.
        """
        stamp = dump_time(now)
        async with self._sql.transaction() as tx:
            client_id = await self._next_client_id(tx, now)
            row = await tx.fetchone(
                f"""
                INSERT INTO transfers (client_id, tg_id, wallet, recipient, amount, comment, status,
                                       created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                RETURNING {_COLUMNS}
                """,
                (
                    client_id,
                    tg_id,
                    wallet,
                    recipient,
                    dump_amount(amount),
                    comment,
                    S.AWAITING_CONFIRMATION.value,
                    stamp,
                    stamp,
                ),
            )
        assert row is not None
        return _transfer(row)

    @staticmethod
    async def _next_client_id(tx: Transaction, now: datetime) -> str:
        candidate = (now - _EPOCH) // timedelta(milliseconds=1)
        # Rows are only ever added with a larger client id than the one before, so the newest row holds
        # the largest; AUTOINCREMENT keeps `id` from being reused.
        row = await tx.fetchone("SELECT client_id FROM transfers ORDER BY id DESC LIMIT 1")
        if row is not None:
            candidate = max(candidate, int(row[0]) + 1)
        if not 0 < candidate <= _MAX_CLIENT_ID:
            raise OverflowError("no client id left within 20 digits")
        return str(candidate)

    async def get(self, transfer_id: int) -> Transfer | None:
        row = await self._sql.fetchone(f"SELECT {_COLUMNS} FROM transfers WHERE id = ?", (transfer_id,))
        return None if row is None else _transfer(row)

    async def get_by_client_id(self, client_id: str) -> Transfer | None:
        row = await self._sql.fetchone(f"SELECT {_COLUMNS} FROM transfers WHERE client_id = ?", (client_id,))
        return None if row is None else _transfer(row)

    async def list_for_user(self, tg_id: int, limit: int = 20) -> list[Transfer]:
        rows = await self._sql.fetchall(
            f"SELECT {_COLUMNS} FROM transfers WHERE tg_id = ? ORDER BY id DESC LIMIT ?", (tg_id, limit)
        )
        return [_transfer(row) for row in rows]

    async def claim(self, transfer_id: int, tg_id: int, now: datetime, ttl: timedelta) -> Transfer | None:
        """Confirm: `awaiting_confirmation -> sending`, atomically, only for the owner, only within `ttl`
        of the summary being shown. Anything else (a second press, someone else's press, a stale summary)
        gets None; a stale summary is marked `expired` on the way."""
        stamp = dump_time(now)
        async with self._sql.transaction() as tx:
            row = await tx.fetchone("SELECT tg_id, status, created_at FROM transfers WHERE id = ?", (transfer_id,))
            if row is None or row["tg_id"] != tg_id or row["status"] != S.AWAITING_CONFIRMATION:
                return None
            if now - load_time(row["created_at"]) >= ttl:
                await tx.execute(
                    "UPDATE transfers SET status = ?, updated_at = ? WHERE id = ?",
                    (S.EXPIRED.value, stamp, transfer_id),
                )
                return None
            claimed = await tx.fetchone(
                f"UPDATE transfers SET status = ?, updated_at = ? WHERE id = ? AND status = ? RETURNING {_COLUMNS}",
                (S.SENDING.value, stamp, transfer_id, S.AWAITING_CONFIRMATION.value),
            )
        return None if claimed is None else _transfer(claimed)

    async def mark_accepted(self, transfer_id: int, qiwi_txn_id: str, now: datetime) -> bool:
        return await self._move(
            transfer_id,
            S.ACCEPTED,
            (S.SENDING, S.UNKNOWN),
            now,
            qiwi_txn_id=qiwi_txn_id,
            failure_code=None,
            failure_message=None,
        )

    async def mark_failed(self, transfer_id: int, code: str | None, message: str | None, now: datetime) -> bool:
        return await self._move(
            transfer_id, S.FAILED, (S.SENDING, S.UNKNOWN), now, failure_code=code, failure_message=message
        )

    async def mark_unknown(self, transfer_id: int, now: datetime, message: str | None = None) -> bool:
        return await self._move(transfer_id, S.UNKNOWN, (S.SENDING,), now, failure_message=message)

    async def cancel(self, transfer_id: int, tg_id: int, now: datetime) -> bool:
        """Cancel pressed: only the owner, only before Confirm."""
        changed = await self._sql.execute(
            "UPDATE transfers SET status = ?, updated_at = ? WHERE id = ? AND tg_id = ? AND status = ?",
            (S.CANCELLED.value, dump_time(now), transfer_id, tg_id, S.AWAITING_CONFIRMATION.value),
        )
        return changed == 1

    async def expire_stale(self, now: datetime, ttl: timedelta) -> int:
        """Marks summaries older than `ttl` that nobody confirmed as `expired`; returns how many."""
        return await self._sql.execute(
            "UPDATE transfers SET status = ?, updated_at = ? WHERE status = ? AND created_at <= ?",
            (S.EXPIRED.value, dump_time(now), S.AWAITING_CONFIRMATION.value, dump_time(now - ttl)),
        )

    async def unresolved(self) -> list[Transfer]:
        """Rows whose payment may or may not have gone out: check them against the history at start-up."""
        rows = await self._sql.fetchall(
            f"SELECT {_COLUMNS} FROM transfers WHERE status IN (?, ?) ORDER BY id",
            (S.SENDING.value, S.UNKNOWN.value),
        )
        return [_transfer(row) for row in rows]

    async def mark_told(self, transfer_id: int, now: datetime) -> bool:
        """The user has been shown the row's final outcome (its summary edited, or a message sent)."""
        changed = await self._sql.execute(
            "UPDATE transfers SET told_at = ? WHERE id = ? AND told_at IS NULL AND status IN (?, ?)",
            (dump_time(now), transfer_id, S.ACCEPTED.value, S.FAILED.value),
        )
        return changed == 1

    async def untold(self) -> list[Transfer]:
        """Accepted or failed rows whose outcome nobody was shown: a run that died between recording QIWI's
        answer and telling the user. A row closed as not sent has a replacement that owns its summary."""
        rows = await self._sql.fetchall(
            f"SELECT {_COLUMNS} FROM transfers WHERE told_at IS NULL AND status IN (?, ?) "
            "AND (failure_code IS NULL OR failure_code != 'not_sent') ORDER BY id",
            (S.ACCEPTED.value, S.FAILED.value),
        )
        return [_transfer(row) for row in rows]

    async def set_message(self, transfer_id: int, chat_id: int, message_id: int) -> bool:
        """Where the summary was shown, so its buttons can be edited away when the row moves on."""
        changed = await self._sql.execute(
            "UPDATE transfers SET chat_id = ?, message_id = ? WHERE id = ?", (chat_id, message_id, transfer_id)
        )
        return changed == 1

    async def _move(
        self,
        transfer_id: int,
        to: TransferStatus,
        allowed_from: tuple[TransferStatus, ...],
        now: datetime,
        **fields: str | None,
    ) -> bool:
        assignments = "".join(f", {name} = ?" for name in fields)
        changed = await self._sql.execute(
            f"UPDATE transfers SET status = ?, updated_at = ?{assignments} "
            f"WHERE id = ? AND status IN ({_placeholders(allowed_from)})",
            (to.value, dump_time(now), *fields.values(), transfer_id, *(s.value for s in allowed_from)),
        )
        return changed == 1
