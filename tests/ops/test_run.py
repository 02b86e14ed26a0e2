"""`python -m bot` as the operator starts it: JSON logs, one line per update, heartbeat, Ctrl-C without a
traceback."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from bot.devtools.fake_telegram import FakeTelegram
from bot.ops.heartbeat import HEARTBEAT_NAME

from .conftest import base_env, poll_until

ADMIN = 5005


async def test_bot_runs_with_json_logs_and_stops_on_ctrl_c(tmp_path: Path, telegram: FakeTelegram) -> None:
    data = tmp_path / "data"
    env = base_env(
        BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.base_url,
        QIWI_SANDBOX="1",
        ADMIN_IDS=str(ADMIN),
        DATABASE_PATH=str(data / "bot.sqlite3"),
        KEY_FILE=str(data / "secret.key"),
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        env=env,
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    admin = telegram.user(ADMIN, "Admin")
    try:
        await telegram.wait_polling(timeout=60)
        await admin.send("/help")
        await telegram.wait_until(lambda: bool(admin.log.actions), 30, "an answer to /help")
        await poll_until(lambda: (data / HEARTBEAT_NAME).exists(), "the heartbeat file")
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        stdout, stderr = await asyncio.wait_for(process.communicate(), 40)
    assert process.returncode == 0, stderr.decode()
    text = stderr.decode()
    assert "Traceback" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    updates = [line for line in lines if line["logger"] == "bot.updates"]
    assert [(u["user_id"], u["command"], u["outcome"]) for u in updates] == [(ADMIN, "/help", "ok")]
    assert any(line["message"] == "Stopped" for line in lines)
    assert telegram.token not in text and telegram.token.split(":")[1] not in text
    assert stdout == b""
