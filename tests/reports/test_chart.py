"""The /stats chart: exact per-day / per-week sums, and a PNG of the promised size drawn off the loop."""

from __future__ import annotations

import asyncio
import struct
import threading
from datetime import datetime
from decimal import Decimal

from bot.qiwi.models import Money, Payment
from bot.services import chart
from bot.services.chart import Bucket, ChartRenderer, bucket_payments, main_currency, render_png
from bot.timeutil import MSK


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def payment(day: int, kind: str, amount: str, currency: str = "RUB", status: str = "SUCCESS") -> Payment:
    return Payment(
        txn_id=day * 100 + len(amount),
        person_id=None,
        date=datetime(2026, 11, day, 23, 30, tzinfo=MSK),
        status=status,
        type=kind,
        status_text=None,
        trm_txn_id=None,
        account=None,
        sum=Money(Decimal(amount), currency),
        commission=None,
        total=None,
        provider_name=None,
        comment=None,
        error_code=None,
        error=None,
    )


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


def test_long_periods_are_drawn_per_week() -> None:
    start, end = datetime(2026, 8, 1, tzinfo=MSK), datetime(2026, 10, 30, tzinfo=MSK)
    buckets = bucket_payments([], start, end, "RUB")
    assert 13 <= len(buckets) <= 14 and all(b.start.weekday() == 0 for b in buckets)


def test_the_png_has_the_promised_size() -> None:
    days = [datetime(2026, 11, d, tzinfo=MSK).date() for d in range(1, 31)]
    buckets = [Bucket(day, Decimal(day.day * 100), Decimal(day.day * 70)) for day in days]
    data = render_png(buckets, title="RUB · 01.11.2026 – 30.11.2026", in_label="Поступления", out_label="Списания")
    assert png_size(data) == (1000, 600)
    empty = render_png([], title="RUB", in_label="In", out_label="Out", width=800, height=480)
    assert png_size(empty) == (800, 480)


async def test_the_renderer_draws_in_a_worker_thread_while_the_loop_keeps_running() -> None:
    renderer = ChartRenderer()
    release = threading.Event()
    drawn_in: list[str] = []
    real = chart.render_png

    def slow_render(*args: object, **kwargs: object) -> bytes:
        drawn_in.append(threading.current_thread().name)
        # Blocks until the event loop has done other work: on the loop itself this would deadlock.
        assert release.wait(5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    chart.render_png = slow_render  # type: ignore[assignment]
    try:
        job = asyncio.create_task(renderer.render([], title="RUB", in_label="In", out_label="Out"))
        await asyncio.sleep(0.05)
        assert not job.done()
        release.set()  # only reachable because the loop is free while the chart is drawn
        data = await asyncio.wait_for(job, 5)
    finally:
        chart.render_png = real  # type: ignore[assignment]
        renderer.close()
    assert png_size(data) == (1000, 600) and drawn_in[0].startswith("chart")
