"""A member's whole session through the real dispatcher: login, balance, history pages, statistics."""

from __future__ import annotations

from datetime import datetime

from bot.money import format_money
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET
from tests.bot.harness import ADMIN_ID, RunningBot, ask


def _moment(line: str) -> datetime:
    """The `27.11.26 14:05` a history line starts with."""
    return datetime.strptime(line[:14], "%d.%m.%y %H:%M")


def _transcript(running_bot: RunningBot, chat_id: int) -> str:
    lines = []
    for action in running_bot.telegram.chats[chat_id].actions:
        if action.kind in ("message", "edit"):
            buttons = " ".join(f"[{text}]" for text in action.button_texts())
            lines.append(f"--- bot {action.kind} #{action.message_id}\n{action.text}\n{buttons}".rstrip())
        elif action.kind == "delete":
            lines.append(f"--- bot deleted #{action.message_id}")
    return "\n".join(lines)


async def test_login_balance_history_stats(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    wallet = running_bot.emulator.wallet(MAIN_WALLET)

    assert "not logged in" in await ask(user, "/start", "Hello")
    await ask(user, "/login", "wallet number")
    assert "not a Russian or Kazakh" in await ask(user, "+1 555 0100", "not a Russian")
    await ask(user, "8 (900) 111-22-33", "password")
    wrong = await user.send("not-the-password")
    await user.wait_for("did not accept")
    done = await user.send(DEMO_PASSWORD)
    logged_in = (await user.wait_for("Logged in")).text or ""
    assert "+7 900 111-22-33" in logged_in and "MSK" in logged_in
    # Both password messages are gone from the chat, the wrong one and the right one.
    for update in (wrong, done):
        assert user.message(update["message"]["message_id"]).deleted

    balance = await ask(user, "/balance", "Balance")
    assert len(wallet.accounts) >= 3
    for account in wallet.accounts:
        shown = "unknown" if account.balance is None else format_money(account.balance, account.currency, "en")
        assert f"{account.currency}: {shown}" in balance

    first = await ask(user, "/history", "Payments")
    history_message = user.last_bot_message
    assert history_message is not None
    assert len(first.splitlines()) == 11  # title + one page of ten payments
    await user.press("Older ▶")
    second = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
    assert second != first and "(older)" in second
    assert user.last_bot_message is not None and user.last_bot_message.message_id == history_message.message_id
    assert history_message.edits == 1
    moments = [_moment(line) for line in first.splitlines()[1:] + second.splitlines()[1:]]
    assert moments == sorted(moments, reverse=True) and len(set(moments)) > 1

    await user.press("⏮ Newest")
    assert (await user.wait_for(lambda a: a.kind == "edit")).text == first

    await user.press("Incoming")
    incoming = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
    assert incoming.startswith("Incoming payments")
    assert "⬆️" not in incoming and "⬇️" in incoming
    await user.press("Outgoing")
    outgoing = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
    assert "⬇️" not in outgoing and "⬆️" in outgoing
    await user.press("All")
    assert (await user.wait_for(lambda a: a.kind == "edit")).text == first

    stats = await ask(user, "/stats", "Statistics")
    assert "Incoming:" in stats and "Outgoing:" in stats and "Net:" in stats
    await user.press("Last month")
    last_month = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
    assert last_month != stats
    for button in ("7 days", "30 days"):
        await user.press(button)
        period = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
        assert period.startswith("Statistics for")
    await user.press("This month")
    assert (await user.wait_for(lambda a: a.kind == "edit")).text == stats
    print("\n" + _transcript(running_bot, user.chat_id))
