"""The /stats picture: money in and out per day (per week for long periods), side by side, with the period's
totals and net, as a PNG a phone shows legibly in Russian and English.

Drawn with matplotlib's Agg backend, used through its object API (no pyplot, no global state). matplotlib
brings tick and text layout that is measured, not guessed, and its own DejaVu Sans (Cyrillic included), so
the labels are right whatever fonts the host has. The plot under the header is a few artists placed in
pixels rather than an Axes, and the PNG is encoded from the buffer already drawn (`draw_chart`).

It is drawn in a worker process (`ChartRenderer`), not a thread: matplotlib's layout is Python holding the
GIL, so a drawing thread takes the event loop's core, and every member's command waits behind the charts.
The process is spawned on the first chart (or `warm`) and ends after a few idle minutes, so the bot's
start-up and a bot that never draws do not import matplotlib, and the bot's own process never does.
Measured on this project's 2-core machine with `python -m bot.services.chart --measure` (a 30-day month,
Russian): ~30-35 ms a chart (the Axes and a second drawing for print_png took ~95 ms); the first one in a
new worker ~0.6 s (spawning it and importing matplotlib), the worker 86 MB; while a hundred charts are drawn
in it the event loop runs late by p99 ~1.5 ms, at most ~5 ms (in a thread: p99 ~7.5 ms, and before the
drawing got cheaper p99 ~33 ms, up to ~100 ms). The Pillow drawing this replaced took 8 ms and +6.5 MB, but
had axis, label and font faults.

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
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from babel.numbers import format_decimal

from bot.money import BABEL_LOCALES
from bot.timeutil import MSK

if TYPE_CHECKING:
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
    from matplotlib.collections import PolyCollection
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
BAR = 0.4  # a bar's width, in buckets
POINT = DPI / 72  # pixels
# Lines, in points: matplotlib's default axis and tick width, a heavier grid, and the ticks' length and
# their labels' distance from the axis.
AXIS_PT, GRID_PT = 0.8, 1.5
TICK_LENGTH_PT, X_LABEL_PAD_PT, Y_LABEL_PAD_PT = 5, 8, 10


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
    """CPU-bound and imports matplotlib: call it through `ChartRenderer`, not on the event loop.

    Everything below the header is drawn in pixels by a handful of artists rather than through an Axes:
    the Axes' tick objects, spines and one Rectangle per bar were most of the time, for the same pixels.
    """
    from matplotlib.collections import LineCollection
    from matplotlib.patches import Patch
    from matplotlib.transforms import Bbox, IdentityTransform
    from PIL import Image

    figure, canvas = _canvas(width, height)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    pixels = IdentityTransform()

    def text(x: float, y: float, words: str, size: float, **style: Any) -> Text:
        return figure.text(x, y, words, fontsize=size, color=INK, transform=pixels, **style)

    # The header: title, then the legend with the period's totals, then the net, all left-aligned.
    pad = 24
    y: float = height - pad
    title = text(pad, y, texts.title, TITLE_PT, va="top", weight="bold")
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
    net = text(pad, y, texts.net, TEXT_PT, va="top", weight="bold")
    top = y - net.get_window_extent(renderer).height - 28

    # The plot: its left edge makes room for the widest tick label.
    probe = text(0, 0, max(figures.tick_labels, key=len), TICK_PT)
    tick_width = probe.get_window_extent(renderer).width
    probe.remove()
    left, right, bottom = pad + tick_width + 14, width - pad, 64
    count = max(1, len(figures.buckets))
    slot = (right - left) / count
    # Only the drawing takes floats (pixels); the figures and every label stay Decimal.
    axis_max = float(figures.axis_max)

    def x_at(position: float) -> float:
        """Bucket i is centred on i; the x axis runs from -0.6 to count - 0.4."""
        return left + (position + 0.6) / (count + 0.2) * (right - left)

    def y_at(value: Decimal) -> float:
        return bottom + float(value) / axis_max * (top - bottom)

    grid = LineCollection([((left, y_at(t)), (right, y_at(t))) for t in figures.ticks], colors=GRID, zorder=0.5)
    grid.set_linewidth(GRID_PT)
    # Clipped to the plot, as an Axes clips its grid: the lines at 0 and at the top show half their width.
    grid.set_clip_box(Bbox.from_extents(left, bottom, right, top))
    for artist in (grid, *_bars(figures, x_at, y_at, bottom)):
        artist.set_transform(pixels)
        figure.add_artist(artist)
    for tick, label in zip(figures.ticks, figures.tick_labels, strict=True):
        text(left - Y_LABEL_PAD_PT * POINT, y_at(tick), label, TICK_PT, ha="right", va="center_baseline")

    # Date labels: as many as fit, every n-th, chosen by the measured width of the widest one.
    probe = text(0, 0, max(figures.date_labels, key=len, default="00.00"), TICK_PT)
    label_width = probe.get_window_extent(renderer).width
    probe.remove()
    every = 1
    while every * slot < label_width + LABEL_GAP:
        every += 1
    shown = tuple((i, figures.date_labels[i]) for i in range(0, len(figures.date_labels), every))
    labels = [
        text(x_at(i), bottom - (TICK_LENGTH_PT + X_LABEL_PAD_PT) * POINT, label, TICK_PT, ha="center", va="top")
        for i, label in shown
    ]
    ticks = LineCollection([((x_at(i), bottom), (x_at(i), bottom - TICK_LENGTH_PT * POINT)) for i, _ in shown])
    axis = LineCollection([((left, bottom), (right, bottom))], capstyle="projecting", zorder=2.5)
    for line in (ticks, axis):
        line.set(colors=MUTED, linewidth=AXIS_PT, transform=pixels)
        figure.add_artist(line)

    canvas.draw()  # type: ignore[no-untyped-call]
    # Plain floats: numpy's would make the bot import numpy to read the chart back from the worker process.
    spans = tuple(
        (float(box.x0), float(box.x1))
        for box in (label.get_window_extent(renderer) for label in labels)
        if box.width > 0
    )
    # The buffer just drawn, encoded by Pillow: matplotlib's own print_png would draw the whole figure again.
    pixels_drawn = canvas.buffer_rgba()  # type: ignore[no-untyped-call]
    image = Image.frombuffer("RGBA", canvas.get_width_height(), pixels_drawn, "raw", "RGBA", 0, 1)
    output = io.BytesIO()
    # Without the alpha (opaque everywhere), a quarter less to compress; zlib at its fastest: flat colours
    # compress well anyway, and the CPU goes to the next member's chart.
    image.convert("RGB").save(output, format="PNG", compress_level=1)
    figure.clear()
    return RenderedChart(output.getvalue(), width, height, shown, spans)


def _bars(
    figures: ChartFigures, x_at: Callable[[float], float], y_at: Callable[[Decimal], float], bottom: float
) -> list[PolyCollection]:
    """Incoming left of each bucket's centre, outgoing right of it: one artist per series."""
    from matplotlib.collections import PolyCollection

    series = []
    for values, start, colour in ((figures.incoming, -BAR, IN_COLOUR), (figures.outgoing, 0.0, OUT_COLOUR)):
        boxes = []
        for position, value in enumerate(values):
            x0, x1, y1 = x_at(position + start), x_at(position + start + BAR), y_at(value)
            boxes.append(((x0, bottom), (x0, y1), (x1, y1), (x1, bottom)))
        series.append(PolyCollection(boxes, facecolors=colour, edgecolors="none", zorder=1))
    return series


_canvases = threading.local()


def _canvas(width: int, height: int) -> tuple[Figure, FigureCanvasAgg]:
    """The worker's one figure and canvas of this size, cleared for the next chart.

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


IDLE_SHUTDOWN = 300.0  # seconds without a chart before the worker process exits and gives its memory back


class ChartWorkerLost(Exception):
    """The drawing process died, and so did the one started in its place: this chart is not drawn."""


def render_png(figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
    """What a worker runs for each chart. In-thread mode looks it up per chart: a seam tests replace to
    hold the drawing (a worker process imports its own copy, out of their reach)."""
    return draw_chart(figures, texts)


def _render_in_thread(figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
    return render_png(figures, texts)


def _render_in_process(figures: ChartFigures, texts: ChartTexts) -> tuple[int, RenderedChart]:
    return os.getpid(), render_png(figures, texts)


def _worker_started() -> None:
    # Ctrl-C signals the whole process group: the bot shuts its worker down itself, and a KeyboardInterrupt
    # here would only print a traceback from the middle of a chart.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _warm_up() -> int:
    """Imports matplotlib and draws a chart no one sees, so the first real one costs what any other does."""
    draw_chart(chart_figures([], "RUB", weekly=False, language="en"), ChartTexts("RUB", "+", "-", "="))
    return os.getpid()


class ChartRenderer:
    """Draws one chart at a time, by default in a worker process of its own.

    The process is started by the first chart or by `warm`, not with the bot, and ends after `idle_shutdown`
    seconds without a chart (the timer restarts with every chart); the next chart starts a new one. A worker
    that dies is replaced and its chart tried once more in the new one; a second death raises
    `ChartWorkerLost`. `isolated=False` draws in a thread of this process instead, through the module's
    `render_png` looked up per chart, for tests that hold the drawing.
    """

    def __init__(self, *, isolated: bool = True, idle_shutdown: float = IDLE_SHUTDOWN) -> None:
        self._idle_shutdown = idle_shutdown
        self._threads = None if isolated else ThreadPoolExecutor(max_workers=1, thread_name_prefix="chart")
        # `_pool` and `_pid` are also written on the pool's own thread, when the warm-up answers.
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._pid: int | None = None
        self._busy = 0
        self._idle: asyncio.TimerHandle | None = None
        self._retiring: list[threading.Thread] = []
        self._closed = False

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id once it has answered; None while none runs, and in-thread."""
        with self._lock:
            return self._pid

    def warm(self) -> None:
        """Starts the worker, if none runs, without waiting for it: a /stats calls it before asking QIWI for
        the payments, so matplotlib is imported by the time they arrive. Call it on the event loop."""
        loop = asyncio.get_running_loop()
        if self._threads is not None or self._pool is not None or self._closed:
            return
        pool = self._start()
        try:
            pool.submit(_warm_up).add_done_callback(partial(self._answered, pool))
        except BrokenProcessPool:
            self._retire(pool)
            return
        self._arm_idle(loop)

    async def render(self, figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
        loop = asyncio.get_running_loop()
        if self._threads is not None:
            return await loop.run_in_executor(self._threads, partial(_render_in_thread, figures, texts))
        self._busy += 1
        self._disarm_idle()
        try:
            try:
                return await self._draw(figures, texts)
            except BrokenProcessPool:
                log.warning("The chart worker died; drawing the chart again in a new one")
            try:
                return await self._draw(figures, texts)
            except BrokenProcessPool as error:
                raise ChartWorkerLost("the chart worker died twice drawing one chart") from error
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._arm_idle(loop)

    def close(self) -> None:
        """Stops the worker and waits until it has exited (the bot calls it on its way out)."""
        self._closed = True
        self._disarm_idle()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pool, self._pool, self._pid = self._pool, None, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for thread in self._retiring:
            thread.join()
        self._retiring.clear()

    async def _draw(self, figures: ChartFigures, texts: ChartTexts) -> RenderedChart:
        pool = self._pool or self._start()
        try:
            pid, drawn = await asyncio.wrap_future(pool.submit(_render_in_process, figures, texts))
        except BrokenProcessPool:
            self._retire(pool)
            raise
        with self._lock:
            if self._pool is pool:
                self._pid = pid
        return drawn

    def _start(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("the chart renderer is closed")
        # Spawned, not forked: a fork would copy the bot's threads' locks in whatever state they were in.
        pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_started
        )
        with self._lock:
            self._pool, self._pid = pool, None
        log.debug("Chart worker starting")
        return pool

    def _answered(self, pool: ProcessPoolExecutor, warm_up: Future[int]) -> None:
        if warm_up.cancelled() or warm_up.exception() is not None:
            return  # the chart that follows finds out, and starts another worker
        with self._lock:
            if self._pool is pool:
                self._pid = warm_up.result()

    def _retire(self, pool: ProcessPoolExecutor) -> None:
        """Shuts a worker down off the event loop, where waiting for it to exit would stall every member's
        commands for ~0.2 s; `close` waits for it instead."""
        with self._lock:
            if self._pool is not pool:
                return  # another chart, which saw the same worker die, has already replaced it
            self._pool, self._pid = None, None
        thread = threading.Thread(
            target=pool.shutdown, kwargs={"wait": True, "cancel_futures": True}, name="chart-shutdown"
        )
        thread.start()
        self._retiring = [t for t in self._retiring if t.is_alive()]
        self._retiring.append(thread)

    def _arm_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        self._disarm_idle()
        if self._pool is not None and self._busy == 0 and not self._closed:
            self._idle = loop.call_later(self._idle_shutdown, self._idle_out)

    def _disarm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _idle_out(self) -> None:
        self._idle = None
        pool = self._pool
        if self._busy == 0 and pool is not None:
            log.debug("Chart worker %s stopping after %.0f s without a chart", self.worker_pid, self._idle_shutdown)
            self._retire(pool)


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


def _rss_mb(pid: int | str = "self") -> float:  # pragma: no cover - a tool, run by hand
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _median_ms(times: list[float]) -> float:  # pragma: no cover - a tool, run by hand
    return sorted(times)[len(times) // 2] * 1000


async def _measure_renderer(
    figures: ChartFigures, texts: ChartTexts, count: int, *, isolated: bool
) -> str:  # pragma: no cover - a tool, run by hand
    """Charts one after another through `ChartRenderer`, while a heartbeat on the event loop measures how
    late the loop runs it: what every other member's command waits behind a chart."""
    import time

    lags: list[float] = []
    running = True

    async def heartbeat() -> None:
        while running:
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - due)

    renderer = ChartRenderer(isolated=isolated)
    beating = asyncio.create_task(heartbeat())
    try:
        started = time.perf_counter()
        renderer.warm()
        await renderer.render(figures, texts)
        first = time.perf_counter() - started
        lags.clear()
        times = []
        for _ in range(count):
            started = time.perf_counter()
            await renderer.render(figures, texts)
            times.append(time.perf_counter() - started)
        worker = "" if renderer.worker_pid is None else f"; the worker's RSS {_rss_mb(renderer.worker_pid):.0f} MB"
    finally:
        running = False
        await beating
        renderer.close()
    lags.sort()
    return (
        f"{'in a worker process' if isolated else 'in a thread'}: first chart {first * 1000:.0f} ms, then median "
        f"{_median_ms(times):.0f} ms a chart; event loop late by p99 {lags[len(lags) * 99 // 100] * 1000:.1f} ms, "
        f"at most {lags[-1] * 1000:.1f} ms{worker}"
    )


def _measure(count: int = 100) -> None:  # pragma: no cover - a tool, run by hand
    """`python -m bot.services.chart --measure`: memory and time per chart, and the event loop's lag while
    charts are drawn in a worker process and in a thread, printed."""
    import sys
    import time

    from bot.services.history import month_period

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
    # The worker process first, while this one has not imported matplotlib yet.
    print(asyncio.run(_measure_renderer(figures, texts, count, isolated=True)))
    print(f"matplotlib in the bot's own process after those charts: {'matplotlib' in sys.modules}")
    before = _rss_mb()
    started = time.perf_counter()
    first = draw_chart(figures, texts)
    first_seconds = time.perf_counter() - started
    loaded = _rss_mb()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        draw_chart(figures, texts)
        times.append(time.perf_counter() - started)
    print(
        f"RSS before the first chart {before:.1f} MB, after it {loaded:.1f} MB (+{loaded - before:.1f} MB), "
        f"after {count} more {_rss_mb():.1f} MB"
    )
    print(
        f"draw_chart: first chart (imports matplotlib) {first_seconds * 1000:.0f} ms; then median "
        f"{_median_ms(times):.0f} ms, slowest {max(times) * 1000:.0f} ms; PNG {len(first.png) // 1024} KB"
    )
    print(asyncio.run(_measure_renderer(figures, texts, count, isolated=False)))


if __name__ == "__main__":  # pragma: no cover
    import sys

    if "--measure" in sys.argv:
        _measure()
    if "--example" in sys.argv:
        _write_example(sys.argv[sys.argv.index("--example") + 1])
