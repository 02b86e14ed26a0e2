"""Typed inline-button payloads. Telegram caps callback data at 64 bytes, so prefixes and fields are short."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class TransferAction(CallbackData, prefix="tr"):
    """Owned jointly with the transfer feature (issue 4). `action`: confirm / cancel / skip (the comment);
    `transfer_id` is the transfer row's id (0 for skip), so a button works whatever the dialog state."""

    action: str
    transfer_id: int


class HistoryPage(CallbackData, prefix="hp"):
    """One page of /history. `op` is ALL / IN / OUT; `next_id` 0 means the newest page.

    `next_date` carries QIWI's nextTxnDate as Unix seconds (the API wants both cursor fields together).
    """

    op: str
    next_id: int = 0
    next_date: int = 0


class StatsPeriod(CallbackData, prefix="sp"):
    """`period`: month / prev_month / days7 / days30."""

    period: str


class MemberAction(CallbackData, prefix="mb"):
    """`action`: remove."""

    action: str
    tg_id: int


class LanguageChoice(CallbackData, prefix="lg"):
    language: str
