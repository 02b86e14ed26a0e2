"""The transfer service against the emulator, the real QIWI client and the real storage (no Telegram).

Every test ends by comparing the emulator's ledger with what the user confirmed: exactly one payment per
confirmed summary that went through, none for the others, always under the summary's own client id.
Payments in doubt (5xx, resets, lost and late answers, refusals of a repeat) are in `test_doubt.py`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.qiwi.errors import RefusalReason
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET, RECEIVER_WALLET, UNIDENTIFIED_WALLET
from bot.services.transfers import (
    CONFIRM_TTL,
    NOT_FOUND_CODE,
    NOT_SENT_CODE,
    SETTLE_AFTER,
    DraftProblem,
    Outcome,
    TransferDraft,
)
from bot.storage import Transfer, TransferStatus
from tests.transfers.conftest import OTHER_ID, SENDER_ID, Stack

HANG = 1.5  # seconds the emulator holds a hung answer; the client gives up after 0.5


@pytest.fixture(autouse=True)
def quick(stack: Stack) -> None:
    """Short pauses between tries, so that a test of many tries takes a second, not ten."""
    stack.service.backoff = (0.05, 0.1, 0.2, 0.3)
    stack.service.confirm_budget = 3.0


def draft(amount: str = "150.50", recipient: str = RECEIVER_WALLET, comment: str = "за обед") -> TransferDraft:
    return TransferDraft(recipient, Decimal(amount), comment)


def assert_paid_once(stack: Stack, transfer: Transfer) -> None:
    entries = [entry for entry in stack.emulator.ledger if entry.client_id == transfer.client_id]
    assert len(entries) == 1, stack.emulator.ledger
    entry = entries[0]
    assert (entry.sender, entry.recipient, entry.amount) == (transfer.wallet, transfer.recipient, transfer.amount)


def ids_sent(stack: Stack) -> set[str | None]:
    """Every client id ever sent to QIWI's payment endpoint."""
    return {request.client_id for request in stack.emulator.payment_requests}


async def status_of(stack: Stack, transfer: Transfer) -> TransferStatus:
    row = await stack.db.transfers.get(transfer.id)
    assert row is not None
    return row.status


async def test_happy_path(stack: Stack) -> None:
    before = stack.emulator.wallet(MAIN_WALLET).balance()
    transfer = await stack.service.prepare(SENDER_ID, draft())
    assert transfer.status == TransferStatus.AWAITING_CONFIRMATION
    assert transfer.client_id.isdigit() and len(transfer.client_id) <= 20

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.ACCEPTED
    assert result.transfer is not None and result.transfer.status == TransferStatus.ACCEPTED
    assert stack.emulator.ledger[0].client_id == transfer.client_id
    assert result.transfer.qiwi_txn_id == str(stack.emulator.ledger[0].txn_id)
    assert stack.emulator.wallet(MAIN_WALLET).balance() == before - Decimal("150.50")
    balance = await stack.service.rub_balance(SENDER_ID)
    assert balance is not None and balance.amount == before - Decimal("150.50")
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, transfer)


async def test_two_confirms_at_once_pay_once(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())

    results = await asyncio.gather(*(stack.service.confirm(transfer.id, SENDER_ID) for _ in range(3)))

    outcomes = sorted(result.outcome for result in results)
    assert outcomes.count(Outcome.ACCEPTED) == 1
    assert set(outcomes) - {Outcome.ACCEPTED} <= {Outcome.IN_PROGRESS, Outcome.ALREADY_DONE}
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, transfer)
    again = await stack.service.confirm(transfer.id, SENDER_ID)
    assert again.outcome == Outcome.ALREADY_DONE
    assert len(stack.emulator.ledger) == 1


async def test_confirm_by_another_user_is_refused(stack: Stack) -> None:
    await stack.login(OTHER_ID, RECEIVER_WALLET)
    transfer = await stack.service.prepare(SENDER_ID, draft(recipient="79161234567"))

    result = await stack.service.confirm(transfer.id, OTHER_ID)
    cancel = await stack.service.cancel(transfer.id, OTHER_ID)

    assert result.outcome == Outcome.NOT_YOURS and cancel.outcome == Outcome.NOT_YOURS
    assert await status_of(stack, transfer) == TransferStatus.AWAITING_CONFIRMATION
    assert stack.emulator.ledger == []
    # The owner can still confirm it afterwards.
    assert (await stack.service.confirm(transfer.id, SENDER_ID)).outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer)


async def test_expired_summary(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.clock.advance(CONFIRM_TTL + timedelta(seconds=1))

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.EXPIRED
    assert await status_of(stack, transfer) == TransferStatus.EXPIRED
    assert (await stack.service.confirm(transfer.id, SENDER_ID)).outcome == Outcome.EXPIRED
    assert stack.emulator.ledger == []


async def test_cancel(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())

    assert (await stack.service.cancel(transfer.id, SENDER_ID)).outcome == Outcome.CANCELLED
    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.CANCELLED
    assert await status_of(stack, transfer) == TransferStatus.CANCELLED
    assert stack.emulator.ledger == []


async def test_refusals_carry_the_reason(stack: Stack) -> None:
    too_much = await stack.service.prepare(SENDER_ID, draft(amount="90000"))
    unidentified = await stack.service.prepare(SENDER_ID, draft(recipient=UNIDENTIFIED_WALLET))

    funds = await stack.service.confirm(too_much.id, SENDER_ID)
    identity = await stack.service.confirm(unidentified.id, SENDER_ID)

    assert funds.outcome == Outcome.FAILED and funds.reason == RefusalReason.INSUFFICIENT_FUNDS
    assert identity.outcome == Outcome.FAILED and identity.reason == RefusalReason.RECIPIENT_NOT_IDENTIFIED
    assert identity.qiwi_message and "идентификац" in identity.qiwi_message
    assert funds.transfer is not None and funds.transfer.failure_code == "QWPRC-220"
    assert stack.emulator.ledger == []


async def test_session_dead_before_confirm_keeps_the_summary_confirmable(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.revoke_tgts(MAIN_WALLET)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.NEEDS_LOGIN
    assert stack.emulator.ledger == []
    assert (await stack.db.users.get(SENDER_ID)).tgt_ciphertext is None  # type: ignore[union-attr]
    old = await stack.db.transfers.get(transfer.id)
    assert old is not None and (old.status, old.failure_code) == (TransferStatus.FAILED, NOT_SENT_CODE)
    reopened = result.replacement
    assert reopened is not None and reopened.status == TransferStatus.AWAITING_CONFIRMATION
    assert (reopened.created_at, reopened.amount, reopened.recipient, reopened.comment) == (
        transfer.created_at,
        transfer.amount,
        transfer.recipient,
        transfer.comment,
    )

    # Not logged in yet: nothing is claimed, the summary stays as it is.
    waiting = await stack.service.confirm(reopened.id, SENDER_ID)
    assert waiting.outcome == Outcome.NEEDS_LOGIN
    assert await status_of(stack, reopened) == TransferStatus.AWAITING_CONFIRMATION

    await stack.login()
    stack.emulator.clock.advance(timedelta(minutes=5))
    assert (await stack.service.confirm(transfer.id, SENDER_ID)).outcome == Outcome.ALREADY_DONE
    assert (await stack.service.confirm(reopened.id, SENDER_ID)).outcome == Outcome.ACCEPTED
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, reopened)


async def test_reopened_summary_still_expires_ten_minutes_after_the_first(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.clock.advance(timedelta(minutes=6))
    stack.emulator.revoke_tgts(MAIN_WALLET)
    reopened = (await stack.service.confirm(transfer.id, SENDER_ID)).replacement
    assert reopened is not None
    await stack.login()
    stack.emulator.clock.advance(timedelta(minutes=5))

    assert (await stack.service.confirm(reopened.id, SENDER_ID)).outcome == Outcome.EXPIRED
    assert stack.emulator.ledger == []


async def test_401_on_the_payment_itself(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    # The client re-opens the web session once on 401; both answers 401 means the login is dead.
    stack.emulator.faults.inject("payment", "status", status=401, times=2)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.NEEDS_LOGIN and stack.emulator.ledger == []
    await stack.login()
    assert result.replacement is not None
    assert (await stack.service.confirm(result.replacement.id, SENDER_ID)).outcome == Outcome.ACCEPTED
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, result.replacement)


async def test_one_401_is_renewed_transparently(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    await stack.service.rub_balance(SENDER_ID)
    stack.emulator.faults.inject("payment", "status", status=401, times=1)

    assert (await stack.service.confirm(transfer.id, SENDER_ID)).outcome == Outcome.ACCEPTED
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, transfer)


async def test_timeout_after_commit_is_resolved_to_the_single_payment(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.faults.inject("payment", "hang_after_commit", delay=HANG)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.ACCEPTED
    assert result.transfer is not None
    assert result.transfer.qiwi_txn_id == str(stack.emulator.ledger[0].txn_id)
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, transfer)


async def test_timeout_before_commit_is_sent_again_under_the_same_id(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.faults.inject("payment", "hang", delay=HANG)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    # No trace in the history, so the identical request went again under the same id, and was answered.
    assert result.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer)
    assert ids_sent(stack) == {transfer.client_id}
    await asyncio.sleep(HANG)  # the hung request is over: it moved nothing
    assert len(stack.emulator.ledger) == 1


async def test_unknown_stays_unknown_while_nothing_answers_then_settles(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.faults.inject("payment", "lost_answer")
    stack.emulator.faults.inject("payment", "status", status=503, times=None)
    stack.emulator.faults.inject("history", "status", status=500, times=None)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.UNKNOWN and result.doubt is not None
    assert await status_of(stack, transfer) == TransferStatus.UNKNOWN
    [unresolved] = await stack.db.transfers.unresolved()
    stack.emulator.faults.clear()
    settled = await stack.service.resolve(unresolved)
    assert settled.outcome == Outcome.ACCEPTED
    assert settled.transfer is not None and settled.transfer.qiwi_txn_id == str(stack.emulator.ledger[0].txn_id)
    assert_paid_once(stack, transfer)
    assert ids_sent(stack) == {transfer.client_id}


async def claimed_row(stack: Stack, *, age: timedelta = timedelta(0)) -> Transfer:
    """A row as a crashed bot leaves it: claimed (`sending`), its answer never recorded."""
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.clock.advance(age)
    claimed = await stack.db.transfers.claim(transfer.id, SENDER_ID, transfer.created_at, CONFIRM_TTL)
    assert claimed is not None and claimed.status == TransferStatus.SENDING
    return claimed


async def pay_directly(stack: Stack, transfer: Transfer) -> str:
    """The payment as the crashed bot sent it: QIWI executed it, the bot never recorded the answer."""
    tgt = await stack.qiwi.create_tgt(MAIN_WALLET, DEMO_PASSWORD)
    result = await stack.qiwi.pay(
        tgt,
        MAIN_WALLET,
        client_id=transfer.client_id,
        amount=transfer.amount,
        account=transfer.recipient[1:],
        comment=transfer.comment,
    )
    return result.transaction_id


async def test_sending_row_whose_request_went_out_is_found_in_history(stack: Stack) -> None:
    claimed = await claimed_row(stack)
    txn = await pay_directly(stack, claimed)
    stack.emulator.clock.advance(timedelta(minutes=30))  # the bot was down a while

    result = await stack.service.resolve(claimed)

    assert result.outcome == Outcome.ACCEPTED
    assert result.transfer is not None and result.transfer.qiwi_txn_id == txn
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, claimed)


async def test_sending_row_that_never_left_is_sent_with_the_same_id(stack: Stack) -> None:
    claimed = await claimed_row(stack)

    result = await stack.service.resolve(claimed)

    assert result.outcome == Outcome.ACCEPTED
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, claimed)
    # Resolving again (a second restart) changes nothing and pays nothing.
    assert (await stack.service.resolve(result.transfer)).outcome == Outcome.ACCEPTED  # type: ignore[arg-type]
    assert len(stack.emulator.ledger) == 1
    assert ids_sent(stack) == {claimed.client_id}


async def test_stale_sending_row_is_not_sent_late(stack: Stack) -> None:
    claimed = await claimed_row(stack, age=timedelta(minutes=2))
    stack.emulator.clock.advance(CONFIRM_TTL)

    result = await stack.service.resolve(claimed)

    assert result.outcome == Outcome.UNKNOWN and result.transfer is not None
    stack.emulator.clock.advance(SETTLE_AFTER)
    settled = await stack.service.resolve(result.transfer)
    assert settled.outcome == Outcome.FAILED
    assert settled.transfer is not None and settled.transfer.failure_code == NOT_FOUND_CODE
    assert stack.emulator.ledger == [] and stack.emulator.payment_requests == []


async def test_a_summary_pays_from_its_own_wallet_after_another_became_current(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft(recipient="79161234567"))
    await stack.login(SENDER_ID, RECEIVER_WALLET)  # a second wallet, now the current one

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.ACCEPTED
    assert [entry.sender for entry in stack.emulator.ledger] == [MAIN_WALLET]  # the wallet the summary named


async def test_sending_row_with_unreadable_history_is_settled_by_the_same_id(stack: Stack) -> None:
    """The re-send is safe even when the history cannot say whether the first request went through."""
    claimed = await claimed_row(stack)
    first = await pay_directly(stack, claimed)
    stack.emulator.faults.inject("history", "status", status=500, times=None)

    result = await stack.service.resolve(claimed)

    assert result.outcome == Outcome.ACCEPTED
    assert result.transfer is not None and result.transfer.qiwi_txn_id == first
    assert len(stack.emulator.ledger) == 1
    assert_paid_once(stack, claimed)


async def test_unknown_row_with_unreadable_history_is_never_declared_failed(stack: Stack) -> None:
    transfer = await stack.service.prepare(SENDER_ID, draft())
    stack.emulator.faults.inject("payment", "reset", times=None)
    stack.emulator.faults.inject("history", "status", status=500, times=None)
    assert (await stack.service.confirm(transfer.id, SENDER_ID)).outcome == Outcome.UNKNOWN
    sent = list(stack.emulator.payment_requests)
    assert sent and {(request.client_id, request.fault) for request in sent} == {(transfer.client_id, "reset")}

    stack.emulator.clock.advance(SETTLE_AFTER * 10)
    [row] = await stack.db.transfers.unresolved()
    assert (await stack.service.resolve(row)).outcome == Outcome.UNKNOWN
    stack.emulator.faults.clear()
    # Past the ten minutes nothing is re-sent; the history shows no such payment: it never went through.
    assert (await stack.service.resolve(row)).outcome == Outcome.FAILED
    assert stack.emulator.ledger == [] and stack.emulator.payment_requests == sent


# -- TRANSFER_LIMIT holds at the summary and again at Confirm, whatever led there -------------------------


async def test_prepare_refuses_an_amount_above_the_limit(stack: Stack) -> None:
    stack.service.limit = Decimal("100")
    with pytest.raises(DraftProblem) as caught:
        await stack.service.prepare(SENDER_ID, draft(amount="100.01"))
    assert (caught.value.step, caught.value.reason) == ("amount", "too_large")
    assert await stack.db.transfers.list_for_user(SENDER_ID) == []
    assert (await stack.service.prepare(SENDER_ID, draft(amount="100"))).amount == Decimal("100")


async def test_a_summary_shown_before_the_limit_was_lowered_is_refused_at_confirm(stack: Stack) -> None:
    stack.service.limit = Decimal("1000")
    transfer = await stack.service.prepare(SENDER_ID, draft(amount="900"))
    stack.service.limit = Decimal("500")  # the operator lowered TRANSFER_LIMIT and restarted meanwhile

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.OVER_LIMIT and result.limit == Decimal("500")
    assert await status_of(stack, transfer) == TransferStatus.CANCELLED
    assert (await stack.service.confirm(transfer.id, SENDER_ID)).outcome == Outcome.CANCELLED
    assert stack.emulator.ledger == [] and stack.emulator.payment_requests == []
