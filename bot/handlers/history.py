"""/history: newest payments first; buttons page back in time and filter All / Incoming / Outgoing.

Buttons edit the same message. The page cursor (QIWI's nextTxnId + nextTxnDate) travels in the button's
callback data, so a page survives restarts and needs no stored state.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import HistoryPage as HistoryButton
from bot.handlers.replies import edit_callback_message
from bot.keyboards.inline import history_keyboard
from bot.qiwi.client import QiwiClient
from bot.qiwi.models import HistoryPage
from bot.services.history import (
    HISTORY_PAGE_ROWS,
    OPERATIONS,
    cursor_date,
    history_window,
    next_cursor,
    payment_line,
)
from bot.services.sessions import Session, SessionService

router = Router(name="history")


async def render(
    tg_id: int, sessions: SessionService, language: str, op: str, next_id: int = 0, next_date: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    start, end = history_window(sessions.clock())
    first_page = next_id == 0

    async def fetch(qiwi: QiwiClient, session: Session) -> HistoryPage:
        return await qiwi.history(
            session.tgt,
            session.wallet,
            rows=HISTORY_PAGE_ROWS,
            operation=op,
            start=start,
            end=end,
            next_txn_id=None if first_page else next_id,
            next_txn_date=None if first_page else cursor_date(next_date),
        )

    page = await sessions.run(tg_id, fetch)
    title = {"ALL": _("history.title.all"), "IN": _("history.title.in"), "OUT": _("history.title.out")}[op]
    lines = [f"<b>{title}</b>" + ("" if first_page else " " + _("history.older_marker"))]
    if page.payments:
        lines += [payment_line(p, language, _) for p in page.payments]
    else:
        lines.append(_("history.empty") if first_page else _("history.no_more"))
    cursor = next_cursor(page.next_txn_id, page.next_txn_date) if page.payments else None
    return "\n".join(lines), history_keyboard(op, cursor, first_page=first_page)


@router.message(Command("history"), flags={"chat_action": "typing"})
async def history(message: Message, sessions: SessionService, i18n: I18n) -> None:
    assert message.from_user is not None
    text, keyboard = await render(message.from_user.id, sessions, i18n.current_locale, "ALL")
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(HistoryButton.filter())
async def history_page(
    callback: CallbackQuery, callback_data: HistoryButton, sessions: SessionService, i18n: I18n
) -> None:
    if callback_data.op not in OPERATIONS:
        await callback.answer(_("stale.button"))
        return
    text, keyboard = await render(
        callback.from_user.id,
        sessions,
        i18n.current_locale,
        callback_data.op,
        callback_data.next_id,
        callback_data.next_date,
    )
    await callback.answer()
    await edit_callback_message(callback, text, keyboard)
