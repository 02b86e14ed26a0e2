"""Inline keyboards for history, statistics, members and language."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import HistoryPage, LanguageChoice, MemberAction, StatsPeriod
from bot.services.history import OPERATIONS, PERIODS


def _marked(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def history_keyboard(op: str, cursor: tuple[int, int] | None, *, first_page: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    navigation = 0
    if not first_page:
        builder.button(text=_("history.button.newest"), callback_data=HistoryPage(op=op))
        navigation += 1
    if cursor is not None:
        next_id, next_date = cursor
        builder.button(
            text=_("history.button.older"), callback_data=HistoryPage(op=op, next_id=next_id, next_date=next_date)
        )
        navigation += 1
    labels = {"ALL": _("history.button.all"), "IN": _("history.button.in"), "OUT": _("history.button.out")}
    for operation in OPERATIONS:
        builder.button(text=_marked(labels[operation], operation == op), callback_data=HistoryPage(op=operation))
    builder.adjust(*([navigation] if navigation else []), len(OPERATIONS))
    return builder.as_markup()


def stats_keyboard(selected: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    labels = {
        "month": _("stats.button.month"),
        "prev_month": _("stats.button.prev_month"),
        "days7": _("stats.button.days7"),
        "days30": _("stats.button.days30"),
    }
    for period in PERIODS:
        builder.button(text=_marked(labels[period], period == selected), callback_data=StatsPeriod(period=period))
    builder.adjust(2, 2)
    return builder.as_markup()


def members_keyboard(member_ids: list[int]) -> InlineKeyboardMarkup | None:
    if not member_ids:
        return None
    builder = InlineKeyboardBuilder()
    for tg_id in member_ids:
        builder.button(
            text=_("members.button.remove").format(tg_id=tg_id),
            callback_data=MemberAction(action="remove", tg_id=tg_id),
        )
    builder.adjust(1)
    return builder.as_markup()


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, label in (("ru", "Русский"), ("en", "English")):
        builder.button(text=_marked(label, code == current), callback_data=LanguageChoice(language=code))
    builder.adjust(2)
    return builder.as_markup()
