"""Buttons of /request: the member picker, Skip for the comment, and Pay / Decline on a request."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import RequestAction, RequestPick, RequestStep
from bot.i18n import Translator
from bot.keyboards.layout import keyboard
from bot.phone import format_phone


def payer_picker(payers: list[tuple[int, str | None, str | None]]) -> InlineKeyboardMarkup:
    """A button per `(tg_id, name, wallet)`: `Rita · +7 921 333-44-55`."""
    return keyboard(
        [
            (
                " · ".join(part for part in (name, format_phone(wallet) if wallet else None) if part) or str(tg_id),
                RequestPick(payer=tg_id),
            )
            for tg_id, name, wallet in payers
        ]
    )


def skip_comment(tr: Translator) -> InlineKeyboardMarkup:
    return keyboard([(tr("request.button.skip"), RequestPick(payer=0))])


def pay_or_decline(tr: Translator, request_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (tr("request.button.pay"), RequestAction(action=RequestStep.PAY, request_id=request_id)),
            (tr("request.button.decline"), RequestAction(action=RequestStep.DECLINE, request_id=request_id)),
        ],
        2,
    )
