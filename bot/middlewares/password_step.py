"""The login's password step deletes every message that arrives in it, before anything else reads it.

Whatever it is — the password, a sticker, or a command such as `/cancel hunter2` (a password may well
start with a slash) — it leaves the chat at once; then it is handled as usual: a command acts, anything
else is taken as the password. `password_deleted` in the data tells the login handler it is done.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, TelegramObject

from bot.states import LoginDialog

log = logging.getLogger(__name__)


class PasswordStepMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        if isinstance(event, Message) and state is not None and await state.get_state() == LoginDialog.password.state:
            try:
                await event.delete()
                data["password_deleted"] = True
            except TelegramAPIError as error:
                # Still go on: the user must be told to delete it themselves.
                log.warning("could not delete a password message: %s", type(error).__name__)
                data["password_deleted"] = False
                tr = data.get("tr")
                if tr is not None:
                    await event.answer(tr("login.delete_failed"))
        return await handler(event, data)
