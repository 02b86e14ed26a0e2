"""Money requests below the handlers: real storage, the ordinary transfer service, the emulator's ledger."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.i18n import CatalogI18n
from bot.sandbox.seed import EMPTY_WALLET, MAIN_WALLET, RECEIVER_WALLET
from bot.services.access import Access
from bot.services.requests import PayOutcome, RequestProblem, RequestService, transfer_draft
from bot.services.transfers import Outcome, TransferService
from bot.storage.requests import RequestStatus
from tests.service_stack import ALICE, BOB, Stack

CAROL = 703


@pytest.fixture
async def service(stack: Stack, i18n: CatalogI18n) -> RequestService:
    await stack.login(ALICE, RECEIVER_WALLET)  # asks for money
    await stack.login(BOB, MAIN_WALLET)  # pays
    return RequestService(stack.db, stack.emulator.clock.now, Access.of([]), stack, i18n)


async def pay(stack: Stack, service: RequestService, request_id: int, tg_id: int = BOB) -> int:
    """What the Pay button does: claim, open the ordinary summary, link it. Returns the transfer id."""
    start = await service.start_paying(request_id, tg_id)
    assert start.outcome is PayOutcome.OPEN_SUMMARY and start.request is not None
    transfer = await TransferService(stack.sessions).prepare(tg_id, transfer_draft(start.request))
    assert await service.link(request_id, transfer.id)
    return transfer.id


async def test_who_can_be_asked(stack: Stack, service: RequestService) -> None:
    await stack.db.users.ensure(CAROL, "member")  # never logged in: no wallet
    assert [u.tg_id for u in await service.payers_for(ALICE)] == [BOB]
    with pytest.raises(RequestProblem):
        await service.create(ALICE, CAROL, Decimal("10"), "")
    with pytest.raises(RequestProblem):
        await service.create(ALICE, ALICE, Decimal("10"), "")
    with pytest.raises(RequestProblem):
        await service.create(CAROL, BOB, Decimal("10"), "")


async def test_paid_once_even_when_pay_is_pressed_twice(stack: Stack, service: RequestService) -> None:
    request = await service.create(ALICE, BOB, Decimal("125.50"), "кино")
    assert request.requester_wallet == RECEIVER_WALLET and request.expires_at - request.created_at == timedelta(days=7)
    first, second = await asyncio.gather(service.start_paying(request.id, BOB), service.start_paying(request.id, BOB))
    assert sorted([first.outcome, second.outcome]) == sorted([PayOutcome.OPEN_SUMMARY, PayOutcome.IN_PROGRESS])
    winner = first if first.outcome is PayOutcome.OPEN_SUMMARY else second
    assert winner.request is not None
    transfers = TransferService(stack.sessions)
    transfer = await transfers.prepare(BOB, transfer_draft(winner.request))
    assert await service.link(request.id, transfer.id)
    assert transfer.recipient == RECEIVER_WALLET and transfer.amount == Decimal("125.50")
    assert (await service.sweep()).paid == []  # not confirmed yet

    result = await transfers.confirm(transfer.id, BOB)
    assert result.outcome is Outcome.ACCEPTED
    sweep = await service.sweep()
    assert [r.id for r in sweep.paid] == [request.id]
    assert (await service.sweep()).paid == []  # told once
    assert (await service.start_paying(request.id, BOB)).outcome is PayOutcome.PAID
    assert (await service.decline(request.id, BOB)).outcome is PayOutcome.PAID
    ledger = [e for e in stack.emulator.ledger if e.client_id == transfer.client_id]
    assert len(stack.emulator.ledger) == 1 and len(ledger) == 1 and ledger[0].amount == Decimal("125.50")


async def test_only_the_addressee_can_pay_or_decline(stack: Stack, service: RequestService) -> None:
    await stack.login(CAROL, EMPTY_WALLET)
    request = await service.create(ALICE, BOB, Decimal("10"), "")
    for intruder in (ALICE, CAROL):
        assert (await service.start_paying(request.id, intruder)).outcome is PayOutcome.NOT_YOURS
        assert (await service.decline(request.id, intruder)).outcome is PayOutcome.NOT_YOURS
    assert (await service.get(request.id)).status is RequestStatus.OPEN  # type: ignore[union-attr]


async def test_declined_cannot_be_paid(stack: Stack, service: RequestService) -> None:
    request = await service.create(ALICE, BOB, Decimal("10"), "")
    declined = await service.decline(request.id, BOB)
    assert declined.outcome is PayOutcome.DECLINED
    assert (await service.decline(request.id, BOB)).outcome is PayOutcome.IN_PROGRESS  # not "declined" twice
    assert (await service.start_paying(request.id, BOB)).outcome is PayOutcome.DECLINED


async def test_expires_after_seven_days(stack: Stack, service: RequestService) -> None:
    request = await service.create(ALICE, BOB, Decimal("10"), "")
    other = await service.create(ALICE, BOB, Decimal("20"), "")
    stack.emulator.clock.advance(timedelta(days=7, seconds=1))
    assert (await service.start_paying(request.id, BOB)).outcome is PayOutcome.EXPIRED
    sweep = await service.sweep()
    assert [r.id for r in sweep.expired] == [other.id]  # the first was expired by the press itself
    assert (await service.get(request.id)).status is RequestStatus.EXPIRED  # type: ignore[union-attr]


async def test_a_cancelled_or_stale_summary_reopens_the_request(stack: Stack, service: RequestService) -> None:
    request = await service.create(ALICE, BOB, Decimal("10"), "")
    transfer_id = await pay(stack, service, request.id)
    assert (await service.start_paying(request.id, BOB)).outcome is PayOutcome.IN_PROGRESS
    await TransferService(stack.sessions).cancel(transfer_id, BOB)
    sweep = await service.sweep()
    assert [r.id for r in sweep.reopened] == [request.id]

    second = await pay(stack, service, request.id)
    assert second != transfer_id
    stack.emulator.clock.advance(timedelta(minutes=11))  # the summary can no longer be confirmed
    assert [r.id for r in (await service.sweep()).reopened] == [request.id]
    assert stack.emulator.ledger == []


async def test_a_press_whose_summary_never_appeared_is_freed(stack: Stack, service: RequestService) -> None:
    request = await service.create(ALICE, BOB, Decimal("10"), "")
    assert (await service.start_paying(request.id, BOB)).outcome is PayOutcome.OPEN_SUMMARY
    assert await service.abandon(request.id)
    assert (await service.start_paying(request.id, BOB)).outcome is PayOutcome.OPEN_SUMMARY
    # A crash between the press and the summary: freed by the sweep after a grace period.
    assert (await service.sweep()).reopened == []
    stack.emulator.clock.advance(timedelta(minutes=3))
    assert [r.id for r in (await service.sweep()).reopened] == [request.id]


async def test_someone_leaving_closes_their_requests_and_the_other_side_is_told(
    stack: Stack, service: RequestService
) -> None:
    asked = await service.create(ALICE, BOB, Decimal("40"), "")
    assert await service.deliver(asked)
    await stack.db.users.set_language(ALICE, "ru")
    closed = await service.close_involving(BOB)  # the payer leaves
    assert [r.id for r in closed] == [asked.id]
    request = await service.get(asked.id)
    assert request is not None and request.status is RequestStatus.CANCELLED
    told = [text for tg, text in stack.sent if tg == ALICE]
    assert told and "закрыт" in told[-1]  # in the requester's own language
    assert (await service.start_paying(asked.id, BOB)).outcome is PayOutcome.EXPIRED


async def test_a_former_admin_is_never_offered(stack: Stack, service: RequestService) -> None:
    await stack.db.users.set_role(BOB, "admin")  # an admin row whose id is not in ADMIN_IDS (Access names none)
    assert await service.payers_for(ALICE) == []
    with pytest.raises(RequestProblem):
        await service.create(ALICE, BOB, Decimal("10"), "")
