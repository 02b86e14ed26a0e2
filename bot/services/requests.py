"""Money requests between members: create, pay (through the ordinary transfer), decline, expire.

The handlers show the dialog; here are the decisions, and the messages to the other side, which is
not in the update (through the notifier, in that member's own language). Paying a request opens
an ordinary transfer summary (recipient = the requester's wallet), so the money moves only through the
transfers' exactly-once path. A request can be paid once: the Pay press moves it `open → paying` atomically,
and only `settle` (following the linked transfer) makes it `paid` or `open` again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.keyboards.requests import pay_or_decline
from bot.services.names import member_labels
from bot.services.request_texts import member_with_wallet, request_money, request_text
from bot.services.transfers import CONFIRM_TTL, TransferDraft
from bot.storage.requests import MoneyRequest, RequestStatus

if TYPE_CHECKING:
    from bot.i18n import CatalogI18n, Translator
    from bot.services.access import Access
    from bot.services.notifier import Notifier
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


class RequestService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        access: Access,
        notifier: Notifier,
        i18n: CatalogI18n,
        *,
        ttl: timedelta = REQUEST_TTL,
        summary_ttl: timedelta = CONFIRM_TTL,
    ) -> None:
        self.db = db
        self.clock = clock
        self.access = access
        self.notifier = notifier
        self.i18n = i18n
        self.ttl = ttl
        self.summary_ttl = summary_ttl

    async def payers_for(self, requester_tg_id: int) -> list[User]:
        """Who can be asked: everyone inside but the requester whose wallet is known."""
        users = self.access.inside(await self.db.users.list_all())
        return [u for u in users if u.wallet is not None and u.tg_id != requester_tg_id]

    async def payer(self, requester_tg_id: int, payer_tg_id: int) -> User | None:
        payers = {u.tg_id: u for u in await self.payers_for(requester_tg_id)}
        return payers.get(payer_tg_id)

    async def create(
        self, requester_tg_id: int, payer_tg_id: int, amount: Decimal, comment: str, *, requester_name: str = ""
    ) -> MoneyRequest:
        requester = await self.db.users.get(requester_tg_id)
        if requester is None or requester.wallet is None:
            raise RequestProblem("no_wallet")
        if await self.payer(requester_tg_id, payer_tg_id) is None:
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

    async def deliver(self, request: MoneyRequest) -> bool:
        """Sends the request to its addressee with Pay / Decline; an undeliverable one is cancelled."""
        tr = await self.translator_for(request.payer_tg_id)
        sent = await self.notifier.send(
            request.payer_tg_id, await self.text(tr, request), pay_or_decline(tr, request.id)
        )
        if sent is None:
            await self.db.requests.cancel(request.id, self.clock())
            return False
        await self.db.requests.set_message(request.id, sent.chat_id, sent.message_id)
        return True

    async def labels(self) -> dict[int, str]:
        return member_labels(self.access.inside(await self.db.users.list_all()))

    async def member_label(self, user: User) -> str:
        return member_with_wallet((await self.labels()).get(user.tg_id), user.wallet)

    async def payer_label(self, request: MoneyRequest) -> str:
        """`Rita, +7 921 333-44-55`: the member asked, by name, then their wallet."""
        payer = await self.db.users.get(request.payer_tg_id)
        label = (await self.labels()).get(request.payer_tg_id)
        return member_with_wallet(label, payer.wallet if payer is not None else None)

    async def text(self, tr: Translator, request: MoneyRequest, status_key: str | None = None) -> str:
        """The request as its addressee sees it, the requester by their current name."""
        return request_text(tr, request, (await self.labels()).get(request.requester_tg_id), status_key)

    async def get(self, request_id: int) -> MoneyRequest | None:
        return await self.db.requests.get(request_id)

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
        """Decline pressed; the requester is told once."""
        now = self.clock()
        declined = await self.db.requests.decline(request_id, tg_id, now)
        if declined is not None:
            log.info("money request %s declined", request_id)
            await self._tell_requester(declined, "request.declined")
            return PayStart(PayOutcome.DECLINED, declined)
        request = await self.db.requests.get(request_id)
        if request is None:
            return PayStart(PayOutcome.NOT_FOUND, None)
        outcome = _refusal(request, tg_id, now)
        # Already declined by this press's twin: not "declined" again (the requester was told once).
        return PayStart(PayOutcome.IN_PROGRESS if outcome is PayOutcome.DECLINED else outcome, request)

    async def close_involving(self, tg_id: int) -> list[MoneyRequest]:
        """`tg_id` is leaving: their open requests are closed, and whoever is on the other side is told."""
        closed = await self.db.requests.cancel_involving(tg_id, self.clock())
        for request in closed:
            if request.payer_tg_id == tg_id:
                await self._tell_requester(request, "request.closed.payer_left")
            else:
                tr = await self.translator_for(request.payer_tg_id)
                await self._update_request_message(request, tr, "request.status.closed")
        return closed

    # -- the sweep -----------------------------------------------------------------------------------

    async def sweep(self) -> Sweep:
        """Settles requests whose transfer finished and expires old ones, and tells the people concerned.
        SQLite only, no QIWI call: cheap enough to run every few seconds."""
        now = self.clock()
        settled = await self.db.requests.settle(
            now, summary_cutoff=now - self.summary_ttl, unlinked_cutoff=now - UNLINKED_GRACE
        )
        expired = await self.db.requests.expire_due(now)
        sweep = Sweep(settled.paid, settled.reopened, expired)
        for request in sweep.paid:
            log.info("money request %s paid by transfer %s", request.id, request.transfer_id)
            await self._announce_settled(request, "request.paid", "request.status.paid")
        for request in sweep.reopened:
            tr = await self.translator_for(request.payer_tg_id)
            await self._update_request_message(request, tr, "request.reopened", keep_buttons=True)
        for request in sweep.expired:
            await self._announce_settled(request, "request.expired", "request.status.expired")
        return sweep

    async def _announce_settled(self, request: MoneyRequest, told_key: str, status_key: str) -> None:
        """The requester is told (`told_key`); the addressee's request message gets its final status."""
        await self._tell_requester(request, told_key)
        await self._update_request_message(request, await self.translator_for(request.payer_tg_id), status_key)

    async def _tell_requester(self, request: MoneyRequest, key: str) -> None:
        if not self.access.is_inside(await self.db.users.get(request.requester_tg_id)):
            return
        tr = await self.translator_for(request.requester_tg_id)
        payer = await self.payer_label(request)
        await self.notifier.send(request.requester_tg_id, tr(key, payer=payer, amount=request_money(request, tr)))

    async def _update_request_message(
        self, request: MoneyRequest, tr: Translator, status_key: str, *, keep_buttons: bool = False
    ) -> None:
        if request.chat_id is None or request.message_id is None:
            return
        keyboard = pay_or_decline(tr, request.id) if keep_buttons else None
        await self.notifier.edit(
            request.chat_id, request.message_id, await self.text(tr, request, status_key), keyboard
        )

    async def translator_for(self, tg_id: int) -> Translator:
        user = await self.db.users.get(tg_id)
        return self.i18n.translator(user.language if user is not None else None)
