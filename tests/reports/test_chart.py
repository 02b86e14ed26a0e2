"""The /stats chart: exact per-day / per-week sums as QIWI's totals count them, an axis above its peak with
round ticks, date labels that never touch, and a PNG Telegram takes, drawn off the loop."""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from bot import PROJECT_ROOT
from bot.devtools.message_content import png_size
from bot.qiwi.models import Money, Payment
from bot.sandbox.seed import MAIN_WALLET
from bot.sandbox.wallets import HistoryRow
from bot.services import chart
from bot.services.chart import (
    MAX_TICKS,
    Bucket,
    ChartFigures,
    ChartRenderer,
    ChartTexts,
    ChartWords,
    ChartWorkerLost,
    RenderedChart,
    axis_scale,
    bucket_payments,
    chart_figures,
    draw_chart,
    main_currency,
    stats_chart,
)
from bot.services.history import stats_period, totals_by_currency
from bot.services.wallet import WalletService
from bot.timeutil import MSK
from tests.service_stack import ALICE, Stack

RU_TEXTS = ChartTexts(
    "RUB · 01.11.2026 – 30.11.2026",
    "Поступления: 45 678,90 ₽",
    "Списания (с комиссией): 5 471,28 ₽",
    "Итого: +40 207,62 ₽",
)
EN_TEXTS = ChartTexts(
    "RUB · 01.11.2026 – 30.11.2026", "Incoming: RUB 45,678.90", "Outgoing (with commission): RUB 5,471.28", "Net: +…"
)


def telegram_takes_photo(data: bytes) -> tuple[int, int]:
    """What the Bot API asks of a photo: an image it can read, at most 10 MB, width + height at most 10000,
    sides at most 20 : 1. Returns the size."""
    width, height = png_size(data)
    assert (width, height) != (0, 0), "not a PNG"
    assert len(data) <= 10 * 1024 * 1024 and width + height <= 10_000 and max(width, height) <= 20 * min(width, height)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()  # a whole, uncorrupted PNG
    return width, height


def payment(
    day: int,
    kind: str,
    amount: str,
    currency: str = "RUB",
    status: str = "SUCCESS",
    commission: str | None = None,
) -> Payment:
    money = Money(Decimal(amount), currency)
    fee = None if commission is None else Money(Decimal(commission), currency)
    total = None if fee is None else Money(money.amount + fee.amount, currency)
    return Payment(
        txn_id=day * 100 + len(amount),
        person_id=None,
        date=datetime(2026, 11, day, 23, 30, tzinfo=MSK),
        status=status,
        type=kind,
        status_text=None,
        trm_txn_id=None,
        account=None,
        sum=money,
        commission=fee,
        total=total,
        provider_name=None,
        comment=None,
        error_code=None,
        error=None,
    )


def month_buckets(days: int = 30, *, peak: str = "2780.46") -> list[Bucket]:
    first = date(2026, 11, 1)
    buckets = [Bucket(first + timedelta(days=i), Decimal(i * 37 % 900), Decimal(i * 53 % 700)) for i in range(days)]
    buckets[days // 2] = Bucket(buckets[days // 2].start, Decimal(peak), Decimal(0))
    return buckets


def test_daily_buckets_sum_exactly_and_skip_other_currencies_and_failures() -> None:
    payments = [
        payment(2, "IN", "100.10"),
        payment(2, "IN", "0.20"),
        payment(2, "OUT", "50"),
        payment(3, "OUT", "7.77"),
        payment(3, "IN", "999", currency="USD"),
        payment(4, "IN", "5", status="ERROR"),
    ]
    start, end = datetime(2026, 11, 1, tzinfo=MSK), datetime(2026, 11, 5, 12, tzinfo=MSK)
    buckets = bucket_payments(payments, start, end, "RUB")
    assert [b.start.day for b in buckets] == [1, 2, 3, 4, 5]
    assert buckets[1] == Bucket(buckets[1].start, Decimal("100.30"), Decimal("50"))
    assert buckets[2].outgoing == Decimal("7.77") and buckets[2].incoming == 0 and buckets[3].incoming == 0
    assert main_currency(payments) == "RUB" and main_currency(payments[4:5]) == "USD"


def test_outgoing_counts_the_commission_as_qiwis_totals_do() -> None:
    payments = [payment(2, "OUT", "1000", commission="25"), payment(2, "IN", "300", commission="3")]
    start, end = datetime(2026, 11, 1, tzinfo=MSK), datetime(2026, 11, 3, tzinfo=MSK)
    figures = chart_figures(bucket_payments(payments, start, end, "RUB"), "RUB", weekly=False, language="en")
    assert figures.outgoing_total == Decimal("1025") and figures.incoming_total == Decimal("300")
    assert figures.net == Decimal("-725") and figures.peak == Decimal("1025")


def test_long_periods_are_drawn_per_week() -> None:
    start, end = datetime(2026, 8, 1, tzinfo=MSK), datetime(2026, 10, 30, tzinfo=MSK)
    buckets = bucket_payments([], start, end, "RUB")
    assert 13 <= len(buckets) <= 14 and all(b.start.weekday() == 0 for b in buckets)


@pytest.mark.parametrize(
    ("peak", "axis"),
    [
        ("1000", "1200"),
        ("2780.46", "3000"),
        ("5000", "6000"),
        ("0.01", "0.02"),
        ("99999", "120000"),
        ("999.99", "1200"),
        ("1000.01", "1200"),
        ("1", "1.2"),
        ("0.5", "0.6"),
        ("40", "50"),
        ("123456789.12", "150000000"),
    ],
)
def test_the_axis_reaches_above_the_peak_on_round_ticks(peak: str, axis: str) -> None:
    value = Decimal(peak)
    step, axis_max = axis_scale(value)
    assert axis_max == Decimal(axis)
    assert axis_max > value  # above the tallest bar, never at or below it
    assert axis_max - step <= value * Decimal("1.04")  # and no taller than one step needs
    assert axis_max % step == 0 and 2 <= axis_max / step <= MAX_TICKS
    assert step >= Decimal("0.01")  # never finer than a kopeck
    mantissa = step.scaleb(-step.adjusted()).normalize()
    assert mantissa in {Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)}


def test_the_figures_are_what_the_drawing_shows() -> None:
    buckets = month_buckets()
    figures = chart_figures(buckets, "RUB", weekly=False, language="ru")
    assert figures.peak == Decimal("2780.46") and figures.axis_max == Decimal(3000) and figures.step == 500
    assert figures.ticks == tuple(Decimal(500 * i) for i in range(7))
    assert figures.tick_labels[-1] == "3\xa0000"  # Russian grouping
    assert chart_figures(buckets, "RUB", weekly=False, language="en").tick_labels[-1] == "3,000"
    assert figures.incoming == tuple(b.incoming for b in buckets)
    assert figures.incoming_total == sum((b.incoming for b in buckets), Decimal(0))
    assert chart_figures([], "RUB", weekly=False, language="en").axis_max == 1


@pytest.mark.parametrize("days", [1, 7, 14, 28, 30, 31, 45])
def test_date_labels_never_collide(days: int) -> None:
    figures = chart_figures(month_buckets(days), "RUB", weekly=False, language="ru")
    drawn = draw_chart(figures, RU_TEXTS)
    spans = drawn.x_label_spans
    assert len(spans) == len(drawn.x_labels) >= 1
    assert all(left >= 0 and right <= drawn.width for left, right in spans)
    for (_, right), (left, _) in itertools.pairwise(spans):
        assert right + chart.LABEL_GAP / 2 <= left, spans
    every = drawn.x_labels[1][0] - drawn.x_labels[0][0] if len(drawn.x_labels) > 1 else 1
    assert every <= 4 or days > 31  # a month still gets a label at least every fourth day
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT)


def test_weekly_labels_never_collide() -> None:
    start, end = datetime(2026, 8, 1, tzinfo=MSK), datetime(2026, 10, 30, tzinfo=MSK)
    buckets = [Bucket(b.start, Decimal(5000), Decimal(4000)) for b in bucket_payments([], start, end, "RUB")]
    drawn = draw_chart(chart_figures(buckets, "RUB", weekly=True, language="en"), EN_TEXTS)
    for (_, right), (left, _) in zip(drawn.x_label_spans, drawn.x_label_spans[1:], strict=False):
        assert right < left


def test_the_png_is_one_telegram_takes_in_both_languages_without_missing_glyphs() -> None:
    figures = chart_figures(month_buckets(), "RUB", weekly=False, language="ru")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font": make that fail
        for texts in (RU_TEXTS, EN_TEXTS):
            drawn = draw_chart(figures, texts)
            assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT)
            assert len(drawn.png) < 200_000
    empty = draw_chart(chart_figures([], "RUB", weekly=False, language="en"), EN_TEXTS, width=800, height=600)
    assert telegram_takes_photo(empty.png) == (800, 600)


def test_the_example_in_the_docs_is_a_small_png() -> None:
    example = PROJECT_ROOT / "docs" / "chart-example.png"
    data = example.read_bytes()
    assert telegram_takes_photo(data) == (chart.WIDTH, chart.HEIGHT) and len(data) < 100_000


def test_importing_the_bot_does_not_load_matplotlib() -> None:
    code = (
        "import sys, bot.dispatcher, bot.handlers, bot.services.chart, bot.services.bundle;"
        "assert 'matplotlib' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(PROJECT_ROOT), timeout=60)


def gone(pid: int) -> bool:
    """Exited and reaped: a zombie still has its /proc entry."""
    return not Path(f"/proc/{pid}").exists()


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    return int(next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1])


async def eventually(condition: Callable[[], bool], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def a_month() -> ChartFigures:
    return chart_figures(month_buckets(), "RUB", weekly=False, language="en")


async def test_the_renderer_draws_in_a_worker_process_while_the_loop_keeps_running() -> None:
    renderer = ChartRenderer()
    beats = 0

    async def heartbeat() -> None:
        nonlocal beats
        while True:
            await asyncio.sleep(0.005)
            beats += 1

    beating = asyncio.create_task(heartbeat())
    try:
        drawn = await asyncio.wait_for(renderer.render(a_month(), EN_TEXTS), 60)
        pid = renderer.worker_pid
        assert pid is not None and pid != os.getpid() and parent_of(pid) == os.getpid()
    finally:
        beating.cancel()
        renderer.close()
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT)
    assert len(drawn.x_labels) == len(drawn.x_label_spans) >= 5
    assert all(type(edge) is float for span in drawn.x_label_spans for edge in span)  # numpy's stay there
    assert beats >= 10  # the first chart starts the worker: the loop ran all along


def test_a_bot_that_draws_does_not_load_matplotlib_itself() -> None:
    code = (
        "import asyncio, sys\n"
        "from datetime import date\n"
        "from decimal import Decimal\n"
        "from bot.services.chart import Bucket, ChartRenderer, ChartTexts, chart_figures\n"
        "buckets = [Bucket(date(2026, 11, day), Decimal(day), Decimal(1)) for day in range(1, 31)]\n"
        "figures = chart_figures(buckets, 'RUB', weekly=False, language='en')\n"
        "async def main():\n"
        "    renderer = ChartRenderer()\n"
        "    try:\n"
        "        drawn = await renderer.render(figures, ChartTexts('RUB', 'In', 'Out', 'Net'))\n"
        "    finally:\n"
        "        renderer.close()\n"
        "    assert drawn.png.startswith(b'\\x89PNG')\n"
        "asyncio.run(main())\n"
        "assert 'matplotlib' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(PROJECT_ROOT), timeout=120)


async def test_the_in_thread_renderer_draws_off_the_loop_through_render_png() -> None:
    renderer = ChartRenderer(isolated=False)
    release = threading.Event()
    drawn_in: list[str] = []
    real = chart.render_png

    def slow_render(*args: object, **kwargs: object) -> RenderedChart:
        drawn_in.append(threading.current_thread().name)
        # Blocks until the event loop has done other work: on the loop itself this would deadlock.
        assert release.wait(5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    chart.render_png = slow_render  # type: ignore[assignment]
    try:
        renderer.warm()  # nothing to warm in-thread
        job = asyncio.create_task(renderer.render(a_month(), EN_TEXTS))
        await asyncio.sleep(0.05)
        assert not job.done()
        release.set()  # only reachable because the loop is free while the chart is drawn
        drawn = await asyncio.wait_for(job, 10)
    finally:
        chart.render_png = real  # type: ignore[assignment]
        renderer.close()
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT) and drawn_in[0].startswith("chart")
    assert renderer.worker_pid is None


async def test_warm_starts_the_worker_and_the_chart_is_drawn_in_it() -> None:
    renderer = ChartRenderer()
    try:
        renderer.warm()  # returns at once; the worker imports matplotlib meanwhile
        await eventually(lambda: renderer.worker_pid is not None)
        warmed = renderer.worker_pid
        renderer.warm()  # already warm: the same worker, no other
        assert renderer.worker_pid == warmed
        drawn = await renderer.render(a_month(), EN_TEXTS)
        assert renderer.worker_pid == warmed
    finally:
        renderer.close()
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT)


async def test_an_idle_worker_exits_and_the_next_chart_starts_another() -> None:
    renderer = ChartRenderer(idle_shutdown=0.3)
    try:
        renderer.warm()
        # Its first chart takes longer than the idle time (the worker starts): the timer waits for it.
        await renderer.render(a_month(), EN_TEXTS)
        first = renderer.worker_pid
        assert first is not None
        await eventually(lambda: gone(first))
        assert renderer.worker_pid is None
        drawn = await renderer.render(a_month(), EN_TEXTS)
        second = renderer.worker_pid
        assert second is not None and second != first
    finally:
        renderer.close()
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT) and gone(second)


async def test_ctrl_c_leaves_the_worker_to_the_bot() -> None:
    renderer = ChartRenderer()
    try:
        await renderer.render(a_month(), EN_TEXTS)
        pid = renderer.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGINT)  # what Ctrl-C in a terminal sends the bot and its worker alike
        await asyncio.sleep(0.2)
        drawn = await renderer.render(a_month(), EN_TEXTS)
        assert renderer.worker_pid == pid  # the same worker drew it: it ignored the signal
    finally:
        renderer.close()
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT) and gone(pid)


async def test_a_killed_worker_is_replaced_and_the_chart_still_comes_back(caplog: pytest.LogCaptureFixture) -> None:
    renderer = ChartRenderer()
    try:
        await renderer.render(a_month(), EN_TEXTS)
        killed = renderer.worker_pid
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger=chart.__name__):
            drawn = await renderer.render(a_month(), EN_TEXTS)
        assert "worker died" in caplog.text
        replacement = renderer.worker_pid
        assert replacement is not None and replacement != killed
        await eventually(lambda: gone(killed))
    finally:
        renderer.close()
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT) and gone(replacement)


async def test_a_worker_that_dies_twice_fails_the_chart_with_chart_worker_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[object] = []

    class DeadOnArrival:
        """A pool whose worker has always just died."""

        def __init__(self, **options: object) -> None:
            started.append(options)

        def submit(self, *args: object) -> Future[object]:
            raise BrokenProcessPool("a worker died")

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            pass

    monkeypatch.setattr(chart, "ProcessPoolExecutor", DeadOnArrival)
    renderer = ChartRenderer()
    try:
        with pytest.raises(ChartWorkerLost) as failed:
            await renderer.render(a_month(), EN_TEXTS)
    finally:
        renderer.close()
    assert len(started) == 2  # the chart was tried once more, in a new pool
    assert isinstance(failed.value, Exception) and isinstance(failed.value.__cause__, BrokenProcessPool)


async def test_close_waits_for_the_worker_to_exit() -> None:
    renderer = ChartRenderer()
    await renderer.render(a_month(), EN_TEXTS)
    pid = renderer.worker_pid
    assert pid is not None and not gone(pid)
    renderer.close()
    assert gone(pid) and renderer.worker_pid is None
    with pytest.raises(RuntimeError):
        await renderer.render(a_month(), EN_TEXTS)


async def test_the_chart_agrees_with_qiwis_totals(stack: Stack) -> None:
    """Last month of the demo wallet, plus a payment with commission: the chart's sums are /stats' sums."""
    await stack.login()
    now = stack.emulator.clock.now()
    period = stats_period("prev_month", now)
    wallet = stack.emulator.wallet(MAIN_WALLET)
    wallet.history.append(
        HistoryRow(
            txn_id=17_000_000_001,
            person_id=int(MAIN_WALLET),
            date=period.start + timedelta(days=3, hours=10),
            type="OUT",
            status="SUCCESS",
            amount=Decimal("1000.00"),
            currency="RUB",
            account="+79002223344",
            source="QW_RUB",
            commission=Decimal("25.00"),
        )
    )
    service = WalletService(stack.sessions)
    totals = totals_by_currency(await service.totals(ALICE, period.start, period.end))
    rub = next(row for row in totals if row.currency == "RUB")
    renderer = ChartRenderer()
    try:
        drawn = await stats_chart(
            await service.payments(ALICE, period.start, period.end),
            period.start,
            period.end,
            renderer,
            ChartWords("{currency}", "In: {amount}", "Out: {amount}", "Net: {amount}", "en"),
        )
    finally:
        renderer.close()
    assert drawn is not None and drawn.currency == "RUB"
    figures = drawn.figures
    assert (figures.incoming_total, figures.outgoing_total, figures.net) == (rub.incoming, rub.outgoing, rub.net)
    listed = sum(
        (
            p.amount
            for p in wallet.history
            if p.type != "IN" and p.status == "SUCCESS" and p.currency == "RUB" and period.start <= p.date <= period.end
        ),
        Decimal(0),
    )
    assert figures.outgoing_total > listed  # the commission is in, as the totals text says
    assert telegram_takes_photo(drawn.png) == (chart.WIDTH, chart.HEIGHT)
