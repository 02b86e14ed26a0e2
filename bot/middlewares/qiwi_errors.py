"""QIWI failures become one short reply here, so handlers stay the happy path."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.services.failures import failure_key
from bot.services.sessions import NotLoggedIn, SessionEnded

log = logging.getLogger(__name__)


class QiwiErrorMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except Exception as error:
            key = failure_key(error)
            if key is None:
                raise
            if not isinstance(error, NotLoggedIn | SessionEnded):
                # str(QiwiError) is redacted by construction; the class says which reply was chosen.
                log.warning("QIWI call failed: %s: %s", type(error).__name__, error)
            await _reply(event, data["tr"](key))
            return None


async def _reply(event: TelegramObject, text: str) -> None:
    try:
        if isinstance(event, Message):
            await event.answer(text)
        elif isinstance(event, CallbackQuery):
            await event.answer()
            if event.message is not None:
                await event.bot.send_message(event.message.chat.id, text)  # type: ignore[union-attr]
    except TelegramAPIError as error:
        log.warning("could not tell the user about a QIWI failure: %s", type(error).__name__)
