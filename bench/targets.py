"""The performance targets the benchmark is held to, checked against one run's figures.

Every target is a ratio to something measured in the same run, so a slower or busier machine moves both
sides: to the floor bot (`bench/floor_bot.py`: aiogram with one handler and the same two QIWI calls), to the
protocol floor (`bench/floors.py`), or to a bare `import aiogram`. The floor bot's own figure stands beside
each one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.conversation import SAMPLES_PER_ROUND
from bench.report import CommandStats, ScenarioResult

CPU_VS_FLOOR_BOT = 1.3  # CPU per /balance within 1.3 × the floor bot's (aim: 1.1 ×)
CPU_AIM = 1.1
SOLO_RATIO = 1.08  # 1 member: every command's median within 1.08 × its protocol floor
CROWDS = {50: 3.0, 100: 5.0}  # members at once: p95 of every command within this × its protocol floor
RSS_OVER_IMPORT_MB = 15.0  # RSS after start-up within `import aiogram` + 15 MB
STARTUP_OVER_IMPORT_S = 0.5  # start-up within `import aiogram` + 0.5 s
POLLED_WITHIN = 0.99  # stored members: this share of the gaps between two polls within NOTIFY_INTERVAL ± 10 %
CPU_PER_POLL_MS = 3.0
QUIET_CPU = 0.01  # one per cent of a core

SOLO = "1 user, sequential"
BALANCE_LOOP = "1 user, "  # "1 user, 100 × /balance (CPU per /balance)"
FLOOR_SOLO = "floor bot: 1 user, "


def crowd_name(count: int) -> str:
    return f"{count} concurrent users, one round each"


def floor_crowd_name(count: int) -> str:
    return f"floor bot: {count} concurrent users, {SAMPLES_PER_ROUND - 1} × /balance each"


@dataclass(frozen=True)
class Target:
    target: str
    measured: str
    floor_bot: str
    met: bool


def _find(results: list[ScenarioResult], prefix: str, contains: str = "") -> ScenarioResult | None:
    return next((r for r in results if r.name.startswith(prefix) and contains in r.name), None)


def _stat(result: ScenarioResult | None, command: str) -> CommandStats | None:
    if result is None:
        return None
    return next((item for item in result.stats if item.command == command), None)


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} ×"


def targets(results: list[ScenarioResult], numbers: dict[str, float]) -> list[Target]:
    found: list[Target] = []
    floor_solo = _stat(_find(results, FLOOR_SOLO), "/balance")

    cpu, floor_cpu = numbers.get("cpu_per_balance_ms"), numbers.get("floor_cpu_per_balance_ms")
    if cpu is not None and floor_cpu:
        ratio = numbers.get("cpu_ratio", cpu / floor_cpu)  # the median of the paired blocks' ratios
        aim = "aim met" if ratio <= CPU_AIM else f"aim {CPU_AIM} × not yet"
        found.append(
            Target(
                f"CPU per /balance within {CPU_VS_FLOOR_BOT} × the floor bot's",
                f"{ratio:.2f} × ({cpu:.2f} ms; {aim})",
                f"{floor_cpu:.2f} ms",
                ratio <= CPU_VS_FLOOR_BOT,
            )
        )

    solo = _find(results, SOLO)
    if solo is not None:
        for item in solo.stats:
            median = item.ratio(item.median)
            if median is None:
                continue
            beside = _x(floor_solo.ratio(floor_solo.median)) if item.command == "/balance" and floor_solo else "–"
            found.append(
                Target(
                    f"1 member: {item.command} median within {SOLO_RATIO} × floor",
                    f"{median:.2f} × ({item.median * 1000:.0f} ms; p95 {_x(item.ratio(item.p95))})",
                    beside,
                    median <= SOLO_RATIO,
                )
            )

    for count, limit in CROWDS.items():
        crowd = _find(results, crowd_name(count))
        if crowd is None:
            continue
        floor_crowd = _find(results, floor_crowd_name(count))
        floor_balance = _stat(floor_crowd, "/balance")
        expected = crowd.users * SAMPLES_PER_ROUND
        floor_answered = (
            f"{floor_crowd.commands} of {floor_crowd.users * (SAMPLES_PER_ROUND - 1)}" if floor_crowd else "–"
        )
        found.append(
            Target(
                f"{count} at once: all answered",
                f"{crowd.commands} of {expected}",
                floor_answered,
                crowd.commands == expected,
            )
        )
        for item in crowd.stats:
            p95 = item.ratio(item.p95)
            if p95 is None:
                continue
            beside = "–"
            if item.command == "/balance" and floor_balance is not None:
                beside = f"{_x(floor_balance.ratio(floor_balance.p95))} (p95 of its /balance)"
            found.append(
                Target(f"{count} at once: {item.command} p95 within {limit:g} × floor", _x(p95), beside, p95 <= limit)
            )

    base_rss, rss = numbers.get("import_aiogram_rss_mb"), numbers.get("start_rss_mb")
    if base_rss is not None and rss is not None:
        floor_rss = numbers.get("floor_start_rss_mb")
        found.append(
            Target(
                f"RSS after start-up within import aiogram ({base_rss:.0f} MB) + {RSS_OVER_IMPORT_MB:g} MB",
                f"{rss:.0f} MB ({rss - base_rss:+.0f})",
                "–" if floor_rss is None else f"{floor_rss:.0f} MB ({floor_rss - base_rss:+.0f})",
                rss <= base_rss + RSS_OVER_IMPORT_MB,
            )
        )
    base_start, start = numbers.get("import_aiogram_s"), numbers.get("startup_s")
    if base_start is not None and start is not None:
        floor_start = numbers.get("floor_startup_s")
        found.append(
            Target(
                f"start-up within import aiogram ({base_start:.2f} s) + {STARTUP_OVER_IMPORT_S:g} s",
                f"{start:.2f} s ({start - base_start:+.2f})",
                "–" if floor_start is None else f"{floor_start:.2f} s ({floor_start - base_start:+.2f})",
                start <= base_start + STARTUP_OVER_IMPORT_S,
            )
        )
    found += stored_targets(numbers)
    return found


def stored_targets(numbers: dict[str, float]) -> list[Target]:
    found: list[Target] = []
    stored = int(numbers.get("stored", 0))
    gaps, within, polled = (numbers.get(k) for k in ("stored_gaps", "stored_gaps_within", "stored_polled"))
    if stored and gaps is not None and within is not None and polled is not None:
        share = within / gaps if gaps else 0.0
        found.append(
            Target(
                f"{stored} stored, alerts on: every member polled, {POLLED_WITHIN:.0%} of the gaps between two "
                "polls within NOTIFY_INTERVAL ± 10 %",
                f"{polled:.0f} of {stored} polled; {within:.0f} of {gaps:.0f} gaps ({share:.1%}) within 54–66 s",
                "–",
                polled == stored and share >= POLLED_WITHIN,
            )
        )
    if (per_poll := numbers.get("cpu_per_poll_ms")) is not None:
        found.append(
            Target(
                f"{stored} stored, alerts on: CPU per poll within {CPU_PER_POLL_MS:g} ms",
                f"{per_poll:.2f} ms",
                "–",
                per_poll <= CPU_PER_POLL_MS,
            )
        )
    for key, label in (
        ("quiet_nothing_due_cpu", "alerts on for a few, nothing due most of the time"),
        ("quiet_alerts_off_cpu", "alerts off for everybody"),
    ):
        if (cpu := numbers.get(key)) is not None:
            found.append(
                Target(
                    f"{stored} stored, {label}: CPU within {QUIET_CPU:.0%} of a core",
                    f"{cpu:.2%} (the busiest of its windows)",
                    "–",
                    cpu <= QUIET_CPU,
                )
            )
    return found


def target_lines(results: list[ScenarioResult], numbers: dict[str, float]) -> list[str]:
    lines = [
        "## Targets",
        "",
        "| target | measured | floor bot | |",
        "| --- | --- | --- | --- |",
    ]
    for item in targets(results, numbers):
        lines.append(f"| {item.target} | {item.measured} | {item.floor_bot} | {'met' if item.met else '**missed**'} |")
    return lines
