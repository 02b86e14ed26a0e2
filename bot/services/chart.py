"""The /stats picture: money in and out per day (per week for long periods), side by side, with the period's
totals and net, as a PNG a phone shows legibly in Russian and English.

Drawn with matplotlib's Agg backend, used through its object API (no pyplot, no global state). matplotlib
brings tick and text layout that is measured, not guessed, and its own DejaVu Sans (Cyrillic included), so
the labels are right whatever fonts the host has. It is imported on the first chart, inside the worker
thread (`ChartRenderer`): the bot's start-up and a bot that never draws do not pay for it, and drawing never
runs on the event loop that answers everyone's commands. Measured on this project's 2-core machine with
`python -m bot.services.chart --measure` (a 30-day month, Russian): the first chart ~0.5 s (the import),
then ~85 ms each; memory +49 MB after the first chart, +59 MB after a hundred (the Pillow drawing this
replaced: +6.5 MB, 8 ms, but with its axis, label and font faults). matplotlib's Python layout holds the
GIL, so while a chart is drawn the event loop lags by up to ~70 ms (p99 ~23 ms).

The numbers are decided here, before any drawing (`chart_figures`), and handed back with the picture, so
tests read the axis, ticks and bar values instead of pixels:
- incoming counts `sum`, outgoing counts `total` (sum + commission), as QIWI's totals do, so the chart
  agrees with the /stats text;
- the axis ends on a round tick strictly above the tallest bar (steps of 1, 2, 2.5 or 5 × 10ⁿ, at most six
  of them, never finer than a kopeck);
- date labels are thinned by their measured width, so they never touch.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import partial
from typing import TYPE_CHECKING

from babel.numbers import format_decimal

from bot.money import BABEL_LOCALES
from bot.timeutil import MSK

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from bot.qiwi.models import Payment

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 1000, 800  # tall enough on a phone held upright; Telegram shows it unscaled up to 1280 px
DPI = 100
DAILY_UP_TO_DAYS = 45  # longer periods get one bar pair per week, or the bars become hairlines on a phone
IN_COLOUR = "#2ea043"
OUT_COLOUR = "#d64541"
INK = "#282828"
MUTED = "#6b6b6b"
GRID = "#e1e1e1"
# Font sizes in points at DPI 100 (1 pt = 1.39 px); on a phone the picture is shown about a third of its
# size, so these are the smallest that stay readable there.
TITLE_PT, TEXT_PT, TICK_PT = 24, 20, 18
MAX_TICKS = 6
# Steps the y axis may use, times a power of ten.
_STEP_MULTIPLES = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5))
_KOPECK = Decimal("0.01")
# Headroom: the tallest bar reaches at most this share of the axis.
_HEADROOM = Decimal("1.04")
# Pixels kept free between two date labels.
LABEL_GAP = 12


@dataclass(frozen=True, slots=True)
class Bucket:
    start: date
    incoming: Decimal
    outgoing: Decimal


def is_weekly(start: datetime, end: datetime) -> bool:
    return (end.astimezone(MSK).date() - start.astimezone(MSK).date()).days + 1 > DAILY_UP_TO_DAYS


def payment_amount(payment: Payment) -> tuple[str, Decimal] | None:
    """(currency, amount) as QIWI's totals count it: incoming by its sum, outgoing by its total (the sum and
    the commission); None for a payment without money."""
    if payment.type == "IN":
        money = payment.sum or payment.total
        return None if money is None else (money.currency, abs(money.amount))
    if payment.total is not None:
        return payment.total.currency, abs(payment.total.amount)
    if payment.sum is None:
        return None
    amount = abs(payment.sum.amount)
    if payment.commission is not None and payment.commission.currency == payment.sum.currency:
        amount += abs(payment.commission.amount)
    return payment.sum.currency, amount


def bucket_payments(payments: Iterable[Payment], start: datetime, end: datetime, currency: str) -> list[Bucket]:
    """Successful payments in `currency` summed per day (or per week from Monday), every bucket present."""
    first, last = start.astimezone(MSK).date(), end.astimezone(MSK).date()
    weekly = is_weekly(start, end)
    if weekly:
        first -= timedelta(days=first.weekday())
    step = timedelta(days=7 if weekly else 1)
    keys: list[date] = []
    day = first
    while day <= last:
        keys.append(day)
        day += step
    incoming = dict.fromkeys(keys, Decimal(0))
    outgoing = dict.fromkeys(keys, Decimal(0))
    for payment in payments:
        counted = payment_amount(payment)
        if counted is None or counted[0] != currency or payment.status not in (None, "SUCCESS"):
            continue
        if not start <= payment.date <= end:
            continue
        when = payment.date.astimezone(MSK).date()
        key = when - timedelta(days=when.weekday()) if weekly else when
        if key not in incoming:
            continue
        target = incoming if payment.type == "IN" else outgoing
        target[key] += counted[1]
    return [Bucket(k, incoming[k], outgoing[k]) for k in keys]


def main_currency(payments: Iterable[Payment]) -> str:
    """RUB if it appears (it is what the family spends), else the currency with the most payments."""
    counts: dict[str, int] = {}
    for payment in payments:
        money = payment.sum or payment.total
        if money is not None:
            counts[money.currency] = counts.get(money.currency, 0) + 1
    if not counts or "RUB" in counts:
        return "RUB"
    return max(counts, key=lambda code: (counts[code], code))


def axis_scale(peak: Decimal) -> tuple[Decimal, Decimal]:
    """(step, axis max): the finest round step with at most MAX_TICKS steps up to an axis max strictly
    above `peak` (with a little headroom). A peak of 0 gets the axis 0..1."""
    if peak <= 0:
        return Decimal(1), Decimal(1)
    target = peak * _HEADROOM
    magnitude = Decimal(10) ** (target.adjusted() - 2)
    while True:
        for multiple in _STEP_MULTIPLES:
            step = multiple * magnitude
            if step < _KOPECK:
                continue
            steps = (target / step).to_integral_value(rounding=ROUND_CEILING)
            if steps * step <= peak:
                steps += 1
            if steps <= MAX_TICKS:
                return step.normalize(), (steps * step).normalize()
        magnitude *= 10


def number_text(value: Decimal, language: str) -> str:
    """`2 500` / `2,500`, `0.05` / `0,05`: a tick value in the member's language, no needless decimals."""
    return format_decimal(value, format="#,##0.##", locale=BABEL_LOCALES.get(language, "ru_RU"))


@dataclass(frozen=True, slots=True)
class ChartFigures:
    """Every number the chart shows, decided before drawing."""

    currency: str
    weekly: bool
    buckets: tuple[Bucket, ...]
    step: Decimal
    axis_max: Decimal
    ticks: tuple[Decimal, ...]
    tick_labels: tuple[str, ...]
    # Every bucket's date label; the drawing shows as many of them as fit (`RenderedChart.x_labels`).
    date_labels: tuple[str, ...]

    @property
    def incoming(self) -> tuple[Decimal, ...]:
        return tuple(b.incoming for b in self.buckets)

    @property
    def outgoing(self) -> tuple[Decimal, ...]:
        return tuple(b.outgoing for b in self.buckets)

    @property
    def incoming_total(self) -> Decimal:
        return sum(self.incoming, Decimal(0))

    @property
    def outgoing_total(self) -> Decimal:
        return sum(self.outgoing, Decimal(0))

    @property
    def net(self) -> Decimal:
        return self.incoming_total - self.outgoing_total

    @property
    def peak(self) -> Decimal:
        return max((*self.incoming, *self.outgoing, Decimal(0)))


def chart_figures(buckets: Sequence[Bucket], currency: str, *, weekly: bool, language: str) -> ChartFigures:
    figures = tuple(buckets)
    peak = max([b.incoming for b in figures] + [b.outgoing for b in figures] + [Decimal(0)])
    step, axis_max = axis_scale(peak)
    count = int(axis_max / step)
    ticks = tuple((step * i).normalize() for i in range(count + 1))
    return ChartFigures(
        currency=currency,
        weekly=weekly,
        buckets=figures,
        step=step,
        axis_max=axis_max,
        ticks=ticks,
        tick_labels=tuple(number_text(t, language) for t in ticks),
        date_labels=tuple(b.start.strftime("%d.%m") for b in figures),
    )


@dataclass(frozen=True, slots=True)
class ChartTexts:
    """The words on the picture, already translated: the title and one line per legend entry."""

    title: str
    incoming: str
    outgoing: str
    net: str


@dataclass(frozen=True, slots=True)
class RenderedChart:
    png: bytes
    width: int
    height: int
    # The date labels drawn, by bucket index, and where each landed on the picture (left, right) in pixels.
    x_labels: tuple[tuple[int, str], ...]
    x_label_spans: tuple[tuple[float, float], ...]


def draw_chart(figures: ChartFigures, texts: ChartTexts, *, width: int = WIDTH, height: int = HEIGHT) -> RenderedChart:
    """CPU-bound and imports matplotlib: call it through `ChartRenderer`, not on the event loop."""
    from matplotlib.patches import Patch

    figure, canvas = _canvas(width, height)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]

    # The header: title, then the legend with the period's totals, then the net, all left-aligned.
    pad = 24
    y: float = height - pad
    title = figure.text(pad / width, y / height, texts.title, fontsize=TITLE_PT, color=INK, va="top", weight="bold")
    _fit_width(title, renderer, width - 2 * pad)
    y -= title.get_window_extent(renderer).height + 14
    handles = [Patch(color=IN_COLOUR, label=texts.incoming), Patch(color=OUT_COLOUR, label=texts.outgoing)]
    legend = figure.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(pad / width - 0.004, y / height),
        frameon=False,
        fontsize=TEXT_PT,
        handlelength=1.0,
        handleheight=1.0,
        borderaxespad=0,
        borderpad=0,
        labelspacing=0.35,
        labelcolor=INK,
    )
    y -= legend.get_window_extent(renderer).height + 10
    net = figure.text(pad / width, y / height, texts.net, fontsize=TEXT_PT, color=INK, va="top", weight="bold")
    header_bottom = y - net.get_window_extent(renderer).height - 28

    # The plot: its left edge makes room for the widest tick label.
    probe = figure.text(0, 0, max(figures.tick_labels, key=len), fontsize=TICK_PT)
    tick_width = probe.get_window_extent(renderer).width
    probe.remove()
    left, right, bottom = pad + tick_width + 14, width - pad, 64
    axes = figure.add_axes(((left / width), bottom / height, (right - left) / width, (header_bottom - bottom) / height))
    count = max(1, len(figures.buckets))
    slot = (right - left) / count
    bar = 0.4
    positions = list(range(len(figures.buckets)))
    # Only the drawing takes floats (matplotlib's coordinates); the figures and every label stay Decimal.
    axes.bar([p - bar / 2 for p in positions], [float(v) for v in figures.incoming], bar, color=IN_COLOUR)
    axes.bar([p + bar / 2 for p in positions], [float(v) for v in figures.outgoing], bar, color=OUT_COLOUR)
    axes.set_xlim(-0.6, count - 0.4)
    axes.set_ylim(0, float(figures.axis_max))
    axes.set_yticks([float(t) for t in figures.ticks], list(figures.tick_labels), fontsize=TICK_PT, color=INK)
    axes.grid(axis="y", color=GRID, linewidth=1.5)
    axes.set_axisbelow(True)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(MUTED)
    axes.tick_params(axis="y", length=0, pad=10)
    axes.tick_params(axis="x", length=5, color=MUTED, pad=8)

    # Date labels: as many as fit, every n-th, chosen by the measured width of the widest one.
    probe = figure.text(0, 0, max(figures.date_labels, key=len, default="00.00"), fontsize=TICK_PT)
    label_width = probe.get_window_extent(renderer).width
    probe.remove()
    every = 1
    while every * slot < label_width + LABEL_GAP:
        every += 1
    shown = tuple((i, figures.date_labels[i]) for i in range(0, len(figures.date_labels), every))
    axes.set_xticks([i for i, _ in shown], [text for _, text in shown], fontsize=TICK_PT, color=INK)

    canvas.draw()  # type: ignore[no-untyped-call]
    spans = tuple(
        (box.x0, box.x1) for box in (t.get_window_extent(renderer) for t in axes.get_xticklabels()) if box.width > 0
    )
    output = io.BytesIO()
    # zlib at its fastest: flat colours compress well anyway, and the CPU goes to the next member's chart.
    canvas.print_png(output, pil_kwargs={"compress_level": 1})  # type: ignore[no-untyped-call]
    figure.clear()
    return RenderedChart(output.getvalue(), width, height, shown, spans)


_canvases = threading.local()


def _canvas(width: int, height: int) -> tuple[Figure, FigureCanvasAgg]:
    """The worker thread's one figure and canvas of this size, cleared for the next chart.

    A new Figure per chart leaves its Agg buffer (width × height × 4 bytes) in reference cycles until the
    collector's next full pass, and memory climbed ~50 MB over twenty charts; one reused canvas stays flat.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    cache: dict[tuple[int, int], tuple[Figure, FigureCanvasAgg]] = getattr(_canvases, "by_size", None) or {}
    _canvases.by_size = cache
    if (width, height) not in cache:
        figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
        cache[(width, height)] = figure, FigureCanvasAgg(figure)
    figure, canvas = cache[(width, height)]
    figure.clear()
    return figure, canvas


def _fit_width(text: Text, renderer: RendererAgg, limit: float) -> None:
    """Shrinks a title that would run past the right edge (long periods, long Russian words), down to the
    size of the other text; past that it is cut with an ellipsis rather than cut off by the edge."""
    size = TITLE_PT
    while size > TEXT_PT and text.get_window_extent(renderer).width > limit:
        size -= 1
        text.set_fontsize(size)
    words = text.get_text()
    while len(words) > 1 and text.get_window_extent(renderer).width > limit:
        words = words[:-1]
        text.set_text(words.rstrip() + "…")


def render_png(figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
    """What the worker thread runs (a seam tests replace to hold the drawing)."""
    return draw_chart(figures, texts)


class ChartRenderer:
    """Draws in one worker thread: charts queue behind each other instead of eating both CPU cores."""

    def __init__(self, workers: int = 1) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chart")

    async def render(self, figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
        loop = asyncio.get_running_loop()
        # Looked up at call time, so a test can hold `render_png`.
        return await loop.run_in_executor(self._executor, partial(_render_in_worker, figures, texts))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _render_in_worker(figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
    return render_png(figures, texts)


@dataclass(frozen=True, slots=True)
class StatsChart:
    png: bytes
    currency: str
    weekly: bool
    figures: ChartFigures


@dataclass(frozen=True, slots=True)
class ChartWords:
    """Translated words the chart needs; `{amount}` in each legend line takes the period's figure."""

    title: str
    incoming: str
    outgoing: str
    net: str
    language: str


async def stats_chart(
    payments: list[Payment], start: datetime, end: datetime, renderer: ChartRenderer, words: ChartWords
) -> StatsChart | None:
    """The period's payments drawn per day or week, in the currency that moved most; None when nothing moved."""
    from bot.money import format_money
    from bot.services.history import signed_money

    currency = main_currency(payments)
    weekly = is_weekly(start, end)
    buckets = bucket_payments(payments, start, end, currency)
    if not any(b.incoming or b.outgoing for b in buckets):
        return None
    figures = chart_figures(buckets, currency, weekly=weekly, language=words.language)
    texts = ChartTexts(
        title=words.title.format(currency=currency),
        incoming=words.incoming.format(amount=format_money(figures.incoming_total, currency, words.language)),
        outgoing=words.outgoing.format(amount=format_money(figures.outgoing_total, currency, words.language)),
        net=words.net.format(amount=signed_money(figures.net, currency, words.language)),
    )
    drawn = await renderer.render(figures, texts)
    return StatsChart(drawn.png, currency, weekly, figures)


def _example_month() -> tuple[list[Bucket], datetime, datetime]:
    """A family's November, deterministic: salary twice, transfers in, daily spending, a few big bills."""
    import random

    rng = random.Random(2026)
    start, end = datetime(2026, 11, 1, tzinfo=MSK), datetime(2026, 11, 30, 23, 59, 59, tzinfo=MSK)
    buckets = []
    for offset in range(30):
        day = start.date() + timedelta(days=offset)
        incoming = Decimal(0)
        if day.day in (5, 20):
            incoming += Decimal("27800.46") if day.day == 5 else Decimal(15000)
        if rng.random() < 0.25:
            incoming += Decimal(rng.choice((500, 1000, 1500, 3000)))
        outgoing = Decimal(rng.randint(0, 180000)) / 100 if rng.random() < 0.8 else Decimal(0)
        if day.day in (10, 25):
            outgoing += Decimal("7350.00")
        buckets.append(Bucket(day, incoming, outgoing))
    return buckets, start, end


async def _draw_example(language: str) -> RenderedChart:
    from bot.i18n import CatalogI18n
    from bot.money import format_money
    from bot.services.history import signed_money
    from bot.timeutil import show_span

    tr = CatalogI18n().translator(language)
    buckets, start, end = _example_month()
    figures = chart_figures(buckets, "RUB", weekly=False, language=language)
    texts = ChartTexts(
        title="RUB · " + show_span(start, end),
        incoming=tr("chart.legend.incoming", amount=format_money(figures.incoming_total, "RUB", language)),
        outgoing=tr("chart.legend.outgoing", amount=format_money(figures.outgoing_total, "RUB", language)),
        net=tr("chart.legend.net", amount=signed_money(figures.net, "RUB", language)),
    )
    renderer = ChartRenderer()
    try:
        return await renderer.render(figures, texts)
    finally:
        renderer.close()


def _write_example(path: str, language: str = "ru") -> None:  # pragma: no cover - a tool, run by hand
    """`python -m bot.services.chart --example docs/chart-example.png`: the picture in the docs, remade.

    Written with zlib at its best (the bot itself saves at its fastest)."""
    from PIL import Image

    drawn = asyncio.run(_draw_example(language))
    with Image.open(io.BytesIO(drawn.png)) as image:
        image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(path, optimize=True)


def _measure(count: int = 100) -> None:  # pragma: no cover - a tool, run by hand
    """`python -m bot.services.chart --measure`: memory and time per chart, printed."""
    import resource
    import time

    from bot.services.history import month_period

    def rss_mb() -> float:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    period = month_period("month", 2026 * 12 + 10, datetime(2026, 12, 15, tzinfo=MSK))
    days = [period.start.date() + timedelta(days=i) for i in range(period.days)]
    buckets = [Bucket(d, Decimal(d.day * 97 % 3000) + Decimal("0.46"), Decimal(d.day * 53 % 2200)) for d in days]
    figures = chart_figures(buckets, "RUB", weekly=False, language="ru")
    texts = ChartTexts(
        "RUB · 01.11.2026 – 30.11.2026",
        "Поступления: 45 678,90 ₽",
        "Списания (с комиссией): 34 567,89 ₽",
        "Итого: +11 111,01 ₽",
    )
    before = rss_mb()
    started = time.perf_counter()
    first = draw_chart(figures, texts)
    first_seconds = time.perf_counter() - started
    loaded = rss_mb()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        draw_chart(figures, texts)
        times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"RSS before the first chart {before:.1f} MB, after it {loaded:.1f} MB (+{loaded - before:.1f} MB), "
        f"after {count} more {rss_mb():.1f} MB"
    )
    print(
        f"first chart (imports matplotlib) {first_seconds * 1000:.0f} ms; then median "
        f"{times[len(times) // 2] * 1000:.0f} ms, slowest {times[-1] * 1000:.0f} ms; PNG {len(first.png) // 1024} KB"
    )


if __name__ == "__main__":  # pragma: no cover
    import sys

    if "--measure" in sys.argv:
        _measure()
    if "--example" in sys.argv:
        _write_example(sys.argv[sys.argv.index("--example") + 1])
