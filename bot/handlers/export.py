"""/export: period buttons, then the history of that period as a CSV document."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.handlers.replies import edit_callback_message
from bot.services.export import EXPORT_PERIODS, export_history, export_period
from bot.services.history import Period
from bot.services.sessions import SessionService
from bot.timeutil import MSK

router = Router(name="export")


class ExportPeriod(CallbackData, prefix="ex"):
    """`period`: month / prev_month / days30 / days90."""

    period: str


def period_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for name in EXPORT_PERIODS:
        builder.button(text=_(f"export.button.{name}"), callback_data=ExportPeriod(period=name))
    builder.adjust(2)
    return builder.as_markup()


def _span(period: Period) -> tuple[str, str]:
    return period.start.astimezone(MSK).strftime("%d.%m.%Y"), period.end.astimezone(MSK).strftime("%d.%m.%Y")


@router.message(Command("export"))
async def export_command(message: Message) -> None:
    await message.answer(_("export.ask_period"), reply_markup=period_keyboard())


@router.callback_query(ExportPeriod.filter())
async def export_chosen(callback: CallbackQuery, callback_data: ExportPeriod, sessions: SessionService) -> None:
    if callback_data.period not in EXPORT_PERIODS or callback.message is None or callback.bot is None:
        await callback.answer(_("stale.button"))
        return
    await callback.answer()
    start, end = _span(export_period(callback_data.period, sessions.clock()))
    await edit_callback_message(callback, _("export.preparing").format(start=start, end=end))
    await callback.bot.send_chat_action(callback.message.chat.id, "upload_document")
    export = await export_history(sessions, callback.from_user.id, callback_data.period)
    start, end = _span(export.period)
    await callback.bot.send_document(
        callback.message.chat.id,
        BufferedInputFile(export.content, filename=export.filename),
        caption=_("export.caption").format(rows=export.rows, start=start, end=end),
    )
