"""Group chats: the bot speaks about money and credentials only in private, so commands here get one line."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.commands import ALL_COMMANDS

router = Router(name="groups")
router.message.filter(F.chat.type != "private")
router.callback_query.filter(F.message.chat.type != "private")


# Command() checks `@botname` mentions, so commands meant for other bots in the group are left alone.
@router.message(Command(*ALL_COMMANDS))
async def private_only(message: Message) -> None:
    await message.reply(_("group.private_only"))


@router.message()
async def ignore_chatter(message: Message) -> None:
    """Ordinary group conversation is none of the bot's business."""


@router.callback_query()
async def private_only_button(callback: CallbackQuery) -> None:
    await callback.answer(_("group.private_only"))
