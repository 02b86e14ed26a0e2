"""Running the bot as a separate process, the way acceptance tests and people do: `python -m bot`.

Usage (inside an async test):

    async with FakeTelegram() as tg:
        env = bot_env(tg, qiwi_server, tmp_path, admin_ids=[1001])
        async with BotProcess(env, cwd=tmp_path, telegram=tg) as proc:
            await proc.wait_ready()
            ...
            assert await proc.terminate() == 0

Waiting is asynchronous on purpose: the fake Telegram server and the QIWI emulator run in the test's own
event loop, and the bot needs them answering while it starts and while it shuts down.
"""

# The waits take `timeout=` like the rest of the test helpers; asyncio.timeout() would not carry the log.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

from bot.devtools.fake_telegram import FakeTelegram

REPO_ROOT = Path(__file__).resolve().parents[2]
# Passed through from the test runner so that Python and locale behave; nothing else leaks in
# (a developer's own BOT_TOKEN or WEBHOOK_URL must not change what a test does).
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


class QiwiUrls(Protocol):
    @property
    def auth_url(self) -> str: ...

    @property
    def web_url(self) -> str: ...

    @property
    def edge_url(self) -> str: ...


class BotProcessError(AssertionError):
    """The process died or never got ready; the message carries the end of its log."""


def bot_env(
    telegram: FakeTelegram,
    qiwi: QiwiUrls | None,
    data_dir: Path,
    *,
    admin_ids: Sequence[int] = (),
    **extra: str,
) -> dict[str, str]:
    """The environment of `interface.md` pointing at the fake Telegram and the QIWI emulator."""
    env = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "DATABASE_PATH": str(data_dir / "bot.sqlite3"),
        "KEY_FILE": str(data_dir / "secret.key"),
        "ADMIN_IDS": ",".join(str(admin) for admin in admin_ids),
        "LOG_LEVEL": "INFO",
    }
    if qiwi is not None:
        env.update(QIWI_AUTH_URL=qiwi.auth_url, QIWI_WEB_URL=qiwi.web_url, QIWI_EDGE_URL=qiwi.edge_url)
    env.update(extra)
    return env


class BotProcess:
    """One run of the bot (or of any `argv`) with its stdout and stderr captured to one log file."""

    def __init__(
        self,
        env: Mapping[str, str],
        cwd: Path,
        *,
        telegram: FakeTelegram | None = None,
        argv: Sequence[str] | None = None,
        log_path: Path | None = None,
        inherit_env: bool = False,
    ) -> None:
        self.cwd = Path(cwd)
        self.telegram = telegram
        self.argv = list(argv) if argv is not None else [sys.executable, "-m", "bot"]
        if log_path is None:
            handle, name = tempfile.mkstemp(prefix="bot-process-", suffix=".log", dir=self.cwd)
            os.close(handle)
            log_path = Path(name)
        self.log_path = log_path
        base = dict(os.environ) if inherit_env else {k: os.environ[k] for k in _INHERITED if k in os.environ}
        pythonpath = [str(REPO_ROOT)] + ([base["PYTHONPATH"]] if base.get("PYTHONPATH") else [])
        self.env = {**base, "PYTHONPATH": os.pathsep.join(pythonpath), "PYTHONUNBUFFERED": "1", **env}
        self.process: asyncio.subprocess.Process | None = None
        self._log_file: IO[bytes] | None = None
        self._polls_before_start = 0

    async def start(self) -> BotProcess:
        if self.process is not None:
            raise RuntimeError("already started")
        self._polls_before_start = self.telegram.get_updates_calls if self.telegram else 0
        self._log_file = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
        return self

    async def __aenter__(self) -> BotProcess:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        if self.running:
            await self.kill()
        self._close_log()

    @property
    def pid(self) -> int:
        return self._process().pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def _process(self) -> asyncio.subprocess.Process:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process

    async def wait_ready(self, timeout: float = 20.0, *, log_pattern: str | None = None) -> None:
        """Until the bot polls the fake Telegram (a getUpdates after start), or, without a fake Telegram
        or with `log_pattern`, until that regex shows up in the log. Fails at once if the process exits."""
        process = self._process()
        if log_pattern is None and self.telegram is None:
            raise ValueError("wait_ready needs a FakeTelegram or a log_pattern")
        pattern = re.compile(log_pattern) if log_pattern else None
        deadline = time.monotonic() + timeout
        while True:
            if pattern is not None and pattern.search(self.log_text()):
                return
            if pattern is None and self.telegram is not None:
                if self.telegram.get_updates_calls > self._polls_before_start:
                    return
            if process.returncode is not None:
                raise BotProcessError(f"process exited with {process.returncode} before ready:\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                raise BotProcessError(f"process not ready within {timeout:g} s:\n{self.log_tail()}")
            if self.telegram is not None:
                await self.telegram.wait_change(0.1)
            else:
                await asyncio.sleep(0.05)

    async def wait_exit(self, timeout: float = 15.0) -> int:
        """Waits for the process to end on its own; returns its exit code."""
        try:
            return await asyncio.wait_for(self._process().wait(), timeout)
        except TimeoutError:
            raise BotProcessError(f"process still running after {timeout:g} s:\n{self.log_tail()}") from None

    async def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, then waits for a graceful exit; a process that does not stop in time is killed and
        reported as a failure (a hang on shutdown is a bug)."""
        return await self._stop(signal.SIGTERM, timeout)

    async def interrupt(self, timeout: float = 15.0) -> int:
        """SIGINT (Ctrl+C), then waits like `terminate`."""
        return await self._stop(signal.SIGINT, timeout)

    async def _stop(self, signum: int, timeout: float) -> int:
        process = self._process()
        if process.returncode is None:
            process.send_signal(signum)
        try:
            code = await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise BotProcessError(f"no exit within {timeout:g} s of signal {signum}:\n{self.log_tail()}") from None
        self._close_log()
        return code

    async def kill(self) -> int:
        """SIGKILL: a crash with no chance to clean up (for restart and recovery tests)."""
        process = self._process()
        if process.returncode is None:
            process.kill()
        code = await process.wait()
        self._close_log()
        return code

    def log_text(self) -> str:
        """Everything the process printed so far (stdout and stderr interleaved)."""
        if self._log_file is not None:
            self._log_file.flush()
        try:
            return self.log_path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
