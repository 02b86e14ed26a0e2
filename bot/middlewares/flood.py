"""Telegram flood control: wait out `retry_after` and send again, a bounded number of times.

aiogram raises TelegramRetryAfter and leaves the message unsent; a bot that drops replies under load is
worse than one that answers a few seconds late.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, *, attempts: int = 3, max_wait: float = 60.0) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                log.warning(
                    "Telegram flood control on %s: waiting %s s (try %s of %s)",
                    type(method).__name__,
                    error.retry_after,
                    attempt,
                    self.attempts,
                )
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable")
