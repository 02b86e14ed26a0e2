"""Latency statistics per command and the Markdown tables of RESULTS.md."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.conversation import Sample
from bench.floors import FLOORS, ORDER


@dataclass(frozen=True)
class CommandStats:
    command: str
    count: int
    median: float
    p95: float
    worst: float
    floor: float  # seconds

    def ratio(self, value: float) -> float | None:
        return value / self.floor if self.floor > 0 else None


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summarize(samples: Iterable[Sample], latency: float) -> list[CommandStats]:
    by_command: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        by_command[sample.command].append(sample.seconds)
    return [
        CommandStats(
            command,
            len(values),
            statistics.median(values),
            percentile(values, 0.95),
            max(values),
            FLOORS.get(command, 0) * latency,
        )
        for command in sorted(by_command, key=lambda c: ORDER.index(c) if c in ORDER else len(ORDER))
        for values in [by_command[command]]
    ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


@dataclass
class ScenarioResult:
    name: str
    users: int
    stats: list[CommandStats]
    commands: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    notes: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list, repr=False)
    # The benchmark's own process (fake Bot API, QIWI emulator, the members): on 2 cores, what it takes is
    # not the bot's.
    stand_cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.commands / self.wall_seconds if self.wall_seconds else 0.0

    @property
    def cpu_ms_per_command(self) -> float:
        return self.cpu_seconds * 1000 / self.commands if self.commands else 0.0


def merged(name: str, parts: list[ScenarioResult], latency: float) -> ScenarioResult:
    """One result out of several runs of the same scenario (the blocks of a paired measurement)."""
    samples = [sample for part in parts for sample in part.samples]
    return ScenarioResult(
        name,
        max(part.users for part in parts),
        summarize(samples, latency),
        sum(part.commands for part in parts),
        sum(part.wall_seconds for part in parts),
        sum(part.cpu_seconds for part in parts),
        max(part.peak_rss_bytes for part in parts),
        samples=samples,
        stand_cpu_seconds=sum(part.stand_cpu_seconds for part in parts),
    )


def _stand_share(result: ScenarioResult) -> str:
    if not result.wall_seconds or not result.stand_cpu_seconds:
        return ""
    share = result.stand_cpu_seconds / result.wall_seconds
    return f"; the benchmark's own process (fake Telegram, emulator) {share:.0%} of a core"


def latency_table(result: ScenarioResult) -> list[str]:
    lines = [
        f"**{result.name}** — {result.commands} commands in {result.wall_seconds:.1f} s "
        f"({result.per_second:.1f} commands/s), bot CPU {result.cpu_ms_per_command:.2f} ms per command, "
        f"bot peak RSS {result.peak_rss_bytes / 2**20:.0f} MB" + _stand_share(result),
        "",
        "| command | n | median ms | p95 ms | max ms | floor ms | median / floor | p95 / floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in result.stats:
        lines.append(
            f"| {item.command} | {item.count} | {_ms(item.median)} | {_ms(item.p95)} | {_ms(item.worst)} | "
            f"{_ms(item.floor)} | {_ratio(item.ratio(item.median))} | {_ratio(item.ratio(item.p95))} |"
        )
    lines += [f"- {note}" for note in result.notes]
    return lines
