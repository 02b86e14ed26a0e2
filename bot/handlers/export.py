"""/export: period buttons (or "Month…": a picker of any past month, twelve at a time), then the history of
that period as a CSV document."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import ExportPeriod, ExportPeriodList, ExportPeriodMonth, ExportPeriodMonths
from bot.handlers.replies import answer_and_edit, answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.inline import export_keyboard, export_month_keyboard
from bot.phone import format_phone
from bot.services.export import export_file, export_period, month_export_period
from bot.services.history import Period, last_month_number, month_label, month_picker_page
from bot.services.wallet import WalletService
from bot.timeutil import show_moment


def _last_month(wallet: WalletService) -> int:
    return last_month_number(wallet.now())


async def export_command(message: Message, wallet: WalletService, tr: Translator) -> None:
    await message.answer(tr("export.ask_period"), reply_markup=export_keyboard(tr, last_month=_last_month(wallet)))


async def send_export(callback: CallbackQuery, wallet: WalletService, tr: Translator, period: Period) -> None:
    message = callback.message
    if not isinstance(message, Message):
        await answer_press(callback, tr("stale.button"))
        return
    await answer_press(callback)
    start, end = show_moment(period.start, "date"), show_moment(period.end, "date")
    await edit_pressed(callback, tr("export.preparing", start=start, end=end))
    await message.bot.send_chat_action(message.chat.id, "upload_document")  # type: ignore[union-attr]
    export = export_file(await wallet.payments(callback.from_user.id, period.start, period.end), period)
    caption = tr("export.caption", rows=export.rows, start=start, end=end)
    if (named := await wallet.named_wallet(callback.from_user.id)) is not None:
        caption += "\n" + tr("wallet.acting_on", wallet=format_phone(named))
    await message.answer_document(BufferedInputFile(export.content, filename=export.filename), caption=caption)


async def export_chosen(
    callback: CallbackQuery, callback_data: ExportPeriod, wallet: WalletService, tr: Translator
) -> None:
    await send_export(callback, wallet, tr, export_period(callback_data.period, wallet.now()))


async def export_month(
    callback: CallbackQuery, callback_data: ExportPeriodMonth, wallet: WalletService, tr: Translator
) -> None:
    try:
        period = month_export_period(callback_data.month, wallet.now())
    except ValueError:  # a month that has not begun: only a forged button has one
        await answer_press(callback, tr("stale.button"))
        return
    await send_export(callback, wallet, tr, period)


async def export_months(
    callback: CallbackQuery, callback_data: ExportPeriodMonths, wallet: WalletService, tr: Translator
) -> None:
    page = month_picker_page(wallet.now(), callback_data.last)
    months = [(number, month_label(number, tr.language)) for number in page.months]
    await answer_and_edit(
        callback, tr("export.pick_month"), export_month_keyboard(tr, months, earlier=page.earlier, later=page.later)
    )


async def export_back(callback: CallbackQuery, wallet: WalletService, tr: Translator) -> None:
    await answer_and_edit(callback, tr("export.ask_period"), export_keyboard(tr, last_month=_last_month(wallet)))


def build_router() -> Router:
    router = Router(name="export")
    router.message.register(export_command, Command("export"))
    router.callback_query.register(export_chosen, ExportPeriod.filter())
    router.callback_query.register(export_month, ExportPeriodMonth.filter())
    router.callback_query.register(export_months, ExportPeriodMonths.filter())
    router.callback_query.register(export_back, ExportPeriodList.filter())
    return router
