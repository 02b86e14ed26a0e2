"""Typed inline-button payloads, every one of the bot's.

Telegram caps callback data at 64 bytes, so prefixes and fields are short. Anyone can send any callback
data, so every field is closed: actions are enums and integers are bounded to what SQLite and `datetime`
can hold. Data that does not fit does not match the filter, and the press is answered as a stale button.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# SQLite INTEGER is a signed 64-bit number.
RowId = Annotated[int, Field(ge=0, le=2**63 - 1)]
# A Telegram user id (positive, below 2**52 by Telegram's own promise).
UserId = Annotated[int, Field(ge=0, le=2**52)]
# QIWI's history cursor: a transaction id and a moment in Unix seconds (up to the year 2100).
TxnId = Annotated[int, Field(ge=0, le=2**63 - 1)]
UnixSeconds = Annotated[int, Field(ge=0, le=4_102_444_800)]
# A wallet as QIWI names it: 7 and ten digits (Kazakh numbers too), ASCII only.
WalletNumber = Annotated[str, Field(pattern=r"^7[0-9]{10}$")]


class TransferStep(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"
    SKIP = "skip"


class TransferAction(CallbackData, prefix="tr"):
    """`transfer_id` is the transfer row's id (0 for Skip), so a button works whatever the dialog state."""

    action: TransferStep
    transfer_id: RowId


class HistoryOp(StrEnum):
    ALL = "ALL"
    IN = "IN"
    OUT = "OUT"


# Empty 90-day windows in a row seen before a history page (bot/services/history.py ends the walk at 4).
EmptyWindows = Annotated[int, Field(ge=0, le=3)]


class HistoryPage(CallbackData, prefix="hp"):
    """A page of /history: `window` 0 is the newest page (its window ends now).

    Otherwise `window` is the end of the page's 90-day window in Unix seconds, `next_id` + `next_date`
    QIWI's cursor in it (nextTxnId, nextTxnDate as Unix seconds; 0 + 0 = from the window's newest payment)
    and `empty` the empty windows just before it. At most 50 bytes: `hp:ALL:` + 10 + 19 + 10 + 1 digits.
    """

    op: HistoryOp
    window: UnixSeconds = 0
    next_id: TxnId = 0
    next_date: UnixSeconds = 0
    empty: EmptyWindows = 0


class StatsPeriodName(StrEnum):
    MONTH = "month"
    PREV_MONTH = "prev_month"
    DAYS7 = "days7"
    DAYS30 = "days30"


class StatsPeriod(CallbackData, prefix="sp"):
    period: StatsPeriodName


# A calendar month as year * 12 + month - 1: January 2008 (QIWI Wallet did not exist before) to 2100.
MonthNumber = Annotated[int, Field(ge=2008 * 12, le=2100 * 12)]


class StatsPeriodMonths(CallbackData, prefix="spl"):
    """The month picker of /stats: the twelve months up to `last`, newest first."""

    last: MonthNumber


class StatsPeriodMonth(CallbackData, prefix="spm"):
    """/stats of one calendar month; the month is absolute, so an old button shows the same month."""

    month: MonthNumber


class ExportPeriodName(StrEnum):
    MONTH = "month"
    PREV_MONTH = "prev_month"
    DAYS30 = "days30"
    DAYS90 = "days90"


class ExportPeriod(CallbackData, prefix="ex"):
    period: ExportPeriodName


class ExportPeriodList(CallbackData, prefix="exp"):
    """Back from the month picker to the list of periods."""


class ExportPeriodMonths(CallbackData, prefix="exl"):
    """The month picker of /export: the twelve months up to `last`, newest first."""

    last: MonthNumber


class ExportPeriodMonth(CallbackData, prefix="exm"):
    """The CSV of one calendar month."""

    month: MonthNumber


class MemberStep(StrEnum):
    REMOVE = "remove"


class MemberAction(CallbackData, prefix="mb"):
    action: MemberStep
    tg_id: UserId


class Language(StrEnum):
    RU = "ru"
    EN = "en"


class LanguageChoice(CallbackData, prefix="lg"):
    language: Language


class RequestPick(CallbackData, prefix="rqm"):
    """The member asked for money, by Telegram id; 0 is the comment step's Skip button."""

    payer: UserId


class RequestStep(StrEnum):
    PAY = "pay"
    DECLINE = "decline"


class RequestAction(CallbackData, prefix="rq"):
    """`request_id` is the request row, so the buttons work in any dialog state."""

    action: RequestStep
    request_id: RowId


class WalletChoice(CallbackData, prefix="wl"):
    """/wallets: make this one of the member's wallets the current one."""

    wallet: WalletNumber


class RecipientPick(CallbackData, prefix="trm"):
    """/transfer: pay this member's current wallet (the member by Telegram id)."""

    member: UserId
