"""Money requests between members: create, pay (through the ordinary transfer), decline, expire.

Telegram-free: the handlers show the buttons and messages; here are the decisions. Paying a request opens
an ordinary transfer summary (recipient = the requester's wallet), so the money moves only through the
transfers' exactly-once path. A request can be paid once: the Pay press moves it `open → paying` atomically,
and only `settle` (following the linked transfer) makes it `paid` or `open` again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.services.transfers import CONFIRM_TTL, TransferDraft
from bot.storage.requests import MoneyRequest, RequestStatus

if TYPE_CHECKING:
    from bot.storage import Database
    from bot.storage.models import User

log = logging.getLogger(__name__)

REQUEST_TTL = timedelta(days=7)
# A Pay press that never got its summary linked (a crash in between) frees the request after this long.
UNLINKED_GRACE = timedelta(minutes=2)
SWEEP_EVERY = 5.0

Clock = Callable[[], datetime]


class RequestProblem(ValueError):
    """Why a request could not be created: `no_wallet` (requester), `payer` (not a member with a wallet,
    or oneself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayOutcome(StrEnum):
    OPEN_SUMMARY = "open_summary"  # go on: show the transfer summary, then `link` it
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    IN_PROGRESS = "in_progress"  # Pay was already pressed: its summary is the one to confirm
    PAID = "paid"
    DECLINED = "declined"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class PayStart:
    outcome: PayOutcome
    request: MoneyRequest | None


@dataclass(frozen=True, slots=True)
class Sweep:
    paid: list[MoneyRequest]
    reopened: list[MoneyRequest]
    expired: list[MoneyRequest]


def transfer_draft(request: MoneyRequest) -> TransferDraft:
    return TransferDraft(recipient=request.requester_wallet, amount=request.amount, comment=request.comment)


def _refusal(request: MoneyRequest, tg_id: int, now: datetime) -> PayOutcome:
    if request.payer_tg_id != tg_id:
        return PayOutcome.NOT_YOURS
    if request.status is RequestStatus.PAYING:
        return PayOutcome.IN_PROGRESS
    if request.status is RequestStatus.PAID:
        return PayOutcome.PAID
    if request.status is RequestStatus.DECLINED:
        return PayOutcome.DECLINED
    if request.status in (RequestStatus.EXPIRED, RequestStatus.CANCELLED) or request.expires_at <= now:
        return PayOutcome.EXPIRED
    return PayOutcome.IN_PROGRESS  # moved by a concurrent press between our two reads


@dataclass
class RequestService:
    db: Database
    clock: Clock
    ttl: timedelta = REQUEST_TTL
    summary_ttl: timedelta = CONFIRM_TTL

    async def payers_for(self, requester_tg_id: int) -> list[User]:
        """Who can be asked: every other admin or member with a wallet on record."""
        users = await self.db.users.list_all()
        return [u for u in users if u.wallet is not None and u.tg_id != requester_tg_id]

    async def create(
        self, requester_tg_id: int, payer_tg_id: int, amount: Decimal, comment: str, *, requester_name: str = ""
    ) -> MoneyRequest:
        requester = await self.db.users.get(requester_tg_id)
        if requester is None or requester.wallet is None:
            raise RequestProblem("no_wallet")
        payer = await self.db.users.get(payer_tg_id)
        if payer is None or payer.wallet is None or payer.tg_id == requester_tg_id:
            raise RequestProblem("payer")
        request = await self.db.requests.create(
            requester_tg_id=requester_tg_id,
            requester_wallet=requester.wallet,
            payer_tg_id=payer_tg_id,
            amount=amount,
            comment=comment,
            now=self.clock(),
            ttl=self.ttl,
            requester_name=requester_name[:64],
        )
        log.info("money request %s: user %s asks user %s", request.id, requester_tg_id, payer_tg_id)
        return request

    async def get(self, request_id: int) -> MoneyRequest | None:
        return await self.db.requests.get(request_id)

    async def cancel_undelivered(self, request_id: int) -> bool:
        return await self.db.requests.cancel(request_id, self.clock())

    async def set_message(self, request_id: int, chat_id: int, message_id: int) -> None:
        await self.db.requests.set_message(request_id, chat_id, message_id)

    async def start_paying(self, request_id: int, tg_id: int) -> PayStart:
        """Pay pressed. At most one press gets OPEN_SUMMARY until its transfer dies or is paid."""
        now = self.clock()
        claimed = await self.db.requests.start_paying(request_id, tg_id, now)
        if claimed is not None:
            return PayStart(PayOutcome.OPEN_SUMMARY, claimed)
        request = await self.db.requests.get(request_id)
        if request is None:
            return PayStart(PayOutcome.NOT_FOUND, None)
        if request.status is RequestStatus.OPEN and request.payer_tg_id == tg_id and request.expires_at <= now:
            await self.db.requests.expire(request_id, now)
            request = await self.db.requests.get(request_id) or request
        return PayStart(_refusal(request, tg_id, now), request)

    async def link(self, request_id: int, transfer_id: int) -> bool:
        return await self.db.requests.link_transfer(request_id, transfer_id)

    async def abandon(self, request_id: int) -> bool:
        """The summary could not be shown (not logged in, refused draft): the request is open again."""
        return await self.db.requests.reopen(request_id, self.clock())

    async def decline(self, request_id: int, tg_id: int) -> PayStart:
        now = self.clock()
        declined = await self.db.requests.decline(request_id, tg_id, now)
        if declined is not None:
            log.info("money request %s declined", request_id)
            return PayStart(PayOutcome.DECLINED, declined)
        request = await self.db.requests.get(request_id)
        if request is None:
            return PayStart(PayOutcome.NOT_FOUND, None)
        outcome = _refusal(request, tg_id, now)
        # Already declined by this press's twin: not "declined" again (the requester was told once).
        return PayStart(PayOutcome.IN_PROGRESS if outcome is PayOutcome.DECLINED else outcome, request)

    async def sweep(self) -> Sweep:
        """Settles requests whose transfer finished and expires old ones; the caller tells the people."""
        now = self.clock()
        settled = await self.db.requests.settle(
            now, summary_cutoff=now - self.summary_ttl, unlinked_cutoff=now - UNLINKED_GRACE
        )
        expired = await self.db.requests.expire_due(now)
        for request in settled.paid:
            log.info("money request %s paid by transfer %s", request.id, request.transfer_id)
        return Sweep(settled.paid, settled.reopened, expired)


async def run_sweeper(
    service: RequestService,
    on_sweep: Callable[[Sweep], Awaitable[None]],
    stop: asyncio.Event,
    *,
    every: float = SWEEP_EVERY,
) -> None:
    """Every few seconds (SQLite only, no QIWI call): settle, expire, and hand the changes to `on_sweep`."""
    while not stop.is_set():
        try:
            sweep = await service.sweep()
            if sweep.paid or sweep.reopened or sweep.expired:
                await on_sweep(sweep)
        except Exception:
            log.exception("money requests: sweep failed; retrying")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
