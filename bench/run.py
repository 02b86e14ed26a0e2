"""`python -m bench`: the bot as a process against the QIWI emulator and the fake Bot API, measured.

Scenarios (see bench/README.md): a bare `import aiogram` and the floor bot (`bench/floor_bot.py`) as the
yardsticks; then the bot: one member sequentially; a /balance loop for CPU per command; 10, 50, 100 and 500
members at once; then a second bot over a database of 5,000 stored members with sessions, and two quiet
ones over the same number: alerts on for a handful of them (nothing due most of the time), and off for all.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.conversation import ANSWER_TIMEOUT, SAMPLES_PER_ROUND, Member, Sample
from bench.floors import FLOORS
from bench.report import ScenarioResult, latency_table, merged, summarize
from bench.stand import BenchStand
from bench.targets import crowd_name, floor_crowd_name, target_lines
from bot.sandbox.emulator import IssuedTicket

ADMIN_ID = 1  # someone must be admin, or the bot starts in setup mode; the admin never writes
FIRST_MEMBER = 100_000
RESULTS = Path(__file__).with_name("RESULTS.md")
IDLE_WINDOW = 10.0
NOTIFY_INTERVAL = 60.0  # the bot's default, which the stored bots run with
QUIET_ALERTS_ON = 10  # the quiet bot with something to poll now and then
QUIET_WINDOWS = 3
# Proposed fixes measured without editing the bot (bench/experiments.py).
EXPERIMENTS = ("gc-pauses", "inline-filters", "one-hop-sql")
FLOOR_BOT = ("bench.floor_bot",)
IMPORT_RUNS = 3
PAIRED_BLOCKS = 10  # the /balance loop in blocks of 20, floor bot and bot in turn
ROUND_COMMANDS = SAMPLES_PER_ROUND - 1  # a round is six commands (/stats answers twice): the floor bot's crowd
# What a bare `import aiogram` costs: the time from the process's start until it has imported aiogram (the
# same clock as the bot's start-up: CLOCK_MONOTONIC is one for all processes), and its RSS then.
_IMPORT_AIOGRAM = (
    "import time, aiogram\n"
    "rss = next(line for line in open('/proc/self/status') if line.startswith('VmRSS')).split()[1]\n"
    "print(time.monotonic(), rss)"
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    add = parser.add_argument
    add("--latency", type=float, default=0.05, help="QIWI latency per request, seconds (0.05)")
    add(
        "--rounds",
        type=int,
        default=15,
        help="rounds of the 1-user scenario (15: QIWI allows ~100 history reads a minute per wallet)",
    )
    add(
        "--balance-loop",
        type=int,
        default=200,
        help="/balance commands for CPU per command, in 10 blocks beside the floor bot's (200)",
    )
    add("--stats-loop", type=int, default=10, help="/stats commands for the CPU of one with its chart (10)")
    add("--users", type=int, nargs="*", default=[10, 50, 100, 500], help="concurrent groups (10 50 100 500)")
    add(
        "--think",
        type=float,
        default=10.0,
        help="mean pause (s) before each command in the paced scenario of --stored-active users (10; 0: skip)",
    )
    add("--stored", type=int, default=5000, help="stored members of the second bot (5000; 0: skip it)")
    add("--stored-active", type=int, default=100, help="of them, how many act at once (100)")
    add(
        "--idle",
        type=float,
        default=160.0,
        help="seconds the second bot is left idle first (160: every member's first two polls)",
    )
    add(
        "--profile",
        type=Path,
        help="profile the first bot: FILE.prof with cProfile (python -m pstats), other names pyinstrument text",
    )
    add(
        "--py-spy",
        type=Path,
        dest="py_spy",
        help="sample the first bot with py-spy (on-CPU stacks, collapsed format) into this file",
    )
    add(
        "--experiment",
        help=f"run the bot with proposed fixes applied (bench/experiments.py): a comma-separated "
        f"list of {', '.join(EXPERIMENTS)}",
    )
    add("--no-floor", action="store_true", help="skip the floor bot and the import reference (no targets)")
    add("--write", action="store_true", help=f"write the tables into {RESULTS.name}")
    return parser.parse_args(argv)


async def measure(
    name: str,
    stand: BenchStand,
    members: list[Member],
    action: Callable[[Member], Awaitable[None]],
    *,
    commands_of: Callable[[list[Sample]], int] = len,
) -> ScenarioResult:
    """Runs `action` for every member at once; latency per command, throughput, CPU and memory of the bot."""
    marks = [len(member.samples) for member in members]
    missing = [len(member.unanswered) for member in members]
    before, own_before = stand.sample(), time.process_time()
    started = time.monotonic()
    await asyncio.gather(*(action(member) for member in members))
    wall = time.monotonic() - started
    own = time.process_time() - own_before
    await stand.settle()
    after = stand.sample()
    samples = [sample for member, mark in zip(members, marks, strict=True) for sample in member.samples[mark:]]
    unanswered = Counter(
        command for member, mark in zip(members, missing, strict=True) for command in member.unanswered[mark:]
    )
    notes = [f"**not answered within {ANSWER_TIMEOUT:g} s**: " + ", ".join(f"{c} × {n}" for c, n in unanswered.items())]
    return ScenarioResult(
        name,
        len(members),
        summarize(samples, stand.latency),
        commands_of(samples),
        wall,
        after.cpu_since(before),
        after.peak_rss_bytes,
        notes=notes if unanswered else [],
        samples=samples,
        stand_cpu_seconds=own,
    )


def rounds(count: int, think: float = 0.0) -> Callable[[Member], Awaitable[None]]:
    async def run(member: Member) -> None:
        for _ in range(count):
            await member.round(think)

    return run


class FloorBot:
    """The floor bot (bench/floor_bot.py), running beside the bot on a stand of its own, so that each of its
    figures is taken right before the bot's own: the machine is shared, and its speed drifts."""

    def __init__(self, stand: BenchStand, members: list[Member]) -> None:
        self.stand = stand
        self.members = members

    @classmethod
    async def start(
        cls, stand: BenchStand, folder: Path, users: int, facts: dict[str, str], numbers: dict[str, float]
    ) -> FloorBot:
        phones = stand.add_wallets(users, with_history=0)
        sessions = stand.add_sessions(FIRST_MEMBER, phones)
        path = folder / "floor-sessions.json"
        path.write_text(json.dumps({str(tg_id): list(pair) for tg_id, pair in sessions.items()}))
        numbers["floor_startup_s"] = await stand.start_bot([ADMIN_ID], FLOOR_SESSIONS=str(path))
        numbers["floor_start_rss_mb"] = stand.sample().rss_bytes / 2**20
        facts["floor bot: start-up, RSS after start-up"] = (
            f"{numbers['floor_startup_s']:.2f} s, {numbers['floor_start_rss_mb']:.0f} MB"
        )
        return cls(stand, [Member(stand.telegram, tg_id, phone) for tg_id, (phone, _) in sessions.items()])


def balances(count: int) -> Callable[[Member], Awaitable[None]]:
    return lambda member: member.balances(count)


async def balance_loop(
    args: argparse.Namespace,
    stand: BenchStand,
    solo: Member,
    floor: FloorBot | None,
    results: list[ScenarioResult],
    facts: dict[str, str],
    numbers: dict[str, float],
) -> None:
    """CPU per /balance, in blocks: floor bot, bot, floor bot, bot, ... The ratio is the median of the blocks'
    ratios, so a burst of someone else's work on the machine moves one block, not the figure."""
    blocks = max(1, min(PAIRED_BLOCKS, args.balance_loop // 10))
    size = max(1, args.balance_loop // blocks)
    mine: list[ScenarioResult] = []
    theirs: list[ScenarioResult] = []
    for _ in range(blocks):
        if floor is not None:
            theirs.append(await measure("floor", floor.stand, floor.members[:1], balances(size)))
        mine.append(await measure("bot", stand, [solo], balances(size)))
    loop = merged(f"1 user, {blocks * size} × /balance (CPU per /balance)", mine, stand.latency)
    results.append(loop)
    facts["CPU per /balance"] = f"{loop.cpu_ms_per_command:.2f} ms"
    numbers["cpu_per_balance_ms"] = loop.cpu_ms_per_command
    if theirs:
        floor_loop = merged(f"floor bot: 1 user, {blocks * size} × /balance", theirs, stand.latency)
        results.append(floor_loop)
        ratios = [a.cpu_seconds / b.cpu_seconds for a, b in zip(mine, theirs, strict=True) if b.cpu_seconds > 0]
        numbers["floor_cpu_per_balance_ms"] = floor_loop.cpu_ms_per_command
        numbers["cpu_ratio"] = statistics.median(ratios)
        facts["floor bot: CPU per /balance"] = f"{floor_loop.cpu_ms_per_command:.2f} ms"
        facts[f"CPU per /balance ÷ the floor bot's, per block of {size} (median first)"] = ", ".join(
            [f"**{numbers['cpu_ratio']:.2f}**", *(f"{ratio:.2f}" for ratio in ratios)]
        )


async def main_bot(
    args: argparse.Namespace,
    folder: Path,
    results: list[ScenarioResult],
    facts: dict[str, str],
    numbers: dict[str, float],
    floor: FloorBot | None = None,
) -> None:
    async with BenchStand(
        folder, latency=args.latency, profile=args.profile, module=_module(args), py_spy=args.py_spy
    ) as stand:
        total = 1 + sum(args.users)
        phones = stand.add_wallets(total)
        ids = await stand.store_members(FIRST_MEMBER, phones, logged_in=False)
        numbers["startup_s"] = await stand.start_bot([ADMIN_ID])
        numbers["start_rss_mb"] = stand.sample().rss_bytes / 2**20
        facts["start-up, database with members only"] = f"{numbers['startup_s']:.2f} s"
        facts["RSS after start-up"] = f"{numbers['start_rss_mb']:.0f} MB"
        members = [Member(stand.telegram, tg_id, phone) for tg_id, phone in zip(ids, phones, strict=True)]

        solo = members[0]
        await solo.login()
        print("1 user, sequential ...", file=sys.stderr)
        results.append(await measure(f"1 user, sequential ({args.rounds} rounds)", stand, [solo], rounds(args.rounds)))
        print("/balance loop ...", file=sys.stderr)
        await balance_loop(args, stand, solo, floor, results, facts, numbers)
        if args.stats_loop:
            # The chart is drawn on the bot's CPU (a worker thread, the same GIL): what one /stats costs.
            print("/stats loop ...", file=sys.stderr)
            times = args.stats_loop
            stats = await measure(f"1 user, {times} × /stats", stand, [solo], lambda member: member.stats(times))
            results.append(stats)
            facts["CPU per /stats (totals, then the chart)"] = f"{stats.cpu_seconds * 1000 / times:.1f} ms"

        offset = 1
        for count in args.users:
            group = members[offset : offset + count]
            offset += count
            print(f"{count} users: logging in ...", file=sys.stderr)
            login = await measure(f"{count} users log in at once", stand, group, Member.login)
            if floor is not None:
                print(f"floor bot: {count} users ...", file=sys.stderr)
                crowd = floor.members[offset - count : offset]
                results.append(await measure(floor_crowd_name(count), floor.stand, crowd, balances(ROUND_COMMANDS)))
            print(f"{count} users: one round each ...", file=sys.stderr)
            result = await measure(crowd_name(count), stand, group, rounds(1))
            result.notes.append(
                f"log-in before it: {login.commands} updates in {login.wall_seconds:.1f} s; password step "
                f"median {_ms(login, 'login: password')} ms"
            )
            results.append(result)
        if args.think > 0:
            # The same number of members as the busiest target, but at a human pace: a second round each.
            paced = [member for member in members[1:] if member.confirms][: args.stored_active]  # logged in
            if paced:
                print(f"{len(paced)} users, pauses of ~{args.think:g} s ...", file=sys.stderr)
                results.append(
                    await measure(
                        f"{len(paced)} users at once, pausing ~{args.think:g} s before each command",
                        stand,
                        paced,
                        rounds(1, args.think),
                    )
                )
        last = stand.sample()
        facts["bot peak RSS after the concurrent scenarios"] = f"{last.peak_rss_bytes / 2**20:.0f} MB"
        # The chart's worker process and multiprocessing's resource tracker; their CPU is in every CPU figure.
        facts["the bot's child processes: RSS now (their peaks)"] = (
            f"{last.children_rss_bytes / 2**20:.0f} MB ({last.children_peak_rss_bytes / 2**20:.0f} MB)"
        )
        ledger = len(stand.emulator.ledger)
        confirms = sum(member.confirms for member in members)
        facts["payments in the emulator's ledger / confirms pressed"] = f"{ledger} / {confirms}"
        await stand.stop_bot()


def _module(args: argparse.Namespace) -> list[str]:
    if not args.experiment:
        return ["bench.experiments"]
    unknown = set(args.experiment.split(",")) - set(EXPERIMENTS)
    if unknown:
        raise SystemExit(f"unknown experiment(s): {', '.join(sorted(unknown))}")
    return ["bench.experiments", args.experiment]


async def import_reference(facts: dict[str, str], numbers: dict[str, float], runs: int = IMPORT_RUNS) -> None:
    """`python -c "import aiogram"`, the least any aiogram bot takes to start and holds in memory."""
    walls, rss = [], []
    for _ in range(runs):
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _IMPORT_AIOGRAM, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await process.communicate()
        imported, kib = out.split()
        walls.append(float(imported) - started)
        rss.append(int(kib) / 1024)
    numbers["import_aiogram_s"] = statistics.median(walls)
    numbers["import_aiogram_rss_mb"] = statistics.median(rss)
    facts["`import aiogram` alone: from the process's start to imported, RSS then"] = (
        f"{numbers['import_aiogram_s']:.2f} s, {numbers['import_aiogram_rss_mb']:.0f} MB (median of {runs})"
    )


def _ms(result: ScenarioResult, command: str) -> str:
    found = [item for item in result.stats if item.command == command]
    return f"{found[0].median * 1000:.0f}" if found else "–"


async def stored_bot(
    args: argparse.Namespace,
    folder: Path,
    results: list[ScenarioResult],
    facts: dict[str, str],
    numbers: dict[str, float],
) -> None:
    async with BenchStand(folder, latency=args.latency, module=_module(args)) as stand:
        phones = stand.add_wallets(args.stored, with_history=args.stored_active)
        print(f"storing {args.stored} members with sessions ...", file=sys.stderr)
        ids = await stand.store_members(FIRST_MEMBER, phones, logged_in=True)
        startup = await stand.start_bot([ADMIN_ID])
        facts[f"start-up, {args.stored} stored members with sessions"] = f"{startup:.2f} s"
        numbers["stored"] = args.stored
        numbers["stored_start_rss_mb"] = stand.sample().rss_bytes / 2**20
        facts[f"RSS after start-up with {args.stored} stored members"] = f"{numbers['stored_start_rss_mb']:.0f} MB"
        # Nobody writes: whatever CPU the bot spends now is background work over the stored members (the
        # incoming-payment alerts poll every member's history once per NOTIFY_INTERVAL, first polls spread
        # over 30-90 s after start-up). Measured in windows, since it changes as the first polls come due.
        since = stand.emulator.clock.now()
        windows, per_poll = [], []
        for _ in range(max(1, round(args.idle / IDLE_WINDOW))):
            cpu_seconds, elapsed, polls = await idle_window(stand)
            windows.append(f"{cpu_seconds / elapsed * 100:.0f} % ({polls / elapsed:.0f} ST/s)")
            if polls >= args.stored / NOTIFY_INTERVAL * IDLE_WINDOW / 2:  # once the polls run at their pace
                per_poll.append(cpu_seconds / polls * 1000)
        facts[f"bot CPU while idle with {args.stored} stored members, per {IDLE_WINDOW:g} s after start-up"] = (
            ", ".join(windows)
        )
        gaps, polled = poll_gaps(stand.emulator.issued_tickets, since)
        within = [gap for gap in gaps if abs(gap - NOTIFY_INTERVAL) <= NOTIFY_INTERVAL * POLL_TOLERANCE]
        numbers["stored_polled"] = polled
        numbers["stored_gaps"] = len(gaps)
        numbers["stored_gaps_within"] = len(within)
        if gaps:
            gaps.sort()
            facts[f"time between two alert polls of a member, {len(gaps)} pairs in {args.idle:g} s"] = (
                f"median {statistics.median(gaps):.1f} s, {gaps[0]:.1f}–{gaps[-1]:.1f} s; "
                f"{polled} of {args.stored} members polled"
            )
        if per_poll:
            numbers["cpu_per_poll_ms"] = statistics.median(per_poll)
            facts["bot CPU per alert poll, per window at full pace"] = ", ".join(f"{ms:.2f} ms" for ms in per_poll)
        facts["QIWI requests the alerts need"] = (
            f"{args.stored / NOTIFY_INTERVAL:.0f} polls/s = {2 * args.stored / NOTIFY_INTERVAL:.0f} requests/s "
            f"(an ST and a history read each); per wallet 1 history read per {NOTIFY_INTERVAL:g} s, where QIWI "
            "blocks a wallet's history above ~100 a minute"
        )
        active = [
            Member(stand.telegram, tg_id, phone)
            for tg_id, phone in list(zip(ids, phones, strict=True))[: args.stored_active]
        ]
        print(f"{len(active)} of {args.stored} stored members at once ...", file=sys.stderr)
        results.append(
            await measure(f"{len(active)} concurrent users among {args.stored} stored", stand, active, rounds(1))
        )
        await asyncio.sleep(2.0)  # anything the bot does in the background over all stored members
        peak = stand.sample().peak_rss_bytes
        facts[f"bot peak RSS with {args.stored} stored members"] = f"{peak / 2**20:.0f} MB"
        numbers["stored_peak_rss_mb"] = peak / 2**20
        await stand.stop_bot()


POLL_TOLERANCE = 0.10


async def idle_window(stand: BenchStand) -> tuple[float, float, int]:
    """One IDLE_WINDOW of a bot nobody writes to: its CPU seconds, the seconds it lasted, and the STs it took
    (while idle, each is an alert poll: one ST and one history read)."""
    before, started, tickets = stand.sample(), time.monotonic(), len(stand.emulator.issued_tickets)
    await asyncio.sleep(IDLE_WINDOW)
    return stand.sample().cpu_since(before), time.monotonic() - started, len(stand.emulator.issued_tickets) - tickets


def poll_gaps(tickets: Sequence[IssuedTicket], since: datetime) -> tuple[list[float], int]:
    """Seconds between two consecutive STs of the same wallet issued since `since` (while the bot is idle,
    each ST is an alert poll), and how many wallets were polled at all."""
    by_wallet: dict[str, list[datetime]] = {}
    for ticket in tickets:
        if ticket.kind == "ST" and ticket.issued_at >= since:
            by_wallet.setdefault(ticket.wallet, []).append(ticket.issued_at)
    gaps = []
    for times in by_wallet.values():
        times.sort()
        gaps += [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    return gaps, len(by_wallet)


async def quiet_bot(
    args: argparse.Namespace, folder: Path, alerts_on: int, facts: dict[str, str], numbers: dict[str, float]
) -> None:
    """The stored members' bot with alerts on for `alerts_on` of them only: its CPU is what the bot costs
    while (nearly) nothing is due."""
    async with BenchStand(folder, latency=args.latency, module=_module(args)) as stand:
        phones = stand.add_wallets(args.stored, with_history=0)
        print(f"storing {args.stored} members, alerts on for {alerts_on} ...", file=sys.stderr)
        await stand.store_members(FIRST_MEMBER, phones, logged_in=True, alerts_on=alerts_on)
        await stand.start_bot([ADMIN_ID])
        await asyncio.sleep(2.0)  # start-up's own work is over
        windows = []
        for _ in range(QUIET_WINDOWS):
            cpu_seconds, elapsed, polls = await idle_window(stand)
            windows.append((cpu_seconds / elapsed, polls))
        worst = max(cpu for cpu, _ in windows)
        key = "quiet_alerts_off_cpu" if alerts_on == 0 else "quiet_nothing_due_cpu"
        numbers[key] = worst
        who = "alerts off for everybody" if alerts_on == 0 else f"alerts on for {alerts_on} of them"
        facts[f"bot CPU with {args.stored} stored members, {who}, per {IDLE_WINDOW:g} s"] = ", ".join(
            f"{cpu * 100:.2f} % ({polls} polls)" for cpu, polls in windows
        )
        await stand.stop_bot()


def markdown(
    args: argparse.Namespace,
    argv: Sequence[str],
    results: list[ScenarioResult],
    facts: dict[str, str],
    numbers: dict[str, float],
    load: tuple[float, float, float],
) -> str:
    command = "python -m bench" + ("" if not argv else " " + shlex.join(argv))
    lines = [
        "# Benchmark results",
        "",
        f"Reproduce: `{command}` (from the repository root, in the project's virtualenv).",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPU(s), load average before the "
        f"run {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} (the machine is shared), Python "
        f"{platform.python_version()}. QIWI latency {args.latency * 1000:.0f} ms per request (emulator, "
        "in the benchmark's process with the fake Bot API); times run from the getUpdates answer that "
        "delivers an update to the bot's last Bot API call for it. Floor = QIWI round trips the protocol "
        "makes unavoidable × latency (see bench/floors.py for the derivation).",
        "",
        "| fact | value |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {value} |" for name, value in facts.items()]
    lines += ["", *target_lines(results, numbers), "", "## Scenarios"]
    for result in results:
        lines += ["", *latency_table(result)]
    lines += ["", "## Floors", "", "| command | QIWI round trips |", "| --- | ---: |"]
    lines += [f"| {command} | {trips} |" for command, trips in FLOORS.items()]
    return "\n".join(lines) + "\n"


async def run(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    load = os.getloadavg()
    results: list[ScenarioResult] = []
    facts: dict[str, str] = {}
    numbers: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if args.no_floor:
            await main_bot(args, Path(tmp) / "main", results, facts, numbers)
        else:
            print("import aiogram ...", file=sys.stderr)
            await import_reference(facts, numbers)
            async with BenchStand(Path(tmp) / "floor", latency=args.latency, module=FLOOR_BOT) as stand:
                floor = await FloorBot.start(stand, Path(tmp) / "floor", 1 + sum(args.users), facts, numbers)
                await main_bot(args, Path(tmp) / "main", results, facts, numbers, floor)
                await stand.stop_bot()
        if args.stored:
            await stored_bot(args, Path(tmp) / "stored", results, facts, numbers)
            await quiet_bot(args, Path(tmp) / "nothing-due", QUIET_ALERTS_ON, facts, numbers)
            await quiet_bot(args, Path(tmp) / "alerts-off", 0, facts, numbers)
    text = markdown(args, [a for a in arguments if a != "--write"], results, facts, numbers, load)
    print(text)
    if args.write:
        RESULTS.write_text(text)
    if args.profile:
        print(f"profile of the first bot: {args.profile}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(argv))
