"""Transfers that pay exactly once: the draft, the confirmation, and the settling of payments in doubt.

Telegram-free. The storage row is the single source of truth; every decision below follows one rule:
**once a client id may have reached QIWI, that id is the only one this confirmation will ever use.**

Life of a transfer (see `bot/storage/transfers.py` for the row's states):

1. `prepare` writes the `awaiting_confirmation` row when the summary is shown; its client id is fixed then.
   An amount above `limit` (TRANSFER_LIMIT) gets no row at all.
2. `confirm` checks the limit again (a summary shown before the limit was lowered, a money request's Pay),
   then claims the row atomically (`-> sending`; only the owner, only within `CONFIRM_TTL`), so two Confirm
   presses, or a press by someone else, can never both reach QIWI. Then `pay` with THAT id:
   - an answer -> `accepted` (QIWI's transaction id) or `failed` (the refusal's reason);
   - 423, or QIWI unreachable *before* the request was sent (the client raises plain `QiwiUnavailable`
     only when no connection was made): nothing can have moved, so the same request is simply tried again
     with short pauses; only if QIWI stays unreachable for the whole of `CONFIRM_SETTLE_SECONDS` is the
     attempt closed (`failed/not_sent`) and the summary re-opened under a new row (`RETRY`, see
     `_replace_unsent`). A 401 (the QIWI session died) does the same at once (`NEEDS_LOGIN`);
   - **doubt**: the request left and no usable answer came back (a timeout, a broken connection, a 5xx,
     garbage, "this id already exists"): the row becomes `unknown` and is settled at once (3).
3. Settling a payment in doubt (`_drive`, the same for Confirm, the start-up pass and the re-check job):
   the IDENTICAL payment is sent again under the SAME client id, with short pauses (`BACKOFF`), and the
   sender's history is read for a payment whose `trmTxnId` is our id between tries. QIWI answers a known
   id with its first transaction (or QWPRC-408), so a re-send never moves money twice, and it is how
   idempotency is meant to be used: the first answer that comes back is the truth.
   - re-send answered -> `accepted` with QIWI's transaction id (the first one, if an attempt had gone);
   - re-send refused (QWPRC-220...) after an attempt that may have gone: NOT "failed" yet -- a QIWI that
     checks the balance before the id refuses a repeat of a payment that already took the money. Failed
     only once the history has been read and shows no payment with our id; until then it stays open;
   - QWPRC-408: the id exists -> the history is read until it shows the payment (never re-sent);
   - found in the history: SUCCESS -> `accepted`, ERROR -> `failed`, WAITING -> open (read again later);
   - no session (logged out, 401): nothing can be checked; open until the member logs in again.
   Re-sending happens only while the summary is younger than `CONFIRM_TTL`, so nothing is ever paid later
   than the ten minutes the summary promised. After that only the history is read; a row with no trace
   there `SETTLE_AFTER` past the end of the TTL (the last request long finished) is `failed/not_found`.
   Inside `confirm` this bounds itself to `CONFIRM_SETTLE_SECONDS`; a row still open is returned as
   UNKNOWN with the kind of doubt (`ConfirmResult.doubt`), and the re-check job (`recheck_due`, every few
   seconds) continues where Confirm stopped, with the same backoff, telling the user once it is known.
4. After a crash: every `sending` row at start-up belongs to the previous run (nothing in this process
   handles it); it is marked `unknown` (doubt RESTART) and settled the same way.

A `TransferService` is built once per process: it remembers which rows a Confirm is handling right now
(`_busy`), so the background never settles a row under a running Confirm, and how far each open row's
backoff has gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from bot.money import InvalidAmount, parse_amount
from bot.phone import InvalidPhone, api_account, normalize_phone
from bot.qiwi.errors import (
    QiwiError,
    QiwiMalformedResponse,
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
T = TypeVar("T")

CONFIRM_TTL = timedelta(minutes=10)
COMMENT_MAX_LENGTH = 140
# How far around the transfer's own time the history is searched for its client id: generous, because the
# bot's clock and QIWI's may disagree and QIWI stamps the payment when it executes it.
HISTORY_MARGIN = timedelta(days=1)
# After the TTL nothing is re-sent; a row still without a trace in the history this long after the TTL ended
# is declared not sent (the last request left before the TTL ended and has long been finished or dropped).
SETTLE_AFTER = timedelta(minutes=3)
# How long `confirm` itself works on a payment (the first request included) before it answers UNKNOWN and
# leaves the rest to the re-check job: the user hears the truth within seconds in nearly every case.
CONFIRM_SETTLE_SECONDS = 6.0
# The longest one QIWI call of a settling step may take (the payment, a re-send, a history read): a call
# that hangs is given up after this and counts as a timeout, so that the next try (a fresh connection, the
# same client id) comes while Confirm still has time, and a hanging QIWI never holds the re-check job.
CALL_SECONDS = 3.0
# The balance shown after a transfer is a courtesy: the outcome is not held back for it longer than this.
BALANCE_SECONDS = 3.0
# A call given less than this is not made (it would only end in another doubt).
MIN_CALL_SECONDS = 0.5
# Pauses between tries on one payment in doubt, then the last one again and again.
BACKOFF: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0)
# The pause after a try that provably never reached QIWI's payment logic (423, no connection, a failed
# ticket or session call) while nothing has left yet: trying again costs nothing and risks nothing.
NOT_SENT_PAUSE = 0.3
# Stored in `failure_message` of an `unknown` row when QIWI said the id was already used (QWPRC-408).
DUPLICATE_MARKER = "duplicate_id"
# `failure_message` of an `unknown` row otherwise: this prefix and the kind of doubt (`doubt:timeout`).
DOUBT_PREFIX = "doubt:"
# `failure_code` of an attempt closed because nothing could have been sent (see `_replace_unsent`).
NOT_SENT_CODE = "not_sent"
# `failure_code` of a row whose id QIWI has no record of after the outcome was unknown.
NOT_FOUND_CODE = "not_found"

S = TransferStatus
OPEN_STATUSES = frozenset({S.SENDING, S.UNKNOWN})


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
    OVER_LIMIT = "over_limit"  # above TRANSFER_LIMIT at Confirm: the summary is cancelled, nothing sent


class Doubt(StrEnum):
    """Why the outcome of a payment is not known yet: each has its own text for the user."""

    TIMEOUT = "timeout"  # the request left and no answer came in time
    RESET = "reset"  # the connection broke before the answer
    ERROR = "error"  # QIWI answered with a server error (5xx)
    GARBAGE = "garbage"  # QIWI's answer could not be read
    BUSY = "busy"  # a repeat was turned away with 423 (too many requests)
    UNREACHABLE = "unreachable"  # QIWI could not be reached for a repeat
    DUPLICATE = "duplicate"  # QIWI says the id exists; waiting for the history to show it
    REFUSED = "refused"  # a repeat was refused: waiting for the history to confirm that nothing moved
    WAITING = "waiting"  # the history shows the payment as still being processed
    NO_SESSION = "no_session"  # the QIWI session ended: nothing can be checked until /login
    RESTART = "restart"  # the bot stopped while the payment was being sent


@dataclass(frozen=True, slots=True)
class ConfirmResult:
    outcome: Outcome
    transfer: Transfer | None
    reason: RefusalReason | None = None  # for FAILED by a QIWI refusal
    qiwi_message: str | None = None
    replacement: Transfer | None = None  # for NEEDS_LOGIN / RETRY: the row the new buttons point at
    session_expired: bool = False
    doubt: Doubt | None = None  # for UNKNOWN: what happened (each kind has its own text)
    limit: Decimal | None = None  # for OVER_LIMIT: the limit in force


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


def doubt_of(transfer: Transfer) -> Doubt | None:
    """The kind of doubt stored with an `unknown` row (the first one it had)."""
    if transfer.status != S.UNKNOWN:
        return None
    message = transfer.failure_message or ""
    if message == DUPLICATE_MARKER:
        return Doubt.DUPLICATE
    if message.startswith(DOUBT_PREFIX):
        with contextlib.suppress(ValueError):
            return Doubt(message[len(DOUBT_PREFIX) :])
    return None


def doubt_marker(doubt: Doubt) -> str:
    return DUPLICATE_MARKER if doubt == Doubt.DUPLICATE else DOUBT_PREFIX + doubt.value


def doubt_from_error(error: BaseException) -> Doubt:
    """The kind of doubt a payment call ended in: a 5xx, garbage, a timeout or a broken connection."""
    if isinstance(error, TimeoutError):
        return Doubt.TIMEOUT
    if isinstance(error, QiwiMalformedResponse):
        return Doubt.GARBAGE
    status = getattr(error, "status", None)
    if status is not None:
        return Doubt.ERROR if status >= 500 else Doubt.GARBAGE
    # The client raises it `from None` inside the `except` for the transport error, so the transport error
    # is still the context: its class name tells a timeout from a broken connection.
    cause = error.__context__
    if cause is not None and "Timeout" in type(cause).__name__:
        return Doubt.TIMEOUT
    if "Timeout" in str(error):
        return Doubt.TIMEOUT
    return Doubt.RESET


# -- one call's answer, classified ---------------------------------------------------------------------


class _Answer(StrEnum):
    PAID = "paid"
    REFUSED = "refused"  # QIWI said no (a QWPRC refusal, or another error answer)
    DUPLICATE = "duplicate"
    DOUBT = "doubt"  # the request may have gone; no usable answer
    NOT_SENT = "not_sent"  # 423 or no connection: this request did not reach QIWI's payment logic
    NO_SESSION = "no_session"


@dataclass(frozen=True, slots=True)
class _PayAnswer:
    kind: _Answer
    result: PaymentResult | None = None
    error: QiwiError | None = None
    doubt: Doubt | None = None
    session_expired: bool = False


class _Look(StrEnum):
    FOUND = "found"
    ABSENT = "absent"
    UNREADABLE = "unreadable"
    NO_SESSION = "no_session"


@dataclass
class _Settling:
    """How far the settling of one open row has gone (in memory; rebuilt from the row after a restart)."""

    may_have_left: bool  # an attempt may have reached QIWI: from now on only the history or a re-send tells
    doubt: Doubt | None = None
    tries: int = 0  # pauses taken so far: the index into BACKOFF
    refusal: QiwiError | None = None  # a re-send's refusal, to be confirmed by the history before "failed"
    pre_send: Doubt | None = None  # why the last try did not reach QIWI (nothing has left yet)
    due: float = 0.0  # loop time at which the re-check job may take the next step


async def _courtesy(on_claimed: Callable[[Transfer], Awaitable[None]], claimed: Transfer) -> None:
    try:
        await on_claimed(claimed)
    except Exception:
        # Showing "sending…" is a courtesy; the user confirmed, so the payment goes ahead regardless.
        log.exception("transfer %s: on_claimed failed; sending anyway", claimed.id)


# -- the service ---------------------------------------------------------------------------------------


@dataclass
class TransferService:
    """Everything a transfer does, over the member's QIWI session (`SessionService.run`) and the storage.

    Build ONE per process (the services bundle does): it knows which rows a Confirm is handling."""

    sessions: SessionService
    limit: Decimal = Decimal("99999")
    ttl: timedelta = CONFIRM_TTL
    confirm_budget: float = CONFIRM_SETTLE_SECONDS
    call_wait: float = CALL_SECONDS
    backoff: tuple[float, ...] = BACKOFF
    not_sent_pause: float = NOT_SENT_PAUSE
    # Who owns a wallet, by name (the services bundle gives MemberService's), for the summary's "To:" line.
    owner_name: Callable[[str], Awaitable[str | None]] | None = None
    _busy: set[int] = field(default_factory=set, init=False, repr=False)
    _settling: dict[int, _Settling] = field(default_factory=dict, init=False, repr=False)

    @property
    def _transfers(self) -> TransferRepository:
        return self.sessions.db.transfers

    def now(self) -> datetime:
        return self.sessions.clock()

    def expires_at(self, transfer: Transfer) -> datetime:
        return transfer.created_at + self.ttl

    async def recipient_name(self, transfer: Transfer) -> str | None:
        """The member whose wallet the transfer pays, shown before the number wherever the summary is."""
        return None if self.owner_name is None else await self.owner_name(transfer.recipient)

    async def sender_wallet(self, tg_id: int) -> str:
        """The logged-in wallet, read without a QIWI call. Raises NotLoggedIn."""
        user = await self.sessions.db.users.get(tg_id)
        if user is None or user.wallet is None or user.tgt_ciphertext is None:
            raise NotLoggedIn
        return user.wallet

    def check_limit(self, amount: Decimal) -> None:
        """Raises DraftProblem("amount", "too_large") above TRANSFER_LIMIT."""
        if amount > self.limit:
            raise DraftProblem("amount", "too_large")

    async def prepare(self, tg_id: int, draft: TransferDraft) -> Transfer:
        """The summary is about to be shown: fix the client id now. Raises NotLoggedIn, DraftProblem (the
        recipient is the sender; the amount is above the limit, whatever led here)."""
        wallet = await self.sender_wallet(tg_id)
        if draft.recipient == wallet:
            raise DraftProblem("recipient", "self")
        self.check_limit(draft.amount)
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

    async def mark_told(self, transfer_id: int) -> None:
        """The user has seen the final outcome; a restart does not tell it again."""
        await self._transfers.mark_told(transfer_id, self.now())

    async def set_message(self, transfer_id: int, chat_id: int, message_id: int) -> None:
        await self._transfers.set_message(transfer_id, chat_id, message_id)

    async def get(self, transfer_id: int) -> Transfer | None:
        return await self._transfers.get(transfer_id)

    async def _get(self, transfer_id: int) -> Transfer:
        transfer = await self.get(transfer_id)
        assert transfer is not None, f"transfer {transfer_id} vanished"
        return transfer

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
        if transfer.status in OPEN_STATUSES:
            return ConfirmResult(Outcome.IN_PROGRESS, transfer, doubt=doubt_of(transfer))
        return ConfirmResult(outcome_of(transfer), transfer)

    @contextlib.contextmanager
    def _hold(self, transfer_id: int) -> Iterator[None]:
        """This row is being worked on here: the re-check job leaves it alone meanwhile."""
        self._busy.add(transfer_id)
        try:
            yield
        finally:
            self._busy.discard(transfer_id)

    def is_busy(self, transfer_id: int) -> bool:
        return transfer_id in self._busy

    async def confirm(
        self,
        transfer_id: int,
        tg_id: int,
        *,
        on_claimed: Callable[[Transfer], Awaitable[None]] | None = None,
    ) -> ConfirmResult:
        """Confirm pressed. At most one caller per row ever gets past the claim; `on_claimed` runs right
        after it (the dialog shows "sending…" there), beside the payment request, and has finished when this
        returns. Returns within about `confirm_budget` seconds of the claim; UNKNOWN (with `doubt`) means
        the re-check job goes on."""
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
        if transfer.amount > self.limit:
            # A summary shown before the limit was lowered, or one a money request opened: never paid.
            await self._transfers.cancel(transfer_id, tg_id, self.now())
            log.info("transfer %s above the limit %s at Confirm; cancelled", transfer_id, self.limit)
            return ConfirmResult(Outcome.OVER_LIMIT, await self.get(transfer_id), limit=self.limit)
        # The summary names the wallet it pays from, and that is the one paid from, whichever is current now.
        # Before the claim: a wallet that is not logged in keeps the summary as it is (confirm after /login).
        try:
            await self.sessions.current(tg_id, transfer.wallet)
        except NotLoggedIn:
            return ConfirmResult(Outcome.NEEDS_LOGIN, transfer, replacement=transfer)

        with self._hold(transfer_id):
            claimed = await self._transfers.claim(transfer_id, tg_id, self.now(), self.ttl)
            if claimed is None:
                return self._why_not_confirmable(await self._get(transfer_id))
            log.info("transfer %s claimed, sending client id %s", claimed.id, claimed.client_id)
            deadline = asyncio.get_running_loop().time() + self.confirm_budget
            state = _Settling(may_have_left=False)
            self._settling[claimed.id] = state
            # "sending…" goes to Telegram while the payment goes to QIWI: the payment does not wait for the
            # courtesy, and the outcome is shown only once the courtesy is on screen, never under it.
            showing = None if on_claimed is None else asyncio.ensure_future(_courtesy(on_claimed, claimed))
            try:
                return await self._drive(claimed, state, deadline, first=True)
            finally:
                if showing is not None:
                    await showing

    # -- the payment call ------------------------------------------------------------------------------

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

        # The session of the wallet the summary names, whichever wallet is the member's current one now.
        return await self.sessions.run(transfer.tg_id, call, wallet=transfer.wallet)

    async def _try_pay(self, transfer: Transfer, wait: float) -> _PayAnswer:
        """Send the row's payment under its own client id, waiting at most `wait` seconds for the answer."""
        try:
            result = await asyncio.wait_for(self._pay(transfer), timeout=wait)
        except TimeoutError as error:
            log.warning("transfer %s: no answer within %.1f s", transfer.id, wait)
            return _PayAnswer(_Answer.DOUBT, doubt=doubt_from_error(error))
        except (SessionEnded, NotLoggedIn) as error:
            expired = isinstance(error, SessionEnded) and error.expired
            return _PayAnswer(_Answer.NO_SESSION, session_expired=expired)
        except (QiwiPaymentOutcomeUnknown, QiwiMalformedResponse) as error:
            log.warning("transfer %s: outcome unknown (%s)", transfer.id, error)
            return _PayAnswer(_Answer.DOUBT, doubt=doubt_from_error(error))
        except QiwiPaymentRefused as error:
            if error.reason == RefusalReason.DUPLICATE_ID:
                log.info("transfer %s: QIWI already has client id %s", transfer.id, transfer.client_id)
                return _PayAnswer(_Answer.DUPLICATE, error=error)
            return _PayAnswer(_Answer.REFUSED, error=error)
        except QiwiRateLimited as error:
            return _PayAnswer(_Answer.NOT_SENT, error=error, doubt=Doubt.BUSY)
        except QiwiUnavailable as error:
            # Plain QiwiUnavailable (not OutcomeUnknown): the connection was never made.
            return _PayAnswer(_Answer.NOT_SENT, error=error, doubt=Doubt.UNREACHABLE)
        except QiwiError as error:
            # Any other answer with an error status (400, 404, 403...) is QIWI refusing the request.
            return _PayAnswer(_Answer.REFUSED, error=error)
        except BaseException:
            # A bug or a cancellation (shutdown) while the request may be out: leave it for the next
            # settling. If even this write fails the row stays `sending`, which start-up handles the same way.
            try:
                await self._transfers.mark_unknown(transfer.id, self.now(), doubt_marker(Doubt.RESTART))
            except BaseException:
                log.exception("transfer %s: could not mark unknown", transfer.id)
            raise
        return _PayAnswer(_Answer.PAID, result=result)

    # -- settling --------------------------------------------------------------------------------------

    def _pause(self, state: _Settling) -> float:
        return self.backoff[min(state.tries, len(self.backoff) - 1)]

    async def _drive(self, transfer: Transfer, state: _Settling, deadline: float, *, first: bool) -> ConfirmResult:
        """Steps with backoff until the truth is known, nothing more can be done, or `deadline` (loop
        time) comes; then the row's result (UNKNOWN with the doubt when still open)."""
        loop = asyncio.get_running_loop()
        while True:
            # Each call gets `call_wait`, within Confirm no more than what is left of its budget (outside a
            # Confirm the budget only decides whether another step follows).
            left = deadline - loop.time()
            wait = max(MIN_CALL_SECONDS, min(self.call_wait, left) if first else self.call_wait)
            result = await self._step(transfer, state, wait=wait, first=first)
            if result is not None:
                if result.outcome != Outcome.UNKNOWN:
                    self._settling.pop(transfer.id, None)
                else:  # nothing more to do now (no session): the re-check job comes back after a pause
                    state.due = loop.time() + self._pause(state)
                    state.tries += 1
                return result
            if not state.may_have_left:
                pause = self.not_sent_pause  # nothing has left: no reason to wait longer
            else:
                pause = self._pause(state)
                state.tries += 1
            state.due = loop.time() + pause
            # Within a budget the last pause is cut short, so that the time left still holds one more try.
            pause = min(pause, deadline - loop.time() - MIN_CALL_SECONDS)
            if pause < 0:
                break
            await asyncio.sleep(pause)
            transfer = await self._get(transfer.id)
            if transfer.status not in OPEN_STATUSES:  # settled meanwhile by someone else
                self._settling.pop(transfer.id, None)
                return ConfirmResult(outcome_of(transfer), transfer, reason=refusal_of(transfer))
        return await self._out_of_time(transfer, state, first=first)

    async def _out_of_time(self, transfer: Transfer, state: _Settling, *, first: bool) -> ConfirmResult:
        if not state.may_have_left and first:
            # Every try was turned away before QIWI's payment logic saw it: nothing has moved.
            self._settling.pop(transfer.id, None)
            replacement = await self._replace_unsent(transfer)
            return ConfirmResult(Outcome.RETRY, await self.get(transfer.id), replacement=replacement)
        doubt = state.doubt or state.pre_send or Doubt.UNREACHABLE
        row = await self._mark_open(transfer, doubt)
        if row.status not in OPEN_STATUSES:
            self._settling.pop(transfer.id, None)
            return ConfirmResult(outcome_of(row), row, reason=refusal_of(row))
        return ConfirmResult(Outcome.UNKNOWN, row, doubt=doubt)

    async def _mark_open(self, transfer: Transfer, doubt: Doubt) -> Transfer:
        """`sending -> unknown` with the doubt written down (an `unknown` row keeps its first doubt)."""
        await self._transfers.mark_unknown(transfer.id, self.now(), doubt_marker(doubt))
        return await self._get(transfer.id)

    async def _step(self, transfer: Transfer, state: _Settling, *, wait: float, first: bool) -> ConfirmResult | None:
        """One try: the payment re-sent under its own id (while the TTL lasts and a re-send can tell
        anything), then, when an attempt may have gone, one look at the history. A result when the truth is
        known or nothing can be done now (no session); None to try again after a pause."""
        now = self.now()
        within_ttl = now - transfer.created_at < self.ttl
        may_send = within_ttl and state.refusal is None and state.doubt not in (Doubt.DUPLICATE, Doubt.WAITING)
        if may_send:
            answer = await self._try_pay(transfer, wait)
            if answer.kind == _Answer.PAID:
                assert answer.result is not None
                return await self._accepted(transfer, answer.result.transaction_id)
            if answer.kind == _Answer.NO_SESSION:
                if not state.may_have_left and first:
                    self._settling.pop(transfer.id, None)
                    replacement = await self._replace_unsent(transfer)
                    return ConfirmResult(
                        Outcome.NEEDS_LOGIN,
                        await self.get(transfer.id),
                        replacement=replacement,
                        session_expired=answer.session_expired,
                    )
                state.doubt = Doubt.NO_SESSION
                row = await self._mark_open(transfer, Doubt.NO_SESSION)
                return ConfirmResult(
                    Outcome.UNKNOWN, row, doubt=Doubt.NO_SESSION, session_expired=answer.session_expired
                )
            if answer.kind == _Answer.REFUSED:
                assert answer.error is not None
                if not state.may_have_left:
                    return await self._failed(transfer, answer.error)
                # A refusal of a repeat says nothing about the attempt before it: the history decides.
                log.info("transfer %s: a repeat was refused (%s); checking the history", transfer.id, answer.error.code)
                state.refusal = answer.error
                state.doubt = Doubt.REFUSED
            elif answer.kind == _Answer.DUPLICATE:
                state.may_have_left = True
                state.doubt = Doubt.DUPLICATE
                transfer = await self._mark_open(transfer, Doubt.DUPLICATE)
            elif answer.kind == _Answer.DOUBT:
                assert answer.doubt is not None
                state.may_have_left = True
                state.doubt = answer.doubt
                transfer = await self._mark_open(transfer, answer.doubt)
            else:  # NOT_SENT: this try never reached QIWI; an earlier one still may have
                log.info("transfer %s: not sent this time (%s); trying again", transfer.id, answer.doubt)
                state.pre_send = answer.doubt
                if state.may_have_left:
                    state.doubt = answer.doubt
        if not state.may_have_left:
            return None
        return await self._check_history(transfer, state, wait=wait, within_ttl=within_ttl)

    async def _check_history(
        self, transfer: Transfer, state: _Settling, *, wait: float, within_ttl: bool
    ) -> ConfirmResult | None:
        look, payment = await self._look(transfer, wait)
        if look == _Look.FOUND:
            assert payment is not None
            settled = await self._settle_from_history(transfer, payment)
            if settled.outcome == Outcome.UNKNOWN:
                state.doubt = Doubt.WAITING
                return None
            return settled
        if look == _Look.NO_SESSION:
            state.doubt = Doubt.NO_SESSION
            row = await self._mark_open(transfer, Doubt.NO_SESSION)
            return ConfirmResult(Outcome.UNKNOWN, row, doubt=Doubt.NO_SESSION)
        if look == _Look.UNREADABLE:
            return None
        # ABSENT: QIWI has no payment with our id (as far as its history goes).
        if state.refusal is not None:
            return await self._failed(transfer, state.refusal)
        if state.doubt == Doubt.WAITING:
            state.doubt = None  # it was there a moment ago; look again
            return None
        if within_ttl or state.doubt == Doubt.DUPLICATE or doubt_of(transfer) == Doubt.DUPLICATE:
            return None
        if self.now() >= transfer.created_at + self.ttl + SETTLE_AFTER:
            await self._transfers.mark_failed(transfer.id, NOT_FOUND_CODE, None, self.now())
            log.info("transfer %s: QIWI has no payment %s; marked failed", transfer.id, transfer.client_id)
            row = await self._get(transfer.id)
            return ConfirmResult(outcome_of(row), row, reason=refusal_of(row))
        return None

    async def _look(self, transfer: Transfer, wait: float) -> tuple[_Look, Payment | None]:
        try:
            found = await asyncio.wait_for(self.find_in_history(transfer), timeout=max(wait, MIN_CALL_SECONDS))
        except (NotLoggedIn, SessionEnded) as error:
            log.info("transfer %s: no session to check it with (%s)", transfer.id, type(error).__name__)
            return _Look.NO_SESSION, None
        except (QiwiError, TimeoutError) as error:
            log.info("transfer %s: history unreadable (%s)", transfer.id, type(error).__name__)
            return _Look.UNREADABLE, None
        return (_Look.ABSENT, None) if found is None else (_Look.FOUND, found)

    async def _accepted(self, transfer: Transfer, txn_id: str) -> ConfirmResult:
        await self._transfers.mark_accepted(transfer.id, txn_id, self.now())
        row = await self._get(transfer.id)
        log.info("transfer %s accepted by QIWI (txn %s)", transfer.id, row.qiwi_txn_id)
        return ConfirmResult(outcome_of(row), row, reason=refusal_of(row))

    async def _failed(self, transfer: Transfer, error: QiwiError) -> ConfirmResult:
        if isinstance(error, QiwiPaymentRefused):
            code, message, reason = error.code, error.qiwi_message, error.reason
        else:
            code, message, reason = error.code or "error", error.message, RefusalReason.OTHER
        changed = await self._transfers.mark_failed(transfer.id, code, message, self.now())
        row = await self._get(transfer.id)
        log.info("transfer %s refused by QIWI: %s", transfer.id, code)
        if not changed:  # someone settled it first; their outcome stands
            return ConfirmResult(outcome_of(row), row, reason=refusal_of(row))
        return ConfirmResult(Outcome.FAILED, row, reason=reason, qiwi_message=message)

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
        return await self._get(replacement.id)

    # -- the history -----------------------------------------------------------------------------------

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

        return await self.sessions.run(transfer.tg_id, call, wallet=transfer.wallet)

    async def _settle_from_history(self, transfer: Transfer, payment: Payment) -> ConfirmResult:
        status = (payment.status or "").upper()
        if status == "SUCCESS":
            log.info("transfer %s found in the history as txn %s", transfer.id, payment.txn_id)
            return await self._accepted(transfer, str(payment.txn_id))
        if status == "ERROR":
            code = f"history:{payment.error_code}" if payment.error_code is not None else "history"
            changed = await self._transfers.mark_failed(transfer.id, code, payment.error, self.now())
            row = await self._get(transfer.id)
            if not changed:
                return ConfirmResult(outcome_of(row), row, reason=refusal_of(row))
            return ConfirmResult(Outcome.FAILED, row, reason=RefusalReason.OTHER, qiwi_message=payment.error)
        # WAITING: QIWI is still processing it; only a later look can tell.
        row = await self._mark_open(transfer, Doubt.WAITING)
        return ConfirmResult(Outcome.UNKNOWN, row, doubt=Doubt.WAITING)

    # -- outside a Confirm: start-up and the re-check job ----------------------------------------------

    def _state_for(self, transfer: Transfer) -> _Settling:
        state = self._settling.get(transfer.id)
        if state is None:
            # Nothing in memory: the previous run's row, or one whose Confirm ended in an exception.
            state = _Settling(may_have_left=True, doubt=doubt_of(transfer) or Doubt.RESTART)
            self._settling[transfer.id] = state
        # Outside a Confirm nobody knows whether an attempt left (a Confirm cut short may have sent one).
        state.may_have_left = True
        return state

    async def open_transfers(self) -> list[Transfer]:
        """Every `sending`/`unknown` row that no Confirm in this process is handling."""
        return [row for row in await self._transfers.unresolved() if row.id not in self._busy]

    def is_due(self, transfer: Transfer) -> bool:
        """Whether the re-check job should take the next step on this row now (its backoff has passed)."""
        state = self._settling.get(transfer.id)
        return state is None or state.due <= asyncio.get_running_loop().time()

    async def settle(self, transfer: Transfer, *, budget: float = 0.0) -> ConfirmResult | None:
        """Settle an open row outside a Confirm, for at most about `budget` seconds (0: one step). A `sending`
        row here is the previous run's: it becomes `unknown` (doubt RESTART) first. None when a Confirm in
        this process is on it right now, or when the row is no longer open."""
        if transfer.id in self._busy:
            return None
        with self._hold(transfer.id):
            row = await self._get(transfer.id)
            if row.status not in OPEN_STATUSES:  # settled meanwhile (and told by whoever settled it)
                self._settling.pop(row.id, None)
                return None
            state = self._state_for(row)
            if row.status == S.SENDING:
                row = await self._mark_open(row, Doubt.RESTART)
            deadline = asyncio.get_running_loop().time() + budget
            return await self._drive(row, state, deadline, first=False)

    async def resolve(self, transfer: Transfer) -> ConfirmResult:
        """One settling step on an open row (see `settle`); a settled row's result as it stands."""
        result = await self.settle(transfer)
        if result is None:
            row = await self._get(transfer.id)
            if row.status in OPEN_STATUSES:
                return ConfirmResult(Outcome.IN_PROGRESS, row, doubt=doubt_of(row))
            return ConfirmResult(outcome_of(row), row, reason=refusal_of(row))
        return result

    async def rub_balance(self, tg_id: int, wallet: str | None = None) -> Money | None:
        """The RUB balance of `wallet` (default: the current one) after a transfer; None when it cannot be read
        within `BALANCE_SECONDS` (the transfer itself is done, and its outcome must not wait for this)."""

        async def call(qiwi: QiwiClient, session: Session) -> Money | None:
            accounts = await qiwi.balance(session.tgt, session.wallet)
            for account in accounts:
                if account.currency == "RUB" and account.balance is not None:
                    return account.balance
            return None

        try:
            return await asyncio.wait_for(self.sessions.run(tg_id, call, wallet=wallet), timeout=BALANCE_SECONDS)
        except (NotLoggedIn, SessionEnded, QiwiError, TimeoutError) as error:
            log.info("balance after transfer unavailable: %s", type(error).__name__)
            return None
