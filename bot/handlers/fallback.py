"""Whatever no feature took: unknown commands, stray text, buttons from messages that are out of date
(or forged: data that fits none of the typed payloads lands here too)."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.filters import a_command
from bot.handlers.replies import answer_press
from bot.i18n import Translator
from bot.states import TransferDialog


async def unknown_command(message: Message, tr: Translator) -> None:
    await message.answer(tr("fallback.unknown_command"))


async def unknown_text(message: Message, state: FSMContext, tr: Translator) -> None:
    current = await state.get_state()
    if current == TransferDialog.confirm.state:
        # The summary waits for its buttons; typing does not confirm anything.
        await message.answer(tr("fallback.confirm_use_buttons"))
        return
    if current is not None:
        # Inside a dialog, a sticker or photo where text was expected: say what the dialog is waiting for.
        await message.answer(tr("fallback.dialog_expects_text"))
        return
    await message.answer(tr("fallback.unknown_text"))


async def stale_button(callback: CallbackQuery, tr: Translator) -> None:
    await answer_press(callback, tr("stale.button"))


def build_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, a_command)
    router.message.register(unknown_text)
    router.callback_query.register(stale_button)
    return router
