"""Transfers that pay exactly once: the draft, the confirmation and the resolution of unknown outcomes.

Telegram-free. The storage row is the single source of truth; every decision below follows one rule:
**once a client id may have reached QIWI, that id is the only one this confirmation will ever use.**

Life of a transfer (see `bot/storage/transfers.py` for the row's states):

1. `prepare` writes the `awaiting_confirmation` row when the summary is shown; its client id is fixed then.
2. `confirm` claims the row atomically (`-> sending`; only the owner, only within `CONFIRM_TTL`), so two
   Confirm presses, or a press by someone else, can never both reach QIWI. Then `pay` with THAT id:
   - an answer -> `accepted` (QIWI's transaction id) or `failed` (the refusal's reason);
   - no answer after the request left (timeout, broken connection, 5xx, garbage) -> `unknown`, looked up
     in the history at once by `resolve`, and settled later if it is not there yet (see 3);
   - "a payment with this id already exists" (QWPRC-408) -> it went through before -> `unknown` with a
     marker, resolved from the history, never failed and never sent again under a new id;
   - 401 (the QIWI session died) or QIWI unreachable *before* the request was sent: nothing can have
     moved (a 401 is QIWI refusing the request unexecuted; the client raises plain `QiwiUnavailable` only
     when the connection was never made). The attempt is closed as `failed` and a replacement summary row
     takes its place with the original `created_at`, so the user can confirm again after `/login` within the
     same ten minutes. The closed id provably never reached QIWI as a payment, so the replacement cannot
     pay a second time; see `_replace_unsent`.
3. `resolve` (for `unknown`, and for `sending` rows found at start-up) asks the sender's history for a
   payment whose `trmTxnId` is our client id:
   - found: SUCCESS -> `accepted`, ERROR -> `failed`, WAITING -> stays `unknown` (checked again later);
   - not found, row `unknown`: the request was sent and QIWI has no record of it. A request can still be
     inside QIWI for a while after our client gave up, so the row stays `unknown` until it has been quiet
     for `SETTLE_AFTER`; only then is it `failed` ("did not go through, no money left the wallet"). It is
     NOT re-sent: the user was told the outcome is being checked, and a re-send would turn a failed
     attempt into a surprise payment minutes later, when they may already have repeated it by hand;
   - not found, row `sending` (the bot died between the claim and QIWI's answer): we cannot know whether
     the request left at all. Re-sending the identical payment with the SAME id is safe -- QIWI never moves
     money twice for one id (it answers with the first transaction, or QWPRC-408) -- and it completes
     exactly what the user confirmed. It is done only while the summary is younger than `CONFIRM_TTL`,
     so nothing is ever paid later than the ten minutes the summary promised; older ones become `unknown`
     and are settled like any other (`failed` once quiet for `SETTLE_AFTER` with no trace in the history);
   - history unreadable (QIWI down, session dead): the row stays `unknown` and is checked again by the
     periodic re-check and at the next start-up.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.money import InvalidAmount, parse_amount
from bot.phone import InvalidPhone, api_account, normalize_phone
from bot.qiwi.errors import (
    QiwiError,
    QiwiPaymentOutcomeUnknown,
    QiwiPaymentRefused,
    QiwiRateLimited,
    QiwiUnavailable,
    RefusalReason,
    refusal_reason,
)
from bot.qiwi.models import Money, Payment, PaymentResult
from bot.services.sessions import NotLoggedIn, Session, SessionEnded
from bot.storage.models import Transfer, TransferStatus

if TYPE_CHECKING:
    from bot.qiwi.client import QiwiClient
    from bot.services.sessions import SessionService
    from bot.storage.transfers import TransferRepository

log = logging.getLogger(__name__)

CONFIRM_TTL = timedelta(minutes=10)
COMMENT_MAX_LENGTH = 140
# How far around the transfer's own time the history is searched for its client id: generous, because the
# bot's clock and QIWI's may disagree and QIWI stamps the payment when it executes it.
HISTORY_MARGIN = timedelta(days=1)
# How long an `unknown` row must stay without a trace in the history before it is declared not sent: a
# request QIWI received just before our client gave up may still be executed meanwhile.
SETTLE_AFTER = timedelta(minutes=3)
# Stored in `failure_message` of an `unknown` row when QIWI said the id was already used (QWPRC-408).
DUPLICATE_MARKER = "duplicate_id"
# `failure_code` of an attempt closed because nothing could have been sent (see `_replace_unsent`).
NOT_SENT_CODE = "not_sent"
# `failure_code` of a row whose id QIWI has no record of after the outcome was unknown.
NOT_FOUND_CODE = "not_found"

S = TransferStatus


# -- the draft -----------------------------------------------------------------------------------------


class DraftProblem(ValueError):
    """Why a piece of the draft was refused: `step` is recipient / amount / comment / usage."""

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TransferDraft:
    recipient: str  # wallet id with the country code, `79121112233`
    amount: Decimal
    comment: str = ""

    @property
    def account(self) -> str:
        return api_account(self.recipient)


def parse_recipient(text: str, *, sender: str | None = None) -> str:
    try:
        wallet = normalize_phone(text)
    except InvalidPhone:
        raise DraftProblem("recipient", "invalid") from None
    if sender is not None and wallet == sender:
        # QIWI refuses a transfer to oneself (QWPRC-319); say so before the summary, not after Confirm.
        raise DraftProblem("recipient", "self")
    return wallet


def parse_transfer_amount(text: str, *, limit: Decimal) -> Decimal:
    try:
        return parse_amount(text, limit=limit)
    except InvalidAmount as error:
        raise DraftProblem("amount", error.reason) from None


def parse_comment(text: str) -> str:
    comment = " ".join(text.split())
    if len(comment) > COMMENT_MAX_LENGTH:
        raise DraftProblem("comment", "too_long")
    return comment


def parse_command(args: str, *, limit: Decimal, sender: str | None = None) -> TransferDraft:
    """`/transfer <phone> <amount> [comment]`; the phone may itself contain spaces (`+7 912 111 22 33`).

    The phone is the shortest run of leading words that reads as a number; the next word is the amount.
    """
    words = args.split()
    if len(words) < 2:
        raise DraftProblem("usage", "missing")
    for taken in range(1, min(len(words), 6) + 1):
        try:
            recipient = normalize_phone(" ".join(words[:taken]))
        except InvalidPhone:
            continue
        if taken == len(words):
            raise DraftProblem("usage", "missing")
        recipient = parse_recipient(recipient, sender=sender)
        amount = parse_transfer_amount(words[taken], limit=limit)
        comment = parse_comment(" ".join(words[taken + 1 :]))
        return TransferDraft(recipient, amount, comment)
    raise DraftProblem("recipient", "invalid")


# -- outcomes ------------------------------------------------------------------------------------------


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    FAILED = "failed"
    UNKNOWN = "unknown"
    NEEDS_LOGIN = "needs_login"  # session dead: a replacement summary was made, confirm after /login
    RETRY = "retry"  # QIWI unreachable before sending: a replacement summary was made, confirm again
    NOT_FOUND = "not_found"
    NOT_YOURS = "not_yours"
    EXPIRED = "expired"
    IN_PROGRESS = "in_progress"
    ALREADY_DONE = "already_done"
    CANCELLED = "cancelled"
    WALLET_CHANGED = "wallet_changed"


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    outcome: Outcome
    transfer: Transfer | None
    reason: RefusalReason | None = None  # for FAILED by a QIWI refusal
    qiwi_message: str | None = None
    replacement: Transfer | None = None  # for NEEDS_LOGIN / RETRY: the row the new buttons point at
    session_expired: bool = False


def outcome_of(transfer: Transfer) -> Outcome:
    """What a row's status means to the user who looks at it now."""
    return {
        S.ACCEPTED: Outcome.ACCEPTED,
        S.FAILED: Outcome.FAILED,
        S.UNKNOWN: Outcome.UNKNOWN,
        S.SENDING: Outcome.IN_PROGRESS,
        S.CANCELLED: Outcome.CANCELLED,
        S.EXPIRED: Outcome.EXPIRED,
        S.AWAITING_CONFIRMATION: Outcome.IN_PROGRESS,
    }[transfer.status]


def refusal_of(transfer: Transfer) -> RefusalReason | None:
    """The refusal reason of a `failed` row whose failure code is QIWI's (`QWPRC-220`)."""
    if transfer.status != S.FAILED or not transfer.failure_code:
        return None
    if not transfer.failure_code.upper().startswith("QWPRC-"):
        return None
    return refusal_reason(transfer.failure_code)


# -- the service ---------------------------------------------------------------------------------------


@dataclass
class TransferService:
    """Everything a transfer does, over the member's QIWI session (`SessionService.run`) and the storage."""

    sessions: SessionService
    limit: Decimal = Decimal("99999")
    ttl: timedelta = CONFIRM_TTL

    @property
    def _transfers(self) -> TransferRepository:
        return self.sessions.db.transfers

    def now(self) -> datetime:
        return self.sessions.clock()

    def expires_at(self, transfer: Transfer) -> datetime:
        return transfer.created_at + self.ttl

    async def sender_wallet(self, tg_id: int) -> str:
        """The logged-in wallet, read without a QIWI call. Raises NotLoggedIn."""
        user = await self.sessions.db.users.get(tg_id)
        if user is None or user.wallet is None or user.tgt_ciphertext is None:
            raise NotLoggedIn
        return user.wallet

    async def prepare(self, tg_id: int, draft: TransferDraft) -> Transfer:
        """The summary is about to be shown: fix the client id now. Raises NotLoggedIn."""
        wallet = await self.sender_wallet(tg_id)
        if draft.recipient == wallet:
            raise DraftProblem("recipient", "self")
        transfer = await self._transfers.create_draft(
            tg_id=tg_id,
            wallet=wallet,
            recipient=draft.recipient,
            amount=draft.amount,
            comment=draft.comment,
            now=self.now(),
        )
        log.info("transfer %s prepared (client id %s)", transfer.id, transfer.client_id)
        return transfer

    async def cancel_open(self, transfer_id: int | None, tg_id: int) -> bool:
        """`/cancel` while a summary is open: that summary can no longer be confirmed."""
        if transfer_id is None:
            return False
        return await self._transfers.cancel(transfer_id, tg_id, self.now())

    async def set_message(self, transfer_id: int, chat_id: int, message_id: int) -> None:
        await self._transfers.set_message(transfer_id, chat_id, message_id)

    async def get(self, transfer_id: int) -> Transfer | None:
        return await self._transfers.get(transfer_id)

    async def cancel(self, transfer_id: int, tg_id: int) -> ConfirmResult:
        transfer = await self.get(transfer_id)
        if transfer is None:
            return ConfirmResult(Outcome.NOT_FOUND, None)
        if transfer.tg_id != tg_id:
            return ConfirmResult(Outcome.NOT_YOURS, transfer)
        if await self._transfers.cancel(transfer_id, tg_id, self.now()):
            return ConfirmResult(Outcome.CANCELLED, await self.get(transfer_id))
        return self._why_not_confirmable(transfer)

    def _why_not_confirmable(self, transfer: Transfer) -> ConfirmResult:
        if transfer.status == S.AWAITING_CONFIRMATION:
            return ConfirmResult(Outcome.EXPIRED, transfer)
        if transfer.status in (S.ACCEPTED, S.FAILED):
            return ConfirmResult(Outcome.ALREADY_DONE, transfer)
        if transfer.status in (S.SENDING, S.UNKNOWN):
            return ConfirmResult(Outcome.IN_PROGRESS, transfer)
        return ConfirmResult(outcome_of(transfer), transfer)

    async def confirm(
        self,
        transfer_id: int,
        tg_id: int,
        *,
        on_claimed: Callable[[Transfer], Awaitable[None]] | None = None,
    ) -> ConfirmResult:
        """Confirm pressed. At most one caller per row ever gets past the claim; `on_claimed` runs right
        after it (the dialog shows "sending…" there), before the payment request."""
        transfer = await self.get(transfer_id)
        if transfer is None:
            return ConfirmResult(Outcome.NOT_FOUND, None)
        if transfer.tg_id != tg_id:
            return ConfirmResult(Outcome.NOT_YOURS, transfer)
        if transfer.status != S.AWAITING_CONFIRMATION:
            return self._why_not_confirmable(transfer)
        if self.now() - transfer.created_at >= self.ttl:
            await self._transfers.claim(transfer_id, tg_id, self.now(), self.ttl)  # marks it expired
            return ConfirmResult(Outcome.EXPIRED, await self.get(transfer_id))
        # Before the claim: a user who is not logged in keeps the summary as it is (confirm after /login).
        try:
            session = await self.sessions.current(tg_id)
        except NotLoggedIn:
            return ConfirmResult(Outcome.NEEDS_LOGIN, transfer, replacement=transfer)
        if session.wallet != transfer.wallet:
            await self._transfers.cancel(transfer_id, tg_id, self.now())
            return ConfirmResult(Outcome.WALLET_CHANGED, await self.get(transfer_id))

        claimed = await self._transfers.claim(transfer_id, tg_id, self.now(), self.ttl)
        if claimed is None:
            latest = await self.get(transfer_id)
            assert latest is not None
            return self._why_not_confirmable(latest)
        log.info("transfer %s claimed, sending client id %s", claimed.id, claimed.client_id)
        if on_claimed is not None:
            try:
                await on_claimed(claimed)
            except Exception:
                # Showing "sending…" is a courtesy; the user confirmed, so the payment goes ahead regardless
                # (a row left `sending` here would wait for the next start-up instead).
                log.exception("transfer %s: on_claimed failed; sending anyway", claimed.id)
        return await self._send(claimed, first_attempt=True)

    async def _pay(self, transfer: Transfer) -> PaymentResult:
        async def call(qiwi: QiwiClient, session: Session) -> PaymentResult:
            return await qiwi.pay(
                session.tgt,
                transfer.wallet,
                client_id=transfer.client_id,
                amount=transfer.amount,
                account=api_account(transfer.recipient),
                comment=transfer.comment,
            )

        return await self.sessions.run(transfer.tg_id, call)

    async def _send(self, transfer: Transfer, *, first_attempt: bool) -> ConfirmResult:
        """Send the row's payment (claimed `sending`, or a start-up re-send) and record what came back."""
        try:
            result = await self._pay(transfer)
        except (SessionEnded, NotLoggedIn) as error:
            expired = isinstance(error, SessionEnded) and error.expired
            if not first_attempt:
                await self._transfers.mark_unknown(transfer.id, self.now())
                return ConfirmResult(Outcome.UNKNOWN, await self.get(transfer.id), session_expired=expired)
            replacement = await self._replace_unsent(transfer)
            return ConfirmResult(
                Outcome.NEEDS_LOGIN,
                await self.get(transfer.id),
                replacement=replacement,
                session_expired=expired,
            )
        except QiwiPaymentOutcomeUnknown as error:
            log.warning("transfer %s: outcome unknown (%s)", transfer.id, error)
            await self._transfers.mark_unknown(transfer.id, self.now())
            return await self._resolve_now(transfer.id)
        except QiwiPaymentRefused as error:
            if error.reason == RefusalReason.DUPLICATE_ID:
                log.info("transfer %s: QIWI already has client id %s", transfer.id, transfer.client_id)
                await self._transfers.mark_unknown(transfer.id, self.now(), DUPLICATE_MARKER)
                return await self._resolve_now(transfer.id)
            await self._transfers.mark_failed(transfer.id, error.code, error.qiwi_message, self.now())
            log.info("transfer %s refused by QIWI: %s", transfer.id, error.code)
            return ConfirmResult(
                Outcome.FAILED, await self.get(transfer.id), reason=error.reason, qiwi_message=error.qiwi_message
            )
        except (QiwiUnavailable, QiwiRateLimited) as error:
            # Plain QiwiUnavailable (not OutcomeUnknown) and 423 mean the payment request never left or was
            # turned away unexecuted.
            log.warning("transfer %s: QIWI unreachable before sending (%s)", transfer.id, type(error).__name__)
            if not first_attempt:
                await self._transfers.mark_unknown(transfer.id, self.now())
                return ConfirmResult(Outcome.UNKNOWN, await self.get(transfer.id))
            replacement = await self._replace_unsent(transfer)
            return ConfirmResult(Outcome.RETRY, await self.get(transfer.id), replacement=replacement)
        except QiwiError as error:
            # Any other answer with an error status (400, 404, 403...) is QIWI refusing the request.
            await self._transfers.mark_failed(transfer.id, error.code or "error", error.message, self.now())
            log.info("transfer %s failed: %s", transfer.id, type(error).__name__)
            return ConfirmResult(
                Outcome.FAILED, await self.get(transfer.id), reason=RefusalReason.OTHER, qiwi_message=error.message
            )
        except BaseException:
            # A bug or a cancellation while the request may be out: leave it for reconciliation. If even
            # this write fails the row stays `sending`, which start-up reconciliation handles the same way.
            try:
                await self._transfers.mark_unknown(transfer.id, self.now())
            except Exception:
                log.exception("transfer %s: could not mark unknown", transfer.id)
            raise
        await self._transfers.mark_accepted(transfer.id, result.transaction_id, self.now())
        log.info("transfer %s accepted by QIWI (txn %s)", transfer.id, result.transaction_id)
        return ConfirmResult(Outcome.ACCEPTED, await self.get(transfer.id))

    async def _replace_unsent(self, transfer: Transfer) -> Transfer:
        """Close an attempt that provably never reached QIWI as a payment, and re-open the same summary.

        The storage has no way back from `sending` (by design: a claimed row must never be claimable again),
        so the closed row keeps its id forever as `failed/not_sent`, and a new `awaiting_confirmation` row
        with the same recipient, amount, comment and the ORIGINAL `created_at` takes its place: the user can
        confirm after `/login` within the same ten minutes. Safe because the closed id was never executed
        by QIWI and never will be sent again: at most one payment still results from this summary.
        """
        await self._transfers.mark_failed(transfer.id, NOT_SENT_CODE, None, self.now())
        replacement = await self._transfers.create_draft(
            tg_id=transfer.tg_id,
            wallet=transfer.wallet,
            recipient=transfer.recipient,
            amount=transfer.amount,
            comment=transfer.comment,
            now=transfer.created_at,
        )
        if transfer.chat_id is not None and transfer.message_id is not None:
            await self._transfers.set_message(replacement.id, transfer.chat_id, transfer.message_id)
        log.info("transfer %s not sent; summary re-opened as transfer %s", transfer.id, replacement.id)
        refreshed = await self.get(replacement.id)
        assert refreshed is not None
        return refreshed

    async def _resolve_now(self, transfer_id: int) -> ConfirmResult:
        transfer = await self.get(transfer_id)
        assert transfer is not None
        return await self.resolve(transfer)

    # -- resolution ------------------------------------------------------------------------------------

    async def find_in_history(self, transfer: Transfer) -> Payment | None:
        """The sender's outgoing payment whose `trmTxnId` is our client id. Raises NotLoggedIn, SessionEnded,
        QiwiError when the history cannot be read."""
        start = transfer.created_at - HISTORY_MARGIN
        end = max(self.now(), transfer.updated_at) + HISTORY_MARGIN

        async def call(qiwi: QiwiClient, session: Session) -> Payment | None:
            payments: AsyncIterator[Payment] = qiwi.iter_history(
                session.tgt, transfer.wallet, start=start, end=end, operation="OUT"
            )
            async for payment in payments:
                if payment.trm_txn_id is not None and payment.trm_txn_id.lstrip(":") == transfer.client_id:
                    return payment
            return None

        return await self.sessions.run(transfer.tg_id, call)

    async def resolve(self, transfer: Transfer) -> ConfirmResult:
        """Settle a `sending` (found at start-up) or `unknown` row by its own client id. See the module doc."""
        if transfer.status not in (S.SENDING, S.UNKNOWN):
            return ConfirmResult(outcome_of(transfer), transfer, reason=refusal_of(transfer))
        history_read = True
        found: Payment | None = None
        try:
            session = await self.sessions.current(transfer.tg_id)
            if session.wallet != transfer.wallet:
                raise NotLoggedIn  # another wallet's session can neither see nor pay from this wallet
            found = await self.find_in_history(transfer)
        except (NotLoggedIn, SessionEnded) as error:
            log.info("transfer %s: no session to check it with (%s)", transfer.id, type(error).__name__)
            if transfer.status == S.SENDING:
                await self._transfers.mark_unknown(transfer.id, self.now())
            return ConfirmResult(Outcome.UNKNOWN, await self.get(transfer.id))
        except QiwiError as error:
            log.info("transfer %s: history unreadable (%s)", transfer.id, type(error).__name__)
            history_read = False
        if found is not None:
            return await self._settle_from_history(transfer, found)
        if transfer.status == S.UNKNOWN and transfer.failure_message == DUPLICATE_MARKER:
            # QIWI said this id exists, so it went through; the history just has not caught up.
            return ConfirmResult(Outcome.UNKNOWN, transfer)
        if transfer.status == S.SENDING and self.now() - transfer.created_at < self.ttl:
            # Also when the history could not be read: the re-send's answer is definitive either way.
            log.info("transfer %s: not in the history; re-sending with the same id %s", transfer.id, transfer.client_id)
            return await self._send(transfer, first_attempt=False)
        if transfer.status == S.SENDING:
            await self._transfers.mark_unknown(transfer.id, self.now())
            return ConfirmResult(Outcome.UNKNOWN, await self.get(transfer.id))
        if not history_read or self.now() - transfer.updated_at < SETTLE_AFTER:
            return ConfirmResult(Outcome.UNKNOWN, transfer)
        await self._transfers.mark_failed(transfer.id, NOT_FOUND_CODE, None, self.now())
        log.info("transfer %s: QIWI has no payment %s; marked failed", transfer.id, transfer.client_id)
        return ConfirmResult(Outcome.FAILED, await self.get(transfer.id))

    async def _settle_from_history(self, transfer: Transfer, payment: Payment) -> ConfirmResult:
        status = (payment.status or "").upper()
        if status == "SUCCESS":
            await self._transfers.mark_accepted(transfer.id, str(payment.txn_id), self.now())
            log.info("transfer %s found in the history as txn %s", transfer.id, payment.txn_id)
            return ConfirmResult(Outcome.ACCEPTED, await self.get(transfer.id))
        if status == "ERROR":
            code = f"history:{payment.error_code}" if payment.error_code is not None else "history"
            await self._transfers.mark_failed(transfer.id, code, payment.error, self.now())
            return ConfirmResult(
                Outcome.FAILED, await self.get(transfer.id), reason=RefusalReason.OTHER, qiwi_message=payment.error
            )
        # WAITING: QIWI is still processing it; only a later look can tell.
        if transfer.status == S.SENDING:
            await self._transfers.mark_unknown(transfer.id, self.now())
        return ConfirmResult(Outcome.UNKNOWN, await self.get(transfer.id))

    async def rub_balance(self, tg_id: int) -> Money | None:
        """The RUB balance after a transfer; None when it cannot be read (the transfer itself is done)."""

        async def call(qiwi: QiwiClient, session: Session) -> Money | None:
            accounts = await qiwi.balance(session.tgt, session.wallet)
            for account in accounts:
                if account.currency == "RUB" and account.balance is not None:
                    return account.balance
            return None

        try:
            return await self.sessions.run(tg_id, call)
        except (NotLoggedIn, SessionEnded, QiwiError) as error:
            log.info("balance after transfer unavailable: %s", type(error).__name__)
            return None


# -- start-up ------------------------------------------------------------------------------------------
