"""Fixtures: a FakeTelegram, and the real bot running against it and the emulator."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.sandbox import Emulator, EmulatorServer
from tests.bot.harness import BotFactory, RunningBot, make_settings


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def make_bot(
    telegram: FakeTelegram, emulator: Emulator, qiwi_server: EmulatorServer, tmp_path: Path
) -> AsyncIterator[BotFactory]:
    """Starts the bot with settings overridden (`ADMIN_IDS=""`, `QIWI_SANDBOX="1"`, ...); stops it after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    started: list[RunningBot] = []

    async def make(**overrides: str) -> RunningBot:
        bot = RunningBot(telegram, emulator, make_settings(telegram, qiwi_server, tmp_path, **overrides))
        await bot.start()
        started.append(bot)
        return bot

    try:
        yield make
    finally:
        for bot in started:
            await bot.stop()
        # run_bot installs its own root handler (writing to the test's StringIO); give pytest its own back.
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


@pytest.fixture
async def running_bot(make_bot: BotFactory) -> RunningBot:
    return await make_bot()
