"""Resolves the current user once per update and hands it to filters and handlers as `user` / `is_admin`.

`user` is None for outsiders (the access rule of `bot/services/access.py`, asked through MemberService).
The name Telegram sends is kept for members and admins; an outsider leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

if TYPE_CHECKING:
    from bot.services.members import MemberService


class UserMiddleware(BaseMiddleware):
    def __init__(self, members: MemberService) -> None:
        self.members = members

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        telegram_user: TelegramUser | None = data.get("event_from_user")
        user = None
        is_admin = False
        if telegram_user is not None and not telegram_user.is_bot:
            user, is_admin = await self.members.resolve(
                telegram_user.id, telegram_user.first_name, telegram_user.username
            )
        data["user"] = user
        data["is_admin"] = is_admin
        return await handler(event, data)
