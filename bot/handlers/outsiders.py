"""Anyone who is neither admin nor member: an invite link lets them in, everything else gets one line.

No QIWI call and no dialog state for outsiders: nothing here touches the FSM.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services.sessions import Clock
from bot.storage import Database

log = logging.getLogger(__name__)
router = Router(name="outsiders")


@router.message(CommandStart(deep_link=True))
async def join(message: Message, command: CommandObject, db: Database, clock: Clock) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    code = (command.args or "").strip()
    if message.chat.type != "private" or not code or not await db.invites.consume(code, tg_id, clock()):
        await message.answer(_("invite.invalid").format(tg_id=tg_id))
        return
    await db.users.ensure(tg_id, "member")
    log.info("user %s joined with an invite", tg_id)
    await message.answer(_("invite.joined"))


@router.message()
async def private_bot(message: Message) -> None:
    assert message.from_user is not None
    await message.answer(_("outsider.private").format(tg_id=message.from_user.id))


@router.callback_query()
async def private_bot_button(callback: CallbackQuery) -> None:
    await callback.answer(_("outsider.private").format(tg_id=callback.from_user.id), show_alert=True)
