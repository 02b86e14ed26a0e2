"""What a transfer looks like in a chat: the summary and each outcome, in the user's language.

Shared by the dialog (translations from the update's locale) and the start-up reconciliation (no update, so
the language comes from the stored user); both pass a `tr(key) -> template` for their language. Messages
are HTML (the bot's parse mode), so every piece of user input is escaped.

Every text names the recipient by the whole number (`+7 912 111-22-33`): these are the member's own private
chat, and what they confirm must be what they see. A payment in doubt says what happened (`Doubt`: no answer
in time, a broken connection, an error answer, ...), each kind with its own key `transfer.unknown.<kind>`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from html import escape

from bot.money import format_money
from bot.phone import format_phone
from bot.qiwi.errors import RefusalReason
from bot.qiwi.models import Money
from bot.services.transfers import (
    COMMENT_MAX_LENGTH,
    NOT_FOUND_CODE,
    ConfirmResult,
    Doubt,
    DraftProblem,
    Outcome,
    doubt_of,
    refusal_of,
)
from bot.storage.models import Transfer, TransferStatus
from bot.timeutil import show_moment

Translate = Callable[[str], str]

REFUSAL_KEYS: dict[RefusalReason, str] = {
    RefusalReason.INSUFFICIENT_FUNDS: "transfer.refused.insufficient_funds",
    RefusalReason.AMOUNT_TOO_SMALL: "transfer.refused.amount_too_small",
    RefusalReason.AMOUNT_TOO_LARGE: "transfer.refused.amount_too_large",
    RefusalReason.RECIPIENT_NOT_IDENTIFIED: "transfer.refused.recipient_not_identified",
}


def clock_time(moment: datetime) -> str:
    return show_moment(moment, "time")


def money(amount: Decimal, language: str) -> str:
    return format_money(amount, "RUB", language)


def problem_text(tr: Translate, problem: DraftProblem, *, limit: Decimal, language: str) -> str:
    """One line for a refused input; the dialog stays on its step."""
    key = f"transfer.bad.{problem.step}.{problem.reason}"
    return tr(key).format(limit=money(limit, language), max=COMMENT_MAX_LENGTH)


def summary_text(
    tr: Translate,
    language: str,
    transfer: Transfer,
    *,
    ttl_end: datetime | None = None,
    recipient_name: str | None = None,
) -> str:
    """The summary; with `ttl_end` it ends with the deadline for Confirm (only while it can be pressed).
    `recipient_name`: the member whose wallet it pays, shown before the whole number."""
    comment = escape(transfer.comment) if transfer.comment else tr("transfer.summary.no_comment")
    recipient = format_phone(transfer.recipient)
    text = tr("transfer.summary").format(
        sender=format_phone(transfer.wallet),
        recipient=f"{escape(recipient_name)}, {recipient}" if recipient_name else recipient,
        amount=money(transfer.amount, language),
        comment=comment,
    )
    if ttl_end is not None:
        text += "\n\n" + tr("transfer.summary.deadline").format(until=clock_time(ttl_end))
    return text


def _head(tr: Translate, language: str, transfer: Transfer) -> dict[str, str]:
    return {
        "amount": money(transfer.amount, language),
        "recipient": format_phone(transfer.recipient),
        "txn": escape(transfer.qiwi_txn_id or ""),
    }


def refusal_text(tr: Translate, reason: RefusalReason | None, qiwi_message: str | None) -> str:
    key = REFUSAL_KEYS.get(reason) if reason is not None else None
    if key is not None:
        return tr(key)
    if qiwi_message:
        return tr("transfer.refused.other").format(message=escape(qiwi_message))
    return tr("transfer.refused.unexplained")


def outcome_text(
    tr: Translate,
    language: str,
    result: ConfirmResult,
    *,
    balance: Money | None = None,
    ttl_end: datetime | None = None,
) -> str:
    """The line(s) that replace the summary's buttons once Confirm (or Cancel) was handled."""
    transfer = result.transfer
    outcome = result.outcome
    if transfer is None:
        return tr("transfer.stale")
    params = _head(tr, language, transfer)
    if outcome == Outcome.ACCEPTED:
        text = tr("transfer.accepted").format(**params)
        if balance is not None:
            text += "\n" + tr("transfer.balance_now").format(
                balance=format_money(balance.amount, balance.currency, language)
            )
        return text
    if outcome == Outcome.FAILED:
        return failed_text(tr, language, transfer, result.reason, result.qiwi_message)
    if outcome == Outcome.UNKNOWN:
        return unknown_text(tr, language, transfer, result.doubt)
    if outcome == Outcome.OVER_LIMIT:
        limit = money(result.limit, language) if result.limit is not None else ""
        return tr("transfer.bad.amount.too_large").format(limit=limit) + "\n" + tr("transfer.cancelled")
    if outcome == Outcome.NEEDS_LOGIN:
        key = "transfer.needs_login.expired" if result.session_expired else "transfer.needs_login"
        return tr(key).format(until=clock_time(ttl_end) if ttl_end else "")
    if outcome == Outcome.RETRY:
        return tr("transfer.retry")
    if outcome == Outcome.CANCELLED:
        return tr("transfer.cancelled")
    if outcome == Outcome.EXPIRED:
        return tr("transfer.expired")
    if outcome == Outcome.NOT_YOURS:
        return tr("transfer.not_yours")
    if outcome == Outcome.IN_PROGRESS:
        return tr("transfer.in_progress")
    if outcome == Outcome.ALREADY_DONE:
        return tr("transfer.already_done")
    return tr("transfer.stale")


DOUBT_KEYS: dict[Doubt, str] = {doubt: f"transfer.unknown.{doubt.value}" for doubt in Doubt}


def unknown_text(tr: Translate, language: str, transfer: Transfer, doubt: Doubt | None = None) -> str:
    """The interim line while a payment is in doubt: what happened, and that it is being settled."""
    doubt = doubt or doubt_of(transfer)
    key = DOUBT_KEYS[doubt] if doubt is not None else "transfer.unknown"
    return tr(key).format(**_head(tr, language, transfer))


def failed_text(
    tr: Translate, language: str, transfer: Transfer, reason: RefusalReason | None, qiwi_message: str | None
) -> str:
    params = _head(tr, language, transfer)
    if transfer.failure_code == NOT_FOUND_CODE:
        return tr("transfer.failed.not_sent").format(**params)
    reason = reason or refusal_of(transfer)
    message = qiwi_message if qiwi_message is not None else transfer.failure_message
    return tr("transfer.failed").format(**params) + "\n" + refusal_text(tr, reason, message)


def final_notice(tr: Translate, language: str, result: ConfirmResult, *, balance: Money | None) -> str:
    """The message a user gets when a transfer whose outcome was open is settled in the background."""
    transfer = result.transfer
    if transfer is None:
        return tr("transfer.stale")
    head = tr("transfer.update").format(
        amount=money(transfer.amount, language),
        recipient=format_phone(transfer.recipient),
        when=clock_time(transfer.created_at),
    )
    if transfer.status == TransferStatus.UNKNOWN:
        return head + "\n" + tr("transfer.update.still_unknown")
    return head + "\n" + outcome_text(tr, language, result, balance=balance)
