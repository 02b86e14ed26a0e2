"""`python -m bot console` driven by scripted input: first against a tiny in-test bot, then the real one."""

from __future__ import annotations

import asyncio
import contextlib
import io
from pathlib import Path

from aiogram import Dispatcher

from bot.devtools.console import run_console
from bot.devtools.fake_telegram import FakeTelegram

from .conftest import make_bot, tiny_router


async def tiny_backend(telegram: FakeTelegram, stop: asyncio.Event) -> None:
    bot = make_bot(telegram.base_url, telegram.token)
    dp = Dispatcher()
    dp.include_router(tiny_router())
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=5))
    await stop.wait()
    with contextlib.suppress(RuntimeError):
        await dp.stop_polling()
    await polling


async def run_script(script: str, **kwargs: object) -> str:
    out = io.StringIO()
    await asyncio.wait_for(run_console(io.StringIO(script), out, **kwargs), 120)  # type: ignore[arg-type]
    return out.getvalue()


async def test_console_shows_answers_numbers_buttons_and_presses_them() -> None:
    output = await run_script(
        "/start\n#2\n/start\n#1\nsecret hunter2\n/doc\n#9\n/quit\nnot sent\n", backend=tiny_backend, settle=0.2
    )
    lines = output.splitlines()
    assert "bot #2: Hello, Console (en, private)" in lines
    assert "    [1] Confirm  [2] Cancel" in lines
    # "#2" pressed Cancel on the first greeting, "#1" Confirm on the second.
    assert "(you pressed [2] Cancel)" in lines and "(bot deleted message #2)" in lines
    assert "(alert) Cancelled" in lines
    assert "bot #4: Hello, Console (en, private)" in lines
    assert "bot #4 (edited): Confirmed" in lines and "(notice) Done" in lines
    # The password-like message is deleted by the bot and the console says so.
    assert "(bot deleted your message #5)" in lines
    assert any(line.startswith("bot #8 sent a document (29 bytes), saved to ") for line in lines)
    assert "(no message with buttons to press)" in lines
    # A bare number is text (an amount, say), not a button press.
    plain = await run_script("/start\n2\n", backend=tiny_backend, settle=0.2)
    assert "bot #4: echo: 2" in plain.splitlines() and "(you pressed" not in plain
    assert "not sent" not in output.replace("you> not sent", "")
    assert "you> not sent" not in lines
    assert lines[-1] == "Bye."


async def test_console_ends_at_end_of_input() -> None:
    output = await run_script("hello there\n", backend=tiny_backend, settle=0.2)
    assert "bot #2: echo: hello there" in output.splitlines()
    assert output.endswith("Bye.\n")


async def test_console_reports_a_bot_that_fails_to_start() -> None:
    async def broken(telegram: FakeTelegram, stop: asyncio.Event) -> None:
        raise RuntimeError("Configuration error: something is wrong")

    output = await run_script("/start\n", backend=broken)
    assert "The bot stopped with an error: Configuration error: something is wrong" in output
    assert "Console: you are" not in output


async def test_console_runs_the_real_bot_with_the_sandbox(tmp_path: Path) -> None:
    output = await run_script(
        "/start\n/help\n/quit\n",
        database_path=tmp_path / "console.sqlite3",
        configure_logging=False,
        settle=0.5,
    )
    lines = output.splitlines()
    assert any(line.startswith("QIWI emulator: http://127.0.0.1:") for line in lines)
    assert any("demo wallet 79001112233 / demo-password" in line for line in lines)
    bot_lines = [line for line in lines if line.startswith("bot #")]
    assert len(bot_lines) >= 2, output
    # /start says it is the sandbox and lists the demo logins, as in QIWI_SANDBOX mode.
    start_answer = output.split("you> /start")[-1].split("you> /help")[0]
    assert "Sandbox mode" in start_answer and "79001112233 / demo-password" in start_answer
    assert (tmp_path / "console.sqlite3").exists()
    assert lines[-1] == "Bye."
