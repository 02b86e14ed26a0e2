"""The bot as a process (`python -m bot`) against the fake Telegram and the QIWI emulator, both on loopback.

Starting the bot costs seconds (aiogram's import alone), so each test module shares one `Stand`: one fake
Telegram, one emulator, one data folder and one bot process that serves many people at once; tests in a
module use different Telegram ids and wallets so that they do not see each other. Restart tests restart the
module's process with the same database and the same log file.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.devtools.fake_telegram import BotAction, FakeTelegram, FakeUser
from bot.sandbox import Emulator, EmulatorServer
from tests.e2e.harness import BotProcess, bot_env

# aiogram's import alone takes 5-15 s on a loaded 2-core machine.
STARTUP_TIMEOUT = 90.0
# One answer may wait for several QIWI round trips and for a busy machine.
ANSWER_TIMEOUT = 25.0

DEMO_WALLET = "79001112233"
DEMO_PASSWORD = "demo-password"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs the bot as a separate process (slow start-up; runs in CI)")


class Stand:
    """One fake Telegram + one QIWI emulator + one bot process (restartable) over one data folder."""

    def __init__(
        self, telegram: FakeTelegram, emulator: Emulator, qiwi: EmulatorServer, data_dir: Path, env: dict[str, str]
    ) -> None:
        self.telegram = telegram
        self.emulator = emulator
        self.qiwi = qiwi
        self.data_dir = data_dir
        self.env = env
        self.log_path = data_dir / "bot.log"
        self.process: BotProcess | None = None
        self.starts = 0
        # Secrets the bot has seen, remembered before the emulator forgets them (web sessions expire).
        self.passwords: set[str] = {DEMO_PASSWORD}
        self.cookies: set[str] = set()

    @property
    def db_path(self) -> Path:
        return Path(self.env["DATABASE_PATH"])

    @property
    def proc(self) -> BotProcess:
        assert self.process is not None, "the bot is not running"
        return self.process

    async def start(self) -> BotProcess:
        # One log file across restarts: the secret scan reads everything every run printed.
        process = BotProcess(self.env, self.data_dir, telegram=self.telegram, log_path=self.log_path)
        self.process = process
        await process.start()
        await process.wait_ready(STARTUP_TIMEOUT)
        self.starts += 1
        return process

    async def stop(self) -> int:
        self.remember_cookies()
        code = await self.proc.terminate(timeout=40.0)
        return code

    async def kill(self) -> int:
        self.remember_cookies()
        return await self.proc.kill()

    def log_text(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""

    # ----- people and wallets ------------------------------------------------------------------------

    def user(self, tg_id: int, name: str = "Test", language: str = "en") -> FakeUser:
        return self.telegram.user(tg_id, name, language_code=language)

    def wallet(self, phone: str, password: str, rub: str = "5000") -> str:
        self.emulator.add_wallet(phone, password, {"RUB": Decimal(rub)})
        self.passwords.add(password)
        return phone

    def remember_cookies(self) -> None:
        # The emulator drops a web session when it expires; the bot may have written it down before that.
        self.cookies.update(self.emulator._sessions)

    def tickets(self) -> set[str]:
        return {ticket.ticket for ticket in self.emulator.issued_tickets}

    def ledger_for(self, client_id: str) -> list[Any]:
        return [entry for entry in self.emulator.ledger if entry.client_id == client_id]

    # ----- the database, read the way an operator would (read-only, beside the running bot) -----------

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10.0)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stand_factory(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """Builds the module's stand with the given admins; stops everything at the end of the module."""
    stands: list[Stand] = []
    resources: list[Any] = []

    async def build(admin_ids: Iterable[int], **extra: str) -> Stand:
        telegram = FakeTelegram()
        await telegram.start()
        resources.append(telegram)
        emulator = Emulator()
        qiwi = EmulatorServer(emulator)
        await qiwi.start()
        resources.append(qiwi)
        data_dir = tmp_path_factory.mktemp("e2e")
        env = bot_env(telegram, qiwi, data_dir, admin_ids=list(admin_ids), **{"LOG_LEVEL": "DEBUG", **extra})
        stand = Stand(telegram, emulator, qiwi, data_dir, env)
        stands.append(stand)
        await stand.start()
        return stand

    try:
        yield build
    finally:
        for stand in stands:
            if stand.process is not None and stand.process.running:
                await stand.process.terminate(timeout=40.0)
        for resource in reversed(resources):
            await resource.stop()


# ----- conversation helpers ----------------------------------------------------------------------------


async def say(user: FakeUser, text: str, expect: str, *, timeout: float = ANSWER_TIMEOUT) -> BotAction:  # noqa: ASYNC109
    """Sends `text` and returns the bot's first new action whose text contains `expect`."""
    user.forget()
    await user.send(text)
    return await user.wait_for(expect, timeout=timeout)


async def press(user: FakeUser, button: str, expect: str, *, timeout: float = ANSWER_TIMEOUT) -> BotAction:  # noqa: ASYNC109
    user.forget()
    await user.press(button)
    return await user.wait_for(expect, timeout=timeout)


async def login(user: FakeUser, phone: str, password: str) -> BotAction:
    await say(user, "/login", "Send your QIWI wallet number")
    await say(user, phone, "Now send the QIWI password")
    return await say(user, password, "Logged in as")


def invite_code(text: str) -> str:
    found = re.search(r"https://t\.me/\w+\?start=([\w-]+)", text)
    assert found, f"no invite link in {text!r}"
    return found.group(1)


def client_id_of(stand: Stand, tg_id: int, amount: str) -> str:
    rows = stand.query(
        "SELECT client_id FROM transfers WHERE tg_id = ? AND amount = ? ORDER BY id DESC LIMIT 1", tg_id, amount
    )
    assert rows, f"no transfer row of {amount} for {tg_id}"
    return str(rows[0][0])


def assert_no_secrets(stand: Stand) -> None:
    """The database files and the whole DEBUG log contain no password, ticket, web cookie or bot token."""
    stand.remember_cookies()
    token = stand.env["BOT_TOKEN"]
    secrets = {
        "password": stand.passwords,
        "ticket": stand.tickets(),
        "cookie": stand.cookies,
        "bot token": {token, token.split(":", 1)[1]},
    }
    assert secrets["ticket"] and secrets["cookie"], "the conversations should have produced tickets and cookies"
    places = {
        path.name: path.read_bytes() for path in stand.data_dir.iterdir() if path.name.startswith(stand.db_path.name)
    }
    assert stand.db_path.name in places
    places["log"] = stand.log_path.read_bytes()
    assert b"DEBUG" in places["log"], "the log should be at DEBUG level"
    leaks = [
        f"{kind} {value[:12]}... in {place}"
        for kind, values in secrets.items()
        for value in values
        for place, content in places.items()
        if value.encode() in content
    ]
    assert not leaks, leaks
