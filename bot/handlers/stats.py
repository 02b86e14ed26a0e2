"""/stats: incoming, outgoing and net per currency; this month by default, other periods by button."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import StatsPeriod
from bot.handlers.replies import edit_callback_message
from bot.keyboards.inline import stats_keyboard
from bot.money import format_money
from bot.qiwi.client import QiwiClient
from bot.qiwi.errors import QiwiError
from bot.qiwi.models import Totals
from bot.services.chart import ChartRenderer, stats_chart
from bot.services.history import PERIODS, signed_money, stats_period, totals_by_currency
from bot.services.sessions import NotLoggedIn, Session, SessionEnded, SessionService
from bot.timeutil import MSK

log = logging.getLogger(__name__)
router = Router(name="stats")


async def render(tg_id: int, sessions: SessionService, language: str, name: str) -> tuple[str, InlineKeyboardMarkup]:
    period = stats_period(name, sessions.clock())

    async def fetch(qiwi: QiwiClient, session: Session) -> Totals:
        return await qiwi.totals(session.tgt, session.wallet, start=period.start, end=period.end)

    totals = await sessions.run(tg_id, fetch)
    span = "{} – {}".format(
        period.start.astimezone(MSK).strftime("%d.%m.%Y"), period.end.astimezone(MSK).strftime("%d.%m.%Y")
    )
    lines = [_("stats.header").format(period=span)]
    rows = totals_by_currency(totals)
    for row in rows:
        lines += [
            "",
            f"<b>{row.currency}</b>",
            _("stats.incoming").format(amount=format_money(row.incoming, row.currency, language)),
            _("stats.outgoing").format(amount=format_money(row.outgoing, row.currency, language)),
            _("stats.net").format(amount=signed_money(row.net, row.currency, language)),
        ]
    if not rows:
        lines.append(_("stats.empty"))
    return "\n".join(lines), stats_keyboard(period.name)


async def send_chart(
    bot: Bot,
    chat_id: int,
    tg_id: int,
    sessions: SessionService,
    name: str,
    renderer: ChartRenderer | None = None,
) -> None:
    """The picture after the totals (issue 7). Best effort: the totals are already on screen, so a failed
    chart is logged, not shown as an error."""
    period = stats_period(name, sessions.clock())
    span = "{} – {}".format(
        period.start.astimezone(MSK).strftime("%d.%m.%Y"), period.end.astimezone(MSK).strftime("%d.%m.%Y")
    )
    try:
        chart = await stats_chart(
            sessions,
            tg_id,
            period.start,
            period.end,
            title="{currency} · " + span,
            in_label=_("chart.incoming"),
            out_label=_("chart.outgoing"),
            renderer=renderer,
        )
        if chart is None:
            return
        caption = _("chart.caption.week" if chart.weekly else "chart.caption.day").format(currency=chart.currency)
        await bot.send_photo(chat_id, BufferedInputFile(chart.png, filename="stats.png"), caption=caption)
    except (QiwiError, NotLoggedIn, SessionEnded, TelegramAPIError) as error:
        log.info("stats chart for user %s not sent: %s", tg_id, type(error).__name__)


@router.message(Command("stats"), flags={"chat_action": "typing"})
async def stats(
    message: Message, sessions: SessionService, i18n: I18n, chart_renderer: ChartRenderer | None = None
) -> None:
    assert message.from_user is not None and message.bot is not None
    text, keyboard = await render(message.from_user.id, sessions, i18n.current_locale, "month")
    await message.answer(text, reply_markup=keyboard)
    await send_chart(message.bot, message.chat.id, message.from_user.id, sessions, "month", chart_renderer)


@router.callback_query(StatsPeriod.filter())
async def stats_other_period(
    callback: CallbackQuery,
    callback_data: StatsPeriod,
    sessions: SessionService,
    i18n: I18n,
    chart_renderer: ChartRenderer | None = None,
) -> None:
    if callback_data.period not in PERIODS:
        await callback.answer(_("stale.button"))
        return
    text, keyboard = await render(callback.from_user.id, sessions, i18n.current_locale, callback_data.period)
    await callback.answer()
    await edit_callback_message(callback, text, keyboard)
    if callback.bot is not None and callback.message is not None:
        await send_chart(
            callback.bot,
            callback.message.chat.id,
            callback.from_user.id,
            sessions,
            callback_data.period,
            chart_renderer,
        )
