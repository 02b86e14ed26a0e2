"""Helpers for the operator-command tests: the CLI runs as a real subprocess, as an operator runs it."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.devtools.fake_telegram import DEFAULT_TOKEN, FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[2]
CLI_TIMEOUT = 60.0


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def base_env(**values: str | os.PathLike[str]) -> dict[str, str]:
    """Only what the command needs: a stray BOT_TOKEN or QIWI_* in the developer's shell must not leak in."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHONUNBUFFERED": "1",
        "LANG": "C.UTF-8",
    }
    env.update({key: str(value) for key, value in values.items()})
    return env


async def run_cli(*args: str, env: dict[str, str], cwd: Path, limit: float = CLI_TIMEOUT) -> CliResult:
    """`python -m bot ARGS` in `cwd` (a temp folder, so no developer's .env is read)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())


class InProcessCli:
    """`bot.cli.main` in a worker thread of this process: no second import of aiogram (seconds of CPU on a
    small machine), while the test's own loop keeps serving the fake servers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    async def __call__(self, *args: str, env: dict[str, str], cwd: Path) -> CliResult:
        from bot.cli import main
        from bot.config import HINTS

        for name in HINTS:
            self.monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            if name in HINTS:
                self.monkeypatch.setenv(name, value)
        self.monkeypatch.chdir(cwd)
        self.capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        captured = self.capsys.readouterr()
        return CliResult(code, captured.out, captured.err)


@pytest.fixture
def cli_in_process(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcessCli:
    return InProcessCli(monkeypatch, capsys)


def dead_url() -> str:
    """A loopback URL nobody listens on: bind a port, then let it go."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def poll_until(condition: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    """For conditions no event announces (a counter in another task, a file on disk)."""
    step = 0.02
    for _ in range(int(limit / step)):
        if condition():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def token() -> str:
    return DEFAULT_TOKEN
