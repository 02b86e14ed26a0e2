"""Buttons of /wallets (one per wallet, the current one marked) and of /transfer's member picker."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import RecipientPick, WalletChoice
from bot.keyboards.layout import keyboard
from bot.phone import format_phone
from bot.storage.models import WalletSession


def wallets_keyboard(wallets: list[WalletSession], current: str | None) -> InlineKeyboardMarkup | None:
    if len(wallets) < 2:
        return None
    marked = [(stored, "• " if stored.wallet == current else "") for stored in wallets]
    return keyboard(
        [(mark + format_phone(stored.wallet), WalletChoice(wallet=stored.wallet)) for stored, mark in marked]
    )


def members_picker(payees: list[tuple[int, str, str]]) -> InlineKeyboardMarkup | None:
    """A button per `(tg_id, name, wallet)`: `Rita · +7 921 333-44-55`; None when there is nobody to pick."""
    if not payees:
        return None
    return keyboard(
        [(f"{name} · {format_phone(wallet)}", RecipientPick(member=tg_id)) for tg_id, name, wallet in payees]
    )
