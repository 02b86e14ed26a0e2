"""Filters for routers and dialog steps. `UserMiddleware` has put `user` (None for outsiders) and `is_admin`
into the data; the access filters read them, so the rule itself lives in one place (`bot/services/access.py`).

They are `async def` on purpose: aiogram runs a plain function filter (a magic `F...` filter and a bare
`State` too) in a worker thread, a trip to the executor and back for every update that reaches it (measured
with `python -m bench --experiment inline-filters`). Dialog steps are matched with `StateFilter(...)`, which
aiogram awaits; `tests/unit/test_routing.py` holds every handler and filter to this.
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


async def text_message(message: Message) -> bool:
    return message.text is not None


async def not_a_command(message: Message) -> bool:
    """A dialog's answer: anything but a command, which leaves the dialog for its own handler."""
    return not (message.text or "").startswith("/")


async def a_command(message: Message) -> bool:
    return (message.text or "").startswith("/")
