"""/transfer: recipient, amount, optional comment, then a summary with Confirm / Cancel.

Thin on purpose: parsing, the exactly-once confirmation and the resolution of unknown outcomes live in
`bot/services/transfers.py`; the texts in `bot/services/transfer_texts.py`. The Confirm and Cancel buttons
carry the transfer's row id and work from any dialog state, so a summary stays confirmable across a
`/login` (within its ten minutes) and a restart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n, get_i18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import TransferAction
from bot.i18n import DEFAULT_LANGUAGE
from bot.phone import mask_phone
from bot.services.sessions import NotLoggedIn, SessionService
from bot.services.transfer_texts import money, outcome_text, problem_text, summary_text
from bot.services.transfers import (
    COMMENT_MAX_LENGTH,
    DraftProblem,
    Outcome,
    TransferDraft,
    TransferService,
    parse_command,
    parse_comment,
    parse_recipient,
    parse_transfer_amount,
)
from bot.states import TransferDialog
from bot.storage.models import Transfer

log = logging.getLogger(__name__)
router = Router(name="transfer")

_NOT_A_COMMAND = ~F.text.startswith("/")


@dataclass(frozen=True)
class DialogData:
    """The FSM data of the dialog, typed (stored as JSON: the amount travels as text)."""

    recipient: str | None = None
    amount: Decimal | None = None
    transfer_id: int | None = None

    @classmethod
    async def load(cls, state: FSMContext) -> DialogData:
        data = await state.get_data()
        amount = data.get("amount")
        transfer_id = data.get("transfer_id")
        return cls(
            recipient=data.get("recipient") if isinstance(data.get("recipient"), str) else None,
            amount=Decimal(amount) if isinstance(amount, str) else None,
            transfer_id=transfer_id if isinstance(transfer_id, int) else None,
        )


def _tr(key: str) -> str:
    return _(key)


def _current_language() -> str:
    try:
        return get_i18n().current_locale
    except LookupError:
        return DEFAULT_LANGUAGE


def summary_keyboard(transfer_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=_("transfer.button.confirm"), callback_data=TransferAction(action="confirm", transfer_id=transfer_id)
    )
    builder.button(
        text=_("transfer.button.cancel"), callback_data=TransferAction(action="cancel", transfer_id=transfer_id)
    )
    builder.adjust(2)
    return builder.as_markup()


def skip_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=_("transfer.button.skip"), callback_data=TransferAction(action="skip", transfer_id=0))
    return builder.as_markup()


def _refusal(problem: DraftProblem, transfers: TransferService, language: str) -> str:
    return problem_text(_tr, problem, limit=transfers.limit, language=language)


async def _cancel_open_summary(state: FSMContext, service: TransferService, tg_id: int, bot: Bot | None) -> bool:
    """The summary left open by the dialog can no longer be confirmed; its buttons become "cancelled"."""
    transfer_id = (await DialogData.load(state)).transfer_id
    if transfer_id is None or not await service.cancel_open(transfer_id, tg_id):
        return False
    transfer = await service.get(transfer_id)
    if bot is not None and transfer is not None and transfer.chat_id is not None and transfer.message_id:
        try:
            await bot.edit_message_text(
                summary_text(_tr, _current_language(), transfer) + "\n\n" + _("transfer.cancelled"),
                chat_id=transfer.chat_id,
                message_id=transfer.message_id,
                reply_markup=None,
            )
        except TelegramBadRequest as error:
            log.info("could not edit a cancelled summary: %s", error.message)
    return True


async def show_summary(
    message: Message,
    state: FSMContext,
    service: TransferService,
    tg_id: int,
    draft: TransferDraft,
    language: str,
) -> None:
    """Writes the transfer row (its client id fixed from now) and answers `message` with the summary and
    its Confirm / Cancel buttons. Also the entry point for other features that open a ready transfer
    (e.g. a money request's Pay button). Raises NotLoggedIn."""
    try:
        transfer = await service.prepare(tg_id, draft)
    except DraftProblem as problem:
        await message.answer(_refusal(problem, service, language))
        return
    sent = await message.answer(
        summary_text(_tr, language, transfer, ttl_end=service.expires_at(transfer)),
        reply_markup=summary_keyboard(transfer.id),
    )
    await service.set_message(transfer.id, sent.chat.id, sent.message_id)
    await state.set_state(TransferDialog.confirm)
    await state.set_data({"transfer_id": transfer.id})


@router.message(Command("transfer"))
async def transfer_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    try:
        sender = await transfers.sender_wallet(tg_id)
    except NotLoggedIn:
        await message.answer(_("error.not_logged_in"))
        return
    # Starting over: a summary left open by an earlier /transfer must not stay confirmable.
    await _cancel_open_summary(state, transfers, tg_id, message.bot)
    await state.clear()
    if not command.args:
        await state.set_state(TransferDialog.recipient)
        await message.answer(_("transfer.ask_recipient"))
        return
    try:
        draft = parse_command(command.args, limit=transfers.limit, sender=sender)
    except DraftProblem as problem:
        await message.answer(_refusal(problem, transfers, i18n.current_locale) + "\n" + _("transfer.usage"))
        return
    await show_summary(message, state, transfers, tg_id, draft, i18n.current_locale)


@router.message(TransferDialog.recipient, F.text, _NOT_A_COMMAND)
async def recipient_step(
    message: Message,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    assert message.from_user is not None
    try:
        sender = await transfers.sender_wallet(message.from_user.id)
        recipient = parse_recipient(message.text or "", sender=sender)
    except NotLoggedIn:
        await state.clear()
        await message.answer(_("error.not_logged_in"))
        return
    except DraftProblem as problem:
        await message.answer(_refusal(problem, transfers, i18n.current_locale))
        return
    await state.update_data(recipient=recipient)
    await state.set_state(TransferDialog.amount)
    await message.answer(
        _("transfer.ask_amount").format(
            recipient=mask_phone(recipient), limit=money(transfers.limit, i18n.current_locale)
        )
    )


@router.message(TransferDialog.amount, F.text, _NOT_A_COMMAND)
async def amount_step(
    message: Message,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    try:
        amount = parse_transfer_amount(message.text or "", limit=transfers.limit)
    except DraftProblem as problem:
        await message.answer(_refusal(problem, transfers, i18n.current_locale))
        return
    await state.update_data(amount=str(amount))
    await state.set_state(TransferDialog.comment)
    await message.answer(_("transfer.ask_comment").format(max=COMMENT_MAX_LENGTH), reply_markup=skip_keyboard())


async def _finish_with_comment(
    message: Message, state: FSMContext, service: TransferService, tg_id: int, comment: str, language: str
) -> None:
    data = await DialogData.load(state)
    if data.recipient is None or data.amount is None:
        # The dialog's data is gone (an old button after /cancel): start again rather than guess.
        await state.clear()
        await message.answer(_("transfer.stale"))
        return
    try:
        await show_summary(
            message, state, service, tg_id, TransferDraft(data.recipient, data.amount, comment), language
        )
    except NotLoggedIn:
        await state.clear()
        await message.answer(_("error.not_logged_in"))


@router.message(TransferDialog.comment, F.text, _NOT_A_COMMAND)
async def comment_step(
    message: Message,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    assert message.from_user is not None
    try:
        comment = parse_comment(message.text or "")
    except DraftProblem as problem:
        await message.answer(_refusal(problem, transfers, i18n.current_locale))
        return
    await _finish_with_comment(message, state, transfers, message.from_user.id, comment, i18n.current_locale)


@router.message(TransferDialog.recipient, _NOT_A_COMMAND)
@router.message(TransferDialog.amount, _NOT_A_COMMAND)
@router.message(TransferDialog.comment, _NOT_A_COMMAND)
async def not_text(message: Message) -> None:
    await message.answer(_("transfer.bad.not_text"))


@router.callback_query(TransferAction.filter(F.action == "skip"))
async def skip_comment(
    callback: CallbackQuery,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    await _answer(callback)
    message = callback.message
    if not isinstance(message, Message):
        return
    if await state.get_state() != TransferDialog.comment.state:
        await _edit(callback, _("transfer.stale"))
        return
    await _edit(callback, _("transfer.ask_comment.skipped"))
    await _finish_with_comment(message, state, transfers, callback.from_user.id, "", i18n.current_locale)


@router.callback_query(TransferAction.filter(F.action == "cancel"))
async def cancel_button(
    callback: CallbackQuery,
    callback_data: TransferAction,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    result = await transfers.cancel(callback_data.transfer_id, callback.from_user.id)
    text = outcome_text(_tr, i18n.current_locale, result)
    if result.outcome != Outcome.CANCELLED:
        await _answer(callback, text, show_alert=True)
        return
    await _answer(callback)
    if (await DialogData.load(state)).transfer_id == callback_data.transfer_id:
        await state.clear()
    await _edit_summary(callback, result.transfer, text, i18n.current_locale)


@router.callback_query(TransferAction.filter(F.action == "confirm"), flags={"chat_action": "typing"})
async def confirm_button(
    callback: CallbackQuery,
    callback_data: TransferAction,
    state: FSMContext,
    i18n: I18n,
    transfers: TransferService,
) -> None:
    language = i18n.current_locale
    answered = False

    async def show_sending(claimed: Transfer) -> None:
        nonlocal answered
        await _answer(callback, _("transfer.sending.short"))
        answered = True
        await _edit_summary(callback, claimed, _("transfer.sending"), language)

    result = await transfers.confirm(callback_data.transfer_id, callback.from_user.id, on_claimed=show_sending)
    outcome = result.outcome
    if outcome in (Outcome.NOT_FOUND, Outcome.NOT_YOURS, Outcome.IN_PROGRESS, Outcome.ALREADY_DONE, Outcome.CANCELLED):
        # Someone else's press, or a second press: the summary belongs to the first one, leave it alone.
        await _answer(callback, outcome_text(_tr, language, result), show_alert=True)
        return
    if not answered:
        await _answer(callback)
    if outcome in (Outcome.NEEDS_LOGIN, Outcome.RETRY):
        reopened = result.replacement
        assert reopened is not None
        await _edit_summary(
            callback,
            reopened,
            outcome_text(_tr, language, result, ttl_end=transfers.expires_at(reopened)),
            language,
            keyboard=summary_keyboard(reopened.id),
        )
        if (await state.get_state()) == TransferDialog.confirm.state:
            await state.update_data(transfer_id=reopened.id)
        return
    if (await DialogData.load(state)).transfer_id == callback_data.transfer_id:
        await state.clear()
    balance = await transfers.rub_balance(callback.from_user.id) if outcome == Outcome.ACCEPTED else None
    await _edit_summary(callback, result.transfer, outcome_text(_tr, language, result, balance=balance), language)


async def _edit_summary(
    callback: CallbackQuery,
    transfer: Transfer | None,
    status_text: str,
    language: str,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> None:
    """The summary stays readable above its latest status; its buttons go away unless new ones are given."""
    if transfer is None:
        await _edit(callback, status_text, keyboard)
        return
    summary = summary_text(_tr, language, transfer)
    await _edit(callback, summary + "\n\n" + status_text, keyboard)


async def _answer(callback: CallbackQuery, text: str | None = None, *, show_alert: bool = False) -> None:
    try:
        await callback.answer(text, show_alert=show_alert)
    except TelegramBadRequest as error:
        # "query is too old": the press still counts, only its little notice is lost.
        log.info("could not answer a transfer button: %s", error.message)


async def _edit(callback: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    message = callback.message
    if message is None or callback.bot is None:
        return
    try:
        await callback.bot.edit_message_text(
            text, chat_id=message.chat.id, message_id=message.message_id, reply_markup=keyboard
        )
    except TelegramBadRequest as error:
        # An identical edit is refused by Telegram ("not modified"); a deleted message cannot be edited.
        log.info("could not edit a transfer message: %s", error.message)


async def cancel_transfer_dialog(
    state: FSMContext, sessions: SessionService, tg_id: int, bot: Bot | None = None
) -> bool:
    """For the core's `/cancel`, called before it clears the state: the summary left open by the dialog can
    no longer be confirmed, and (given the bot) its buttons are replaced by "cancelled". True when a
    summary was cancelled."""
    current = await state.get_state()
    if current is None or not current.startswith(TransferDialog.__name__):
        return False
    return await _cancel_open_summary(state, TransferService(sessions), tg_id, bot)  # only cancels: no limit needed
