"""Resolves the current user once per update and hands it to filters and handlers as `user` / `is_admin`.

`user` is None for outsiders. Admins from ADMIN_IDS always get a row (created on first contact); members
exist because an invite created their row. A row whose role is `admin` but whose id left ADMIN_IDS is
treated as an outsider: ADMIN_IDS is the only source of admin rights.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

if TYPE_CHECKING:
    from bot.storage import Database


class UserMiddleware(BaseMiddleware):
    def __init__(self, db: Database, admin_ids: list[int]) -> None:
        self.db = db
        self.admin_ids = frozenset(admin_ids)

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
            is_admin = telegram_user.id in self.admin_ids
            user = await self.db.users.get(telegram_user.id)
            if is_admin and user is None:
                user = await self.db.users.ensure(telegram_user.id, "admin")
            elif user is not None and user.role == "admin" and not is_admin:
                user = None
        data["user"] = user
        data["is_admin"] = is_admin
        return await handler(event, data)
