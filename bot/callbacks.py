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


class HistoryPage(CallbackData, prefix="hp"):
    """One page of /history; `next_id` 0 means the newest page.

    `next_date` carries QIWI's nextTxnDate as Unix seconds (the API wants both cursor fields together).
    """

    op: HistoryOp
    next_id: TxnId = 0
    next_date: UnixSeconds = 0


class StatsPeriodName(StrEnum):
    MONTH = "month"
    PREV_MONTH = "prev_month"
    DAYS7 = "days7"
    DAYS30 = "days30"


class StatsPeriod(CallbackData, prefix="sp"):
    period: StatsPeriodName


class ExportPeriodName(StrEnum):
    MONTH = "month"
    PREV_MONTH = "prev_month"
    DAYS30 = "days30"
    DAYS90 = "days90"


class ExportPeriod(CallbackData, prefix="ex"):
    period: ExportPeriodName


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
