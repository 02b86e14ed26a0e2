"""Group chats: the bot speaks about money and credentials only in private, so commands here get one line."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.commands import ALL_COMMANDS
from bot.filters import group_button, group_message
from bot.i18n import Translator


async def private_only(message: Message, tr: Translator) -> None:
    await message.reply(tr("group.private_only"))


async def ignore_chatter(message: Message) -> None:
    """Ordinary group conversation is none of the bot's business."""


async def private_only_button(callback: CallbackQuery, tr: Translator) -> None:
    await callback.answer(tr("group.private_only"))


def build_router() -> Router:
    router = Router(name="groups")
    router.message.filter(group_message)
    router.callback_query.filter(group_button)
    # Command() checks `@botname` mentions, so commands meant for other bots in the group are left alone.
    router.message.register(private_only, Command(*ALL_COMMANDS))
    router.message.register(ignore_chatter)
    router.callback_query.register(private_only_button)
    return router
