"""/history: newest payments first; buttons page back in time and filter All / Incoming / Outgoing.

Buttons edit the same message. Where the next page starts (its 90-day window, QIWI's cursor inside it and
the empty windows seen so far: bot/services/history.py) travels in the button's callback data, so a page
survives restarts, needs no stored state, and an old button shows the same list after new payments arrive.
Paging goes on past the oldest page of a window into the 90 days before it, until the history has ended.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import HistoryOp, HistoryPage
from bot.handlers.replies import answer_and_edit
from bot.i18n import Translator
from bot.keyboards.inline import history_keyboard
from bot.phone import format_phone
from bot.services.history import (
    HistoryPosition,
    newest_position,
    payment_line,
    position_fields,
    position_from_fields,
)
from bot.services.wallet import WalletService
from bot.timeutil import show_moment


def older_button(op: HistoryOp, position: HistoryPosition) -> HistoryPage:
    window, next_id, next_date, empty = position_fields(position)
    return HistoryPage(op=op, window=window, next_id=next_id, next_date=next_date, empty=empty)


async def render(
    tg_id: int, wallet: WalletService, tr: Translator, op: HistoryOp, page: HistoryPage | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    now = wallet.now()
    first_page = page is None or page.window == 0
    if page is None:
        position = newest_position(now)
    else:
        position = position_from_fields(page.window, page.next_id, page.next_date, page.empty, now)
    walk = await wallet.history_walk(tg_id, operation=op.value, position=position)
    title = f"<b>{tr(f'history.title.{op.value.lower()}')}</b>"
    lines = [title if first_page else f"{title} {tr('history.older_marker')}"]
    if (named := await wallet.named_wallet(tg_id)) is not None:
        lines.append(tr("wallet.acting_on", wallet=format_phone(named)))
    lines += [payment_line(p, tr.language, tr) for p in walk.payments]
    back_to = show_moment(walk.searched_back_to, "date")
    if walk.older is None:
        if walk.payments:
            lines.append(tr("history.the_end", date=back_to))
        else:
            lines.append(tr("history.empty", date=back_to) if first_page else tr("history.no_more", date=back_to))
    elif not walk.payments:
        # The page stopped early (the member's read budget) before it found anything: say how far it looked.
        lines.append(tr("history.nothing_yet", date=back_to))
    older = None if walk.older is None else older_button(op, walk.older)
    return "\n".join(lines), history_keyboard(tr, op, older, first_page=first_page)


async def history(message: Message, wallet: WalletService, tr: Translator) -> None:
    assert message.from_user is not None
    text, keyboard = await render(message.from_user.id, wallet, tr, HistoryOp.ALL)
    await message.answer(text, reply_markup=keyboard)


async def history_page(
    callback: CallbackQuery, callback_data: HistoryPage, wallet: WalletService, tr: Translator
) -> None:
    text, keyboard = await render(callback.from_user.id, wallet, tr, callback_data.op, callback_data)
    await answer_and_edit(callback, text, keyboard)


def build_router() -> Router:
    router = Router(name="history")
    router.message.register(history, Command("history"), flags={"chat_action": "typing"})
    router.callback_query.register(history_page, HistoryPage.filter())
    return router
