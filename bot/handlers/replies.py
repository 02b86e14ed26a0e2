"""Answering a button press and editing its message, safely: the one copy of both for every feature.

Telegram refuses an identical edit ("message is not modified"), an answer to a press older than ~15 s
("query is too old") and an edit of a deleted message. None of these may turn a good update into an error:
the press still counted, only its notice or its edit is lost.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

log = logging.getLogger(__name__)


async def answer_press(callback: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    try:
        await callback.answer(text, show_alert=alert)
    except TelegramBadRequest as error:
        log.info("could not answer a button press: %s", error.message)


async def edit_pressed(callback: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> bool:
    """Replaces the text (and the buttons: none unless given) of the message whose button was pressed.
    True when the message now shows `text`."""
    message = callback.message
    if message is None or callback.bot is None:
        return False
    try:
        await callback.bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=keyboard
        )
    except TelegramBadRequest as error:
        if "not modified" in error.message:
            return True
        log.info("could not edit a message: %s", error.message)
        return False
    return True


async def answer_and_edit(callback: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> bool:
    """Both at once: the press's answer (which stops the button's spinner) need not wait for the edit, nor the
    edit for it. True when the message now shows `text`."""
    _, edited = await asyncio.gather(answer_press(callback), edit_pressed(callback, text, keyboard))
    return edited
