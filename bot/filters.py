"""Access filters for routers. `UserMiddleware` has put `user` (None for outsiders) and `is_admin` into the
data; these filters read them, so the rule itself lives in one place (`bot/services/access.py`)."""

from __future__ import annotations

from aiogram.types import CallbackQuery, TelegramObject


def is_inside(_: TelegramObject, user: object = None) -> bool:
    return user is not None


def is_outsider(_: TelegramObject, user: object = None) -> bool:
    return user is None


def is_admin(_: TelegramObject, is_admin: bool = False) -> bool:
    return is_admin


def is_not_admin(_: TelegramObject, is_admin: bool = False) -> bool:
    return not is_admin


def in_private_chat(callback: CallbackQuery) -> bool:
    return callback.message is not None and callback.message.chat.type == "private"
