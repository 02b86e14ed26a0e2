"""Setup mode (ADMIN_IDS empty): tell whoever writes their id and how to become the admin; nothing else."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.filters import private_message
from bot.i18n import Translator


async def setup_instructions(message: Message, tr: Translator) -> None:
    assert message.from_user is not None
    await message.answer(tr("setup.instructions", tg_id=message.from_user.id))


def build_router() -> Router:
    router = Router(name="setup-mode")
    router.message.register(setup_instructions, private_message)
    return router
