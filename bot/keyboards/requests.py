"""Buttons of /request: the member picker, Skip for the comment, and Pay / Decline on a request."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RequestAction, RequestPick, RequestStep
from bot.i18n import Translator
from bot.phone import format_phone


def payer_picker(payers: list[tuple[int, str | None, str | None]]) -> InlineKeyboardMarkup:
    """A button per `(tg_id, name, wallet)`: `Rita · +7 921 333-44-55`."""
    builder = InlineKeyboardBuilder()
    for tg_id, name, wallet in payers:
        text = " · ".join(part for part in (name, format_phone(wallet) if wallet else None) if part)
        builder.button(text=text or str(tg_id), callback_data=RequestPick(payer=tg_id))
    builder.adjust(1)
    return builder.as_markup()


def skip_comment(tr: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=tr("request.button.skip"), callback_data=RequestPick(payer=0))
    return builder.as_markup()


def pay_or_decline(tr: Translator, request_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=tr("request.button.pay"), callback_data=RequestAction(action=RequestStep.PAY, request_id=request_id)
    )
    builder.button(
        text=tr("request.button.decline"),
        callback_data=RequestAction(action=RequestStep.DECLINE, request_id=request_id),
    )
    builder.adjust(2)
    return builder.as_markup()
