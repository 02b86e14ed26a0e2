"""/login (wallet number, then password) and /logout.

The password message is deleted before anything else happens to it, so it never lingers in the chat,
whatever QIWI answers. Only the encrypted TGT is stored; the password lives in one local variable.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.handlers.common import format_moment, leave_dialog
from bot.phone import InvalidPhone, format_phone, normalize_phone
from bot.qiwi.errors import QiwiAuthError, QiwiError
from bot.services.failures import failure_key
from bot.services.sessions import TGT_MAX_AGE, SessionService, TooManyLoginAttempts
from bot.states import LoginDialog

log = logging.getLogger(__name__)
router = Router(name="login")

_NOT_A_COMMAND = ~F.text.startswith("/")


@router.message(Command("login"))
async def login(message: Message, state: FSMContext) -> None:
    await state.set_state(LoginDialog.phone)
    await message.answer(_("login.ask_phone"))


@router.message(Command("logout"), flags={"chat_action": "typing"})
async def logout(message: Message, state: FSMContext, sessions: SessionService, bot: Bot) -> None:
    assert message.from_user is not None
    await leave_dialog(state, sessions, message.from_user.id, bot)
    if await sessions.logout(message.from_user.id):
        await message.answer(_("logout.done"))
    else:
        await message.answer(_("logout.not_logged_in"))


@router.message(LoginDialog.phone, F.text, _NOT_A_COMMAND)
async def login_phone(message: Message, state: FSMContext) -> None:
    try:
        wallet = normalize_phone(message.text or "")
    except InvalidPhone:
        await message.answer(_("login.bad_phone"))
        return
    await state.update_data(wallet=wallet)
    await state.set_state(LoginDialog.password)
    await message.answer(_("login.ask_password").format(wallet=format_phone(wallet)))


@router.message(LoginDialog.phone, _NOT_A_COMMAND)
async def login_phone_not_text(message: Message) -> None:
    await message.answer(_("login.bad_phone"))


# Everything in the password step is taken as the password (even text starting with "/"), so that it is
# deleted; /start, /help and /cancel are routed before this router, /login and /logout above.
@router.message(LoginDialog.password, flags={"chat_action": "typing"})
async def login_password(message: Message, state: FSMContext, sessions: SessionService) -> None:
    password = message.text
    try:
        await message.delete()
    except TelegramAPIError as error:
        # Still go on: the user must be told to delete it themselves.
        log.warning("could not delete a password message: %s", type(error).__name__)
        await message.answer(_("login.delete_failed"))
    if not password:
        await message.answer(_("login.password_not_text"))
        return
    wallet = (await state.get_data()).get("wallet")
    if not isinstance(wallet, str):
        await state.set_state(LoginDialog.phone)
        await message.answer(_("login.ask_phone"))
        return
    assert message.from_user is not None
    try:
        session = await sessions.login(message.from_user.id, wallet, password)
    except TooManyLoginAttempts as error:
        await state.clear()
        await message.answer(_("login.too_many").format(until=format_moment(error.retry_at)))
        return
    except QiwiAuthError:
        await message.answer(_("login.wrong_password"))
        return
    except QiwiError as error:
        log.warning("login failed: %s", type(error).__name__)
        await message.answer(_(failure_key(error) or "error.unavailable"))
        return
    await state.clear()
    await message.answer(
        _("login.done").format(wallet=format_phone(wallet), until=format_moment(session.started_at + TGT_MAX_AGE))
    )
