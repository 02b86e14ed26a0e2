"""Whatever no feature took: unknown commands, stray text, buttons from messages that are out of date."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

router = Router(name="fallback")


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    await message.answer(_("fallback.unknown_command"))


@router.message()
async def unknown_text(message: Message, state: FSMContext) -> None:
    # Inside a dialog, a sticker or photo where text was expected: say what the dialog is waiting for.
    if await state.get_state() is not None:
        await message.answer(_("fallback.dialog_expects_text"))
        return
    await message.answer(_("fallback.unknown_text"))


@router.callback_query()
async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("stale.button"), show_alert=False)
