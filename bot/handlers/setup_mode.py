"""Setup mode (ADMIN_IDS empty): tell whoever writes their id and how to become the admin; nothing else."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

router = Router(name="setup-mode")


@router.message(F.chat.type == "private")
async def setup_instructions(message: Message) -> None:
    assert message.from_user is not None
    await message.answer(_("setup.instructions").format(tg_id=message.from_user.id))
