"""A fresh install: no ADMIN_IDS (setup mode), and a missing setting (one clear line, no traceback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.devtools.fake_telegram import FakeTelegram
from tests.e2e.conftest import ANSWER_TIMEOUT, STARTUP_TIMEOUT, Stand, say
from tests.e2e.harness import BotProcess, bot_env

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stand(stand_factory: Any) -> AsyncIterator[Stand]:
    built: Stand = await stand_factory([])
    yield built


async def test_setup_mode_tells_everyone_their_id_and_does_nothing_else(stand: Stand) -> None:
    assert "setup mode" in stand.log_text()
    first = stand.user(4242, "Owner")
    answer = await say(first, "/start", "Setup mode")
    assert "ADMIN_IDS=4242" in (answer.text or "")
    for text in ("/balance", "/login", "/invite"):
        answer = await say(first, text, "Setup mode")
        assert "4242" in (answer.text or "")
    other = stand.user(4343, "Guest", language="ru")
    answer = await say(other, "/start", "4343")
    await first.wait_idle(0.5, ANSWER_TIMEOUT)
    assert len([m for m in first.messages if m.from_bot]) == 4
    assert stand.emulator.issued_tickets == []
    assert stand.query("SELECT count(*) FROM users") == [(0,)]
    assert stand.query("SELECT count(*) FROM fsm WHERE state IS NOT NULL") == [(0,)]
    assert await stand.stop() == 0


async def test_missing_token_stops_start_up_with_one_line(tmp_path: Path) -> None:
    async with FakeTelegram() as telegram:
        env = bot_env(telegram, None, tmp_path)
        del env["BOT_TOKEN"]
        async with BotProcess(env, tmp_path) as process:
            code = await process.wait_exit(STARTUP_TIMEOUT)
            output = process.log_text().strip()
    assert code == 2
    assert output.splitlines() == [output] and "BOT_TOKEN" in output and "Traceback" not in output
