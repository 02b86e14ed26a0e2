"""Payments in doubt, settled under ONE client id with the true outcome (real emulator, client and storage).

Each fault strikes the payment call once (a 5xx, a reset, a lost answer, a late answer, a refusal of the
repeat); `confirm` finds out what happened by re-sending the identical request under the same id and
reading the history, and says the truth within its few seconds. The emulator's ledger is the referee:
exactly one payment (or none), and exactly one client id ever sent for the summary.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from bot.qiwi.errors import RefusalReason
from bot.sandbox.seed import MAIN_WALLET, RECEIVER_WALLET
from bot.services.transfers import Doubt, Outcome, TransferDraft
from bot.storage import Transfer, TransferStatus
from tests.transfers.conftest import CLIENT_TIMEOUT, SENDER_ID, Stack

LATE = 1.5  # seconds a late answer is held back; the client gives up after CLIENT_TIMEOUT


@pytest.fixture(autouse=True)
def quick(stack: Stack) -> None:
    stack.service.backoff = (0.05, 0.1, 0.2, 0.3)
    stack.service.confirm_budget = 3.0


async def summary(stack: Stack, amount: str = "150.50") -> Transfer:
    return await stack.service.prepare(SENDER_ID, TransferDraft(RECEIVER_WALLET, Decimal(amount), "обед"))


def ledger_of(stack: Stack, transfer: Transfer) -> list[object]:
    return [entry for entry in stack.emulator.ledger if entry.client_id == transfer.client_id]


def assert_one_id(stack: Stack, transfer: Transfer) -> None:
    sent = {request.client_id for request in stack.emulator.payment_requests}
    assert sent == {transfer.client_id}, sent


def assert_paid_once(stack: Stack, transfer: Transfer, result_transfer: Transfer | None) -> None:
    assert len(stack.emulator.ledger) == 1, stack.emulator.ledger
    [entry] = stack.emulator.ledger
    assert (entry.client_id, entry.sender, entry.recipient, entry.amount) == (
        transfer.client_id,
        transfer.wallet,
        transfer.recipient,
        transfer.amount,
    )
    assert result_transfer is not None and result_transfer.status == TransferStatus.ACCEPTED
    assert result_transfer.qiwi_txn_id == str(entry.txn_id)
    assert_one_id(stack, transfer)


@pytest.mark.parametrize(
    ("kind", "extra"),
    [
        ("status", {"status": 500}),  # QIWI answered 500 without executing it
        ("status_after_commit", {"status": 502}),  # executed, then answered with an error
        ("reset", {}),  # the connection closed before QIWI read it
        ("lost_answer", {}),  # executed, then the connection dropped
        ("late_answer", {"delay": LATE}),  # executed, answered after the client gave up
        ("hang_after_commit", {"delay": LATE}),  # executed, never answered
    ],
)
async def test_one_fault_on_the_payment_is_settled_under_the_same_id(
    stack: Stack, kind: str, extra: dict[str, float]
) -> None:
    transfer = await summary(stack)
    before = stack.emulator.wallet(MAIN_WALLET).balance()
    stack.emulator.faults.inject("payment", kind, **extra)  # type: ignore[arg-type]

    started = time.monotonic()
    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert time.monotonic() - started < stack.service.confirm_budget + CLIENT_TIMEOUT + 1
    assert result.outcome == Outcome.ACCEPTED, result
    assert_paid_once(stack, transfer, result.transfer)
    assert stack.emulator.wallet(MAIN_WALLET).balance() == before - Decimal("150.50")


async def test_refusal_after_a_lost_answer_is_not_failed(stack: Stack) -> None:
    """A QIWI that checks the balance before the id refuses the repeat of a payment that already took the
    money ("insufficient funds"): the history, not the refusal, decides."""
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "lost_answer")
    stack.emulator.faults.inject("payment", "refuse", code="QWPRC-220", times=None)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer, result.transfer)


async def test_refusal_after_a_lost_answer_stays_open_while_the_history_is_unreadable(stack: Stack) -> None:
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "lost_answer")
    stack.emulator.faults.inject("payment", "refuse", code="QWPRC-220", times=None)
    stack.emulator.faults.inject("history", "status", status=500, times=None)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.UNKNOWN and result.doubt == Doubt.REFUSED
    assert result.transfer is not None and result.transfer.status == TransferStatus.UNKNOWN
    stack.emulator.faults.clear()
    settled = await stack.service.resolve(result.transfer)
    assert settled.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer, settled.transfer)


async def test_refusal_after_a_reset_is_failed_once_the_history_shows_nothing(stack: Stack) -> None:
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "reset")
    stack.emulator.faults.inject("payment", "refuse", code="QWPRC-220")

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.FAILED and result.reason == RefusalReason.INSUFFICIENT_FUNDS
    assert result.transfer is not None and result.transfer.failure_code == "QWPRC-220"
    assert stack.emulator.ledger == []
    assert_one_id(stack, transfer)


async def test_duplicate_id_after_a_lost_answer_is_read_from_the_history(stack: Stack) -> None:
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "lost_answer")
    stack.emulator.faults.inject("payment", "refuse", code="QWPRC-408")

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer, result.transfer)


async def test_423_on_the_first_attempt_is_tried_again_under_the_same_id(stack: Stack) -> None:
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "status", status=423, times=2)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer, result.transfer)


async def test_qiwi_turning_every_try_away_reopens_the_summary(stack: Stack) -> None:
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "status", status=423, times=None)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    # Nothing reached QIWI's payment logic: the attempt is closed and the same summary can be confirmed again.
    assert result.outcome == Outcome.RETRY and result.replacement is not None
    assert stack.emulator.ledger == []
    assert {(request.client_id, request.fault) for request in stack.emulator.payment_requests} == {
        (transfer.client_id, "status")  # every try was turned away with 423, unexecuted
    }
    stack.emulator.faults.clear()
    again = await stack.service.confirm(result.replacement.id, SENDER_ID)
    assert again.outcome == Outcome.ACCEPTED and len(stack.emulator.ledger) == 1
    assert stack.emulator.ledger[0].client_id == result.replacement.client_id


@pytest.mark.parametrize(
    ("fault", "doubt"),
    [
        ({"kind": "status", "status": 500}, Doubt.ERROR),
        ({"kind": "reset"}, Doubt.RESET),
        ({"kind": "hang", "delay": LATE}, Doubt.TIMEOUT),
    ],
)
async def test_the_interim_answer_says_what_happened(stack: Stack, fault: dict[str, object], doubt: Doubt) -> None:
    transfer = await summary(stack)
    stack.service.confirm_budget = 1.0
    stack.emulator.faults.inject("payment", times=None, **fault)  # type: ignore[arg-type]
    stack.emulator.faults.inject("history", "status", status=503, times=None)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    assert result.outcome == Outcome.UNKNOWN and result.doubt == doubt
    assert result.transfer is not None and result.transfer.status == TransferStatus.UNKNOWN
    # Once QIWI answers again, the next step settles it under the same id.
    stack.emulator.faults.clear()
    settled = await stack.service.resolve(result.transfer)
    assert settled.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer, settled.transfer)


async def test_doubt_then_a_dead_session_waits_for_login(stack: Stack) -> None:
    transfer = await summary(stack)
    stack.emulator.faults.inject("payment", "lost_answer")
    stack.emulator.faults.inject("history", "status", status=401, times=None)

    result = await stack.service.confirm(transfer.id, SENDER_ID)

    # The money moved but nothing can be checked without a session: open, never failed, never a new id.
    assert result.outcome == Outcome.UNKNOWN and result.doubt == Doubt.NO_SESSION
    assert result.transfer is not None and result.transfer.status == TransferStatus.UNKNOWN
    stack.emulator.faults.clear()
    await stack.login()
    settled = await stack.service.resolve(result.transfer)
    assert settled.outcome == Outcome.ACCEPTED
    assert_paid_once(stack, transfer, settled.transfer)
