"""Drives the whole bot in-process: `run_bot` polling a FakeTelegram on loopback, QIWI served by the emulator."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.app import run_bot
from bot.config import Settings, load_settings
from bot.crypto import generate_key
from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_user import FakeUser
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET

ADMIN_ID = 1000
MEMBER_ID = 2000
OUTSIDER_ID = 3000


class RunningBot:
    """Starts, stops and restarts the real bot; keeps the captured DEBUG log of every run."""

    def __init__(self, telegram: FakeTelegram, emulator: Emulator, settings: Settings) -> None:
        self.telegram = telegram
        self.emulator = emulator
        self.settings = settings
        self.logs = io.StringIO()
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._stop = asyncio.Event()
        polls = self.telegram.get_updates_calls
        self._task = asyncio.create_task(
            run_bot(
                self.settings,
                stop_event=self._stop,
                clock=self.emulator.clock.now,
                log_stream=self.logs,
            )
        )
        waiter = asyncio.create_task(self.telegram.wait_polling(10.0, calls=polls + 1))
        done, _ = await asyncio.wait({self._task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if self._task in done:
            waiter.cancel()
            self._task.result()  # start-up failed: raise its error here
            raise AssertionError("the bot stopped during start-up")
        waiter.result()

    async def stop(self) -> None:
        if self._stop is None or self._task is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, 15.0)
        self._stop = self._task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def user(self, user_id: int, **kwargs: Any) -> FakeUser:
        return self.telegram.user(user_id, **kwargs)

    @property
    def database_path(self) -> Path:
        return self.settings.database_path


BotFactory = Callable[..., Awaitable[RunningBot]]


def make_settings(telegram: FakeTelegram, server: EmulatorServer | None, tmp_path: Path, **extra: str) -> Settings:
    values: dict[str, Any] = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "ENCRYPTION_KEYS": generate_key(),
        "KEY_FILE": str(tmp_path / "secret.key"),
        "ADMIN_IDS": str(ADMIN_ID),
        "LOG_LEVEL": "DEBUG",
        "QIWI_TIMEOUT": "1",
        "QIWI_RETRIES": "1",
    }
    if server is not None:
        values.update(QIWI_AUTH_URL=server.auth_url, QIWI_WEB_URL=server.web_url, QIWI_EDGE_URL=server.edge_url)
    values.update(extra)
    return load_settings(**values)


async def ask(user: FakeUser, text: str, expect: str, *, timeout: float = 10.0) -> str:  # noqa: ASYNC109
    """Sends `text` and returns the text of the bot's message or edit that contains `expect`."""
    await user.send(text)
    action = await user.wait_for(expect, timeout=timeout)
    assert action.text is not None
    return action.text


async def login(user: FakeUser, wallet: str = MAIN_WALLET, password: str = DEMO_PASSWORD) -> None:
    await ask(user, "/login", "wallet number")
    await ask(user, wallet, "password")
    await ask(user, password, "Logged in")
