"""/export and the /stats chart through the real bot: FakeTelegram on loopback, QIWI by the emulator."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.devtools.message_content import png_size
from bot.qiwi.client import QiwiClient
from bot.sandbox import EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET, RECEIVER_WALLET
from bot.services import chart
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login
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
