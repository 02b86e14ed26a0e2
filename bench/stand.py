"""The measured world: the bot as a process (`python -m bot`), the fake Bot API, the QIWI emulator.

The fake Telegram and the emulator run in this (the benchmark's) process and event loop; only the bot is
measured. Times are `time.monotonic()` in this process: an update counts as delivered when the fake's
getUpdates answer that carries it is produced, and the bot's answers are stamped when the fake records them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.crypto import TicketCipher, decode_key, generate_key
from bot.devtools.fake_telegram import FakeTelegram
from bot.sandbox import Emulator, EmulatorServer
from bot.storage import Database
from tests.e2e.harness import BotProcess, bot_env

STARTUP_TIMEOUT = 120.0
HISTORY_SOURCE = "79001112233"  # the demo wallet with months of history: copied into every bench wallet
PASSWORD = "bench-password"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TimedTelegram(FakeTelegram):
    """The fake Bot API that also notes when each update left in a getUpdates answer."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered_at: dict[int, float] = {}

    async def _get_updates(self, api: Any) -> Any:
        ready = await super()._get_updates(api)
        now = time.monotonic()
        for update in ready:
            self.delivered_at.setdefault(int(update["update_id"]), now)
        return ready


@dataclasses.dataclass(frozen=True)
class ProcessSample:
    # user + system from /proc/<pid>/stat of the bot and its live children (the chart's worker process), plus
    # the children it has reaped: every thread, dead ones too; 10 ms steps
    ticks_cpu_seconds: float
    rss_bytes: int  # the bot's own process
    peak_rss_bytes: int
    thread_ns: dict[int, int]  # on-CPU nanoseconds of each live thread of the bot and its children (schedstat)
    children_rss_bytes: int = 0
    children_peak_rss_bytes: int = 0

    def cpu_since(self, before: ProcessSample) -> float:
        """CPU seconds between two samples: to the nanosecond when no thread ended in between (the usual
        case), else from the ticks of /proc/<pid>/stat, which also count the threads that are gone."""
        if self.thread_ns and before.thread_ns and before.thread_ns.keys() <= self.thread_ns.keys():
            return sum(ns - before.thread_ns.get(tid, 0) for tid, ns in self.thread_ns.items()) / 1e9
        return self.ticks_cpu_seconds - before.ticks_cpu_seconds


def _thread_ns(pid: int) -> dict[int, int]:
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that just ended, or a kernel without schedstat
    return found


def _children(pid: int) -> list[int]:
    """Every live descendant of `pid` (the chart's worker and multiprocessing's resource tracker)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return found


def _stat(pid: int) -> tuple[float, float, dict[str, str]]:
    """(own CPU seconds, CPU seconds of its reaped children, /proc/<pid>/status)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime (fields 14 and 15 of stat)
    reaped = (int(fields[13]) + int(fields[14])) / _CLOCK_TICKS  # cutime, cstime
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return own, reaped, status


def sample_process(pid: int) -> ProcessSample:
    """CPU time (user + system) and memory of a process and its children, from /proc (Linux)."""
    threads = _thread_ns(pid)
    own, reaped, status = _stat(pid)
    cpu, rss, peak = own + reaped, 0, 0
    for child in _children(pid):
        try:
            child_cpu, _, child_status = _stat(child)
            threads.update(_thread_ns(child))
        except (OSError, ValueError, IndexError):
            continue  # it just ended
        cpu += child_cpu
        rss += _kib(child_status.get("VmRSS", "0 kB"))
        peak += _kib(child_status.get("VmHWM", "0 kB"))
    return ProcessSample(cpu, _kib(status.get("VmRSS", "0 kB")), _kib(status.get("VmHWM", "0 kB")), threads, rss, peak)


def _kib(value: str) -> int:
    return int(value.split()[0]) * 1024


def phone_of(index: int) -> str:
    return f"7950{index:07d}"


class BenchStand:
    def __init__(
        self,
        data_dir: Path,
        *,
        latency: float,
        profile: Path | None = None,
        module: Sequence[str] = ("bench.experiments",),
        py_spy: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.latency = latency
        self.profile = profile
        # `bench.experiments` (the bot, its read budget lifted, experiments applied) or `bench.floor_bot`
        self.module = list(module)
        self.py_spy = py_spy
        self._sampler: asyncio.subprocess.Process | None = None
        self.telegram = TimedTelegram()
        self.emulator = Emulator()
        self.server = EmulatorServer(self.emulator)
        self.key = generate_key()
        self.process: BotProcess | None = None
        self.startup_seconds: float | None = None

    async def __aenter__(self) -> BenchStand:
        await self.telegram.start()
        await self.server.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.running:
            await self.stop_bot()
        await self.server.stop()
        await self.telegram.stop()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "bot.sqlite3"

    def add_wallets(self, count: int, *, with_history: int | None = None, rub: str = "100000") -> list[str]:
        """Wallets `7950xxxxxxx`; the first `with_history` (default all) get the demo wallet's history, so
        that /history has older pages and /stats has totals."""
        source = self.emulator.wallet(HISTORY_SOURCE)
        phones = []
        for index in range(count):
            phone = phone_of(index)
            if phone not in self.emulator.wallets:
                wallet = self.emulator.add_wallet(phone, PASSWORD, {"RUB": Decimal(rub)})
                if with_history is None or index < with_history:
                    wallet.history = [dataclasses.replace(row, person_id=int(phone)) for row in source.history]
            phones.append(phone)
        return phones

    async def store_members(
        self, first_tg_id: int, phones: list[str], *, logged_in: bool, alerts_on: int | None = None
    ) -> list[int]:
        """Member rows written before the bot starts (as invites would have made them); with `logged_in`,
        each with a stored encrypted QIWI session whose ticket comes straight from the emulator, and
        incoming-payment alerts on for the first `alerts_on` of them (default: all, as after /login)."""
        cipher = TicketCipher([decode_key(self.key)])
        now = self.emulator.clock.now()
        ids = []
        async with await Database.open(self.db_path) as db:
            for offset, phone in enumerate(phones):
                tg_id = first_tg_id + offset
                await db.users.ensure(tg_id, "member", now=now)
                if logged_in:
                    tgt = self.emulator.create_tgt(phone, PASSWORD)
                    assert tgt is not None
                    await db.wallets.set_session(tg_id, phone, cipher.encrypt(tgt, tg_id), now)
                    if alerts_on is not None and offset >= alerts_on:
                        await db.wallets.set_notify(tg_id, phone, False)
                ids.append(tg_id)
        return ids

    def add_sessions(self, first_tg_id: int, phones: list[str]) -> dict[int, tuple[str, str]]:
        """A TGT for each wallet straight from the emulator, for the floor bot (which stores nothing)."""
        sessions = {}
        for offset, phone in enumerate(phones):
            tgt = self.emulator.create_tgt(phone, PASSWORD)
            assert tgt is not None
            sessions[first_tg_id + offset] = (phone, tgt)
        return sessions

    async def start_bot(self, admin_ids: list[int], **extra_env: str) -> float:
        env = bot_env(
            self.telegram,
            self.server,
            self.data_dir,
            admin_ids=admin_ids,
            LOG_LEVEL="WARNING",
            ENCRYPTION_KEYS=self.key,
            # `--experiment gc-pauses` writes there (bench/experiments.py)
            **{name: os.environ[name] for name in ("BENCH_GC_LOG",) if name in os.environ},
            **extra_env,
        )
        argv = [sys.executable, "-m", *self.module]
        if self.profile is not None and self.profile.suffix == ".prof":
            # cProfile: deterministic, for `python -m pstats` (sort by tottime, CPU-bound parts stand out).
            argv = [sys.executable, "-m", "cProfile", "-o", str(self.profile), "-m", *self.module]
        elif self.profile is not None:
            argv = [sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(self.profile), "-m", *self.module]
        self.process = BotProcess(
            env, self.data_dir, telegram=self.telegram, argv=argv, log_path=self.data_dir / "bot.log"
        )
        started = time.monotonic()
        await self.process.start()
        await self.process.wait_ready(STARTUP_TIMEOUT)
        self.startup_seconds = time.monotonic() - started
        if self.py_spy is not None:
            # Sampling from outside: on-CPU stacks only (idle waits are left out), collapsed for grep/flamegraph.
            executable = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            self._sampler = await asyncio.create_subprocess_exec(
                executable,
                "record",
                "--pid",
                str(self.process.pid),
                "--format",
                "raw",
                "--rate",
                "250",
                "--output",
                str(self.py_spy),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        # Latency from here on: the start-up itself is measured without it.
        self.emulator.faults.latency = self.latency
        return self.startup_seconds

    async def stop_bot(self) -> int:
        assert self.process is not None
        code = await self.process.terminate(timeout=60.0)
        if self._sampler is not None:
            await self._sampler.wait()  # py-spy writes its file when the process it samples ends
        return code

    def sample(self) -> ProcessSample:
        assert self.process is not None
        return sample_process(self.process.pid)

    async def settle(self, seconds: float = 0.3) -> None:
        await asyncio.sleep(seconds)
