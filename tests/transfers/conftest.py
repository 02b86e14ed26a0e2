"""Fixtures for the transfer tests.

The dialog tests reuse the bot tests' fixtures (the real bot polling a FakeTelegram, QIWI by the emulator);
the service tests build the layer under the handlers alone: real storage, real QIWI client, the emulator
over loopback.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.crypto import TicketCipher
from bot.qiwi.client import QiwiClient
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET
from bot.services.sessions import SessionService
from bot.services.transfers import TransferService
from bot.storage import Database
from tests.bot.conftest import make_bot, running_bot, telegram

__all__ = ["make_bot", "running_bot", "telegram"]

SENDER_ID = 501
OTHER_ID = 502
# Shorter than the emulator's hang, so a hung payment is a client timeout within a second.
CLIENT_TIMEOUT = 0.5


@dataclass
class Stack:
    emulator: Emulator
    db: Database
    qiwi: QiwiClient
    sessions: SessionService
    service: TransferService

    async def login(self, tg_id: int = SENDER_ID, wallet: str = MAIN_WALLET) -> None:
        await self.db.users.ensure(tg_id, "member")
        await self.sessions.login(tg_id, wallet, DEMO_PASSWORD)


@pytest.fixture
async def stack(emulator: Emulator, qiwi_server: EmulatorServer, tmp_path: Path) -> AsyncIterator[Stack]:
    db = await Database.open(tmp_path / "bot.sqlite3")
    qiwi = QiwiClient.create(
        qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=CLIENT_TIMEOUT, read_retries=1
    )
    sessions = SessionService(db, TicketCipher([os.urandom(32)]), qiwi, emulator.clock.now)
    built = Stack(emulator, db, qiwi, sessions, TransferService(sessions))
    await built.login()
    try:
        yield built
    finally:
        await qiwi.aclose()
        await db.close()
