"""/request: ask another member for money. Pick the member, the amount, a comment; they get Pay / Decline.

Pay opens the ordinary transfer summary (`bot.handlers.transfer.show_summary`), so the money moves only
through the transfers' exactly-once path; the request just follows that transfer (`RequestService.sweep`,
run every few seconds beside polling, tells the requester when it is paid, declined or expired).
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.config import Settings
from bot.handlers.alerts import remember_language
from bot.handlers.common import leave_dialog
from bot.handlers.replies import edit_callback_message
from bot.handlers.transfer import show_summary
from bot.i18n import DEFAULT_LANGUAGE, CatalogI18n
from bot.money import format_money
from bot.phone import format_phone
from bot.services import requests as requests_service
from bot.services.requests import PayOutcome, RequestProblem, RequestService, Sweep, run_sweeper, transfer_draft
from bot.services.sessions import SessionService
from bot.services.transfer_texts import problem_text
from bot.services.transfers import (
    COMMENT_MAX_LENGTH,
    DraftProblem,
    TransferService,
    parse_comment,
    parse_transfer_amount,
)
from bot.states import TransferDialog
from bot.storage import Database
from bot.storage.requests import MoneyRequest
from bot.timeutil import MSK

if TYPE_CHECKING:
    from bot.factory import Services

log = logging.getLogger(__name__)
router = Router(name="requests")

_NOT_A_COMMAND = ~F.text.startswith("/")


class RequestDialog(StatesGroup):
    member = State()
    amount = State()
    comment = State()


class RequestPick(CallbackData, prefix="rqm"):
    """`payer`: the Telegram id of the member asked; 0 is the comment's Skip button."""

    payer: int


class RequestAction(CallbackData, prefix="rq"):
    """`action`: pay / decline; `request_id` is the request row, so the buttons work in any dialog state."""

    action: str
    request_id: int


# -- texts ----------------------------------------------------------------------------------------------


def _tr(key: str) -> str:
    return _(key)


def _money(request: MoneyRequest, language: str) -> str:
    return format_money(request.amount, "RUB", language)


def _requester_label(request: MoneyRequest) -> str:
    wallet = format_phone(request.requester_wallet)
    return f"{escape(request.requester_name)} ({wallet})" if request.requester_name else wallet


async def _payer_label(db: Database, request: MoneyRequest) -> str:
    payer = await db.users.get(request.payer_tg_id)
    return format_phone(payer.wallet) if payer is not None and payer.wallet else str(request.payer_tg_id)


def request_text(i18n: CatalogI18n, request: MoneyRequest, language: str) -> str:
    lines = [
        i18n.text(
            "request.incoming",
            language,
            requester=_requester_label(request),
            amount=_money(request, language),
            wallet=format_phone(request.requester_wallet),
        )
    ]
    if request.comment:
        lines.append(i18n.text("request.incoming.comment", language, comment=escape(request.comment)))
    until = request.expires_at.astimezone(MSK).strftime("%d.%m.%Y %H:%M") + " MSK"
    lines.append(i18n.text("request.incoming.until", language, until=until))
    return "\n".join(lines)


def request_keyboard(i18n: CatalogI18n, request_id: int, language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=i18n.text("request.button.pay", language), callback_data=RequestAction(action="pay", request_id=request_id)
    )
    builder.button(
        text=i18n.text("request.button.decline", language),
        callback_data=RequestAction(action="decline", request_id=request_id),
    )
    builder.adjust(2)
    return builder.as_markup()


async def _language_of(db: Database, tg_id: int) -> str:
    user = await db.users.get(tg_id)
    return (user.language if user is not None else None) or DEFAULT_LANGUAGE


async def _edit_request_message(
    bot: Bot, request: MoneyRequest, text: str, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    if request.chat_id is None or request.message_id is None:
        return
    try:
        await bot.edit_message_text(text, chat_id=request.chat_id, message_id=request.message_id, reply_markup=keyboard)
    except TelegramAPIError as error:
        log.info("money request %s: could not edit its message: %s", request.id, type(error).__name__)


async def _tell(bot: Bot, tg_id: int, text: str) -> None:
    try:
        await bot.send_message(tg_id, text)
    except TelegramAPIError as error:
        log.info("could not message user %s: %s", tg_id, type(error).__name__)


# -- the requester's dialog ------------------------------------------------------------------------------


def _service(db: Database, sessions: SessionService) -> RequestService:
    return RequestService(db, sessions.clock)


@router.message(Command("request"))
async def request_command(
    message: Message, state: FSMContext, db: Database, sessions: SessionService, i18n: I18n
) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    await remember_language(db, tg_id, i18n.current_locale)
    await leave_dialog(state, sessions, tg_id, message.bot)
    user = await db.users.get(tg_id)
    if user is None or user.wallet is None:
        await message.answer(_("request.no_wallet"))
        return
    payers = await _service(db, sessions).payers_for(tg_id)
    if not payers:
        await message.answer(_("request.no_members"))
        return
    builder = InlineKeyboardBuilder()
    for payer in payers:
        assert payer.wallet is not None
        builder.button(text=format_phone(payer.wallet), callback_data=RequestPick(payer=payer.tg_id))
    builder.adjust(1)
    await state.set_state(RequestDialog.member)
    await message.answer(_("request.ask_member"), reply_markup=builder.as_markup())


@router.callback_query(RequestDialog.member, RequestPick.filter(F.payer != 0))
async def member_chosen(
    callback: CallbackQuery,
    callback_data: RequestPick,
    state: FSMContext,
    db: Database,
    sessions: SessionService,
    i18n: I18n,
    settings: Settings,
) -> None:
    await callback.answer()
    payers = {u.tg_id: u for u in await _service(db, sessions).payers_for(callback.from_user.id)}
    payer = payers.get(callback_data.payer)
    if payer is None or payer.wallet is None:
        await state.clear()
        await _edit_callback(callback, _("request.member_gone"))
        return
    await state.update_data(payer=payer.tg_id)
    await state.set_state(RequestDialog.amount)
    await _edit_callback(
        callback,
        _("request.ask_amount").format(
            member=format_phone(payer.wallet), limit=format_money(settings.transfer_limit, "RUB", i18n.current_locale)
        ),
    )


@router.message(RequestDialog.amount, F.text, _NOT_A_COMMAND)
async def amount_step(message: Message, state: FSMContext, db: Database, i18n: I18n, settings: Settings) -> None:
    try:
        amount = parse_transfer_amount(message.text or "", limit=settings.transfer_limit)
    except DraftProblem as problem:
        await message.answer(problem_text(_tr, problem, limit=settings.transfer_limit, language=i18n.current_locale))
        return
    await state.update_data(amount=str(amount))
    await state.set_state(RequestDialog.comment)
    payer = await db.users.get(int((await state.get_data()).get("payer", 0)))
    member = format_phone(payer.wallet) if payer is not None and payer.wallet else "?"
    builder = InlineKeyboardBuilder()
    builder.button(text=_("request.button.skip"), callback_data=RequestPick(payer=0))
    await message.answer(
        _("request.ask_comment").format(member=member, max=COMMENT_MAX_LENGTH), reply_markup=builder.as_markup()
    )


@router.message(RequestDialog.comment, F.text, _NOT_A_COMMAND)
async def comment_step(
    message: Message, state: FSMContext, db: Database, sessions: SessionService, i18n: I18n, settings: Settings
) -> None:
    assert message.from_user is not None and message.bot is not None
    try:
        comment = parse_comment(message.text or "")
    except DraftProblem as problem:
        await message.answer(problem_text(_tr, problem, limit=settings.transfer_limit, language=i18n.current_locale))
        return
    await _create(
        message.bot,
        message.chat.id,
        message.from_user.id,
        message.from_user.full_name,
        comment,
        state,
        db,
        sessions,
        i18n,
    )


@router.callback_query(RequestDialog.comment, RequestPick.filter(F.payer == 0))
async def skip_comment(
    callback: CallbackQuery, state: FSMContext, db: Database, sessions: SessionService, i18n: I18n
) -> None:
    await callback.answer()
    if callback.message is None or callback.bot is None:
        return
    await _edit_callback(callback, _("transfer.ask_comment.skipped"))
    await _create(
        callback.bot,
        callback.message.chat.id,
        callback.from_user.id,
        callback.from_user.full_name,
        "",
        state,
        db,
        sessions,
        i18n,
    )


@router.message(RequestDialog.amount, _NOT_A_COMMAND)
@router.message(RequestDialog.comment, _NOT_A_COMMAND)
async def not_text(message: Message) -> None:
    await message.answer(_("transfer.bad.not_text"))


async def _create(
    bot: Bot,
    chat_id: int,
    tg_id: int,
    name: str,
    comment: str,
    state: FSMContext,
    db: Database,
    sessions: SessionService,
    i18n: I18n,
) -> None:
    data = await state.get_data()
    await state.clear()
    payer_id, amount = data.get("payer"), data.get("amount")
    if not isinstance(payer_id, int) or not isinstance(amount, str):
        await bot.send_message(chat_id, _("transfer.stale"))
        return
    service = _service(db, sessions)
    try:
        request = await service.create(tg_id, payer_id, Decimal(amount), comment, requester_name=name)
    except RequestProblem as problem:
        await bot.send_message(
            chat_id, _("request.no_wallet" if problem.reason == "no_wallet" else "request.member_gone")
        )
        return
    member = await _payer_label(db, request)
    catalog = _catalog(i18n)
    language = await _language_of(db, payer_id)
    try:
        sent = await bot.send_message(
            payer_id,
            request_text(catalog, request, language),
            reply_markup=request_keyboard(catalog, request.id, language),
        )
    except TelegramAPIError as error:
        log.info("money request %s not delivered: %s", request.id, type(error).__name__)
        await service.cancel_undelivered(request.id)
        await bot.send_message(chat_id, _("request.not_delivered").format(member=member))
        return
    await service.set_message(request.id, sent.chat.id, sent.message_id)
    await bot.send_message(
        chat_id, _("request.sent").format(member=member, amount=_money(request, i18n.current_locale))
    )


def _catalog(i18n: I18n) -> CatalogI18n:
    # The dispatcher's I18n is a CatalogI18n (bot.factory); texts for another member need its `text()`.
    assert isinstance(i18n, CatalogI18n)
    return i18n


async def _edit_callback(callback: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    try:
        await edit_callback_message(callback, text, keyboard)
    except TelegramAPIError as error:
        log.info("could not edit a request message: %s", type(error).__name__)


# -- the addressee's buttons ---------------------------------------------------------------------------

_REFUSALS = {
    PayOutcome.NOT_FOUND: "request.not_found",
    PayOutcome.NOT_YOURS: "request.not_yours",
    PayOutcome.IN_PROGRESS: "request.in_progress",
    PayOutcome.PAID: "request.already_paid",
    PayOutcome.DECLINED: "request.already_declined",
    PayOutcome.EXPIRED: "request.already_expired",
}
_FINAL_STATUS = {
    PayOutcome.PAID: "request.status.paid",
    PayOutcome.DECLINED: "request.status.declined",
    PayOutcome.EXPIRED: "request.status.expired",
}


@router.callback_query(RequestAction.filter(F.action == "pay"))
async def pay_pressed(
    callback: CallbackQuery,
    callback_data: RequestAction,
    state: FSMContext,
    db: Database,
    sessions: SessionService,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    message = callback.message
    if not isinstance(message, Message) or callback.bot is None:
        await callback.answer(_("stale.button"))
        return
    tg_id = callback.from_user.id
    await remember_language(db, tg_id, i18n.current_locale)
    service = _service(db, sessions)
    start = await service.start_paying(callback_data.request_id, tg_id)
    if start.outcome is not PayOutcome.OPEN_SUMMARY or start.request is None:
        await callback.answer(_(_REFUSALS[start.outcome]), show_alert=True)
        if start.request is not None and start.request.payer_tg_id == tg_id and start.outcome in _FINAL_STATUS:
            base = request_text(_catalog(i18n), start.request, i18n.current_locale)
            await _edit_callback(callback, base + "\n\n" + _(_FINAL_STATUS[start.outcome]))
        return
    request = start.request
    await callback.answer()
    await leave_dialog(state, sessions, tg_id, callback.bot)
    try:
        await show_summary(message, state, transfers, tg_id, transfer_draft(request), i18n.current_locale)
    except BaseException:
        # NotLoggedIn (the middleware replies) or anything else: the request must not stay half-claimed.
        await asyncio.shield(service.abandon(request.id))
        raise
    transfer_id = (await state.get_data()).get("transfer_id")
    transfer = await transfers.get(transfer_id) if isinstance(transfer_id, int) else None
    opened = (
        await state.get_state() == TransferDialog.confirm.state
        and transfer is not None
        and transfer.tg_id == tg_id
        and transfer.recipient == request.requester_wallet
    )
    if not opened or transfer is None or not await service.link(request.id, transfer.id):
        await service.abandon(request.id)  # the summary was refused (e.g. amount over the limit)
        return
    await _edit_callback(
        callback, request_text(_catalog(i18n), request, i18n.current_locale) + "\n\n" + _("request.status.paying")
    )


@router.callback_query(RequestAction.filter(F.action == "decline"))
async def decline_pressed(
    callback: CallbackQuery, callback_data: RequestAction, db: Database, sessions: SessionService, i18n: I18n
) -> None:
    result = await _service(db, sessions).decline(callback_data.request_id, callback.from_user.id)
    if result.outcome is not PayOutcome.DECLINED or result.request is None:
        await callback.answer(_(_REFUSALS[result.outcome]), show_alert=True)
        return
    await callback.answer()
    request = result.request
    catalog = _catalog(i18n)
    await _edit_callback(
        callback, request_text(catalog, request, i18n.current_locale) + "\n\n" + _("request.status.declined")
    )
    if callback.bot is not None:
        language = await _language_of(db, request.requester_tg_id)
        payer = await _payer_label(db, request)
        await _tell(
            callback.bot,
            request.requester_tg_id,
            catalog.text("request.declined", language, payer=payer, amount=_money(request, language)),
        )


# -- the background sweep ------------------------------------------------------------------------------


async def announce_sweep(bot: Bot, db: Database, i18n: CatalogI18n, sweep: Sweep) -> None:
    """Tells requesters of paid and expired requests; updates the addressee's request message."""
    for request in sweep.paid:
        await _announce_settled(bot, db, i18n, request, "request.paid", "request.status.paid")
    for request in sweep.reopened:
        language = await _language_of(db, request.payer_tg_id)
        await _edit_request_message(
            bot,
            request,
            request_text(i18n, request, language) + "\n\n" + i18n.text("request.reopened", language),
            request_keyboard(i18n, request.id, language),
        )
    for request in sweep.expired:
        await _announce_settled(bot, db, i18n, request, "request.expired", "request.status.expired")


async def _announce_settled(
    bot: Bot, db: Database, i18n: CatalogI18n, request: MoneyRequest, told_key: str, status_key: str
) -> None:
    """The requester is told (`told_key`); the addressee's request message gets its final status."""
    language = await _language_of(db, request.requester_tg_id)
    payer = await _payer_label(db, request)
    await _tell(
        bot, request.requester_tg_id, i18n.text(told_key, language, payer=payer, amount=_money(request, language))
    )
    payer_language = await _language_of(db, request.payer_tg_id)
    await _edit_request_message(
        bot, request, request_text(i18n, request, payer_language) + "\n\n" + i18n.text(status_key, payer_language)
    )


def start_request_sweeper(
    bot: Bot, services: Services, stop: asyncio.Event, *, every: float | None = None
) -> asyncio.Task[None]:
    service = RequestService(services.db, services.clock)
    every = every if every is not None else requests_service.SWEEP_EVERY

    async def on_sweep(sweep: Sweep) -> None:
        await announce_sweep(bot, services.db, services.i18n, sweep)

    return asyncio.create_task(run_sweeper(service, on_sweep, stop, every=every), name="request-sweeper")
