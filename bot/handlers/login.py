"""/login (wallet number, then password) and /logout.

The password message has already been deleted when it gets here (`PasswordStepMiddleware`), so it never
lingers in the chat, whatever QIWI answers. Only the encrypted TGT is stored; the password lives in one
local variable.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.filters import not_a_command, text_message
from bot.handlers.transfer import leave_dialog
from bot.i18n import Translator
from bot.middlewares.update_log import KNOWN_COMMANDS, command_word
from bot.phone import InvalidPhone, format_phone, normalize_phone
from bot.qiwi.errors import QiwiAuthError, QiwiError
from bot.services.failures import failure_key
from bot.services.notifier import Notifier
from bot.services.sessions import TGT_MAX_AGE, SessionService, TooManyLoginAttempts
from bot.services.transfers import TransferService
from bot.states import LoginData, LoginDialog
from bot.timeutil import show_moment

log = logging.getLogger(__name__)


async def not_our_command(message: Message) -> bool:
    """A password may start with "/": only the bot's own commands act as commands in the password step."""
    return command_word(message.text, KNOWN_COMMANDS) in (None, "/?")


async def login(message: Message, state: FSMContext, tr: Translator) -> None:
    await state.set_state(LoginDialog.phone)
    await message.answer(tr("login.ask_phone"))


async def logout(
    message: Message,
    state: FSMContext,
    sessions: SessionService,
    transfers: TransferService,
    notifier: Notifier,
    tr: Translator,
) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    await leave_dialog(state, transfers, notifier, tg_id, tr)
    wallet = await sessions.current_wallet(tg_id)
    if wallet is None or not await sessions.logout(tg_id):
        await message.answer(tr("logout.not_logged_in"))
        return
    lines = [tr("logout.done", wallet=format_phone(wallet))]
    now_current = await sessions.current_wallet(tg_id)
    if now_current is not None and now_current != wallet:
        lines.append(tr("logout.now_current", wallet=format_phone(now_current)))
    await message.answer("\n".join(lines))


async def login_phone(message: Message, state: FSMContext, tr: Translator) -> None:
    try:
        wallet = normalize_phone(message.text or "")
    except InvalidPhone:
        await message.answer(tr("login.bad_phone"))
        return
    await LoginData(wallet=wallet).save(state)
    await state.set_state(LoginDialog.password)
    await message.answer(tr("login.ask_password", wallet=format_phone(wallet)))


async def login_phone_not_text(message: Message, tr: Translator) -> None:
    await message.answer(tr("login.bad_phone"))


async def login_password(message: Message, state: FSMContext, sessions: SessionService, tr: Translator) -> None:
    """Any message in the password step that is not a command (those act as themselves)."""
    password = message.text
    if not password:
        await message.answer(tr("login.password_not_text"))
        return
    wallet = (await LoginData.load(state)).wallet
    if wallet is None:
        await state.set_state(LoginDialog.phone)
        await message.answer(tr("login.ask_phone"))
        return
    assert message.from_user is not None
    try:
        session = await sessions.login(message.from_user.id, wallet, password)
    except TooManyLoginAttempts as error:
        await state.clear()
        await message.answer(tr("login.too_many", until=show_moment(error.retry_at)))
        return
    except QiwiAuthError:
        await message.answer(tr("login.wrong_password"))
        return
    except QiwiError as error:
        log.warning("login failed: %s", type(error).__name__)
        await message.answer(tr(failure_key(error) or "error.unavailable"))
        return
    await state.clear()
    lines = [tr("login.done", wallet=format_phone(wallet), until=show_moment(session.started_at + TGT_MAX_AGE))]
    if await sessions.named_wallet(message.from_user.id) is not None:  # not the member's only wallet
        lines.append(tr("login.added"))
    await message.answer("\n".join(lines))


def build_router() -> Router:
    router = Router(name="login")
    router.message.register(login, Command("login"))
    router.message.register(logout, Command("logout"), flags={"chat_action": "typing"})
    router.message.register(login_phone, StateFilter(LoginDialog.phone), text_message, not_a_command)
    router.message.register(login_phone_not_text, StateFilter(LoginDialog.phone), not_a_command)
    # Text starting with "/" that is none of our commands is a password like any other: it was deleted.
    router.message.register(
        login_password, StateFilter(LoginDialog.password), not_our_command, flags={"chat_action": "typing"}
    )
    return router
