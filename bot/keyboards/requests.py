"""Buttons of /request: the member picker, Skip for the comment, and Pay / Decline on a request."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import RequestAction, RequestPick, RequestStep
from bot.i18n import Translator
from bot.phone import format_phone
from bot.storage.models import User


def payer_picker(payers: list[User]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for payer in payers:
        builder.button(text=format_phone(payer.wallet or ""), callback_data=RequestPick(payer=payer.tg_id))
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
