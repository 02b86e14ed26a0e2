"""/stats: incoming, outgoing and net per currency; this month by default, other periods by button.
The chart of the period follows the totals."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import StatsPeriod, StatsPeriodName
from bot.handlers.replies import answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.inline import stats_keyboard
from bot.money import format_money
from bot.qiwi.errors import QiwiError
from bot.services.chart import ChartRenderer, stats_chart
from bot.services.history import Period, signed_money, stats_period, totals_by_currency
from bot.services.sessions import NotLoggedIn, SessionEnded
from bot.services.wallet import SlowDown, WalletService
from bot.timeutil import show_span

log = logging.getLogger(__name__)


async def render(
    tg_id: int, wallet: WalletService, tr: Translator, period: Period, name: StatsPeriodName
) -> tuple[str, InlineKeyboardMarkup]:
    totals = await wallet.totals(tg_id, period.start, period.end)
    lines = [tr("stats.header", period=show_span(period.start, period.end))]
    rows = totals_by_currency(totals)
    for row in rows:
        lines += [
            "",
            f"<b>{row.currency}</b>",
            tr("stats.incoming", amount=format_money(row.incoming, row.currency, tr.language)),
            tr("stats.outgoing", amount=format_money(row.outgoing, row.currency, tr.language)),
            tr("stats.net", amount=signed_money(row.net, row.currency, tr.language)),
        ]
    if not rows:
        lines.append(tr("stats.empty"))
    return "\n".join(lines), stats_keyboard(tr, name)


async def send_chart(
    message: Message, tg_id: int, wallet: WalletService, chart: ChartRenderer, tr: Translator, period: Period
) -> None:
    """Best effort: the totals are already on screen, so a failed chart is logged, not shown as an error."""
    try:
        payments = await wallet.payments(tg_id, period.start, period.end)
        drawn = await stats_chart(
            payments,
            period.start,
            period.end,
            chart,
            title="{currency} · " + show_span(period.start, period.end),
            in_label=tr("chart.incoming"),
            out_label=tr("chart.outgoing"),
        )
        if drawn is None:
            return
        caption = tr("chart.caption.week" if drawn.weekly else "chart.caption.day", currency=drawn.currency)
        await message.answer_photo(BufferedInputFile(drawn.png, filename="stats.png"), caption=caption)
    except (QiwiError, NotLoggedIn, SessionEnded, SlowDown, TelegramAPIError) as error:
        log.info("stats chart for user %s not sent: %s", tg_id, type(error).__name__)


async def stats(message: Message, wallet: WalletService, chart: ChartRenderer, tr: Translator) -> None:
    assert message.from_user is not None
    name = StatsPeriodName.MONTH
    period = stats_period(name, wallet.now())
    text, keyboard = await render(message.from_user.id, wallet, tr, period, name)
    await message.answer(text, reply_markup=keyboard)
    await send_chart(message, message.from_user.id, wallet, chart, tr, period)


async def stats_other_period(
    callback: CallbackQuery, callback_data: StatsPeriod, wallet: WalletService, chart: ChartRenderer, tr: Translator
) -> None:
    period = stats_period(callback_data.period, wallet.now())
    text, keyboard = await render(callback.from_user.id, wallet, tr, period, callback_data.period)
    await answer_press(callback)
    await edit_pressed(callback, text, keyboard)
    if isinstance(callback.message, Message):
        await send_chart(callback.message, callback.from_user.id, wallet, chart, tr, period)


def build_router() -> Router:
    router = Router(name="stats")
    router.message.register(stats, Command("stats"), flags={"chat_action": "typing"})
    router.callback_query.register(stats_other_period, StatsPeriod.filter())
    return router
