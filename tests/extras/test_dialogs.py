"""Issue 7 end to end: the real bot (run_bot) polling a FakeTelegram, QIWI served by the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.message_content import png_size
from bot.qiwi.client import QiwiClient
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET, RECEIVER_WALLET
from bot.services import chart
from bot.services import requests as requests_service
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login, make_settings

OTHER_ID = 1001  # a second admin, so no invite dance is needed


@pytest.fixture
async def fast_bot(
    telegram: FakeTelegram,
    emulator: Emulator,
    qiwi_server: EmulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningBot]:
    """The real bot with a sub-second alert interval and request sweep (settings validate >= 10 s for
    NOTIFY_INTERVAL, so the copy skips validation; everything else is as in production)."""
    monkeypatch.setattr(requests_service, "SWEEP_EVERY", 0.2)
    settings = make_settings(telegram, qiwi_server, tmp_path, ADMIN_IDS=f"{ADMIN_ID},{OTHER_ID}")
    bot = RunningBot(telegram, emulator, settings.model_copy(update={"notify_interval": 0.3}))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def arrive(emulator: Emulator, amount: str, comment: str, wallet: str = MAIN_WALLET) -> None:
    emulator.add_incoming(wallet, Decimal(amount), "79261234567", comment)
    emulator.clock.advance(timedelta(seconds=2))


async def seeded(bot: RunningBot, tg_id: int) -> None:
    """Waits until the poller has set the member's mark (read-only, beside the bot's own connection)."""
    for _ in range(100):
        with contextlib.closing(sqlite3.connect(f"file:{bot.database_path}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT last_seen_txn_id FROM users WHERE tg_id = ?", (tg_id,)).fetchone()
        if row is not None and row[0] is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the poller never set the mark")


async def test_alerts_once_each_across_a_restart_and_one_login_reminder(fast_bot: RunningBot) -> None:
    user = fast_bot.user(ADMIN_ID)
    await login(user)
    assert "off" in await ask(user, "/notify", "alerts are off")
    assert "on" in await ask(user, "/notify", "alerts are on")  # and English is remembered for alerts
    await seeded(fast_bot, ADMIN_ID)
    arrive(fast_bot.emulator, "250.00", "за такси")
    text = (await user.wait_for("Incoming payment")).text or ""
    assert "250.00" in text and "за такси" in text and "+7 926 123-45-67" in text

    await fast_bot.stop()
    arrive(fast_bot.emulator, "31.40", "пока бот спал")
    await fast_bot.start()
    assert "31.40" in ((await user.wait_for("Incoming payment")).text or "")
    await asyncio.sleep(0.6)  # several more polls
    alerts = [t for t in user.bot_texts() if "Incoming payment" in t]
    assert len(alerts) == 2

    assert "off" in await ask(user, "/notify", "alerts are off")
    arrive(fast_bot.emulator, "5", "не объявлять")
    await asyncio.sleep(0.6)
    assert len([t for t in user.bot_texts() if "Incoming payment" in t]) == 2
    assert "on" in await ask(user, "/notify", "alerts are on")

    fast_bot.emulator.revoke_tgts(MAIN_WALLET)
    await user.wait_for("/login to resume")
    await asyncio.sleep(0.6)
    assert len([t for t in user.bot_texts() if "/login to resume" in t]) == 1


async def test_request_paid_once_then_another_declined(fast_bot: RunningBot) -> None:
    alice, bob = fast_bot.user(ADMIN_ID), fast_bot.user(OTHER_ID)
    await login(alice, RECEIVER_WALLET)
    await login(bob, MAIN_WALLET)
    # Bob's request arrives outside any update of his: in his stored language (Russian when none is stored).
    await ask(bob, "/language", "Choose")
    await bob.press("• English")
    await bob.wait_idle()

    await ask(alice, "/request", "Whom do you ask")
    await alice.press("+7 900 111-22-33")
    await alice.wait_for("How much")
    await ask(alice, "0", "more than zero")  # bad input keeps the step
    await ask(alice, "150,5", "comment")
    await ask(alice, "на билеты", "Request sent")
    request = await bob.wait_for("asks you for")
    assert "150.50" in (request.text or "") and "на билеты" in (request.text or "")

    # Someone else pressing Bob's Pay button is refused.
    message = bob.message(request.message_id or 0)
    pay = message.button("Pay")
    assert pay is not None and pay.callback_data is not None
    fast_bot.telegram.add_callback_query(alice.person, message, pay.callback_data)
    # The answer to a callback is shown on the message's chat (Bob's), to the one who pressed.
    await bob.wait_for("not addressed to you", kind="callback_answer")

    # Pay pressed twice: one summary.
    await bob.press("Pay")
    await bob.press("Pay", message_id=request.message_id)
    await bob.wait_for("already open", kind="callback_answer")
    await bob.wait_idle()
    summaries = [m for m in bob.messages if m.from_bot and m.button("✅ Confirm") is not None]
    assert len(summaries) == 1
    await bob.press("✅ Confirm")
    await bob.wait_for("Sent")
    paid = (await alice.wait_for("paid your request")).text or ""
    assert "150.50" in paid
    ledger = fast_bot.emulator.ledger
    assert len(ledger) == 1 and ledger[0].amount == Decimal("150.50") and ledger[0].recipient == RECEIVER_WALLET

    await ask(alice, "/request", "Whom do you ask")
    await alice.press("+7 900 111-22-33")
    await ask(alice, "20", "comment")
    await alice.press("Skip")
    await alice.wait_for("Request sent")
    await bob.wait_for("asks you for")
    await bob.press("Decline")
    assert "declined your request" in ((await alice.wait_for("declined")).text or "")
    assert len(fast_bot.emulator.ledger) == 1


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


async def test_stats_chart_is_a_png_and_does_not_block_others(
    fast_bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = fast_bot.user(ADMIN_ID), fast_bot.user(OTHER_ID)
    await login(alice)
    await login(bob, RECEIVER_WALLET)
    arrive(fast_bot.emulator, "100", "this month for sure")

    started, release = threading.Event(), threading.Event()
    real = chart.render_png

    def held_render(*args: object, **kwargs: object) -> bytes:
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
    assert photo.file is not None and png_size(photo.file.data) == (1000, 600)
    assert "green" in (photo.text or "")
