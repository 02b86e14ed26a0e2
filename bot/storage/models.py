"""What the repositories hand out: plain frozen dataclasses, Decimal money, aware datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

Role = Literal["admin", "member"]


class TransferStatus(StrEnum):
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    SENDING = "sending"
    ACCEPTED = "accepted"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class WalletSession:
    """One wallet a member has logged in to: its ticket (ciphertext only, None once logged out) and alerts."""

    tg_id: int
    wallet: str
    tgt_ciphertext: bytes | None
    session_started_at: datetime | None
    last_activity_at: datetime | None
    notify: bool
    last_seen_txn_id: int | None
    created_at: datetime

    @property
    def has_session(self) -> bool:
        return self.tgt_ciphertext is not None


@dataclass(frozen=True, slots=True)
class User:
    """A member or admin, with the wallet their commands act on (`current`, None before any login).

    The properties below read the current wallet, so code that shows or uses "the member's session" needs no
    second look-up."""

    tg_id: int
    role: Role
    language: str | None
    first_name: str
    username: str | None
    current: WalletSession | None
    created_at: datetime
    # Every wallet they have logged in to (logged in now or not): past one, answers say which wallet they are about.
    wallet_count: int = 0

    @property
    def wallet(self) -> str | None:
        return None if self.current is None else self.current.wallet

    @property
    def tgt_ciphertext(self) -> bytes | None:
        return None if self.current is None else self.current.tgt_ciphertext

    @property
    def session_started_at(self) -> datetime | None:
        return None if self.current is None else self.current.session_started_at

    @property
    def last_activity_at(self) -> datetime | None:
        return None if self.current is None else self.current.last_activity_at

    @property
    def notify(self) -> bool:
        return True if self.current is None else self.current.notify

    @property
    def last_seen_txn_id(self) -> int | None:
        return None if self.current is None else self.current.last_seen_txn_id

    @property
    def has_session(self) -> bool:
        return self.tgt_ciphertext is not None


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_by: int | None
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class Transfer:
    id: int
    client_id: str
    tg_id: int
    wallet: str
    recipient: str
    amount: Decimal
    comment: str
    status: TransferStatus
    created_at: datetime
    updated_at: datetime
    qiwi_txn_id: str | None
    failure_code: str | None
    failure_message: str | None
    chat_id: int | None
    message_id: int | None
    told_at: datetime | None = None  # when its final outcome was shown to the user
