"""Inline keyboards of history, statistics, export, members and language; button texts from the catalogs."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import (
    ExportPeriod,
    ExportPeriodList,
    ExportPeriodMonth,
    ExportPeriodMonths,
    ExportPeriodName,
    HistoryOp,
    HistoryPage,
    Language,
    LanguageChoice,
    MemberAction,
    MemberStep,
    StatsPeriod,
    StatsPeriodMonth,
    StatsPeriodMonths,
    StatsPeriodName,
)
from bot.i18n import Translator


def _marked(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def history_keyboard(
    tr: Translator, op: HistoryOp, older: HistoryPage | None, *, first_page: bool
) -> InlineKeyboardMarkup:
    """Newest (on older pages), Older (while the history goes on), then the three filters."""
    builder = InlineKeyboardBuilder()
    navigation = 0
    if not first_page:
        builder.button(text=tr("history.button.newest"), callback_data=HistoryPage(op=op))
        navigation += 1
    if older is not None:
        builder.button(text=tr("history.button.older"), callback_data=older)
        navigation += 1
    for operation in HistoryOp:
        label = tr(f"history.button.{operation.value.lower()}")
        builder.button(text=_marked(label, operation == op), callback_data=HistoryPage(op=operation))
    builder.adjust(*([navigation] if navigation else []), len(HistoryOp))
    return builder.as_markup()


# A month picker: (month number, label) newest first, three a row, then Earlier / Later and one more row.
MonthChoices = list[tuple[int, str]]


def _month_picker(
    tr: Translator,
    months: MonthChoices,
    pick: Callable[[int], CallbackData],
    page: Callable[[int], CallbackData],
    back: CallbackData,
    *,
    earlier: int | None,
    later: int | None,
) -> InlineKeyboardMarkup:
    """Months three a row, then Earlier / Later, then Back (to the list of periods)."""
    builder = InlineKeyboardBuilder()
    for number, label in months:
        builder.button(text=label, callback_data=pick(number))
    rows = [3] * (len(months) // 3) + ([len(months) % 3] if len(months) % 3 else [])
    paging = 0
    if earlier is not None:
        builder.button(text=tr("period.button.earlier"), callback_data=page(earlier))
        paging += 1
    if later is not None:
        builder.button(text=tr("period.button.later"), callback_data=page(later))
        paging += 1
    builder.button(text=tr("period.button.back"), callback_data=back)
    builder.adjust(*rows, *([paging] if paging else []), 1)
    return builder.as_markup()


def stats_keyboard(
    tr: Translator, selected: StatsPeriodName | None, *, last_month: int, month_shown: bool = False
) -> InlineKeyboardMarkup:
    """The four fixed periods and "Month…" (the picker, from `last_month` back), marked when a month is shown."""
    builder = InlineKeyboardBuilder()
    for period in StatsPeriodName:
        builder.button(
            text=_marked(tr(f"stats.button.{period.value}"), period == selected),
            callback_data=StatsPeriod(period=period),
        )
    builder.button(
        text=_marked(tr("period.button.pick_month"), month_shown),
        callback_data=StatsPeriodMonths(last=last_month),
    )
    builder.adjust(2, 2, 1)
    return builder.as_markup()


def stats_month_keyboard(
    tr: Translator, months: MonthChoices, *, earlier: int | None, later: int | None
) -> InlineKeyboardMarkup:
    return _month_picker(
        tr,
        months,
        lambda number: StatsPeriodMonth(month=number),
        lambda number: StatsPeriodMonths(last=number),
        StatsPeriod(period=StatsPeriodName.MONTH),
        earlier=earlier,
        later=later,
    )


def export_keyboard(tr: Translator, *, last_month: int) -> InlineKeyboardMarkup:
    """The fixed periods, then "Month…": the picker of any past month, starting with `last_month`."""
    builder = InlineKeyboardBuilder()
    for period in ExportPeriodName:
        builder.button(text=tr(f"export.button.{period.value}"), callback_data=ExportPeriod(period=period))
    builder.button(text=tr("period.button.pick_month"), callback_data=ExportPeriodMonths(last=last_month))
    builder.adjust(2, 2, 1)
    return builder.as_markup()


def export_month_keyboard(
    tr: Translator, months: MonthChoices, *, earlier: int | None, later: int | None
) -> InlineKeyboardMarkup:
    return _month_picker(
        tr,
        months,
        lambda number: ExportPeriodMonth(month=number),
        lambda number: ExportPeriodMonths(last=number),
        ExportPeriodList(),
        earlier=earlier,
        later=later,
    )


def members_keyboard(tr: Translator, members: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    """A Remove button per `(tg_id, label)`."""
    if not members:
        return None
    builder = InlineKeyboardBuilder()
    for tg_id, label in members:
        builder.button(
            text=tr("members.button.remove", member=label),
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
