"""/stats: incoming, outgoing and net per currency; this month by default, other periods by button, any past
month through the picker. The chart of the period follows the totals.

Outgoing is QIWI's total, commission included (the text says so), and the chart counts it the same way.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import StatsPeriod, StatsPeriodMonth, StatsPeriodMonths, StatsPeriodName
from bot.handlers.replies import answer_and_edit, answer_press
from bot.i18n import Translator
from bot.keyboards.inline import stats_keyboard, stats_month_keyboard
from bot.money import format_money
from bot.phone import format_phone
from bot.qiwi.errors import QiwiError
from bot.qiwi.models import Payment
from bot.services.chart import ChartRenderer, ChartWords, ChartWorkerLost, stats_chart
from bot.services.history import (
    Period,
    last_month_number,
    month_label,
    month_period,
    month_picker_page,
    signed_money,
    stats_period,
    totals_by_currency,
)
from bot.services.sessions import NotLoggedIn, SessionEnded
from bot.services.wallet import SlowDown, WalletService
from bot.timeutil import show_moment, show_span

log = logging.getLogger(__name__)


def period_header(tr: Translator, period: Period) -> str:
    if period.name == "month" and period.single_day:
        # The 1st of the month: "this month" is today so far, and the header says so.
        return tr("stats.header_first_day", date=show_moment(period.start, "date"))
    return tr("stats.header", period=show_span(period.start, period.end))


async def render(
    tg_id: int, wallet: WalletService, tr: Translator, period: Period, name: StatsPeriodName | None
) -> tuple[str, InlineKeyboardMarkup]:
    totals = await wallet.totals(tg_id, period.start, period.end)
    lines = [period_header(tr, period)]
    if (named := await wallet.named_wallet(tg_id)) is not None:
        lines.append(tr("wallet.acting_on", wallet=format_phone(named)))
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
    keyboard = stats_keyboard(tr, name, last_month=last_month_number(wallet.now()), month_shown=name is None)
    return "\n".join(lines), keyboard


def fetch_chart_payments(tg_id: int, wallet: WalletService, period: Period) -> asyncio.Task[list[Payment]]:
    """The chart's payments, asked for beside the totals: QIWI answers both in the same two round trips, and
    the chart follows the totals text by the time it takes to draw instead of two more round trips."""
    task = asyncio.ensure_future(wallet.payments(tg_id, period.start, period.end))
    # Read even when nobody awaits it (the totals failed first), so it is never logged as never retrieved.
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return task


async def send_chart(
    message: Message,
    tg_id: int,
    payments: asyncio.Task[list[Payment]],
    chart: ChartRenderer,
    tr: Translator,
    period: Period,
) -> None:
    """Best effort: the totals are already on screen, so a failed chart is logged, not shown as an error."""
    try:
        drawn = await stats_chart(
            await payments,
            period.start,
            period.end,
            chart,
            ChartWords(
                title="{currency} · "
                + (show_moment(period.start, "date") if period.single_day else show_span(period.start, period.end)),
                incoming=tr("chart.legend.incoming"),
                outgoing=tr("chart.legend.outgoing"),
                net=tr("chart.legend.net"),
                language=tr.language,
            ),
        )
        if drawn is None:
            return
        caption = tr("chart.caption.week" if drawn.weekly else "chart.caption.day", currency=drawn.currency)
        await message.answer_photo(BufferedInputFile(drawn.png, filename="stats.png"), caption=caption)
    except (QiwiError, NotLoggedIn, SessionEnded, SlowDown, TelegramAPIError, ChartWorkerLost) as error:
        log.info("stats chart for user %s not sent: %s", tg_id, type(error).__name__)


async def totals_then_chart(
    target: Message | CallbackQuery,
    wallet: WalletService,
    chart: ChartRenderer,
    tr: Translator,
    period: Period,
    name: StatsPeriodName | None,
) -> None:
    """The totals as soon as QIWI gives them, then the chart of the same period from payments fetched meanwhile."""
    assert target.from_user is not None
    tg_id = target.from_user.id
    chart.warm()  # a first chart starts its worker process while QIWI answers
    payments = fetch_chart_payments(tg_id, wallet, period)
    try:
        text, keyboard = await render(tg_id, wallet, tr, period, name)
        if isinstance(target, Message):
            await target.answer(text, reply_markup=keyboard)
            message: Message | None = target
        else:
            await answer_and_edit(target, text, keyboard)
            message = target.message if isinstance(target.message, Message) else None
        if message is not None:
            await send_chart(message, tg_id, payments, chart, tr, period)
    finally:
        payments.cancel()  # a no-op once the chart has it; otherwise nobody will


async def stats(message: Message, wallet: WalletService, chart: ChartRenderer, tr: Translator) -> None:
    name = StatsPeriodName.MONTH
    await totals_then_chart(message, wallet, chart, tr, stats_period(name, wallet.now()), name)


async def stats_other_period(
    callback: CallbackQuery, callback_data: StatsPeriod, wallet: WalletService, chart: ChartRenderer, tr: Translator
) -> None:
    period = stats_period(callback_data.period, wallet.now())
    await totals_then_chart(callback, wallet, chart, tr, period, callback_data.period)


async def stats_months(
    callback: CallbackQuery, callback_data: StatsPeriodMonths, wallet: WalletService, tr: Translator
) -> None:
    page = month_picker_page(wallet.now(), callback_data.last)
    months = [(number, month_label(number, tr.language)) for number in page.months]
    await answer_and_edit(
        callback, tr("stats.pick_month"), stats_month_keyboard(tr, months, earlier=page.earlier, later=page.later)
    )


async def stats_month(
    callback: CallbackQuery,
    callback_data: StatsPeriodMonth,
    wallet: WalletService,
    chart: ChartRenderer,
    tr: Translator,
) -> None:
    try:
        period = month_period("picked_month", callback_data.month, wallet.now())
    except ValueError:
        await answer_press(callback, tr("stale.button"))
        return
    await totals_then_chart(callback, wallet, chart, tr, period, None)


def build_router() -> Router:
    router = Router(name="stats")
    router.message.register(stats, Command("stats"), flags={"chat_action": "typing"})
    router.callback_query.register(stats_other_period, StatsPeriod.filter())
    router.callback_query.register(stats_months, StatsPeriodMonths.filter())
    router.callback_query.register(stats_month, StatsPeriodMonth.filter())
    return router
