"""Restarts keep dialogs and logins; the database and DEBUG logs never hold a ticket or the password."""

from __future__ import annotations

from pathlib import Path

from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login


def _database_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_restart_keeps_dialog_and_login(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await ask(user, "/login", "wallet number")
    await ask(user, MAIN_WALLET, "password")
    await running_bot.restart()
    # Still in the password step after the restart: this text is taken as the password, and deleted.
    sent = await user.send(DEMO_PASSWORD)
    await user.wait_for("Logged in")
    assert user.message(sent["message"]["message_id"]).deleted
    await running_bot.restart()
    assert "Balance" in await ask(user, "/balance", "Balance")
    await ask(user, "/history", "Payments")
    await running_bot.restart()
    # A history button from before the restart still works: the cursor lives in the button.
    await user.press("Older ▶")
    older = await user.wait_for(lambda a: a.kind == "edit")
    assert "(older)" in (older.text or "")


async def test_no_secret_in_database_or_logs(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await ask(user, "/balance", "Balance")
    await ask(user, "/history", "Payments")
    await ask(user, "/stats", "Statistics")
    running_bot.emulator.faults.inject("balance", "status", status=401)
    await ask(user, "/balance", "session")
    await login(user)
    await ask(user, "/logout", "Logged out")
    await running_bot.stop()

    tickets = [t.ticket for t in running_bot.emulator.issued_tickets]
    assert any(t.startswith("TGT-") for t in tickets) and any(t.startswith("ST-") for t in tickets)
    logs = running_bot.logs.getvalue()
    assert "DEBUG" in logs and "update" in logs  # the capture really saw the bot at DEBUG level
    stored = _database_bytes(running_bot.database_path)
    assert stored
    for secret in [*tickets, DEMO_PASSWORD, running_bot.settings.bot_token.get_secret_value()]:
        assert secret not in logs, secret[:6]
        assert secret.encode() not in stored, secret[:6]
    for key in running_bot.settings.encryption_keys:
        assert key.get_secret_value() not in logs


async def test_ticket_under_a_lost_key_means_logged_out(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await running_bot.stop()
    running_bot.settings = running_bot.settings.model_copy(update={"encryption_keys": []})
    running_bot.settings.key_file.unlink(missing_ok=True)
    await running_bot.start()
    assert "not logged in" in await ask(user, "/balance", "not logged in")
