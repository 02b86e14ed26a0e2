"""`python -m bot` runs its start-up with the cyclic collector off, then freezes what start-up built and
turns the collector on: full passes over ~200,000 long-lived objects held the event loop for ~200 ms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot import PROJECT_ROOT


def test_freezing_start_up_turns_the_collector_back_on() -> None:
    code = (
        "import gc; gc.disable(); import bot.app;"
        "assert gc.get_freeze_count() == 0; bot.app._freeze();"
        "assert gc.isenabled() and gc.get_freeze_count() > 10_000, gc.get_freeze_count()"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=60)


RUN_COMMAND = """
import gc, os, bot.app, bot.cli
seen = {}

async def fake_run_bot(settings, **kwargs):
    seen.update(kwargs, collector=gc.isenabled())

bot.app.run_bot = fake_run_bot
folder = os.getcwd()
os.environ.update(
    BOT_TOKEN="123:abc",
    ADMIN_IDS="1",
    KEY_FILE=os.path.join(folder, "secret.key"),
    DATABASE_PATH=os.path.join(folder, "bot.sqlite3"),
)
assert bot.cli.main(["run"]) == 0
assert seen["freeze_start_up"] is True and seen["collector"] is False, seen
"""


def test_the_run_command_starts_with_the_collector_off_and_asks_for_the_freeze(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    subprocess.run([sys.executable, "-c", RUN_COMMAND], check=True, cwd=tmp_path, timeout=60, env=env)
