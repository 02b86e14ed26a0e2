"""Anyone who is neither admin nor member: an invite link lets them in, everything else gets one line.

No QIWI call and no dialog state for outsiders: nothing here touches the FSM.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator
from bot.services.members import MemberService


async def join(message: Message, command: CommandObject, members: MemberService, tr: Translator) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    code = (command.args or "").strip()
    if message.chat.type != "private" or not await members.join(tg_id, code):
        await message.answer(tr("invite.invalid", tg_id=tg_id))
        return
    await message.answer(tr("invite.joined"))


async def private_bot(message: Message, tr: Translator) -> None:
    assert message.from_user is not None
    await message.answer(tr("outsider.private", tg_id=message.from_user.id))


async def private_bot_button(callback: CallbackQuery, tr: Translator) -> None:
    await callback.answer(tr("outsider.private", tg_id=callback.from_user.id), show_alert=True)


def build_router() -> Router:
    router = Router(name="outsiders")
    router.message.register(join, CommandStart(deep_link=True))
    router.message.register(private_bot)
    router.callback_query.register(private_bot_button)
    return router
