""" "typing…" while a handler flagged `chat_action` waits for QIWI; other handlers answer at once anyway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.types import Message, TelegramObject

log = logging.getLogger(__name__)

# An answer faster than this needs no "typing…": it would cost a Bot API call per command and only flicker.
TYPING_AFTER = 0.25
# Telegram shows a chat action for about five seconds; it is sent again while the answer is still coming.
TYPING_EVERY = 5.0


async def _keep_typing(bot: Bot, chat_id: int, action: str) -> None:
    try:
        while True:
            await bot.send_chat_action(chat_id=chat_id, action=action)
            await asyncio.sleep(TYPING_EVERY)
    except Exception as error:  # "typing…" is a courtesy: whatever fails here must not touch the answer
        log.debug("chat action %s stopped: %s", action, type(error).__name__)


class TypingMiddleware(BaseMiddleware):
    """Costs one timer per flagged update: nothing is started unless the answer takes `TYPING_AFTER`.

    (aiogram's `ChatActionSender` starts a task, two events and a `wait_for` per update even when the answer
    comes first; a `/balance` is answered in about a tenth of a second.)
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        action = get_flag(data, "chat_action")
        if not action or not isinstance(event, Message):
            return await handler(event, data)
        loop = asyncio.get_running_loop()
        typing: list[asyncio.Task[None]] = []
        bot, chat_id = data["bot"], event.chat.id
        timer = loop.call_later(
            TYPING_AFTER, lambda: typing.append(loop.create_task(_keep_typing(bot, chat_id, str(action))))
        )
        try:
            return await handler(event, data)
        finally:
            timer.cancel()
            for task in typing:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
