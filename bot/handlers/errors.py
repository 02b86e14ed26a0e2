"""The last word when something unforeseen fails inside the bot: the user hears one line, the log one line.

The line for the user says that it went wrong and gives an error id; the log line has the same id, the
update, the exception's type and where it was raised, never its message (which may quote a request) and
nothing the user sent. The dialog stays where it was: the state is not touched here.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message

from bot.i18n import CatalogI18n, Translator, pick_language

log = logging.getLogger("bot.errors")


def _where(error: BaseException) -> str:
    trace = error.__traceback__
    while trace is not None and trace.tb_next is not None:
        trace = trace.tb_next
    if trace is None:
        return "?"
    code = trace.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{trace.tb_lineno} in {code.co_name}"


async def on_error(event: ErrorEvent, i18n: CatalogI18n, tr: Translator | None = None, **data: Any) -> bool:
    error_id = secrets.token_hex(4)
    update = event.update
    log.error(
        "update %s failed: error %s: %s at %s",
        update.update_id,
        error_id,
        type(event.exception).__name__,
        _where(event.exception),
        extra={"update_id": update.update_id, "error_id": error_id, "error": type(event.exception).__name__},
    )
    if tr is None:
        sender = data.get("event_from_user")
        tr = i18n.translator(pick_language(None, getattr(sender, "language_code", None)))
    text = tr("error.unexpected", error_id=error_id)
    try:
        if isinstance(update.callback_query, CallbackQuery):
            await _answer_press(update.callback_query, text)
        elif isinstance(update.message, Message):
            await update.message.answer(text)
    except TelegramAPIError as error:
        log.warning("could not tell the user about error %s: %s", error_id, type(error).__name__)
    return True


async def _answer_press(callback: CallbackQuery, text: str) -> None:
    """The press gets the line as its alert; one answered already (a press counts once) gets a message."""
    try:
        await callback.answer(text, show_alert=True)
    except TelegramAPIError:
        if callback.message is None:
            raise
        await callback.message.answer(text)  # type: ignore[union-attr]
