"""Help, cancel, language, the command menu, unknown input, stale buttons, flood control, sandbox mode."""

from __future__ import annotations

import sqlite3

from bot.callbacks import HistoryPage
from bot.sandbox.seed import DEMO_PASSWORD, MAIN_WALLET
from tests.bot.harness import ADMIN_ID, BotFactory, RunningBot, ask, login


async def test_help_cancel_and_unknown_input(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    help_text = await ask(user, "/help", "Commands")
    for command in (
        "/login",
        "/logout",
        "/balance",
        "/history",
        "/stats",
        "/transfer",
        "/request",
        "/export",
        "/notify",
        "/language",
        "/cancel",
    ):
        assert command in help_text
    assert "/invite" in help_text  # an admin sees the admin commands too
    assert "nothing to cancel" in await ask(user, "/cancel", "cancel")
    await ask(user, "/login", "wallet number")
    assert "Cancelled" in await ask(user, "/cancel", "Cancelled")
    # After /cancel, a phone number is just text again, not a login step.
    assert "did not understand" in await ask(user, MAIN_WALLET, "understand")
    assert "do not know that command" in await ask(user, "/frobnicate", "command")
    assert "logged in" in await ask(user, "/logout", "logged in")


async def test_stale_and_forged_buttons(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await ask(user, "/help", "Commands")
    message = user.last_bot_message
    assert message is not None
    forged = (
        "zz:1",
        "hp:XX:0:0",
        "sp:decade",
        # Integers beyond what SQLite or datetime can hold, for every family of buttons.
        "tr:confirm:" + "9" * 21,
        "tr:cancel:-1",
        "rq:pay:" + "9" * 21,
        "rq:decline:" + "1" * 30,
        "rqm:" + "9" * 25,
        "mb:remove:" + "9" * 21,
        "hp:ALL:1:999999999999",
        "hp:ALL:" + "9" * 25 + ":1",
        "lg:xx",
        "ex:forever",
    )
    for data in forged:
        await user.press_data(data, message_id=message.message_id)
        answer = await user.wait_for(lambda a: a.kind == "callback_answer")
        assert "out of date" in (answer.text or ""), data
    # A real history button while logged out: the session reply, not a crash.
    await user.press_data(HistoryPage(op="ALL").pack(), message_id=message.message_id)
    assert "not logged in" in ((await user.wait_for("not logged in")).text or "")


async def test_language_switch_and_defaults(running_bot: RunningBot) -> None:
    russian = running_bot.user(ADMIN_ID, language_code="ru")
    assert "Привет" in await ask(russian, "/start", "Привет")
    await ask(russian, "/login", "номер QIWI Кошелька")
    await ask(russian, "+7 900 111 22 33", "пароль")
    assert "Вход выполнен: +7 900 111-22-33" in await ask(russian, DEMO_PASSWORD, "Вход выполнен")
    balance_ru = await ask(russian, "/balance", "Баланс")
    assert "₽" in balance_ru
    await ask(russian, "/language", "Выберите язык")
    await russian.press("English")
    changed = await russian.wait_for(lambda a: a.kind == "edit")
    assert changed.text == "Language: English."
    balance_en = await ask(russian, "/balance", "Balance")
    assert "RUB " in balance_en
    # The stored choice wins over the Telegram language from now on.
    assert "Hello" in await ask(russian, "/start", "Hello")
    await ask(russian, "/language", "Choose")
    await russian.press("Русский")
    assert (await russian.wait_for(lambda a: a.kind == "edit")).text == "Язык: русский."
    stats = await ask(russian, "/stats", "Статистика")
    assert "Поступления" in stats
    other = running_bot.user(ADMIN_ID + 1, language_code="de")
    assert "закрытый бот" in await ask(other, "/start", "бот")


async def test_first_contact_keeps_the_telegram_language_for_messages_sent_later(running_bot: RunningBot) -> None:
    # Alerts and start-up payment outcomes have no update to take a language from: it must be stored.
    english = running_bot.user(ADMIN_ID, language_code="en-GB")
    await ask(english, "/help", "Commands")
    with sqlite3.connect(running_bot.database_path) as reader:
        [(language,)] = reader.execute("SELECT language FROM users WHERE tg_id = ?", (ADMIN_ID,)).fetchall()
    assert language == "en"


async def test_command_menu_in_both_languages(running_bot: RunningBot) -> None:
    scope = {"type": "all_private_chats"}
    default = running_bot.telegram.commands_for("", scope)
    english = running_bot.telegram.commands_for("en", scope)
    russian = running_bot.telegram.commands_for("ru", scope)
    names = [c["command"] for c in english]
    assert {"balance", "history", "stats", "login", "logout", "help", "cancel", "language"} <= set(names)
    assert [c["command"] for c in russian] == names == [c["command"] for c in default]
    assert english[0]["description"] != russian[0]["description"]


async def test_flood_control_is_waited_out(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    running_bot.telegram.faults.flood("sendMessage", retry_after=1, times=1)
    assert "Commands" in await ask(user, "/help", "Commands", timeout=5)
    assert len(running_bot.telegram.calls("sendMessage")) >= 2


async def test_typing_while_qiwi_answers(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    await ask(user, "/balance", "Balance")
    assert not [a for a in user.transcript if a.kind == "chat_action"]  # a quick answer needs no "typing…"
    running_bot.emulator.faults.latency = 0.3
    await ask(user, "/balance", "Balance")
    actions = [a for a in user.transcript if a.kind == "chat_action"]
    assert actions and actions[-1].text == "typing"


async def test_sandbox_mode(make_bot: BotFactory) -> None:
    bot = await make_bot(QIWI_SANDBOX="1", QIWI_AUTH_URL="http://127.0.0.1:9", QIWI_WEB_URL="http://127.0.0.1:9")
    user = bot.user(ADMIN_ID)
    start = await ask(user, "/start", "Sandbox mode")
    assert f"{MAIN_WALLET} / {DEMO_PASSWORD}" in start
    # The in-process emulator answers, not the (unreachable) URLs from the settings.
    await login(user)
    assert "RUB" in await ask(user, "/balance", "Balance")
