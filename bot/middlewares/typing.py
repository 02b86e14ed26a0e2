""" "typing…" while a handler flagged `chat_action` waits for QIWI; other handlers answer at once anyway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import Message, TelegramObject
from aiogram.utils.chat_action import ChatActionSender

# An answer faster than this needs no "typing…": it would cost a Bot API call per command and only flicker.
TYPING_AFTER = 0.25


class TypingMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        action = get_flag(data, "chat_action")
        if not action or not isinstance(event, Message):
            return await handler(event, data)
        async with ChatActionSender(
            bot=data["bot"], chat_id=event.chat.id, action=str(action), initial_sleep=TYPING_AFTER
        ):
            return await handler(event, data)
