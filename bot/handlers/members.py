"""Admins: /invite makes a one-time link, /members lists members with a Remove button each."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import CallbackQuery, Message
from aiogram.utils.deep_linking import create_start_link
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MemberAction
from bot.handlers.common import format_moment
from bot.handlers.replies import edit_callback_message
from bot.keyboards.inline import members_keyboard
from bot.phone import mask_phone
from bot.services.sessions import Clock, SessionService

if TYPE_CHECKING:
    from bot.storage import Database

router = Router(name="members")

INVITE_TTL = timedelta(hours=24)


def _admin_only(_: object, is_admin: bool = False) -> bool:
    return is_admin


async def members_text(db: Database, sessions: SessionService) -> tuple[str, list[int]]:
    members = [m for m in await db.users.list_members() if m.role == "member"]
    if not members:
        return _("members.none"), []
    lines = [_("members.header").format(count=len(members))]
    for member in members:
        status = sessions.status(member)
        wallet = mask_phone(status.wallet) if status.logged_in and status.wallet else _("members.no_session")
        lines.append(f"• <code>{member.tg_id}</code> — {wallet}")
    return "\n".join(lines), [m.tg_id for m in members]


def _not_admin(_: object, is_admin: bool = False) -> bool:
    return not is_admin


@router.message(Command("invite", "members"), _not_admin)
async def not_admin(message: Message) -> None:
    await message.answer(_("members.admins_only"))


@router.message(Command("invite"))
async def invite(message: Message, bot: Bot, db: Database, clock: Clock) -> None:
    code = secrets.token_urlsafe(16)
    now = clock()
    assert message.from_user is not None
    await db.invites.create(code, message.from_user.id, now, INVITE_TTL)
    link = await create_start_link(bot, code)
    await message.answer(_("invite.created").format(link=link, until=format_moment(now + INVITE_TTL)))


@router.message(Command("members"))
async def members(message: Message, db: Database, sessions: SessionService) -> None:
    text, ids = await members_text(db, sessions)
    await message.answer(text, reply_markup=members_keyboard(ids))


@router.callback_query(MemberAction.filter(), _admin_only)
async def remove_member(
    callback: CallbackQuery,
    callback_data: MemberAction,
    bot: Bot,
    db: Database,
    sessions: SessionService,
    fsm_storage: BaseStorage,
) -> None:
    target = await db.users.get(callback_data.tg_id)
    if callback_data.action != "remove" or target is None or target.role != "member":
        await callback.answer(_("members.already_gone"))
    else:
        # End the QIWI session too: the stored ticket must not outlive the membership.
        await sessions.logout(target.tg_id)
        await db.users.remove(target.tg_id)
        # An open dialog must not come back to life if the same person is invited again later.
        key = StorageKey(bot_id=bot.id, chat_id=target.tg_id, user_id=target.tg_id)
        await FSMContext(storage=fsm_storage, key=key).clear()
        await callback.answer(_("members.removed").format(tg_id=target.tg_id))
    text, ids = await members_text(db, sessions)
    await edit_callback_message(callback, text, members_keyboard(ids))
