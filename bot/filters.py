"""Access filters for routers. `UserMiddleware` has put `user` (None for outsiders) and `is_admin` into the
data; these filters read them, so the rule itself lives in one place (`bot/services/access.py`).

They are `async def` on purpose: aiogram runs a plain function filter (a magic `F...` filter too) in a
worker thread, a trip to the executor and back for every update that reaches the router (measured with
`python -m bench --experiment inline-filters`). These run on every update.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message, TelegramObject


async def is_inside(_: TelegramObject, user: object = None) -> bool:
    return user is not None


async def is_outsider(_: TelegramObject, user: object = None) -> bool:
    return user is None


async def is_admin(_: TelegramObject, is_admin: bool = False) -> bool:
    return is_admin


async def in_private_chat(callback: CallbackQuery) -> bool:
    return callback.message is not None and callback.message.chat.type == "private"


async def private_message(message: Message) -> bool:
    return message.chat.type == "private"


async def group_message(message: Message) -> bool:
    return message.chat.type != "private"


async def group_button(callback: CallbackQuery) -> bool:
    return callback.message is not None and callback.message.chat.type != "private"
