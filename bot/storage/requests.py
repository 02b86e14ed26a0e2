"""Money requests between members (/request): who asks whom for how much, and what became of it.

Life of a row:

    open ──pay──▶ paying ──(linked transfer accepted)──▶ paid
      │             ╰──(transfer cancelled / failed / expired, or never linked)──▶ open
      ├──decline──▶ declined
      ├──(could not be delivered)──▶ cancelled
      ╰──(7 days)─▶ expired

The payment is an ordinary transfer row (its own exactly-once record); a request only points at it, so a
request is paid at most once because at most one caller can move it from `open` to `paying`.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from .codec import dump_amount, dump_time, load_amount, load_time
from .connection import SQLite


class RequestStatus(StrEnum):
    OPEN = "open"
    PAYING = "paying"
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class MoneyRequest:
    id: int
    requester_tg_id: int
    requester_wallet: str
    requester_name: str
    payer_tg_id: int
    amount: Decimal
    comment: str
    status: RequestStatus
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    transfer_id: int | None
    chat_id: int | None
    message_id: int | None


_COLUMNS = (
    "id, requester_tg_id, requester_wallet, requester_name, payer_tg_id, amount, comment, status, created_at, "
    "expires_at, updated_at, transfer_id, chat_id, message_id"
)
# Transfer states after which the money did not move: the request may be paid again.
_TRANSFER_DEAD = ("failed", "cancelled", "expired")


def _request(row: sqlite3.Row) -> MoneyRequest:
    return MoneyRequest(
        id=row["id"],
        requester_tg_id=row["requester_tg_id"],
        requester_wallet=row["requester_wallet"],
        requester_name=row["requester_name"],
        payer_tg_id=row["payer_tg_id"],
        amount=load_amount(row["amount"]),
        comment=row["comment"],
        status=RequestStatus(row["status"]),
        created_at=load_time(row["created_at"]),
        expires_at=load_time(row["expires_at"]),
        updated_at=load_time(row["updated_at"]),
        transfer_id=row["transfer_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
    )


@dataclass(frozen=True, slots=True)
class Settlement:
    """What `settle` changed: requests now paid, and requests open again because their payment died."""

    paid: list[MoneyRequest]
    reopened: list[MoneyRequest]


class RequestRepository:
    def __init__(self, sql: SQLite) -> None:
        self._sql = sql

    async def create(
        self,
        *,
        requester_tg_id: int,
        requester_wallet: str,
        payer_tg_id: int,
        amount: Decimal,
        comment: str,
        now: datetime,
        ttl: timedelta,
        requester_name: str = "",
    ) -> MoneyRequest:
        stamp = dump_time(now)
        row = await self._sql.fetchone(
            f"""
            INSERT INTO money_requests (requester_tg_id, requester_wallet, requester_name, payer_tg_id, amount,
                                        comment, status, created_at, expires_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?)
            RETURNING {_COLUMNS}
            """,
            (
                requester_tg_id,
                requester_wallet,
                requester_name,
                payer_tg_id,
                dump_amount(amount),
                comment,
                stamp,
                dump_time(now + ttl),
                stamp,
            ),
        )
        assert row is not None  # INSERT … RETURNING always yields the row
        return _request(row)

    async def get(self, request_id: int) -> MoneyRequest | None:
        row = await self._sql.fetchone(f"SELECT {_COLUMNS} FROM money_requests WHERE id = ?", (request_id,))
        return None if row is None else _request(row)

    async def set_message(self, request_id: int, chat_id: int, message_id: int) -> None:
        await self._sql.execute(
            "UPDATE money_requests SET chat_id = ?, message_id = ? WHERE id = ?", (chat_id, message_id, request_id)
        )

    async def start_paying(self, request_id: int, payer_tg_id: int, now: datetime) -> MoneyRequest | None:
        """open → paying, atomically, for the addressee only and only before expiry; None if not moved."""
        stamp = dump_time(now)
        row = await self._sql.fetchone(
            f"""
            UPDATE money_requests SET status = 'paying', transfer_id = NULL, updated_at = ?
            WHERE id = ? AND payer_tg_id = ? AND status = 'open' AND expires_at > ?
            RETURNING {_COLUMNS}
            """,
            (stamp, request_id, payer_tg_id, stamp),
        )
        return None if row is None else _request(row)

    async def link_transfer(self, request_id: int, transfer_id: int) -> bool:
        changed = await self._sql.execute(
            "UPDATE money_requests SET transfer_id = ? WHERE id = ? AND status = 'paying' AND transfer_id IS NULL",
            (transfer_id, request_id),
        )
        return changed == 1

    async def reopen(self, request_id: int, now: datetime) -> bool:
        """paying → open when the summary could not even be shown (not logged in, a refused draft)."""
        changed = await self._sql.execute(
            "UPDATE money_requests SET status = 'open', transfer_id = NULL, updated_at = ? "
            "WHERE id = ? AND status = 'paying' AND transfer_id IS NULL",
            (dump_time(now), request_id),
        )
        return changed == 1

    async def decline(self, request_id: int, payer_tg_id: int, now: datetime) -> MoneyRequest | None:
        stamp = dump_time(now)
        row = await self._sql.fetchone(
            f"""
            UPDATE money_requests SET status = 'declined', updated_at = ?
            WHERE id = ? AND payer_tg_id = ? AND status = 'open' AND expires_at > ?
            RETURNING {_COLUMNS}
            """,
            (stamp, request_id, payer_tg_id, stamp),
        )
        return None if row is None else _request(row)

    async def cancel(self, request_id: int, now: datetime) -> bool:
        """An open request that never reached its addressee (they blocked the bot)."""
        changed = await self._sql.execute(
            "UPDATE money_requests SET status = 'cancelled', updated_at = ? WHERE id = ? AND status = 'open'",
            (dump_time(now), request_id),
        )
        return changed == 1

    async def cancel_involving(self, tg_id: int, now: datetime) -> list[MoneyRequest]:
        """Requests from or to someone who left: open ones, and those being paid whose summary was never
        confirmed. A payment already on its way is left to settle as any other."""
        rows = await self._sql.fetchall(
            f"""
            UPDATE money_requests SET status = 'cancelled', updated_at = ?
            WHERE (requester_tg_id = ? OR payer_tg_id = ?) AND (
                status = 'open' OR (status = 'paying' AND (
                    transfer_id IS NULL
                    OR transfer_id IN (SELECT id FROM transfers WHERE status = 'awaiting_confirmation')
                ))
            )
            RETURNING {_COLUMNS}
            """,
            (dump_time(now), tg_id, tg_id),
        )
        return sorted((_request(row) for row in rows), key=lambda r: r.id)

    async def expire(self, request_id: int, now: datetime) -> bool:
        """This one open request, if past its week (a Pay press found it late)."""
        stamp = dump_time(now)
        changed = await self._sql.execute(
            "UPDATE money_requests SET status = 'expired', updated_at = ? "
            "WHERE id = ? AND status = 'open' AND expires_at <= ?",
            (stamp, request_id, stamp),
        )
        return changed == 1

    async def expire_due(self, now: datetime) -> list[MoneyRequest]:
        """Open requests past their week become expired; a request being paid is left to its transfer."""
        stamp = dump_time(now)
        rows = await self._sql.fetchall(
            f"""
            UPDATE money_requests SET status = 'expired', updated_at = ?
            WHERE status = 'open' AND expires_at <= ?
            RETURNING {_COLUMNS}
            """,
            (stamp, stamp),
        )
        return sorted((_request(row) for row in rows), key=lambda r: r.id)

    async def settle(self, now: datetime, *, summary_cutoff: datetime, unlinked_cutoff: datetime) -> Settlement:
        """Follows each `paying` request's transfer: accepted → paid; dead, or a summary older than
        `summary_cutoff` (it can no longer be confirmed) → open again; never linked and older than
        `unlinked_cutoff` (a crash between the claim and the summary) → open again."""
        stamp = dump_time(now)
        dead = ", ".join("?" for _ in _TRANSFER_DEAD)
        async with self._sql.transaction() as tx:
            paid_rows = await tx.fetchall(
                f"""
                UPDATE money_requests SET status = 'paid', updated_at = ?
                WHERE status = 'paying' AND transfer_id IN (SELECT id FROM transfers WHERE status = 'accepted')
                RETURNING {_COLUMNS}
                """,
                (stamp,),
            )
            reopened_rows = await tx.fetchall(
                f"""
                UPDATE money_requests SET status = 'open', transfer_id = NULL, updated_at = ?
                WHERE status = 'paying' AND (
                    (transfer_id IS NULL AND updated_at <= ?)
                    OR transfer_id IN (
                        SELECT id FROM transfers
                        WHERE status IN ({dead})
                           OR (status = 'awaiting_confirmation' AND created_at <= ?)
                    )
                )
                RETURNING {_COLUMNS}
                """,
                (stamp, dump_time(unlinked_cutoff), *_TRANSFER_DEAD, dump_time(summary_cutoff)),
            )
        return Settlement(
            paid=sorted((_request(r) for r in paid_rows), key=lambda r: r.id),
            reopened=sorted((_request(r) for r in reopened_rows), key=lambda r: r.id),
        )

    async def list_for(self, tg_id: int, *, limit: int = 20) -> list[MoneyRequest]:
        rows = await self._sql.fetchall(
            f"SELECT {_COLUMNS} FROM money_requests WHERE requester_tg_id = ? OR payer_tg_id = ? "
            "ORDER BY id DESC LIMIT ?",
            (tg_id, tg_id, limit),
        )
        return [_request(row) for row in rows]
