"""A fake Telegram server and a real aiogram bot polling it, with a few tiny handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandStart
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.devtools.fake_telegram import FakeTelegram

# 1x1 transparent PNG: the fake server reads its size from the header.
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082"
)


def make_bot(base_url: str, token: str) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


def tiny_router() -> Router:
    router = Router(name="tiny")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        assert message.from_user is not None
        keyboard = InlineKeyboardBuilder()
        keyboard.button(text="Confirm", callback_data="confirm")
        keyboard.button(text="Cancel", callback_data="cancel")
        await message.answer(
            f"Hello, {message.from_user.first_name} ({message.from_user.language_code}, {message.chat.type})",
            reply_markup=keyboard.as_markup(),
        )

    @router.callback_query(F.data == "confirm")
    async def confirm(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("Confirmed")
        await query.answer("Done")

    @router.callback_query(F.data == "cancel")
    async def cancel(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.delete()
        await query.answer("Cancelled", show_alert=True)

    @router.callback_query()
    async def stale(query: CallbackQuery) -> None:
        await query.answer(f"Unknown button {query.data}")

    @router.message(Command("typing"))
    async def typing(message: Message) -> None:
        await message.bot.send_chat_action(message.chat.id, "typing")  # type: ignore[union-attr]
        await message.answer("done typing")

    @router.message(Command("doc"))
    async def document(message: Message) -> None:
        await message.answer_document(
            BufferedInputFile(b"date,amount\n2026-11-01,10.50\n", filename="export.csv"),
            caption="<b>Export</b> for November",
            parse_mode="HTML",
        )

    @router.message(Command("photo"))
    async def photo(message: Message) -> None:
        await message.answer_photo(BufferedInputFile(PNG_1X1, filename="chart.png"), caption="chart")

    @router.message(Command("html"))
    async def html(message: Message) -> None:
        await message.answer("<b>Bold</b> and <i>itälic</i> &lt;ok&gt;", parse_mode="HTML")

    @router.message(Command("bad_html"))
    async def bad_html(message: Message) -> None:
        try:
            await message.answer("comment: <script>", parse_mode="HTML")
        except TelegramBadRequest as error:
            await message.answer(f"error: {error.message}")

    @router.message(Command("twice"))
    async def twice(message: Message) -> None:
        sent = await message.answer("same")
        try:
            await sent.edit_text("same")
        except TelegramBadRequest as error:
            await message.answer(f"error: {error.message}")

    @router.message(F.text.startswith("secret "))
    async def secret(message: Message) -> None:
        await message.delete()
        await message.answer("deleted your secret")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    return router


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    telegram = FakeTelegram()
    await telegram.start()
    try:
        yield telegram
    finally:
        await telegram.stop()


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    instance = make_bot(tg.base_url, tg.token)
    try:
        yield instance
    finally:
        await instance.session.close()


@pytest.fixture
async def polling(tg: FakeTelegram, bot: Bot) -> AsyncIterator[Dispatcher]:
    """A real Dispatcher long-polling the fake server until the test ends."""
    dp = Dispatcher()
    dp.include_router(tiny_router())
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=5))
    await tg.wait_polling(timeout=10)
    try:
        yield dp
    finally:
        with contextlib.suppress(RuntimeError):
            await dp.stop_polling()
        await asyncio.wait_for(task, 10)
