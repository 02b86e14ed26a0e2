"""/history: newest payments first; buttons page back in time and filter All / Incoming / Outgoing.

Buttons edit the same message. The page cursor (QIWI's nextTxnId + nextTxnDate) travels in the button's
callback data, so a page survives restarts and needs no stored state.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import HistoryOp, HistoryPage
from bot.handlers.replies import answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.inline import history_keyboard
from bot.services.history import cursor_date, history_window, next_cursor, payment_line
from bot.services.wallet import WalletService


async def render(
    tg_id: int, wallet: WalletService, tr: Translator, op: HistoryOp, next_id: int = 0, next_date: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    start, end = history_window(wallet.now())
    first_page = next_id == 0
    cursor = None if first_page else (next_id, cursor_date(next_date))
    page = await wallet.history_page(tg_id, operation=op.value, start=start, end=end, cursor=cursor)
    lines = [
        f"<b>{tr(f'history.title.{op.value.lower()}')}</b>" + ("" if first_page else " " + tr("history.older_marker"))
    ]
    if page.payments:
        lines += [payment_line(p, tr.language, tr) for p in page.payments]
    else:
        lines.append(tr("history.empty") if first_page else tr("history.no_more"))
    older = next_cursor(page.next_txn_id, page.next_txn_date) if page.payments else None
    return "\n".join(lines), history_keyboard(tr, op, older, first_page=first_page)


async def history(message: Message, wallet: WalletService, tr: Translator) -> None:
    assert message.from_user is not None
    text, keyboard = await render(message.from_user.id, wallet, tr, HistoryOp.ALL)
    await message.answer(text, reply_markup=keyboard)


async def history_page(
    callback: CallbackQuery, callback_data: HistoryPage, wallet: WalletService, tr: Translator
) -> None:
    text, keyboard = await render(
        callback.from_user.id, wallet, tr, callback_data.op, callback_data.next_id, callback_data.next_date
    )
    await answer_press(callback)
    await edit_pressed(callback, text, keyboard)


def build_router() -> Router:
    router = Router(name="history")
    router.message.register(history, Command("history"), flags={"chat_action": "typing"})
    router.callback_query.register(history_page, HistoryPage.filter())
    return router
