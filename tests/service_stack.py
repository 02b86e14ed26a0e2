"""Shared by the alerts, requests and reports tests: the services over real storage, the real QIWI client
and the emulator (`stack`), and the real bot with sub-second jobs (`fast_bot`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.crypto import TicketCipher
from bot.devtools.fake_telegram import FakeTelegram
from bot.i18n import CatalogI18n
from bot.qiwi.client import QiwiClient
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET
from bot.services import requests as requests_service
from bot.services.notifier import SentMessage
from bot.services.sessions import SessionService
from bot.storage import Database
from tests.bot.harness import ADMIN_ID, RunningBot, make_settings

OTHER_ID = 1001  # a second admin, so no invite dance is needed

ALICE = 701
BOB = 702


@dataclass
class Stack:
    emulator: Emulator
    db: Database
    qiwi: QiwiClient
    sessions: SessionService
    cipher: TicketCipher
    sent: list[tuple[int, str]] = field(default_factory=list)
    edited: list[tuple[int, int, str]] = field(default_factory=list)

    async def login(self, tg_id: int = ALICE, wallet: str = MAIN_WALLET) -> None:
        await self.db.users.ensure(tg_id, "member")
        await self.sessions.login(tg_id, wallet, DEMO_PASSWORD)

    # A Notifier that records instead of talking to Telegram.
    async def send(self, chat_id: int, text: str, keyboard: object = None) -> SentMessage | None:
        self.sent.append((chat_id, text))
        return SentMessage(chat_id, len(self.sent))

    async def edit(self, chat_id: int, message_id: int, text: str, keyboard: object = None) -> bool:
        self.edited.append((chat_id, message_id, text))
        return True


@pytest.fixture(scope="session")
def i18n() -> CatalogI18n:
    return CatalogI18n()


async def open_stack(emulator: Emulator, server: EmulatorServer, path: Path, cipher: TicketCipher) -> Stack:
    db = await Database.open(path)
    qiwi = QiwiClient.create(server.auth_url, server.web_url, server.edge_url, timeout=1.0, read_retries=1)
    return Stack(emulator, db, qiwi, SessionService(db, cipher, qiwi, emulator.clock.now), cipher)


async def close_stack(stack: Stack) -> None:
    await stack.qiwi.aclose()
    await stack.db.close()


@pytest.fixture
def cipher() -> TicketCipher:
    return TicketCipher([os.urandom(32)])


@pytest.fixture
async def stack(
    emulator: Emulator, qiwi_server: EmulatorServer, tmp_path: Path, cipher: TicketCipher
) -> AsyncIterator[Stack]:
    built = await open_stack(emulator, qiwi_server, tmp_path / "bot.sqlite3", cipher)
    try:
        yield built
    finally:
        await close_stack(built)


@pytest.fixture
async def fast_bot(
    telegram: FakeTelegram,
    emulator: Emulator,
    qiwi_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningBot]:
    """The real bot with a sub-second alert interval and request sweep (settings validate >= 10 s for
    NOTIFY_INTERVAL, so the copy skips validation; everything else is as in production)."""
    monkeypatch.setattr(requests_service, "SWEEP_EVERY", 0.2)
    settings = make_settings(telegram, qiwi_server, tmp_path, ADMIN_IDS=f"{ADMIN_ID},{OTHER_ID}")
    bot = RunningBot(telegram, emulator, settings.model_copy(update={"notify_interval": 0.3}))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def arrive(emulator: Emulator, amount: str, comment: str, wallet: str = MAIN_WALLET) -> None:
    emulator.add_incoming(wallet, Decimal(amount), "79261234567", comment)
    emulator.clock.advance(timedelta(seconds=2))


async def seeded(bot: RunningBot, tg_id: int) -> None:
    """Waits until the poller has set the member's mark (read-only, beside the bot's own connection)."""
    for _ in range(100):
        with contextlib.closing(sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True)) as conn:
            row = conn.execute(
                "SELECT w.last_seen_txn_id FROM wallets w JOIN users u ON u.tg_id = w.tg_id "
                "AND u.current_wallet = w.wallet WHERE w.tg_id = ?",
                (tg_id,),
            ).fetchone()
        if row is not None and row[0] is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the poller never set the mark")
