"""Inline keyboards of history, statistics, export, members and language; button texts from the catalogs."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    ExportPeriod,
    ExportPeriodName,
    HistoryOp,
    HistoryPage,
    Language,
    LanguageChoice,
    MemberAction,
    MemberStep,
    StatsPeriod,
    StatsPeriodName,
)
from bot.i18n import Translator


def _marked(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def history_keyboard(
    tr: Translator, op: HistoryOp, cursor: tuple[int, int] | None, *, first_page: bool
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    navigation = 0
    if not first_page:
        builder.button(text=tr("history.button.newest"), callback_data=HistoryPage(op=op))
        navigation += 1
    if cursor is not None:
        next_id, next_date = cursor
        builder.button(
            text=tr("history.button.older"), callback_data=HistoryPage(op=op, next_id=next_id, next_date=next_date)
        )
        navigation += 1
    for operation in HistoryOp:
        label = tr(f"history.button.{operation.value.lower()}")
        builder.button(text=_marked(label, operation == op), callback_data=HistoryPage(op=operation))
    builder.adjust(*([navigation] if navigation else []), len(HistoryOp))
    return builder.as_markup()


def stats_keyboard(tr: Translator, selected: StatsPeriodName) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for period in StatsPeriodName:
        builder.button(
            text=_marked(tr(f"stats.button.{period.value}"), period == selected),
            callback_data=StatsPeriod(period=period),
        )
    builder.adjust(2, 2)
    return builder.as_markup()


def export_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for period in ExportPeriodName:
        builder.button(text=tr(f"export.button.{period.value}"), callback_data=ExportPeriod(period=period))
    builder.adjust(2)
    return builder.as_markup()


def members_keyboard(tr: Translator, member_ids: list[int]) -> InlineKeyboardMarkup | None:
    if not member_ids:
        return None
    builder = InlineKeyboardBuilder()
    for tg_id in member_ids:
        builder.button(
            text=tr("members.button.remove", tg_id=tg_id),
            callback_data=MemberAction(action=MemberStep.REMOVE, tg_id=tg_id),
        )
    builder.adjust(1)
    return builder.as_markup()


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, label in ((Language.RU, "Русский"), (Language.EN, "English")):
        builder.button(text=_marked(label, code == current), callback_data=LanguageChoice(language=code))
    builder.adjust(2)
    return builder.as_markup()
