"""Editing the message a button belongs to, tolerating Telegram's "not modified" refusal."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup


async def edit_callback_message(
    callback: CallbackQuery, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    message = callback.message
    if message is None or callback.bot is None:
        return
    try:
        await callback.bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=reply_markup
        )
    except TelegramBadRequest as error:
        # Pressing the button of the view already shown: Telegram refuses an identical edit.
        if "not modified" not in error.message:
            raise
