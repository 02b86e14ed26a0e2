"""/start, /help, /cancel and /language for members and admins."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import LanguageChoice
from bot.handlers.replies import answer_and_edit
from bot.handlers.transfer import leave_dialog
from bot.i18n import Translator
from bot.keyboards.inline import language_keyboard
from bot.phone import format_phone
from bot.services.members import MemberService
from bot.services.notifier import Notifier
from bot.services.sessions import SessionService
from bot.services.transfers import TransferService
from bot.timeutil import show_moment

if TYPE_CHECKING:
    from bot.i18n import CatalogI18n
    from bot.sandbox.seed import DemoWallet
    from bot.storage.models import User


def session_line(tr: Translator, user: User, sessions: SessionService) -> str:
    status = sessions.status(user)
    if status.wallet is None or status.expires_at is None:
        return tr("start.session.none")
    if status.expires_at <= sessions.clock():
        return tr("start.session.probably_ended", wallet=format_phone(status.wallet))
    return tr("start.session.active", wallet=format_phone(status.wallet), until=show_moment(status.expires_at))


def sandbox_lines(tr: Translator, demo_wallets: Sequence[DemoWallet]) -> list[str]:
    if not demo_wallets:
        return []
    lines = ["", tr("start.sandbox")]
    lines += [
        f"• <code>{w.phone}</code> / <code>{escape(w.password)}</code> — {escape(w.description)}" for w in demo_wallets
    ]
    return lines


async def start(
    message: Message,
    command: CommandObject,
    user: User,
    is_admin: bool,
    sessions: SessionService,
    tr: Translator,
    demo_wallets: Sequence[DemoWallet] = (),
) -> None:
    lines = []
    if command.args:
        lines += [tr("start.already_member"), ""]
    lines += [tr("start.greeting"), "", tr("start.help_short")]
    if is_admin:
        lines.append(tr("start.admin_hint"))
    lines += ["", session_line(tr, user, sessions)]
    lines += sandbox_lines(tr, demo_wallets)
    await message.answer("\n".join(lines))


async def help_command(message: Message, is_admin: bool, tr: Translator) -> None:
    text = tr("help.text")
    if is_admin:
        text += "\n" + tr("help.admin")
    await message.answer(text)


async def cancel(
    message: Message, state: FSMContext, transfers: TransferService, notifier: Notifier, tr: Translator
) -> None:
    assert message.from_user is not None
    if await leave_dialog(state, transfers, notifier, message.from_user.id, tr):
        await message.answer(tr("cancel.done"))
    else:
        await message.answer(tr("cancel.nothing"))


async def language(message: Message, tr: Translator) -> None:
    await message.answer(tr("language.choose"), reply_markup=language_keyboard(tr.language))


async def language_chosen(
    callback: CallbackQuery, callback_data: LanguageChoice, members: MemberService, i18n: CatalogI18n
) -> None:
    chosen = callback_data.language.value
    await members.set_language(callback.from_user.id, chosen)
    await answer_and_edit(callback, i18n.translator(chosen)("language.changed"), language_keyboard(chosen))


def build_router() -> Router:
    router = Router(name="common")
    router.message.register(start, CommandStart())
    router.message.register(help_command, Command("help"))
    router.message.register(cancel, Command("cancel"))
    router.message.register(language, Command("language"))
    router.callback_query.register(language_chosen, LanguageChoice.filter())
    return router
