"""/transfer: recipient, amount, optional comment, then a summary with Confirm / Cancel.

Thin on purpose: parsing, the exactly-once confirmation and the settling of payments in doubt live in
`bot/services/transfers.py`; the texts in `bot/services/transfer_texts.py`. The Confirm and Cancel buttons
carry the transfer's row id and work from any dialog state, so a summary stays confirmable across a
`/login` (within its ten minutes) and a restart.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import RecipientPick, TransferAction, TransferStep
from bot.filters import not_a_command, text_message
from bot.handlers.replies import answer_and_edit, answer_press, edit_pressed
from bot.i18n import Translator
from bot.keyboards.layout import keyboard
from bot.keyboards.wallets import members_picker
from bot.services.members import MemberService
from bot.services.notifier import Notifier
from bot.services.request_texts import member_with_wallet
from bot.services.sessions import NotLoggedIn
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
from bot.states import TransferData, TransferDialog
from bot.storage.models import Transfer


def summary_keyboard(tr: Translator, transfer_id: int) -> InlineKeyboardMarkup:
    return keyboard(
        [
            (tr("transfer.button.confirm"), TransferAction(action=TransferStep.CONFIRM, transfer_id=transfer_id)),
            (tr("transfer.button.cancel"), TransferAction(action=TransferStep.CANCEL, transfer_id=transfer_id)),
        ],
        2,
    )


def skip_keyboard(tr: Translator) -> InlineKeyboardMarkup:
    return keyboard([(tr("transfer.button.skip"), TransferAction(action=TransferStep.SKIP, transfer_id=0))])


def _refusal(tr: Translator, problem: DraftProblem, transfers: TransferService) -> str:
    return problem_text(tr, problem, limit=transfers.limit, language=tr.language)


async def leave_dialog(
    state: FSMContext, transfers: TransferService, notifier: Notifier, tg_id: int, tr: Translator
) -> bool:
    """Closes whatever dialog is open. A transfer summary it left open can no longer be confirmed, and its
    buttons become "cancelled". False when no dialog was open."""
    if await state.get_state() is None:
        return False
    transfer_id = (await TransferData.load(state)).transfer_id
    await state.clear()
    if transfer_id is not None and await transfers.cancel_open(transfer_id, tg_id):
        transfer = await transfers.get(transfer_id)
        if transfer is not None and transfer.chat_id is not None and transfer.message_id:
            name = await transfers.recipient_name(transfer)
            text = summary_text(tr, tr.language, transfer, recipient_name=name) + "\n\n" + tr("transfer.cancelled")
            await notifier.edit(transfer.chat_id, transfer.message_id, text)
    return True


async def show_summary(
    message: Message,
    state: FSMContext,
    transfers: TransferService,
    members: MemberService,
    tg_id: int,
    draft: TransferDraft,
    tr: Translator,
) -> None:
    """Writes the transfer row (its client id fixed from now) and answers `message` with the summary and
    its Confirm / Cancel buttons. Also the entry point for other features that open a ready transfer
    (a money request's Pay button). Raises NotLoggedIn."""
    try:
        transfer = await transfers.prepare(tg_id, draft)
    except DraftProblem as problem:
        await message.answer(_refusal(tr, problem, transfers))
        return
    name = await transfers.recipient_name(transfer)
    sent = await message.answer(
        summary_text(tr, tr.language, transfer, ttl_end=transfers.expires_at(transfer), recipient_name=name),
        reply_markup=summary_keyboard(tr, transfer.id),
    )
    await transfers.set_message(transfer.id, sent.chat.id, sent.message_id)
    await state.set_state(TransferDialog.confirm)
    await TransferData(transfer_id=transfer.id).save(state)


async def transfer_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    transfers: TransferService,
    members: MemberService,
    notifier: Notifier,
    tr: Translator,
) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    try:
        sender = await transfers.sender_wallet(tg_id)
    except NotLoggedIn:
        await message.answer(tr("error.not_logged_in"))
        return
    # Starting over: a summary left open by an earlier /transfer must not stay confirmable.
    await leave_dialog(state, transfers, notifier, tg_id, tr)
    if not command.args:
        await state.set_state(TransferDialog.recipient)
        payees = await members.payees_for(tg_id)
        text = tr("transfer.ask_recipient") + ("\n" + tr("transfer.pick_member") if payees else "")
        await message.answer(text, reply_markup=members_picker(payees))
        return
    try:
        draft = parse_command(command.args, limit=transfers.limit, sender=sender)
    except DraftProblem as problem:
        await message.answer(_refusal(tr, problem, transfers) + "\n" + tr("transfer.usage"))
        return
    await show_summary(message, state, transfers, members, tg_id, draft, tr)


async def recipient_step(
    message: Message, state: FSMContext, transfers: TransferService, members: MemberService, tr: Translator
) -> None:
    assert message.from_user is not None
    try:
        sender = await transfers.sender_wallet(message.from_user.id)
        recipient = parse_recipient(message.text or "", sender=sender)
    except NotLoggedIn:
        await state.clear()
        await message.answer(tr("error.not_logged_in"))
        return
    except DraftProblem as problem:
        await message.answer(_refusal(tr, problem, transfers))
        return
    await _ask_amount(message, state, transfers, members, recipient, tr)


async def _ask_amount(
    message: Message,
    state: FSMContext,
    transfers: TransferService,
    members: MemberService,
    recipient: str,
    tr: Translator,
) -> None:
    await TransferData(recipient=recipient).save(state)
    await state.set_state(TransferDialog.amount)
    shown_recipient = member_with_wallet(await members.name_for_wallet(recipient), recipient)
    await message.answer(
        tr("transfer.ask_amount", recipient=shown_recipient, limit=money(transfers.limit, tr.language))
    )


async def member_picked(
    callback: CallbackQuery,
    callback_data: RecipientPick,
    state: FSMContext,
    transfers: TransferService,
    members: MemberService,
    tr: Translator,
) -> None:
    """A member's button in the recipient step: their current wallet is the recipient."""
    message = callback.message
    if not isinstance(message, Message) or await state.get_state() != TransferDialog.recipient.state:
        await answer_press(callback, tr("stale.button"))
        return
    payees = {tg_id: wallet for tg_id, _name, wallet in await members.payees_for(callback.from_user.id)}
    wallet = payees.get(callback_data.member)
    if wallet is None:
        await answer_press(callback, tr("request.member_gone"), alert=True)
        return
    try:
        recipient = parse_recipient(wallet, sender=await transfers.sender_wallet(callback.from_user.id))
    except NotLoggedIn:
        await state.clear()
        await answer_press(callback, tr("error.not_logged_in"), alert=True)
        return
    except DraftProblem as problem:  # the member's wallet is this member's own current one
        await answer_press(callback, _refusal(tr, problem, transfers), alert=True)
        return
    await answer_and_edit(callback, tr("transfer.ask_recipient.picked"))
    await _ask_amount(message, state, transfers, members, recipient, tr)


async def amount_step(message: Message, state: FSMContext, transfers: TransferService, tr: Translator) -> None:
    try:
        amount = parse_transfer_amount(message.text or "", limit=transfers.limit)
    except DraftProblem as problem:
        await message.answer(_refusal(tr, problem, transfers))
        return
    data = await TransferData.load(state)
    await TransferData(recipient=data.recipient, amount=amount).save(state)
    await state.set_state(TransferDialog.comment)
    await message.answer(tr("transfer.ask_comment", max=COMMENT_MAX_LENGTH), reply_markup=skip_keyboard(tr))


async def _finish_with_comment(
    message: Message,
    state: FSMContext,
    transfers: TransferService,
    members: MemberService,
    tg_id: int,
    comment: str,
    tr: Translator,
) -> None:
    data = await TransferData.load(state)
    if data.recipient is None or data.amount is None:
        # The dialog's data is gone (an old button after /cancel): start again rather than guess.
        await state.clear()
        await message.answer(tr("transfer.stale"))
        return
    try:
        draft = TransferDraft(data.recipient, data.amount, comment)
        await show_summary(message, state, transfers, members, tg_id, draft, tr)
    except NotLoggedIn:
        await state.clear()
        await message.answer(tr("error.not_logged_in"))


async def comment_step(
    message: Message, state: FSMContext, transfers: TransferService, members: MemberService, tr: Translator
) -> None:
    assert message.from_user is not None
    try:
        comment = parse_comment(message.text or "")
    except DraftProblem as problem:
        await message.answer(_refusal(tr, problem, transfers))
        return
    await _finish_with_comment(message, state, transfers, members, message.from_user.id, comment, tr)


async def not_text(message: Message, tr: Translator) -> None:
    await message.answer(tr("transfer.bad.not_text"))


async def skip_comment(
    callback: CallbackQuery, state: FSMContext, transfers: TransferService, members: MemberService, tr: Translator
) -> None:
    await answer_press(callback)
    message = callback.message
    if not isinstance(message, Message):
        return
    if await state.get_state() != TransferDialog.comment.state:
        await edit_pressed(callback, tr("transfer.stale"))
        return
    await edit_pressed(callback, tr("transfer.ask_comment.skipped"))
    await _finish_with_comment(message, state, transfers, members, callback.from_user.id, "", tr)


async def cancel_button(
    callback: CallbackQuery,
    callback_data: TransferAction,
    state: FSMContext,
    transfers: TransferService,
    tr: Translator,
) -> None:
    result = await transfers.cancel(callback_data.transfer_id, callback.from_user.id)
    text = outcome_text(tr, tr.language, result)
    if result.outcome != Outcome.CANCELLED:
        await answer_press(callback, text, alert=True)
        return
    await answer_press(callback)
    if (await TransferData.load(state)).transfer_id == callback_data.transfer_id:
        await state.clear()
    await _edit_summary(callback, transfers, result.transfer, text, tr)


async def confirm_button(
    callback: CallbackQuery,
    callback_data: TransferAction,
    state: FSMContext,
    transfers: TransferService,
    tr: Translator,
) -> None:
    answered = False

    async def show_sending(claimed: Transfer) -> None:
        nonlocal answered
        await answer_press(callback, tr("transfer.sending.short"))
        answered = True
        await _edit_summary(callback, transfers, claimed, tr("transfer.sending"), tr)

    result = await transfers.confirm(callback_data.transfer_id, callback.from_user.id, on_claimed=show_sending)
    outcome = result.outcome
    if outcome in (Outcome.NOT_FOUND, Outcome.NOT_YOURS, Outcome.IN_PROGRESS, Outcome.ALREADY_DONE, Outcome.CANCELLED):
        # Someone else's press, or a second press: the summary belongs to the first one, leave it alone.
        await answer_press(callback, outcome_text(tr, tr.language, result), alert=True)
        return
    if not answered:
        await answer_press(callback)
    if outcome in (Outcome.NEEDS_LOGIN, Outcome.RETRY):
        reopened = result.replacement
        assert reopened is not None
        await _edit_summary(
            callback,
            transfers,
            reopened,
            outcome_text(tr, tr.language, result, ttl_end=transfers.expires_at(reopened)),
            tr,
            keyboard=summary_keyboard(tr, reopened.id),
        )
        if (await state.get_state()) == TransferDialog.confirm.state:
            await TransferData(transfer_id=reopened.id).save(state)
        return
    if (await TransferData.load(state)).transfer_id == callback_data.transfer_id:
        await state.clear()
    accepted = outcome == Outcome.ACCEPTED and result.transfer is not None
    balance = await transfers.rub_balance(callback.from_user.id, result.transfer.wallet) if accepted else None  # type: ignore[union-attr]
    status = outcome_text(tr, tr.language, result, balance=balance)
    shown = await _edit_summary(callback, transfers, result.transfer, status, tr)
    if shown and result.transfer is not None and outcome in (Outcome.ACCEPTED, Outcome.FAILED):
        await transfers.mark_told(result.transfer.id)


async def _edit_summary(
    callback: CallbackQuery,
    transfers: TransferService,
    transfer: Transfer | None,
    status_text: str,
    tr: Translator,
    *,
    keyboard: InlineKeyboardMarkup | None = None,
) -> bool:
    """The summary stays readable above its latest status; its buttons go away unless new ones are given."""
    if transfer is None:
        return await edit_pressed(callback, status_text, keyboard)
    summary = summary_text(tr, tr.language, transfer, recipient_name=await transfers.recipient_name(transfer))
    return await edit_pressed(callback, summary + "\n\n" + status_text, keyboard)


def build_router() -> Router:
    router = Router(name="transfer")
    router.message.register(transfer_command, Command("transfer"))
    router.message.register(recipient_step, StateFilter(TransferDialog.recipient), text_message, not_a_command)
    router.callback_query.register(member_picked, RecipientPick.filter())
    router.message.register(amount_step, StateFilter(TransferDialog.amount), text_message, not_a_command)
    router.message.register(comment_step, StateFilter(TransferDialog.comment), text_message, not_a_command)
    for step in (TransferDialog.recipient, TransferDialog.amount, TransferDialog.comment):
        router.message.register(not_text, StateFilter(step), not_a_command)
    router.callback_query.register(skip_comment, TransferAction.filter(F.action == TransferStep.SKIP))
    router.callback_query.register(cancel_button, TransferAction.filter(F.action == TransferStep.CANCEL))
    router.callback_query.register(
        confirm_button, TransferAction.filter(F.action == TransferStep.CONFIRM), flags={"chat_action": "typing"}
    )
    return router
