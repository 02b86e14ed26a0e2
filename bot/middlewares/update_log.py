"""One log line per update: who, what kind, which command, how it ended, how long it took.

Never the message text: in the login dialog the text is the user's QIWI password. Even a command word is
logged only when it is one of ours, because a password may well start with a slash.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User

from bot.commands import ALL_COMMANDS

log = logging.getLogger("bot.updates")

# The commands of interface.md; anything else that starts with "/" is logged as "/?".
KNOWN_COMMANDS = frozenset(ALL_COMMANDS)

# Callback data is ours (CallbackData prefixes), but only a short identifier before ":" is worth a log.
_CALLBACK_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")


@dataclass(frozen=True, slots=True)
class UpdateSummary:
    user_id: int | None
    kind: str
    command: str | None


def command_word(text: str | None, known: Collection[str]) -> str | None:
    if not text or not text.startswith("/"):
        return None
    word = text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()
    return f"/{word}" if word in known else "/?"


def callback_prefix(data: str | None) -> str | None:
    if not data:
        return None
    match = _CALLBACK_PREFIX.fullmatch(data.split(":", 1)[0])
    return match.group(0) if match else "?"


def summarize(update: Update, user: User | None, known: Collection[str] = KNOWN_COMMANDS) -> UpdateSummary:
    try:
        kind = update.event_type
    except Exception:  # a newer Bot API update type aiogram does not know
        kind = "unknown"
    event = getattr(update, kind, None) if kind != "unknown" else None
    command: str | None = None
    if isinstance(event, Message):
        command = command_word(event.text, known)
        if command is None:
            content = event.content_type  # a str enum: format its value, not "ContentType.TEXT"
            kind = f"{kind}:{getattr(content, 'value', content)}"
    elif isinstance(event, CallbackQuery):
        command = callback_prefix(event.data)
    return UpdateSummary(user.id if user else None, kind, command)


class UpdateLogMiddleware(BaseMiddleware):
    """Outer middleware for `dp.update`: register after the dispatcher is built
    (`dp.update.outer_middleware(UpdateLogMiddleware())`) so `event_from_user` is already resolved."""

    def __init__(self, known_commands: Collection[str] = KNOWN_COMMANDS) -> None:
        self.known_commands = frozenset(known_commands)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "ignored" if result is UNHANDLED else "ok"
            return result
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            if isinstance(event, Update):
                self._log(event, data.get("event_from_user"), outcome, time.perf_counter() - started)

    def _log(self, update: Update, user: User | None, outcome: str, seconds: float) -> None:
        level = logging.WARNING if outcome == "error" else logging.INFO
        if not log.isEnabledFor(level):  # LOG_LEVEL=WARNING: nothing to summarize for a line nobody writes
            return
        summary = summarize(update, user, self.known_commands)
        ms = round(seconds * 1000, 1)
        log.log(
            level,
            "update %s user=%s kind=%s command=%s outcome=%s ms=%.1f",
            update.update_id,
            summary.user_id if summary.user_id is not None else "-",
            summary.kind,
            summary.command or "-",
            outcome,
            ms,
            extra={
                "update_id": update.update_id,
                "user_id": summary.user_id,
                "kind": summary.kind,
                "command": summary.command,
                "outcome": outcome,
                "ms": ms,
            },
        )
