"""Counts the updates being handled, so shutdown can wait for them (one may be in the middle of a payment).

aiogram stops taking updates on shutdown but leaves the handlers already running to themselves, in
polling and webhook mode alike; this outer middleware is how the bot knows when they are done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import TelegramObject

log = logging.getLogger(__name__)

# How long shutdown waits for updates already being handled (a transfer waiting on QIWI, say).
DRAIN_TIMEOUT = 30.0


class InFlightMiddleware(BaseMiddleware):
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def count(self) -> int:
        return len(self._tasks)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        if task is None:
            return await handler(event, data)
        self._tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self._tasks.discard(task)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:  # noqa: ASYNC109
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current and not task.done()]
        if not pending:
            return
        log.info("Waiting for %s update(s) in flight", len(pending))
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            log.warning("An update was still being handled after %.0f s; cancelled", timeout)
            task.cancel()


def track_updates(dp: Dispatcher) -> InFlightMiddleware:
    """Counts every update of `dp` and makes its shutdown wait for them. Call it before registering other
    shutdown hooks and update middlewares: the count must cover the whole of an update's handling."""
    in_flight = InFlightMiddleware()
    dp.update.outer_middleware(in_flight)
    dp.shutdown.register(in_flight.drain)
    return in_flight
