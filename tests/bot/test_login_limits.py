"""Login edge cases: attempt limit, QIWI down during login, an empty wallet's history and statistics."""

from __future__ import annotations

from bot.sandbox.seed import DEMO_PASSWORD, EMPTY_WALLET, MAIN_WALLET
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login


async def test_password_is_deleted_even_when_qiwi_is_down_and_attempts_are_limited(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await ask(user, "/login", "wallet number")
    await ask(user, MAIN_WALLET, "password")

    running_bot.emulator.faults.inject("tgts", "status", status=500)
    sent = await user.send(DEMO_PASSWORD)
    await user.wait_for("not answering")
    assert user.message(sent["message"]["message_id"]).deleted

    # Text that looks like a command is still the password here: it is deleted like any other.
    for attempt in range(5):
        sent = await user.send(f"/wrong-{attempt}" if attempt == 0 else f"wrong-{attempt}")
        await user.wait_for("did not accept")
        assert user.message(sent["message"]["message_id"]).deleted
    tgts_before = len([t for t in running_bot.emulator.issued_tickets if t.kind == "TGT"])
    sent = await user.send(DEMO_PASSWORD)
    assert "Too many attempts" in ((await user.wait_for("Too many")).text or "")
    assert user.message(sent["message"]["message_id"]).deleted
    assert len([t for t in running_bot.emulator.issued_tickets if t.kind == "TGT"]) == tgts_before
    # The dialog is closed; a new one is refused at the password step until the window passes.
    await ask(user, "/login", "wallet number")
    await ask(user, MAIN_WALLET, "password")
    await user.send(DEMO_PASSWORD)
    await user.wait_for("Too many")


async def test_empty_wallet_reads_as_no_payments(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user, EMPTY_WALLET)
    history = await ask(user, "/history", "Payments")
    assert "No payments in the last 90 days" in history
    message = user.last_bot_message
    assert message is not None and "Older ▶" not in [b.text for b in message.buttons]
    stats = await ask(user, "/stats", "Statistics")
    assert "No payments in this period" in stats or "RUB" in stats
