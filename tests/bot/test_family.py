"""A family, by name, with several wallets each: through the real bot on a FakeTelegram and the emulator."""

from __future__ import annotations

from bot.sandbox.seed import DEMO_PASSWORD, EMPTY_WALLET, MAIN_WALLET, RECEIVER_WALLET
from tests.bot.harness import ADMIN_ID, BotFactory, RunningBot, ask, login

SECOND_ADMIN = 1001


async def test_two_wallets_switch_act_and_logout_of_the_current_one(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user, MAIN_WALLET)
    await ask(user, "/login", "wallet number")
    await ask(user, EMPTY_WALLET, "password")
    done = await ask(user, DEMO_PASSWORD, "Logged in")
    assert "+7 900 333-44-55" in done and "/wallets" in done  # the other wallet stays logged in

    listing = await ask(user, "/wallets", "Your wallets")
    assert "+7 900 111-22-33" in listing and "+7 900 333-44-55" in listing
    assert listing.count("logged in until") == 2
    assert "+7 900 333-44-55 ★" in listing  # the newest login is current
    assert "+7 900 333-44-55" in await ask(user, "/balance", "Balance")

    await user.press("+7 900 111-22-33")
    switched = await user.wait_for(lambda a: a.kind == "edit")
    assert "+7 900 111-22-33 ★" in (switched.text or "")
    assert "+7 900 111-22-33" in await ask(user, "/balance", "Balance")
    # With more than one wallet, every answer says which one it is about.
    assert "Wallet +7 900 111-22-33" in await ask(user, "/history", "Payments")
    assert "Wallet +7 900 111-22-33" in await ask(user, "/stats", "Statistics")

    out = await ask(user, "/logout", "Logged out")
    assert "+7 900 111-22-33" in out and "+7 900 333-44-55" in out  # the other one is current now
    after = await ask(user, "/wallets", "Your wallets")
    assert "+7 900 333-44-55 ★" in after and "logged out" in after
    assert "+7 900 333-44-55" in await ask(user, "/balance", "Balance")
    await ask(user, "/logout", "Logged out")
    assert "not logged in" in await ask(user, "/balance", "not logged in")


async def test_transfer_to_a_member_picked_by_name_pays_their_current_wallet(make_bot: BotFactory) -> None:
    running = await make_bot(ADMIN_IDS=f"{ADMIN_ID},{SECOND_ADMIN}")
    sender = running.user(ADMIN_ID, first_name="Sam")
    rita = running.user(SECOND_ADMIN, first_name="Rita", username="rita")
    await login(sender, MAIN_WALLET)
    await login(rita, EMPTY_WALLET)
    await login(rita, RECEIVER_WALLET)  # Rita's current wallet is the one she logged in to last

    ask_recipient = await ask(sender, "/transfer", "Whom")
    assert "member" in ask_recipient
    await sender.press("Rita · +7 900 222-33-44")
    amount_step = await sender.wait_for("How much")
    assert "Rita, +7 900 222-33-44" in (amount_step.text or "")
    await ask(sender, "25", "comment")
    await sender.press("Skip")
    summary = (await sender.wait_for("Confirm by")).text or ""
    assert "+7 900 111-22-33" in summary and "+7 900 222-33-44" in summary
    assert "To: Rita, +7 900 222-33-44" in summary  # the member by name, then the whole number
    await sender.press("✅ Confirm")
    outcome = (await sender.wait_for("Sent")).text or ""
    assert "To: Rita, +7 900 222-33-44" in outcome  # and so in every later state of the summary
    ledger = running.emulator.ledger
    assert len(ledger) == 1 and ledger[0].recipient == RECEIVER_WALLET and ledger[0].sender == MAIN_WALLET


async def test_a_name_change_is_followed_and_two_members_with_one_name_are_told_apart(make_bot: BotFactory) -> None:
    running = await make_bot(ADMIN_IDS=f"{ADMIN_ID},{SECOND_ADMIN},1002")
    first = running.user(SECOND_ADMIN, first_name="Anna", username="anna_k")
    second = running.user(1002, first_name="Anna")
    await login(first, RECEIVER_WALLET)
    await login(second, EMPTY_WALLET)
    sender = running.user(ADMIN_ID)
    await login(sender, MAIN_WALLET)
    await ask(sender, "/transfer", "Whom")
    buttons = sender.last_bot_message
    assert buttons is not None
    labels = [b.text for row in buttons.inline_keyboard for b in row]
    assert "Anna (@anna_k) · +7 900 222-33-44" in labels and "Anna (#1002) · +7 900 333-44-55" in labels
    await ask(sender, "/cancel", "Cancelled")
    # Telegram sends a new name with the next update: from then on the bot uses it.
    renamed = running.user(SECOND_ADMIN, first_name="Annie", username="anna_k")
    await ask(renamed, "/help", "Commands")
    await ask(sender, "/transfer", "Whom")
    message = sender.last_bot_message
    assert message is not None
    labels = [b.text for row in message.inline_keyboard for b in row]
    assert "Annie · +7 900 222-33-44" in labels and "Anna · +7 900 333-44-55" in labels
