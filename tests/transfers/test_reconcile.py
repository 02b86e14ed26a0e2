"""Settling open transfers outside any update: the start-up hook and the periodic re-check of `unknown` rows.

The bot's messages go to a FakeTelegram; QIWI is the emulator; storage is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from aiogram import Bot

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_user import FakeUser
from bot.factory import build_bot
from bot.i18n import CatalogI18n
from bot.sandbox.seed import RECEIVER_WALLET
from bot.services.transfer_reconcile import recheck_unknown, reconcile_unresolved, start_periodic_recheck
from bot.services.transfers import Outcome, TransferDraft
from bot.storage import TransferStatus
from tests.bot.harness import make_settings
from tests.transfers.conftest import SENDER_ID, Stack

HANG = 1.5


@pytest.fixture
async def bot(telegram: FakeTelegram, tmp_path: Path) -> AsyncIterator[Bot]:
    instance = build_bot(make_settings(telegram, None, tmp_path))
    try:
        yield instance
    finally:
        await instance.session.close()


async def chat(telegram: FakeTelegram) -> FakeUser:
    user = telegram.user(SENDER_ID)
    await user.send("hi")  # the bot may only write to someone who has written to it
    return user


async def unknown_transfer(stack: Stack) -> int:
    """A payment that went through while both its answer and the history were out of reach."""
    transfer = await stack.service.prepare(SENDER_ID, TransferDraft(RECEIVER_WALLET, Decimal("12"), ""))
    stack.emulator.faults.inject("payment", "hang_after_commit", delay=HANG)
    stack.emulator.faults.inject("history", "status", status=503, times=None)
    result = await stack.service.confirm(transfer.id, SENDER_ID)
    assert result.outcome == Outcome.UNKNOWN
    return transfer.id


async def test_periodic_recheck_settles_unknown_and_tells_the_user(
    stack: Stack, bot: Bot, telegram: FakeTelegram
) -> None:
    user = await chat(telegram)
    await stack.db.users.set_language(SENDER_ID, "en")
    transfer_id = await unknown_transfer(stack)

    # Just marked: a Confirm handler may still be on it, so the periodic pass leaves it alone for a minute.
    assert await recheck_unknown(bot, stack.sessions, CatalogI18n()) == []
    # Still unreadable: nothing settled, nobody bothered.
    stack.emulator.clock.advance(timedelta(minutes=2))
    [still] = await recheck_unknown(bot, stack.sessions, CatalogI18n())
    assert still.outcome == Outcome.UNKNOWN
    assert user.bot_texts() == []

    stack.emulator.faults.clear()
    [settled] = await recheck_unknown(bot, stack.sessions, CatalogI18n())

    assert settled.outcome == Outcome.ACCEPTED
    notice = await user.wait_for("Update on your transfer")
    assert "Sent: RUB 12.00" in (notice.text or "") and "Balance now" in (notice.text or "")
    row = await stack.db.transfers.get(transfer_id)
    assert row is not None and row.status == TransferStatus.ACCEPTED
    assert row.qiwi_txn_id == str(stack.emulator.ledger[0].txn_id)
    assert len(stack.emulator.ledger) == 1


async def test_startup_tells_a_user_who_saw_only_sending(stack: Stack, bot: Bot, telegram: FakeTelegram) -> None:
    user = await chat(telegram)
    await stack.db.users.set_language(SENDER_ID, "en")
    transfer = await stack.service.prepare(SENDER_ID, TransferDraft(RECEIVER_WALLET, Decimal("13"), ""))
    assert await stack.db.transfers.claim(transfer.id, SENDER_ID, transfer.created_at, timedelta(minutes=10))
    await stack.sessions.db.users.clear_session(SENDER_ID)  # logged out meanwhile: history unreadable

    [result] = await reconcile_unresolved(bot, stack.sessions, CatalogI18n())

    assert result.outcome == Outcome.UNKNOWN
    notice = await user.wait_for("Update on your transfer")
    assert "not known yet" in (notice.text or "")
    assert stack.emulator.ledger == []

    # After the next login the periodic pass settles it: never sent, and too old to send now.
    await stack.login()
    stack.emulator.clock.advance(timedelta(minutes=11))
    [settled] = await recheck_unknown(bot, stack.sessions, CatalogI18n())
    assert settled.outcome == Outcome.FAILED
    await user.wait_for("did not go through")
    assert stack.emulator.ledger == []


async def test_periodic_task_ends_when_the_database_closes(stack: Stack, bot: Bot) -> None:
    task = start_periodic_recheck(bot, stack.sessions, CatalogI18n(), interval=0.05)
    await stack.db.close()
    await asyncio.wait_for(task, 3.0)
    assert task.done() and task.exception() is None
