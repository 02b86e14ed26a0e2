"""/request: ask another member for money. Pick the member, the amount, a comment; they get Pay / Decline.

Pay opens the ordinary transfer summary (`bot.handlers.transfer.show_summary`), so the money moves only
through the transfers' exactly-once path; the request just follows that transfer (the request-sweeper
job tells the requester when it is paid, declined or expired).
"""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import RequestAction, RequestPick, RequestStep
from bot.filters import not_a_command, text_message
from bot.handlers.replies import answer_and_edit, answer_press, edit_pressed
from bot.handlers.transfer import leave_dialog, show_summary
from bot.i18n import Translator
from bot.keyboards.requests import payer_picker, skip_comment
from bot.money import format_money
from bot.services.members import MemberService
from bot.services.notifier import Notifier
from bot.services.request_texts import request_money
from bot.services.requests import PayOutcome, RequestProblem, RequestService, transfer_draft
from bot.services.sessions import NotLoggedIn
from bot.services.transfer_texts import problem_text
from bot.services.transfers import (
    COMMENT_MAX_LENGTH,
    DraftProblem,
    TransferService,
    parse_comment,
    parse_transfer_amount,
)
from bot.states import RequestData, RequestDialog, TransferData, TransferDialog

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


# -- the requester's dialog ------------------------------------------------------------------------------


async def request_command(
    message: Message,
    state: FSMContext,
    requests: RequestService,
    transfers: TransferService,
    notifier: Notifier,
    tr: Translator,
) -> None:
    assert message.from_user is not None
    tg_id = message.from_user.id
    await leave_dialog(state, transfers, notifier, tg_id, tr)
    try:
        await transfers.sender_wallet(tg_id)
    except NotLoggedIn:
        await message.answer(tr("request.no_wallet"))
        return
    payers = await requests.payers_for(tg_id)
    if not payers:
        await message.answer(tr("request.no_members"))
        return
    labels = await requests.labels()
    await state.set_state(RequestDialog.member)
    await message.answer(
        tr("request.ask_member"),
        reply_markup=payer_picker([(p.tg_id, labels.get(p.tg_id), p.wallet) for p in payers]),
    )


async def member_chosen(
    callback: CallbackQuery,
    callback_data: RequestPick,
    state: FSMContext,
    requests: RequestService,
    transfers: TransferService,
    tr: Translator,
) -> None:
    await answer_press(callback)
    payer = await requests.payer(callback.from_user.id, callback_data.payer)
    if payer is None or payer.wallet is None:
        await state.clear()
        await edit_pressed(callback, tr("request.member_gone"))
        return
    await RequestData(payer=payer.tg_id).save(state)
    await state.set_state(RequestDialog.amount)
    limit = format_money(transfers.limit, "RUB", tr.language)
    member = await requests.member_label(payer)
    await edit_pressed(callback, tr("request.ask_amount", member=member, limit=limit))


async def amount_step(
    message: Message, state: FSMContext, requests: RequestService, transfers: TransferService, tr: Translator
) -> None:
    assert message.from_user is not None
    try:
        amount = parse_transfer_amount(message.text or "", limit=transfers.limit)
    except DraftProblem as problem:
        await message.answer(problem_text(tr, problem, limit=transfers.limit, language=tr.language))
        return
    data = await RequestData.load(state)
    payer = await requests.payer(message.from_user.id, data.payer or 0)
    if payer is None or payer.wallet is None:
        await state.clear()
        await message.answer(tr("request.member_gone"))
        return
    await RequestData(payer=payer.tg_id, amount=amount).save(state)
    await state.set_state(RequestDialog.comment)
    await message.answer(
        tr("request.ask_comment", member=await requests.member_label(payer), max=COMMENT_MAX_LENGTH),
        reply_markup=skip_comment(tr),
    )


async def comment_step(
    message: Message, state: FSMContext, requests: RequestService, transfers: TransferService, tr: Translator
) -> None:
    assert message.from_user is not None
    try:
        comment = parse_comment(message.text or "")
    except DraftProblem as problem:
        await message.answer(problem_text(tr, problem, limit=transfers.limit, language=tr.language))
        return
    await _create(message, message.from_user.id, message.from_user.full_name, comment, state, requests, tr)


async def comment_skipped(callback: CallbackQuery, state: FSMContext, requests: RequestService, tr: Translator) -> None:
    await answer_press(callback)
    if not isinstance(callback.message, Message):
        return
    await edit_pressed(callback, tr("transfer.ask_comment.skipped"))
    await _create(callback.message, callback.from_user.id, callback.from_user.full_name, "", state, requests, tr)


async def not_text(message: Message, tr: Translator) -> None:
    await message.answer(tr("transfer.bad.not_text"))


async def _create(
    message: Message, tg_id: int, name: str, comment: str, state: FSMContext, requests: RequestService, tr: Translator
) -> None:
    data = await RequestData.load(state)
    await state.clear()
    if data.payer is None or data.amount is None:
        await message.answer(tr("transfer.stale"))
        return
    try:
        request = await requests.create(tg_id, data.payer, data.amount, comment, requester_name=name)
    except RequestProblem as problem:
        await message.answer(tr("request.no_wallet" if problem.reason == "no_wallet" else "request.member_gone"))
        return
    member = await requests.payer_label(request)
    if not await requests.deliver(request):
        await message.answer(tr("request.not_delivered", member=member))
        return
    await message.answer(tr("request.sent", member=member, amount=request_money(request, tr)))


# -- the addressee's buttons ---------------------------------------------------------------------------


async def pay_pressed(
    callback: CallbackQuery,
    callback_data: RequestAction,
    state: FSMContext,
    requests: RequestService,
    transfers: TransferService,
    members: MemberService,
    notifier: Notifier,
    tr: Translator,
) -> None:
    message = callback.message
    if not isinstance(message, Message):
        await answer_press(callback, tr("stale.button"))
        return
    tg_id = callback.from_user.id
    start = await requests.start_paying(callback_data.request_id, tg_id)
    if start.outcome is not PayOutcome.OPEN_SUMMARY or start.request is None:
        await answer_press(callback, tr(_REFUSALS[start.outcome]), alert=True)
        if start.request is not None and start.request.payer_tg_id == tg_id and start.outcome in _FINAL_STATUS:
            await edit_pressed(callback, await requests.text(tr, start.request, _FINAL_STATUS[start.outcome]))
        return
    request = start.request
    await answer_press(callback)
    await leave_dialog(state, transfers, notifier, tg_id, tr)
    try:
        await show_summary(message, state, transfers, members, tg_id, transfer_draft(request), tr)
    except BaseException:
        # NotLoggedIn (the middleware replies) or anything else: the request must not stay half-claimed.
        await asyncio.shield(requests.abandon(request.id))
        raise
    transfer_id = (await TransferData.load(state)).transfer_id
    transfer = await transfers.get(transfer_id) if transfer_id is not None else None
    opened = (
        await state.get_state() == TransferDialog.confirm.state
        and transfer is not None
        and transfer.tg_id == tg_id
        and transfer.recipient == request.requester_wallet
    )
    if not opened or transfer is None or not await requests.link(request.id, transfer.id):
        await requests.abandon(request.id)  # the summary was refused (e.g. amount over the limit)
        return
    await edit_pressed(callback, await requests.text(tr, request, "request.status.paying"))


async def decline_pressed(
    callback: CallbackQuery, callback_data: RequestAction, requests: RequestService, tr: Translator
) -> None:
    result = await requests.decline(callback_data.request_id, callback.from_user.id)
    if result.outcome is not PayOutcome.DECLINED or result.request is None:
        await answer_press(callback, tr(_REFUSALS[result.outcome]), alert=True)
        return
    await answer_and_edit(callback, await requests.text(tr, result.request, "request.status.declined"))


def build_router() -> Router:
    router = Router(name="requests")
    router.message.register(request_command, Command("request"))
    router.callback_query.register(member_chosen, StateFilter(RequestDialog.member), RequestPick.filter(F.payer != 0))
    router.message.register(amount_step, StateFilter(RequestDialog.amount), text_message, not_a_command)
    router.message.register(comment_step, StateFilter(RequestDialog.comment), text_message, not_a_command)
    router.callback_query.register(
        comment_skipped, StateFilter(RequestDialog.comment), RequestPick.filter(F.payer == 0)
    )
    router.message.register(not_text, StateFilter(RequestDialog.amount), not_a_command)
    router.message.register(not_text, StateFilter(RequestDialog.comment), not_a_command)
    router.callback_query.register(pay_pressed, RequestAction.filter(F.action == RequestStep.PAY))
    router.callback_query.register(decline_pressed, RequestAction.filter(F.action == RequestStep.DECLINE))
    return router
