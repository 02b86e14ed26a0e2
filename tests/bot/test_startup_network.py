"""Start-up while Telegram cannot be reached: retried with a readable line, stoppable, never a traceback."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
from pathlib import Path

from bot.app import run_bot
from bot.devtools.fake_telegram import FakeTelegram
from tests.bot.harness import make_settings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_telegram_is_retried_until_stopped(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    async with FakeTelegram() as fake:  # started only to borrow its settings; Telegram itself is unreachable
        settings = make_settings(fake, None, tmp_path, TELEGRAM_API_URL=f"http://127.0.0.1:{_closed_port()}")
    logs = io.StringIO()
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(settings, stop_event=stop, log_stream=logs))
    try:
        for _ in range(100):
            if logs.getvalue().count("Telegram is not reachable") >= 2:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    text = logs.getvalue()
    assert text.count("Telegram is not reachable") >= 2
    assert "Traceback" not in text
    assert fake.token not in text
