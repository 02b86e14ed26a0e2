"""/start, /help, /cancel and /language for members and admins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LanguageChoice
from bot.handlers.replies import edit_callback_message
from bot.handlers.transfer import cancel_transfer_dialog
from bot.keyboards.inline import language_keyboard
from bot.phone import format_phone
from bot.services.sessions import SessionService
from bot.timeutil import MSK

if TYPE_CHECKING:
    from bot.sandbox.seed import DemoWallet
    from bot.storage import Database
    from bot.storage.models import User

router = Router(name="common")


def format_moment(moment: datetime) -> str:
    return moment.astimezone(MSK).strftime("%d.%m.%Y %H:%M") + " MSK"


def session_line(user: User, sessions: SessionService) -> str:
    status = sessions.status(user)
    if status.wallet is None or status.expires_at is None:
        return _("start.session.none")
    if status.expires_at <= sessions.clock():
        return _("start.session.probably_ended").format(wallet=format_phone(status.wallet))
    return _("start.session.active").format(wallet=format_phone(status.wallet), until=format_moment(status.expires_at))


def sandbox_lines(demo_wallets: Sequence[DemoWallet]) -> list[str]:
    if not demo_wallets:
        return []
    lines = ["", _("start.sandbox")]
    lines += [
        f"• <code>{w.phone}</code> / <code>{escape(w.password)}</code> — {escape(w.description)}" for w in demo_wallets
    ]
    return lines


@router.message(CommandStart())
async def start(
    message: Message,
    command: CommandObject,
    user: User,
    is_admin: bool,
    sessions: SessionService,
    demo_wallets: Sequence[DemoWallet] = (),
) -> None:
    lines = []
    if command.args:
        lines += [_("start.already_member"), ""]
    lines += [_("start.greeting"), "", _("start.help_short")]
    if is_admin:
        lines.append(_("start.admin_hint"))
    lines += ["", session_line(user, sessions)]
    lines += sandbox_lines(demo_wallets)
    await message.answer("\n".join(lines))


@router.message(Command("help"))
async def help_command(message: Message, is_admin: bool) -> None:
    text = _("help.text")
    if is_admin:
        text += "\n" + _("help.admin")
    await message.answer(text)


async def leave_dialog(state: FSMContext, sessions: SessionService, tg_id: int, bot: Bot | None) -> bool:
    """Closes whatever dialog is open; a transfer summary left open can no longer be confirmed after this."""
    if await state.get_state() is None:
        return False
    await cancel_transfer_dialog(state, sessions, tg_id, bot)
    await state.clear()
    return True


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, sessions: SessionService, bot: Bot) -> None:
    assert message.from_user is not None
    if await leave_dialog(state, sessions, message.from_user.id, bot):
        await message.answer(_("cancel.done"))
    else:
        await message.answer(_("cancel.nothing"))


@router.message(Command("language"))
async def language(message: Message, i18n: I18n) -> None:
    await message.answer(_("language.choose"), reply_markup=language_keyboard(i18n.current_locale))


@router.callback_query(LanguageChoice.filter())
async def language_chosen(callback: CallbackQuery, callback_data: LanguageChoice, db: Database, i18n: I18n) -> None:
    if callback_data.language not in i18n.available_locales:
        await callback.answer(_("stale.button"))
        return
    await db.users.set_language(callback.from_user.id, callback_data.language)
    with i18n.use_locale(callback_data.language):
        await callback.answer()
        await edit_callback_message(callback, _("language.changed"), language_keyboard(callback_data.language))
