"""Buttons of /wallets (one per wallet, the current one marked) and of /transfer's member picker."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RecipientPick, WalletChoice
from bot.phone import format_phone
from bot.storage.models import WalletSession


def wallets_keyboard(wallets: list[WalletSession], current: str | None) -> InlineKeyboardMarkup | None:
    if len(wallets) < 2:
        return None
    builder = InlineKeyboardBuilder()
    for stored in wallets:
        mark = "• " if stored.wallet == current else ""
        builder.button(text=f"{mark}{format_phone(stored.wallet)}", callback_data=WalletChoice(wallet=stored.wallet))
    builder.adjust(1)
    return builder.as_markup()


def members_picker(payees: list[tuple[int, str, str]]) -> InlineKeyboardMarkup | None:
    """A button per `(tg_id, name, wallet)`: `Rita · +7 921 333-44-55`; None when there is nobody to pick."""
    if not payees:
        return None
    builder = InlineKeyboardBuilder()
    for tg_id, name, wallet in payees:
        builder.button(text=f"{name} · {format_phone(wallet)}", callback_data=RecipientPick(member=tg_id))
    builder.adjust(1)
    return builder.as_markup()
