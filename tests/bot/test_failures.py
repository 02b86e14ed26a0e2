"""QIWI failures: each gets its own short reply, the stored ticket is dropped on 401, others keep going."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.qiwi.errors import (
    QiwiAuthError,
    QiwiBadRequest,
    QiwiMalformedResponse,
    QiwiRateLimited,
    QiwiUnavailable,
)
from bot.sandbox.seed import RECEIVER_WALLET
from bot.services.failures import failure_key
from bot.services.sessions import NotLoggedIn, SessionEnded
from bot.storage import Database
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login


async def _stored_ticket(running_bot: RunningBot, tg_id: int) -> bytes | None:
    db = await Database.open(running_bot.database_path)
    try:
        user = await db.users.get(tg_id)
        return None if user is None else user.tgt_ciphertext
    finally:
        await db.close()


async def test_each_failure_has_its_own_reply(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    faults = running_bot.emulator.faults
    await login(user)

    faults.inject("history", "status", status=423)
    assert "too many requests" in await ask(user, "/history", "QIWI")

    faults.inject("balance", "status", status=500, times=2)  # the first try and its one retry
    assert "not answering" in await ask(user, "/balance", "QIWI")

    faults.inject("total", "hang", times=2)
    assert "not answering" in await ask(user, "/stats", "QIWI")

    # After all that the session is still there and works.
    assert "Balance" in await ask(user, "/balance", "Balance")

    faults.inject("balance", "status", status=401)
    assert "QIWI ended the session" in await ask(user, "/balance", "session")
    assert await _stored_ticket(running_bot, ADMIN_ID) is None
    assert "not logged in" in await ask(user, "/balance", "not logged in")
    assert "not logged in" in await ask(user, "/start", "Hello")


async def test_expired_session_is_explained(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    assert "Logged in as" in await ask(user, "/start", "Hello")
    # Two idle hours kill the TGT at QIWI; the bot's clock (the emulator's) agrees that it had to end.
    running_bot.emulator.clock.advance(timedelta(hours=2, minutes=1))
    assert "has most likely ended" in await ask(user, "/start", "Hello")
    assert "expired" in await ask(user, "/history", "/login")
    assert await _stored_ticket(running_bot, ADMIN_ID) is None


async def test_one_users_failure_does_not_hold_up_another(running_bot: RunningBot) -> None:
    slow = running_bot.user(ADMIN_ID)
    await login(slow)
    link = await ask(slow, "/invite", "https://t.me/")
    code = link.rsplit("start=", 1)[1].split()[0]
    fast = running_bot.user(4000)
    await ask(fast, f"/start {code}", "Welcome")
    await login(fast, RECEIVER_WALLET)

    # The slow user's first balance request hangs until the client gives up and retries.
    running_bot.emulator.faults.inject("balance", "hang", times=1)
    await slow.send("/balance")
    await asyncio.sleep(0.1)
    await fast.send("/balance")
    fast_answer = await fast.wait_for("Balance", timeout=3)
    slow_answer = await slow.wait_for("Balance", timeout=5)
    assert fast_answer.at < slow_answer.at


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (NotLoggedIn(), "error.not_logged_in"),
        (SessionEnded(expired=True), "error.session_expired"),
        (SessionEnded(expired=False), "error.session_ended"),
        (QiwiAuthError("x", status=401), "error.session_ended"),
        (QiwiRateLimited("x", status=423), "error.rate_limited"),
        (QiwiUnavailable("x", status=503), "error.unavailable"),
        (QiwiMalformedResponse("x", status=200), "error.malformed"),
        (QiwiBadRequest("x", status=400), "error.qiwi_refused"),
        (ValueError("a bug"), None),
    ],
)
def test_failure_mapping(error: BaseException, key: str | None) -> None:
    assert failure_key(error) == key
