"""/wallets: every wallet the member has logged in to, with its session, and a button each to make it current."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import WalletChoice
from bot.handlers.replies import answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.wallets import wallets_keyboard
from bot.phone import format_phone
from bot.services.sessions import SessionService
from bot.timeutil import show_moment


async def wallets_view(tg_id: int, sessions: SessionService, tr: Translator) -> tuple[str, InlineKeyboardMarkup | None]:
    wallets, current = await sessions.wallets(tg_id), await sessions.current_wallet(tg_id)
    if not wallets:
        return tr("wallets.none"), None
    now = sessions.clock()
    lines = [tr("wallets.header")]
    for stored in wallets:
        status = sessions.status(stored)
        if status.expires_at is not None and status.expires_at > now:
            state = tr("wallets.until", until=show_moment(status.expires_at, "time"))
        else:
            state = tr("wallets.logged_out")
        mark = " ★" if stored.wallet == current else ""
        lines.append(f"• {format_phone(stored.wallet)}{mark} — {state}")
    if len(wallets) > 1:
        lines += ["", tr("wallets.hint")]
    return "\n".join(lines), wallets_keyboard(wallets, current)


async def wallets(message: Message, sessions: SessionService, tr: Translator) -> None:
    assert message.from_user is not None
    text, keyboard = await wallets_view(message.from_user.id, sessions, tr)
    await message.answer(text, reply_markup=keyboard)


async def wallet_chosen(
    callback: CallbackQuery, callback_data: WalletChoice, sessions: SessionService, tr: Translator
) -> None:
    tg_id = callback.from_user.id
    if not await sessions.switch(tg_id, callback_data.wallet):
        await answer_press(callback, tr("stale.button"))
        return
    await answer_press(callback, tr("wallets.switched", wallet=format_phone(callback_data.wallet)))
    text, keyboard = await wallets_view(tg_id, sessions, tr)
    await edit_pressed(callback, text, keyboard)


def build_router() -> Router:
    router = Router(name="wallets")
    router.message.register(wallets, Command("wallets"))
    router.callback_query.register(wallet_chosen, WalletChoice.filter())
    return router
