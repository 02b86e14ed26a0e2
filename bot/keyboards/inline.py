"""Inline keyboards of history, statistics, export, members and language; button texts from the catalogs."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

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
from bot.keyboards.layout import Button, keyboard


def _marked(text: str, selected: bool) -> str:
    return f"• {text}" if selected else text


def history_keyboard(
    tr: Translator, op: HistoryOp, older: HistoryPage | None, *, first_page: bool
) -> InlineKeyboardMarkup:
    """Newest (on older pages), Older (while the history goes on), then the three filters."""
    navigation: list[Button] = []
    if not first_page:
        navigation.append((tr("history.button.newest"), HistoryPage(op=op)))
    if older is not None:
        navigation.append((tr("history.button.older"), older))
    filters: list[Button] = [
        (_marked(tr(f"history.button.{operation.value.lower()}"), operation == op), HistoryPage(op=operation))
        for operation in HistoryOp
    ]
    return keyboard(navigation + filters, len(navigation), len(filters))


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
    choices: list[Button] = [(label, pick(number)) for number, label in months]
    rows = [3] * (len(months) // 3) + [len(months) % 3]
    paging: list[Button] = []
    if earlier is not None:
        paging.append((tr("period.button.earlier"), page(earlier)))
    if later is not None:
        paging.append((tr("period.button.later"), page(later)))
    return keyboard([*choices, *paging, (tr("period.button.back"), back)], *rows, len(paging), 1)


def stats_keyboard(
    tr: Translator, selected: StatsPeriodName | None, *, last_month: int, month_shown: bool = False
) -> InlineKeyboardMarkup:
    """The four fixed periods and "Month…" (the picker, from `last_month` back), marked when a month is shown."""
    periods: list[Button] = [
        (_marked(tr(f"stats.button.{period.value}"), period == selected), StatsPeriod(period=period))
        for period in StatsPeriodName
    ]
    pick = (_marked(tr("period.button.pick_month"), month_shown), StatsPeriodMonths(last=last_month))
    return keyboard([*periods, pick], 2, 2, 1)


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
    periods: list[Button] = [
        (tr(f"export.button.{period.value}"), ExportPeriod(period=period)) for period in ExportPeriodName
    ]
    return keyboard([*periods, (tr("period.button.pick_month"), ExportPeriodMonths(last=last_month))], 2, 2, 1)


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
    return keyboard(
        [
            (tr("members.button.remove", member=label), MemberAction(action=MemberStep.REMOVE, tg_id=tg_id))
            for tg_id, label in members
        ]
    )


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    languages = ((Language.RU, "Русский"), (Language.EN, "English"))
    return keyboard([(_marked(label, code == current), LanguageChoice(language=code)) for code, label in languages], 2)
