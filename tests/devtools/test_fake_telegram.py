"""The fake Bot API server driven by a real aiogram Bot and Dispatcher over loopback."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats, BufferedInputFile

from bot.devtools.fake_telegram import FakeTelegram
from bot.devtools.fake_user import BotDidNotAnswer, NoSuchButton

from .conftest import PNG_1X1, make_bot


async def test_polling_delivers_message_with_user_fields_and_press_by_text_edits(
    tg: FakeTelegram, polling: Dispatcher
) -> None:
    ann = tg.user(501, "Ann", language_code="ru")
    update = await ann.send("/start")
    assert update["message"]["from"]["language_code"] == "ru"
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    hello = await ann.wait_for("Hello, Ann")
    assert hello.text == "Hello, Ann (ru, private)"
    assert hello.button_texts() == ["Confirm", "Cancel"]
    assert hello.message_id == 2  # the user's /start was message 1 of this chat

    await ann.press("Confirm")
    edit = await ann.wait_for(kind="edit")
    answer = await ann.wait_for(kind="callback_answer")
    assert (edit.message_id, edit.text, edit.buttons) == (hello.message_id, "Confirmed", ())
    assert answer.text == "Done"
    state = ann.message(hello.message_id)
    assert (state.text, state.buttons, state.edits, state.deleted) == ("Confirmed", [], 1, False)
    assert len(tg.callback_queries) == 1 and tg.unanswered_callback_queries() == []
    # The inline keyboard is gone, so pressing again is a test error, not a silent no-op.
    with pytest.raises(NoSuchButton):
        await ann.press("Confirm")


async def test_cancel_deletes_message_and_alert_is_recorded(tg: FakeTelegram, polling: Dispatcher) -> None:
    bob = tg.user(502, "Bob")
    await bob.send("/start")
    hello = await bob.wait_for("Hello, Bob")
    await bob.press("Cancel")
    deleted = await bob.wait_for(kind="delete")
    alert = await bob.wait_for("Cancelled")
    assert deleted.message_id == hello.message_id and bob.message(hello.message_id).deleted
    assert alert.kind == "callback_answer" and alert.params["show_alert"] == "true"
    assert bob.last_bot_message is None


async def test_press_data_on_old_message_reaches_the_bot(tg: FakeTelegram, polling: Dispatcher) -> None:
    eve = tg.user(503, "Eve")
    await eve.send("/start")
    hello = await eve.wait_for("Hello")
    await eve.press_data("forged:1", message_id=hello.message_id)
    answer = await eve.wait_for(kind="callback_answer")
    assert answer.text == "Unknown button forged:1"
    with pytest.raises(NoSuchButton):
        await eve.press_data("nothing-like-this")


async def test_bot_deletes_user_message_and_message_ids_increase(tg: FakeTelegram, polling: Dispatcher) -> None:
    kim = tg.user(504, "Kim")
    await kim.send("secret hunter2")
    await kim.wait_for("deleted your secret")
    deleted = kim.transcript[0]
    assert (deleted.kind, deleted.message_id, deleted.text) == ("delete", 1, None)
    assert kim.message(1).deleted and not kim.message(1).from_bot
    assert [m.message_id for m in kim.messages] == [1, 2]
    await kim.send("again")
    await kim.wait_for("echo: again")
    assert [m.message_id for m in kim.messages] == [1, 2, 3, 4]


async def test_chat_action_document_and_photo_are_recorded(tg: FakeTelegram, polling: Dispatcher) -> None:
    lea = tg.user(505, "Lea")
    await lea.send("/typing")
    action = await lea.wait_for(kind="chat_action")
    assert action.text == "typing"
    await lea.wait_for("done typing")

    await lea.send("/doc")
    doc = await lea.wait_for(kind="document")
    assert doc.file is not None
    assert (doc.file.filename, doc.file.mime_type) == ("export.csv", "text/csv")
    assert doc.file.data == b"date,amount\n2026-11-01,10.50\n"
    assert doc.text == "Export for November"
    message = lea.message(doc.message_id or 0)
    assert message.entities == [{"type": "bold", "offset": 0, "length": 6}]

    await lea.send("/photo")
    photo = await lea.wait_for(kind="photo")
    assert photo.file is not None and photo.file.data == PNG_1X1
    assert (photo.file.width, photo.file.height, photo.text) == (1, 1, "chart")


async def test_html_is_parsed_into_entities_and_bad_html_is_rejected(tg: FakeTelegram, polling: Dispatcher) -> None:
    mia = tg.user(506, "Mia")
    await mia.send("/html")
    html = await mia.wait_for("Bold")
    assert html.text == "Bold and itälic <ok>"
    assert mia.message(html.message_id or 0).entities == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 9, "length": 6},
    ]
    await mia.send("/bad_html")
    error = await mia.wait_for("error:")
    assert "unsupported start tag" in (error.text or "")


async def test_edit_with_same_content_is_not_modified(tg: FakeTelegram, polling: Dispatcher) -> None:
    ned = tg.user(507, "Ned")
    await ned.send("/twice")
    error = await ned.wait_for("error:")
    assert "message is not modified" in (error.text or "")


async def test_group_chat_has_its_own_transcript(tg: FakeTelegram, polling: Dispatcher) -> None:
    ola = tg.user(508, "Ola")
    group = ola.in_group(-100500, "Family")
    await group.send("/start")
    hello = await group.wait_for("Hello, Ola")
    assert hello.text == "Hello, Ola (en, group)" and hello.chat_id == -100500
    assert ola.transcript == []
    await group.wait_idle(idle=0.1)


async def test_commands_are_stored_per_language_and_scope(tg: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="balance", description="Balance")], language_code="en")
    await bot.set_my_commands([BotCommand(command="balance", description="Баланс")], language_code="ru")
    await bot.set_my_commands(
        [BotCommand(command="login", description="Log in")], scope=BotCommandScopeAllPrivateChats()
    )
    assert tg.commands_for("ru") == [{"command": "balance", "description": "Баланс"}]
    assert tg.commands_for("en") == [{"command": "balance", "description": "Balance"}]
    assert tg.commands_for("", {"type": "all_private_chats"}) == [{"command": "login", "description": "Log in"}]
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Баланс"]
    assert await bot.get_my_commands(language_code="de") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])


async def test_flood_control_answers_429_with_retry_after_once(tg: FakeTelegram, bot: Bot) -> None:
    pia = tg.user(509, "Pia")
    await pia.send("hi")
    tg.faults.flood("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(pia.chat_id, "first try")
    assert caught.value.retry_after == 3
    assert pia.transcript == []
    await bot.send_message(pia.chat_id, "second try")
    assert [a.text for a in pia.transcript] == ["second try"]

    tg.faults.inject("sendMessage", status=500)
    with pytest.raises(TelegramServerError):
        await bot.send_message(pia.chat_id, "server down")

    tg.faults.flood("sendMessage", retry_after=7)
    url = f"{tg.base_url}/bot{tg.token}/sendMessage"
    async with aiohttp.ClientSession() as http, http.post(url, data={"chat_id": "509", "text": "x"}) as response:
        assert response.status == 429
        assert await response.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }


async def test_wrong_token_is_401_and_unknown_method_404(tg: FakeTelegram) -> None:
    wrong = make_bot(tg.base_url, "42:not-the-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await wrong.get_me()
    finally:
        await wrong.session.close()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{tg.base_url}/bot42:nope/getMe") as response:
            assert response.status == 401
            assert await response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        async with http.post(f"{tg.base_url}/bot{tg.token}/sendSticker") as response:
            assert response.status == 404
            assert await response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_get_me_and_json_bodies(tg: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456789, True, "qiwi_family_test_bot")
    rui = tg.user(510, "Rui")
    await rui.send("hello")
    url = f"{tg.base_url}/bot{tg.token}/sendMessage"
    body = {
        "chat_id": 510,
        "text": "via json",
        "reply_markup": {"inline_keyboard": [[{"text": "Go", "url": "https://t.me"}]]},
    }
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        result = (await response.json())["result"]
    assert result["text"] == "via json" and result["from"]["id"] == 123456789
    assert result["reply_markup"] == body["reply_markup"]
    with pytest.raises(NoSuchButton, match="not a callback button"):
        await rui.press("Go")


async def test_unknown_chat_and_blocked_user(tg: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(999, "nobody here")
    sam = tg.user(511, "Sam")
    await sam.send("hi")
    sam.block()
    with pytest.raises(TelegramForbiddenError, match="blocked by the user"):
        await bot.send_message(sam.chat_id, "are you there?")


async def test_long_poll_returns_as_soon_as_an_update_arrives(tg: FakeTelegram) -> None:
    url = f"{tg.base_url}/bot{tg.token}/getUpdates"
    tom = tg.user(512, "Tom")
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data={"timeout": "0"}) as response:
            assert (await response.json())["result"] == []

        async def poll(offset: int) -> tuple[float, int, dict[str, Any]]:
            started = time.monotonic()
            async with http.post(url, data={"timeout": "20", "offset": str(offset)}) as response:
                return time.monotonic() - started, response.status, await response.json()

        waiting = asyncio.create_task(poll(0))
        await tg.wait_polling(calls=2)
        await asyncio.sleep(0.1)
        await tom.send("ping")
        elapsed, _, body = await asyncio.wait_for(waiting, 5)
        updates = body["result"]
        assert elapsed < 2 and [u["message"]["text"] for u in updates] == ["ping"]
        first_id = updates[0]["update_id"]

        # Unconfirmed updates come again; a higher offset confirms them.
        _, _, again = await poll(0)
        assert [u["update_id"] for u in again["result"]] == [first_id]
        await tom.send("pong")
        _, _, after = await poll(first_id + 1)
        assert [u["update_id"] for u in after["result"]] == [first_id + 1]

        # A second poller terminates the first, as Telegram does for two bot instances.
        first = asyncio.create_task(poll(first_id + 2))
        await tg.wait_polling(calls=tg.get_updates_calls + 1)
        async with http.post(url, data={"timeout": "0", "offset": str(first_id + 2)}) as response:
            assert (await response.json())["result"] == []
        _, status, conflicted = await asyncio.wait_for(first, 5)
    assert status == 409 and conflicted["description"].startswith("Conflict: terminated by other getUpdates")


async def test_wait_for_times_out_with_a_description(tg: FakeTelegram, polling: Dispatcher) -> None:
    uma = tg.user(513, "Uma")
    await uma.send("/start")
    await uma.wait_idle(idle=0.2)
    with pytest.raises(BotDidNotAnswer, match="Hello, Uma"):
        await uma.wait_for("never said", timeout=0.3)


async def test_wait_idle_needs_the_bot_to_fetch_updates(tg: FakeTelegram) -> None:
    vic = tg.user(514, "Vic")
    await vic.send("anyone?")
    with pytest.raises(BotDidNotAnswer, match="not fetched by the bot"):
        await vic.wait_idle(idle=0.05, timeout=0.3)


async def test_fault_on_every_method_with_delay(tg: FakeTelegram, bot: Bot) -> None:
    tg.faults.inject("*", status=500, delay=0.2)
    started = time.monotonic()
    with pytest.raises(TelegramServerError):
        await bot.get_me()
    assert time.monotonic() - started >= 0.2
    assert (await bot.get_me()).id == tg.bot_id
    assert [request.method for request in tg.calls("getme")] == ["getMe", "getMe"]


async def test_webhook_blocks_polling_and_allowed_updates_filter(tg: FakeTelegram, bot: Bot) -> None:
    wes = tg.user(515, "Wes")
    await wes.send("dropped when webhook is set with drop_pending_updates")
    assert await bot.set_webhook("https://bot.example/hook", drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == "https://bot.example/hook"
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == []

    await wes.send("a message")
    hello = await bot.send_message(wes.chat_id, "pick", reply_markup=None)
    await wes.press_data("x", message_id=hello.message_id)
    updates = await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    assert [update.event_type for update in updates] == ["callback_query"]


async def test_document_can_be_resent_by_file_id(tg: FakeTelegram, bot: Bot) -> None:
    xia = tg.user(516, "Xia")
    await xia.send("hi")
    first = await bot.send_document(xia.chat_id, BufferedInputFile(b"x;y\n", filename="a.csv"))
    assert first.document is not None and first.document.file_name == "a.csv"
    again = await bot.send_document(xia.chat_id, first.document.file_id, caption="again")
    assert again.document is not None and again.document.file_id == first.document.file_id
    assert [a.file.data if a.file else None for a in xia.transcript] == [b"x;y\n", b"x;y\n"]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(xia.chat_id, "no-such-file-id")
