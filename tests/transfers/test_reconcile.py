"""Settling open transfers outside any update: the start-up pass and the periodic re-check.

The bot's messages go through the real `TelegramNotifier` to a FakeTelegram; QIWI is the emulator; storage
is real. A "restart" is a fresh `TransferService` over the same database (a new process knows nothing of
the old one's memory).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_user import FakeUser
from bot.i18n import CatalogI18n
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET, RECEIVER_WALLET
from bot.services import transfer_reconcile
from bot.services.notifier import TelegramNotifier
from bot.services.transfer_reconcile import recheck_open, reconcile_unresolved
from bot.services.transfers import CONFIRM_TTL, SETTLE_AFTER, Doubt, Outcome, TransferDraft, TransferService
from bot.storage import Transfer, TransferStatus
from tests.transfers.conftest import SENDER_ID, Stack

FAST = (0.05, 0.1, 0.2, 0.3)


@pytest.fixture
async def notifier(telegram: FakeTelegram) -> AsyncIterator[TelegramNotifier]:
    bot = Bot(
        token=telegram.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    try:
        yield TelegramNotifier(bot)
    finally:
        await bot.session.close()


@pytest.fixture
def texts() -> CatalogI18n:
    return CatalogI18n()


@pytest.fixture(autouse=True)
def quick(stack: Stack) -> None:
    stack.service.backoff = FAST
    stack.service.confirm_budget = 1.0


def restarted(stack: Stack) -> TransferService:
    """The service of a new process over the same database and QIWI."""
    return TransferService(stack.sessions, backoff=FAST)


async def chat(telegram: FakeTelegram, stack: Stack) -> FakeUser:
    user = telegram.user(SENDER_ID)
    await user.send("hi")  # the bot may only write to someone who has written to it
    await stack.db.users.set_language(SENDER_ID, "en")
    return user


async def shown(stack: Stack, notifier: TelegramNotifier, amount: str = "12") -> Transfer:
    """A summary on screen, as the dialog leaves it when Confirm was pressed: it says "Sending…"."""
    transfer = await stack.service.prepare(SENDER_ID, TransferDraft(RECEIVER_WALLET, Decimal(amount), ""))
    sent = await notifier.send(SENDER_ID, "<b>Transfer</b>\n\n⏳ Sending…")
    assert sent is not None
    await stack.service.set_message(transfer.id, sent.chat_id, sent.message_id)
    refreshed = await stack.service.get(transfer.id)
    assert refreshed is not None
    return refreshed


async def claimed(stack: Stack, transfer: Transfer) -> Transfer:
    row = await stack.db.transfers.claim(transfer.id, SENDER_ID, transfer.created_at, CONFIRM_TTL)
    assert row is not None and row.status == TransferStatus.SENDING
    return row


async def pay_directly(stack: Stack, transfer: Transfer) -> str:
    """QIWI executes the payment the killed run sent; that run never recorded the answer."""
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


def assert_paid_once(stack: Stack, transfer: Transfer) -> None:
    assert [entry.client_id for entry in stack.emulator.ledger] == [transfer.client_id]
    assert {request.client_id for request in stack.emulator.payment_requests} == {transfer.client_id}


async def test_recheck_settles_what_confirm_left_open_and_tells_the_user(
    stack: Stack, notifier: TelegramNotifier, texts: CatalogI18n, telegram: FakeTelegram
) -> None:
    user = await chat(telegram, stack)
    transfer = await shown(stack, notifier)
    stack.emulator.faults.inject("payment", "lost_answer")
    stack.emulator.faults.inject("payment", "status", status=503, times=None)
    stack.emulator.faults.inject("history", "status", status=503, times=None)
    result = await stack.service.confirm(transfer.id, SENDER_ID)
    assert result.outcome == Outcome.UNKNOWN
    user.forget()

    # Still nothing answers: nothing settled, nobody bothered.
    await asyncio.sleep(0.4)
    assert [r.outcome for r in await recheck_open(stack.service, notifier, texts)] == [Outcome.UNKNOWN]
    assert user.transcript[-1].kind != "message" or "Update" not in (user.transcript[-1].text or "")

    stack.emulator.faults.clear()
    await asyncio.sleep(0.4)  # its backoff
    [settled] = await recheck_open(stack.service, notifier, texts)

    assert settled.outcome == Outcome.ACCEPTED
    notice = await user.wait_for("Update on your transfer")
    assert "Sent: RUB 12.00" in (notice.text or "") and "Balance now" in (notice.text or "")
    assert "+7 900 222-33-44" in (notice.text or "")
    summary = user.message(transfer.message_id or 0)
    assert "✅ Sent" in (summary.text or "") and not summary.buttons
    row = await stack.db.transfers.get(transfer.id)
    assert row is not None and row.status == TransferStatus.ACCEPTED
    assert row.qiwi_txn_id == str(stack.emulator.ledger[0].txn_id)
    assert_paid_once(stack, transfer)
    assert await recheck_open(stack.service, notifier, texts) == []


async def test_recheck_leaves_a_row_under_a_running_confirm_alone(
    stack: Stack, notifier: TelegramNotifier, texts: CatalogI18n
) -> None:
    transfer = await stack.service.prepare(SENDER_ID, TransferDraft(RECEIVER_WALLET, Decimal("5"), ""))
    stack.emulator.faults.inject("payment", "latency", delay=0.3)
    claimed_now = asyncio.Event()

    async def on_claimed(_: Transfer) -> None:
        claimed_now.set()

    confirming = asyncio.create_task(stack.service.confirm(transfer.id, SENDER_ID, on_claimed=on_claimed))
    await claimed_now.wait()
    assert [row.status for row in await stack.db.transfers.unresolved()] == [TransferStatus.SENDING]

    assert await recheck_open(stack.service, notifier, texts) == []
    assert await reconcile_unresolved(stack.service, notifier, texts) == []

    assert (await confirming).outcome == Outcome.ACCEPTED
    assert len(stack.emulator.payment_requests) == 1
    assert_paid_once(stack, transfer)


async def test_startup_tells_a_payment_qiwi_accepted_just_before_a_kill(
    stack: Stack, notifier: TelegramNotifier, texts: CatalogI18n, telegram: FakeTelegram
) -> None:
    user = await chat(telegram, stack)
    transfer = await claimed(stack, await shown(stack, notifier, "30"))
    txn = await pay_directly(stack, transfer)  # ... and the bot was killed (-9) before recording it

    [result] = await reconcile_unresolved(restarted(stack), notifier, texts)

    assert result.outcome == Outcome.ACCEPTED
    notice = await user.wait_for("Update on your transfer of RUB 30.00")
    assert "✅ Sent" in (notice.text or "") and txn in (notice.text or "")
    summary = user.message(transfer.message_id or 0)
    assert "✅ Sent" in (summary.text or "") and "+7 900 222-33-44" in (summary.text or "")
    assert_paid_once(stack, transfer)


async def test_startup_shows_a_payment_recorded_but_never_shown(
    stack: Stack, notifier: TelegramNotifier, texts: CatalogI18n, telegram: FakeTelegram
) -> None:
    """The killed run wrote QIWI's answer down and died before editing the summary: the row is final, so it
    is not open, its `told_at` is unset, and its user saw only "Sending…". One told before is left alone."""
    user = await chat(telegram, stack)
    old = await claimed(stack, await shown(stack, notifier, "7"))
    assert await stack.db.transfers.mark_accepted(old.id, "111", stack.emulator.clock.now())
    assert await stack.db.transfers.mark_told(old.id, stack.emulator.clock.now())  # shown back then
    transfer = await claimed(stack, await shown(stack, notifier, "30"))
    txn = await pay_directly(stack, transfer)
    assert await stack.db.transfers.mark_accepted(transfer.id, txn, stack.emulator.clock.now())

    assert await reconcile_unresolved(restarted(stack), notifier, texts) == []

    summary = user.message(transfer.message_id or 0)
    assert "✅ Sent: RUB 30.00 to +7 900 222-33-44" in (summary.text or "") and txn in (summary.text or "")
    assert "Sending" in (user.message(old.message_id or 0).text or "")  # told before: not touched again
    assert [row.id for row in await stack.db.transfers.untold()] == []
    assert_paid_once(stack, transfer)
    # A second restart tells nothing again.
    edits_before = len(user.transcript)
    await reconcile_unresolved(restarted(stack), notifier, texts)
    assert len(user.transcript) == edits_before


async def test_startup_sending_row_still_open_says_it_is_being_checked(
    stack: Stack,
    notifier: TelegramNotifier,
    texts: CatalogI18n,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transfer_reconcile, "STARTUP_BUDGET", 0.3)
    user = await chat(telegram, stack)
    transfer = await claimed(stack, await shown(stack, notifier))
    stack.emulator.faults.inject("payment", "status", status=500, times=None)
    stack.emulator.faults.inject("history", "status", status=500, times=None)
    service = restarted(stack)

    [result] = await reconcile_unresolved(service, notifier, texts)

    assert result.outcome == Outcome.UNKNOWN
    summary = user.message(transfer.message_id or 0)
    # No longer "Sending…": what happened to the latest try, and that it is being checked.
    assert "QIWI answered with an error" in (summary.text or "") and "Sending" not in (summary.text or "")
    assert "RUB 12.00 went to +7 900 222-33-44" in (summary.text or "")
    stack.emulator.faults.clear()
    await asyncio.sleep(0.4)
    [settled] = await recheck_open(service, notifier, texts)
    assert settled.outcome == Outcome.ACCEPTED
    await user.wait_for("Update on your transfer")
    assert "✅ Sent" in (user.message(transfer.message_id or 0).text or "")
    assert_paid_once(stack, transfer)


async def test_startup_tells_a_user_who_saw_only_sending(
    stack: Stack, notifier: TelegramNotifier, texts: CatalogI18n, telegram: FakeTelegram
) -> None:
    user = await chat(telegram, stack)
    transfer = await stack.service.prepare(SENDER_ID, TransferDraft(RECEIVER_WALLET, Decimal("13"), ""))
    await claimed(stack, transfer)
    await stack.db.wallets.clear_session(SENDER_ID, MAIN_WALLET)  # logged out meanwhile: nothing to check with
    service = restarted(stack)

    [result] = await reconcile_unresolved(service, notifier, texts)

    assert result.outcome == Outcome.UNKNOWN and result.doubt == Doubt.NO_SESSION
    notice = await user.wait_for("Update on your transfer")
    assert "not known yet" in (notice.text or "")
    assert stack.emulator.ledger == []

    # After the next login the re-check settles it: too old to be sent now, and never sent before.
    await stack.login()
    stack.emulator.clock.advance(CONFIRM_TTL + SETTLE_AFTER + timedelta(seconds=1))
    await asyncio.sleep(0.2)  # its backoff
    [settled] = await recheck_open(service, notifier, texts)
    assert settled.outcome == Outcome.FAILED
    await user.wait_for("did not go through")
    assert stack.emulator.ledger == [] and stack.emulator.payment_requests == []
