"""`python -m bench.compare NAME=TREE[:EXPERIMENTS] ...`: CPU per /balance of several versions of the bot, in turn.

Each TREE is a checkout of the repository (say `git worktree add /tmp/before HEAD~3`); each runs as its own bot
process on a stand of its own, beside the floor bot (`bench/floor_bot.py`), all at the same time. Then blocks of
/balance go to each in a shuffled order, round after round, and every block's CPU is divided by the floor bot's
block of the same round: the machine is shared and its speed drifts, so only figures taken side by side are
compared. Prints, per version, the median CPU per /balance and the median (and quartiles) of those ratios.
`:EXPERIMENTS` applies `bench/experiments.py` fixes to that version, e.g. `now=.:inline-filters`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.conversation import Member
from bench.run import ADMIN_ID, FIRST_MEMBER, FLOOR_BOT, balances, measure
from bench.stand import BenchStand


@dataclass
class Version:
    name: str
    stand: BenchStand
    member: Member
    cpu_ms: list[float] = field(default_factory=list)


async def _floor(folder: Path, latency: float) -> Version:
    stand = BenchStand(folder, latency=latency, module=FLOOR_BOT)
    await stand.__aenter__()
    phones = stand.add_wallets(1, with_history=0)
    sessions = stand.add_sessions(FIRST_MEMBER, phones)
    path = folder / "floor-sessions.json"
    path.write_text(json.dumps({str(tg_id): list(pair) for tg_id, pair in sessions.items()}))
    await stand.start_bot([ADMIN_ID], FLOOR_SESSIONS=str(path))
    return Version("floor bot", stand, Member(stand.telegram, FIRST_MEMBER, phones[0]))


def parse_version(spec: str) -> tuple[str, str, str]:
    """`NAME=TREE[:EXPERIMENTS]` -> (name, absolute tree, experiments)."""
    name, _, rest = spec.partition("=")
    tree, _, experiments = rest.partition(":")
    if not name or not tree:
        raise SystemExit(f"expected NAME=TREE[:EXPERIMENTS], got {spec!r}")
    return name, os.path.abspath(tree), experiments


async def _version(spec: tuple[str, str, str], folder: Path, latency: float) -> Version:
    name, tree, experiments = spec
    stand = BenchStand(folder, latency=latency, module=["bench.experiments", *([experiments] if experiments else [])])
    await stand.__aenter__()
    phones = stand.add_wallets(1)
    ids = await stand.store_members(FIRST_MEMBER, phones, logged_in=False)
    # The bot comes from TREE; the benchmark (`bench.experiments`, this process) from the checkout it runs in.
    await stand.start_bot([ADMIN_ID], BENCH_BOT_TREE=tree)
    member = Member(stand.telegram, ids[0], phones[0])
    await member.login()
    return Version(name, stand, member)


async def compare(specs: Sequence[tuple[str, str, str]], *, rounds: int, block: int, latency: float) -> list[str]:
    versions: list[Version] = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        try:
            versions.append(await _floor(Path(tmp) / "floor", latency))
            for index, spec in enumerate(specs):
                versions.append(await _version(spec, Path(tmp) / f"v{index}", latency))
            for version in versions:  # warm: first-use imports, caches, connections
                await measure("warm-up", version.stand, [version.member], balances(block))
            shuffle = random.Random(1)
            for number in range(rounds):
                print(f"round {number + 1} of {rounds} ...", file=sys.stderr)
                for version in shuffle.sample(versions, len(versions)):
                    result = await measure(version.name, version.stand, [version.member], balances(block))
                    version.cpu_ms.append(result.cpu_ms_per_command)
        finally:
            for version in versions:
                if version.stand.process is not None and version.stand.process.running:
                    await version.stand.stop_bot()
                await version.stand.__aexit__(None, None, None)
    floor = versions[0].cpu_ms
    lines = [
        f"CPU per /balance, {rounds} rounds of {block}, each block ÷ the floor bot's of the same round:",
        "",
        "| version | CPU per /balance (median) | ÷ floor bot: median | quartiles |",
        "| --- | ---: | ---: | --- |",
    ]
    for version in versions:
        ratios = [mine / theirs for mine, theirs in zip(version.cpu_ms, floor, strict=True)]
        low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
        lines.append(
            f"| {version.name} | {statistics.median(version.cpu_ms):.2f} ms | {statistics.median(ratios):.2f} | "
            f"{low:.2f}–{high:.2f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("versions", nargs="+", help="NAME=TREE[:EXPERIMENTS]")
    parser.add_argument("--rounds", type=int, default=12, help="rounds (12)")
    parser.add_argument("--block", type=int, default=20, help="/balance per version and round (20)")
    parser.add_argument("--latency", type=float, default=0.05, help="QIWI latency per request, seconds (0.05)")
    args = parser.parse_args(argv)
    specs = [parse_version(spec) for spec in args.versions]
    lines = asyncio.run(compare(specs, rounds=args.rounds, block=args.block, latency=args.latency))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
