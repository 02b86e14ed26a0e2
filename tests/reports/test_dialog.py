"""/export and the /stats chart through the real bot: FakeTelegram on loopback, QIWI by the emulator."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest

from bot.devtools.message_content import png_size
from bot.qiwi.client import QiwiClient
from bot.sandbox import EmulatorServer
from bot.sandbox.emulator import IssuedTicket
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET, RECEIVER_WALLET
from bot.services import bundle, chart
from bot.services.history import month_label, month_number, month_period
from bot.timeutil import MSK, show_moment, show_span
from tests.bot.harness import ADMIN_ID, BotFactory, RunningBot, ask, login
from tests.service_stack import OTHER_ID, arrive


async def test_export_sends_every_page_as_csv(fast_bot: RunningBot, qiwi_server: EmulatorServer) -> None:
    user = fast_bot.user(ADMIN_ID)
    await login(user)
    for i in range(30):
        arrive(fast_bot.emulator, f"{i}.01", f"#{i}")
    await ask(user, "/export", "Which period")
    await user.press("90 days")
    document = await user.wait_for(kind="document")
    assert document.file is not None and (document.file.filename or "").endswith(".csv")
    assert document.file.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(document.file.data.decode("utf-8-sig"), newline="")))

    async with QiwiClient.create(qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url) as qiwi:
        tgt = await qiwi.create_tgt(MAIN_WALLET, DEMO_PASSWORD)
        now = fast_bot.emulator.clock.now()
        api = [p async for p in qiwi.iter_history(tgt, MAIN_WALLET, start=now - timedelta(days=90), end=now, rows=20)]
    assert len(rows) == len(api) > 50
    assert [Decimal(r["amount"]) for r in rows] == [(p.sum or p.total).amount for p in api]  # type: ignore[union-attr]
    assert f"{len(rows)} payments" in (document.text or "")


@pytest.fixture
async def bot_drawing_in_thread(make_bot: BotFactory, monkeypatch: pytest.MonkeyPatch) -> RunningBot:
    """The real bot for two members, drawing its charts in a thread of this process: a test holds the
    drawing through `chart.render_png`, which the worker process the bot draws in by default would import
    afresh, out of the test's reach. Patched before the bot builds its services, so they take it."""
    monkeypatch.setattr(bundle, "ChartRenderer", partial(chart.ChartRenderer, isolated=False))
    return await make_bot(ADMIN_IDS=f"{ADMIN_ID},{OTHER_ID}")


async def test_stats_chart_is_a_png_and_does_not_block_others(
    bot_drawing_in_thread: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = bot_drawing_in_thread
    alice, bob = running.user(ADMIN_ID), running.user(OTHER_ID)
    await login(alice)
    await login(bob, RECEIVER_WALLET)
    arrive(running.emulator, "100", "this month for sure")

    started, release = threading.Event(), threading.Event()
    real = chart.render_png

    def held_render(*args: object, **kwargs: object) -> chart.RenderedChart:
        started.set()
        # Holds the drawing until Bob has been answered; were it on the event loop, Bob never would be.
        assert release.wait(10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chart, "render_png", held_render)
    await alice.send("/stats")
    await alice.wait_for("Incoming")
    for _ in range(100):
        if started.is_set():
            break
        await asyncio.sleep(0.05)
    assert started.is_set()
    assert "RUB" in await ask(bob, "/balance", "RUB")
    assert not [a for a in alice.transcript if a.kind == "photo"]
    release.set()
    photo = await alice.wait_for(kind="photo")
    assert photo.file is not None and png_size(photo.file.data) == (chart.WIDTH, chart.HEIGHT)
    assert "green" in (photo.text or "")


async def test_export_any_past_month_through_the_picker(running_bot: RunningBot) -> None:
    emulator = running_bot.emulator
    user = running_bot.user(ADMIN_ID)
    await login(user)
    now = emulator.clock.now().astimezone(MSK)
    number = month_number(now.date()) - 14  # beyond the first page of the picker
    period = month_period("m", number, now)
    wallet = emulator.wallet(MAIN_WALLET)
    for day, amount in ((1, "10"), (15, "0.5"), (28, "1234.56")):
        emulator.add_incoming(MAIN_WALLET, Decimal(amount), "79261234567", f"old {day}")
        wallet.history[-1].date = period.start + timedelta(days=day - 1, hours=12)
    wallet.history[-1].date = period.end  # the month's very last second is in it
    emulator.add_incoming(MAIN_WALLET, Decimal("99"), "79261234567", "the month after")
    wallet.history[-1].date = period.end + timedelta(seconds=1)

    await ask(user, "/export", "Which period")
    await user.press("📅 Month…")
    picker = await user.wait_for("Which month")
    assert picker.kind == "edit" and len(picker.buttons) == 12 + 2  # twelve months, Earlier, Back
    assert picker.button_texts()[0] == month_label(month_number(now.date()) - 1, "en")
    await user.press("◀ Earlier")
    earlier = await user.wait_for(lambda a: a.kind == "edit" and "Which month" in (a.text or ""))
    assert "Later ▶" in earlier.button_texts()
    await user.press("↩ Back")
    back = await user.wait_for(lambda a: a.kind == "edit" and "Which period" in (a.text or ""))
    assert "📅 Month…" in back.button_texts()
    await user.press("📅 Month…")
    await user.wait_for(lambda a: a.kind == "edit" and "Which month" in (a.text or ""))
    await user.press("◀ Earlier")
    await user.wait_for(lambda a: a.kind == "edit" and "Which month" in (a.text or ""))
    await user.press(month_label(number, "en"))
    document = await user.wait_for(kind="document")
    assert document.file is not None
    rows = list(csv.DictReader(io.StringIO(document.file.data.decode("utf-8-sig"), newline="")))
    assert [r["amount"] for r in rows] == ["1234.56", "0.50", "10.00"]  # two decimals, always
    assert "3 payments" in (document.text or "") and show_span(period.start, period.end).split(" – ")[1] in (
        document.text or ""
    )


async def test_stats_say_what_their_period_means(running_bot: RunningBot) -> None:
    emulator = running_bot.emulator
    now = emulator.clock.now().astimezone(MSK)
    first = (now.replace(day=1, hour=10, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    emulator.clock.advance(first - now)  # the 1st of next month, before logging in (sessions age with it)
    user = running_bot.user(ADMIN_ID)
    await login(user)
    arrive(emulator, "100", "today")
    stats = await ask(user, "/stats", "Statistics")
    assert f"for today, {show_moment(first, 'date')}" in stats and "just begun" in stats
    assert "Outgoing: " in stats and "(commission included)" in stats
    await user.wait_for(kind="photo")

    await user.press("📅 Month…")
    await user.wait_for("which month")
    last_month = month_number(first.date()) - 1
    await user.press(month_label(last_month, "en"))
    picked = await user.wait_for(lambda a: a.kind == "edit" and "Statistics for" in (a.text or ""))
    period = month_period("m", last_month, first)
    assert show_span(period.start, period.end) in (picked.text or "")
    assert "• 📅 Month…" in picked.button_texts()
    photo = await user.wait_for(kind="photo")
    assert photo.file is not None and png_size(photo.file.data) == (chart.WIDTH, chart.HEIGHT)


async def test_the_charts_payments_are_asked_for_beside_the_totals(fast_bot: RunningBot) -> None:
    """The chart's history read leaves while QIWI still holds the totals: the chart follows the totals by the
    time it takes to draw, not by two more round trips."""
    emulator = fast_bot.emulator
    user = fast_bot.user(ADMIN_ID)
    await login(user)
    arrive(emulator, "100", "this month for sure")
    await ask(user, "/notify", "alerts are off")  # no alert poll takes an edge ticket meanwhile
    await asyncio.sleep(0.5)  # the poll that followed the login is over
    emulator.faults.inject("total", "latency", delay=1.5)
    seen_before = {t.ticket for t in emulator.issued_tickets}
    await user.send("/stats")
    # Both edge tickets are taken, and one of them shown (the history read), while the totals are held.
    fresh: list[IssuedTicket] = []
    for _ in range(50):
        fresh = [t for t in emulator.issued_tickets if t.ticket not in seen_before and t.kind == "ST"]
        if len(fresh) >= 2 and any(t.presented for t in fresh):
            break
        await asyncio.sleep(0.02)
    assert len(fresh) >= 2 and any(t.presented for t in fresh)
    assert not [a for a in user.transcript if "Statistics" in (a.text or "")]  # the totals are still held
    await user.wait_for("Statistics")
    photo = await user.wait_for(kind="photo")
    assert photo.file is not None and png_size(photo.file.data) == (chart.WIDTH, chart.HEIGHT)
