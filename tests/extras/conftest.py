"""Fixtures for alerts, money requests, export and the chart: the real storage, QIWI client and emulator under the services, and (for the
dialog tests) the real bot on a FakeTelegram, reused from the bot tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.crypto import TicketCipher
from bot.i18n import CatalogI18n
from bot.qiwi.client import QiwiClient
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET
from bot.services.notifier import SentMessage
from bot.services.sessions import SessionService
from bot.storage import Database
from tests.bot.conftest import make_bot, running_bot, telegram

__all__ = ["make_bot", "running_bot", "telegram"]

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
