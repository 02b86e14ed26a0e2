"""The process harness of tests/e2e, exercised with a tiny aiogram bot script instead of the real bot."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from tests.e2e.harness import BotProcess, BotProcessError, bot_env

# A bot in miniature on the standard library only (anything importing aiogram takes seconds to start on
# a loaded machine): long-polls, echoes, and stops cleanly on SIGTERM.
TINY_BOT = """
import json, os, signal, sys, urllib.parse, urllib.request

class Stop(Exception):
    pass

def stop(*_):
    raise Stop

def call(method, **params):
    url = os.environ["TELEGRAM_API_URL"] + "/bot" + os.environ["BOT_TOKEN"] + "/" + method
    body = urllib.parse.urlencode(params).encode()
    return json.loads(urllib.request.urlopen(url, data=body).read())["result"]

signal.signal(signal.SIGTERM, stop)
print("tiny bot starting", flush=True)
print("to stderr", file=sys.stderr, flush=True)
offset = 0
try:
    while True:
        for update in call("getUpdates", offset=offset, timeout=5):
            offset = update["update_id"] + 1
            message = update["message"]
            db = os.environ["DATABASE_PATH"].endswith("bot.sqlite3")
            call("sendMessage", chat_id=message["chat"]["id"], text=f"echo {message['text']} db={db}")
except Stop:
    print("tiny bot stopped cleanly", flush=True)
"""


# Polls with the standard library only: starts much faster than anything importing aiogram.
PLAIN_POLLER = """
import os, urllib.request
url = os.environ["TELEGRAM_API_URL"] + "/bot" + os.environ["BOT_TOKEN"] + "/getUpdates"
while True:
    urllib.request.urlopen(url, data=b"timeout=5").read()
    print("polled", flush=True)
"""


@pytest.fixture
def tiny_bot(tmp_path: Path) -> Path:
    script = tmp_path / "tiny_bot.py"
    script.write_text(TINY_BOT)
    return script


async def test_bot_process_runs_answers_and_stops_on_sigterm(tg: FakeTelegram, tmp_path: Path, tiny_bot: Path) -> None:
    env = bot_env(tg, None, tmp_path, admin_ids=[7])
    assert env["ADMIN_IDS"] == "7" and env["TELEGRAM_API_URL"] == tg.base_url
    async with BotProcess(env, tmp_path, telegram=tg, argv=[sys.executable, str(tiny_bot)]) as proc:
        await proc.wait_ready(timeout=30)
        user = tg.user(42, "Ivy")
        await user.send("hi")
        answer = await user.wait_for("echo hi", timeout=10)
        assert answer.text == "echo hi db=True"
        assert await proc.terminate() == 0
        log = proc.log_text()
    assert "tiny bot starting" in log and "to stderr" in log and "tiny bot stopped cleanly" in log


async def test_kill_is_abrupt_and_wait_ready_reports_an_early_exit(tg: FakeTelegram, tmp_path: Path) -> None:
    env = bot_env(tg, None, tmp_path)
    proc = BotProcess(env, tmp_path, telegram=tg, argv=[sys.executable, "-c", PLAIN_POLLER])
    await proc.start()
    await proc.wait_ready(timeout=30)
    assert proc.running
    assert await proc.kill() == -9
    assert not proc.running

    failing = BotProcess(
        {"BOT_TOKEN": ""},
        tmp_path,
        telegram=tg,
        argv=[sys.executable, "-c", "import sys; sys.exit('Configuration error: BOT_TOKEN is required')"],
    )
    async with failing:
        with pytest.raises(BotProcessError, match="exited with 1 before ready:\nConfiguration error: BOT_TOKEN"):
            await failing.wait_ready(timeout=10)


async def test_environment_is_clean_and_log_pattern_readiness(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://leaked.example")
    code = (
        "import os, time; print('webhook', os.environ.get('WEBHOOK_URL')); print('ready', os.environ['X']); "
        "time.sleep(30)"
    )
    async with BotProcess({"X": "1"}, tmp_path, argv=[sys.executable, "-c", code]) as proc:
        await proc.wait_ready(timeout=10, log_pattern=r"ready 1")
        assert "webhook None" in proc.log_text()
        assert proc.running
    assert not proc.running and proc.returncode == -9
