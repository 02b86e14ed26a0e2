"""How services speak to members outside an update (alerts, payment outcomes, request notices).

Services hold a `Notifier`, never the `Bot`: tests hand them a recording one, the bot a `TelegramNotifier`.
A message that cannot be delivered (blocked bot, deleted chat, Telegram down) is logged and reported as
None/False: the caller decides whether that matters, and one member's closed chat never stops a job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import InlineKeyboardMarkup

    from bot.i18n import Translator

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SentMessage:
    chat_id: int
    message_id: int


class Texts(Protocol):
    """The catalog in a member's language, outside any update: `CatalogI18n` fits."""

    def translator(self, language: str | None) -> Translator: ...


class Notifier(Protocol):
    async def send(
        self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> SentMessage | None: ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> bool: ...


class TelegramNotifier:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None) -> SentMessage | None:
        try:
            sent = await self.bot.send_message(chat_id, text, reply_markup=keyboard)
        except TelegramAPIError as error:
            log.info("could not message chat %s: %s", chat_id, type(error).__name__)
            return None
        return SentMessage(sent.chat.id, sent.message_id)

    async def edit(
        self, chat_id: int, message_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> bool:
        try:
            await self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard)
        except TelegramBadRequest as error:
            # Pressing the button of the view already shown: Telegram refuses an identical edit.
            if "not modified" in error.message:
                return True
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, type(error).__name__)
            return False
        except TelegramAPIError as error:
            log.info("could not edit message %s in chat %s: %s", message_id, chat_id, type(error).__name__)
            return False
        return True
