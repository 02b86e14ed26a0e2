"""Incoming-payment alerts through the real bot: FakeTelegram on loopback, QIWI by the emulator."""

from __future__ import annotations

import asyncio

from bot.sandbox.seed import MAIN_WALLET
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login
from tests.service_stack import arrive, seeded


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
