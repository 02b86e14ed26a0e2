"""The targets of issue 5, checked against a run's figures."""

from __future__ import annotations

from bench.conversation import SAMPLES_PER_ROUND
from bench.report import ScenarioResult

SOLO_RATIO = 1.15  # 1 user: every command within 1.15 × its floor (checked on the median; p95 shown too)
CROWD_RATIO = 2.0  # 100 users: p95 within 2 × floor
CPU_PER_BALANCE_MS = 5.0
RSS_MB = 150.0


def _find(results: list[ScenarioResult], prefix: str) -> ScenarioResult | None:
    return next((result for result in results if result.name.startswith(prefix)), None)


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def target_lines(results: list[ScenarioResult], numbers: dict[str, float]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | |", "| --- | --- | --- |"]
    solo = _find(results, "1 user, sequential")
    if solo is not None:
        for item in solo.stats:
            median, p95 = item.ratio(item.median), item.ratio(item.p95)
            if median is None or p95 is None:
                continue
            lines.append(
                f"| 1 user: {item.command} within {SOLO_RATIO} × floor | median {median:.2f} ×, "
                f"p95 {p95:.2f} × | {_mark(median <= SOLO_RATIO)} |"
            )
    crowd = _find(results, "100 concurrent users, one round")
    if crowd is not None:
        lines.append(
            f"| 100 users: all answered | {crowd.commands} of {crowd.users * SAMPLES_PER_ROUND} answers | "
            f"{_mark(crowd.commands == crowd.users * SAMPLES_PER_ROUND)} |"
        )
        for item in crowd.stats:
            p95 = item.ratio(item.p95)
            if p95 is not None:
                lines.append(
                    f"| 100 users: {item.command} p95 within {CROWD_RATIO} × floor | {p95:.1f} × | "
                    f"{_mark(p95 <= CROWD_RATIO)} |"
                )
    if "cpu_per_balance_ms" in numbers:
        cpu = numbers["cpu_per_balance_ms"]
        lines.append(
            f"| CPU per /balance < {CPU_PER_BALANCE_MS:g} ms | {cpu:.1f} ms | {_mark(cpu < CPU_PER_BALANCE_MS)} |"
        )
    if "stored_peak_rss_mb" in numbers:
        rss = numbers["stored_peak_rss_mb"]
        lines.append(
            f"| RSS < {RSS_MB:g} MB with {numbers.get('stored', 0):.0f} stored users | peak {rss:.0f} MB "
            f"(right after start-up {numbers.get('stored_start_rss_mb', 0):.0f} MB) | "
            f"{_mark(rss < RSS_MB)} |"
        )
    return lines
