"""Admins: /invite makes a one-time link, /members lists members with a Remove button each.

The admin handlers sit on the `admins` router (its filter lets admins only); everybody else who asks gets
one line from `build_router`'s handler.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link

from bot.callbacks import MemberAction
from bot.handlers.replies import answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.inline import members_keyboard
from bot.phone import format_phone
from bot.services.members import MemberService
from bot.services.names import shown
from bot.services.sessions import SessionService
from bot.timeutil import show_moment


async def members_view(
    members: MemberService, sessions: SessionService, tr: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    listed = await members.members()
    if not listed:
        return tr("members.none"), None
    labels = await members.labels()
    lines = [tr("members.header", count=len(listed))]
    for member in listed:
        status = sessions.status(member)
        wallet = format_phone(status.wallet) if status.logged_in and status.wallet else tr("members.no_session")
        lines.append(f"• <b>{shown(labels[member.tg_id])}</b> (<code>{member.tg_id}</code>) — {wallet}")
    return "\n".join(lines), members_keyboard(tr, [(m.tg_id, labels[m.tg_id]) for m in listed])


async def invite(message: Message, bot: Bot, members: MemberService, tr: Translator) -> None:
    assert message.from_user is not None
    created = await members.create_invite(message.from_user.id)
    link = await create_start_link(bot, created.code)
    await message.answer(tr("invite.created", link=link, until=show_moment(created.expires_at)))


async def list_members(message: Message, members: MemberService, sessions: SessionService, tr: Translator) -> None:
    text, keyboard = await members_view(members, sessions, tr)
    await message.answer(text, reply_markup=keyboard)


async def remove_member(
    callback: CallbackQuery,
    callback_data: MemberAction,
    members: MemberService,
    sessions: SessionService,
    tr: Translator,
) -> None:
    label = (await members.labels()).get(callback_data.tg_id, str(callback_data.tg_id))
    if await members.remove(callback_data.tg_id):
        await answer_press(callback, tr("members.removed", member=label))
    else:
        await answer_press(callback, tr("members.already_gone"))
    text, keyboard = await members_view(members, sessions, tr)
    await edit_pressed(callback, text, keyboard)


async def admins_only(message: Message, tr: Translator) -> None:
    await message.answer(tr("members.admins_only"))


def build_admin_router() -> Router:
    router = Router(name="members-admin")
    router.message.register(invite, Command("invite"))
    router.message.register(list_members, Command("members"))
    router.callback_query.register(remove_member, MemberAction.filter())
    return router


def build_router() -> Router:
    router = Router(name="members")
    router.message.register(admins_only, Command("invite", "members"))
    return router
