"""/export: period buttons, then the history of that period as a CSV document."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import ExportPeriod
from bot.handlers.replies import answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.inline import export_keyboard
from bot.services.export import export_file, export_period
from bot.services.wallet import WalletService
from bot.timeutil import show_moment


async def export_command(message: Message, tr: Translator) -> None:
    await message.answer(tr("export.ask_period"), reply_markup=export_keyboard(tr))


async def export_chosen(
    callback: CallbackQuery, callback_data: ExportPeriod, wallet: WalletService, tr: Translator
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        await answer_press(callback, tr("stale.button"))
        return
    await answer_press(callback)
    period = export_period(callback_data.period, wallet.now())
    start, end = show_moment(period.start, "date"), show_moment(period.end, "date")
    await edit_pressed(callback, tr("export.preparing", start=start, end=end))
    await message.bot.send_chat_action(message.chat.id, "upload_document")  # type: ignore[union-attr]
    export = export_file(await wallet.payments(callback.from_user.id, period.start, period.end), period)
    await message.answer_document(
        BufferedInputFile(export.content, filename=export.filename),
        caption=tr("export.caption", rows=export.rows, start=start, end=end),
    )


def build_router() -> Router:
    router = Router(name="export")
    router.message.register(export_command, Command("export"))
    router.callback_query.register(export_chosen, ExportPeriod.filter())
    return router
