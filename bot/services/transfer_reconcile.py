"""Settling transfers whose outcome is open, outside any update: once at start-up, then every few seconds.

Two plain one-shot coroutines; the jobs module (`bot/jobs.py`) calls them, nothing here starts a task:

- `reconcile_unresolved` once before the first update. Every `sending` row is one the previous run claimed
  and never heard back about, every `unknown` row one whose answer never came; both are settled by their own
  client id (`TransferService.settle`: the history, then the identical payment re-sent under the same id
  while the summary's ten minutes last) for up to `STARTUP_BUDGET` seconds, and each user is told the
  outcome. A row still open by then is shown as being checked (its summary no longer says "Sending…") and
  left to the re-check. Then `retell_untold`: a payment that QIWI accepted and the previous run recorded a
  moment before it died was never shown to its user (the row is final, `told_at` unset, the summary still
  says "Sending…"); each such user is told now.
- `recheck_open` every `RECHECK_INTERVAL` seconds: one settling step for each open row whose backoff has
  passed and that no Confirm is handling; whoever settles a row tells its user (the summary edited, and a
  message so that they notice).

Messages go through the `Notifier` (never the Bot), texts from `Texts.translator` in the user's stored language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from bot.i18n import pick_language
from bot.services.transfer_texts import Translate, final_notice, outcome_text, summary_text, unknown_text
from bot.services.transfers import ConfirmResult, Outcome, TransferService, outcome_of, refusal_of
from bot.storage.models import Transfer, TransferStatus

if TYPE_CHECKING:
    from bot.qiwi.models import Money
    from bot.services.notifier import Notifier, Texts

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# Seconds between two passes of `recheck_open` (the jobs module's beat): a payment left open by a Confirm
# gets its next try within this, on top of its own backoff (0.5 s, 1 s, 2 s, ... 30 s).
RECHECK_INTERVAL = 2.0
# How long the start-up pass works on the open rows before the bot takes updates (the rest is re-checked).
STARTUP_BUDGET = 3.0
# Rows settled (and users told) at once, so one member's stuck payment never delays another's.
CONCURRENCY = 16
# A final row whose last change is this close to the previous run's last change may never have been shown:
# between recording QIWI's answer and editing the summary there is at most the balance read (bounded by
# `transfers.BALANCE_SECONDS`) and one Bot API call; this is several times that.
# Of each user, how many of the newest transfers are looked at for that (far more than anyone confirms in
# a minute). There is no cap in all: any one of them may be the one never shown.
FINAL = frozenset({TransferStatus.ACCEPTED, TransferStatus.FAILED})


async def reconcile_unresolved(transfers: TransferService, notifier: Notifier, texts: Texts) -> list[ConfirmResult]:
    """Start-up: settle every open transfer (for up to `STARTUP_BUDGET` s), tell each user, and bring the
    summaries of payments finished just before the previous run stopped up to date. Never raises for one
    transfer's trouble; returns what became of each open row (UNKNOWN: left to `recheck_open`)."""
    open_rows = await transfers.open_transfers()
    results = await _settle_all(transfers, notifier, texts, open_rows, budget=STARTUP_BUDGET, startup=True)
    if open_rows:
        log.info("start-up: %d open transfers checked", len(open_rows))
    try:
        await retell_untold(transfers, notifier, texts, skip={row.id for row in open_rows})
    except Exception:
        log.exception("start-up: could not bring recent transfer summaries up to date")
    return results


async def recheck_open(transfers: TransferService, notifier: Notifier, texts: Texts) -> list[ConfirmResult]:
    """One periodic pass: one settling step for each open row that is due and not in a Confirm's hands."""
    rows = [row for row in await transfers.open_transfers() if transfers.is_due(row)]
    return await _settle_all(transfers, notifier, texts, rows, budget=0.0, startup=False)


async def retell_untold(
    transfers: TransferService, notifier: Notifier, texts: Texts, *, skip: Iterable[int] = ()
) -> int:
    """Tells the users of transfers whose final outcome was recorded but never shown (`told_at` unset: the
    previous run died between QIWI's answer and the edit of the summary, or Telegram refused the edit).
    Returns how many were told."""
    skipped = set(skip)
    rows = [row for row in await transfers.sessions.db.transfers.untold() if row.id not in skipped]

    async def retell(row: Transfer) -> bool:
        await _tell_final(transfers, notifier, texts, ConfirmResult(outcome_of(row), row, reason=refusal_of(row)))
        return True

    told = sum(await _bounded(rows, retell))
    if rows:
        log.info("start-up: %d transfer outcome(s) told that the previous run had not shown", told)
    return told


# -- settling and telling ------------------------------------------------------------------------------


async def _settle_all(
    transfers: TransferService,
    notifier: Notifier,
    texts: Texts,
    rows: list[Transfer],
    *,
    budget: float,
    startup: bool,
) -> list[ConfirmResult]:
    async def settle(row: Transfer) -> ConfirmResult | None:
        try:
            result = await transfers.settle(row, budget=budget)
        except Exception:
            log.exception("transfer %s: settling failed; it stays open", row.id)
            return None
        if result is None:  # a Confirm or another pass is on it, or it was settled meanwhile
            return None
        try:
            if result.outcome != Outcome.UNKNOWN:
                await _tell_final(transfers, notifier, texts, result)
            elif startup and row.status == TransferStatus.SENDING:
                # They saw only "Sending…" before the restart: say what is going on.
                await _tell_open(transfers, notifier, texts, result)
        except Exception:
            log.exception("transfer %s: could not tell the user", row.id)
        return result

    return [result for result in await _bounded(rows, settle) if result is not None]


async def _bounded(items: list[T], work: Callable[[T], Awaitable[R]]) -> list[R]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> R:
        async with gate:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def _translator(transfers: TransferService, texts: Texts, transfer: Transfer) -> tuple[Translate, str]:
    user = await transfers.sessions.db.users.get(transfer.tg_id)
    language = pick_language(user.language if user else None, None)
    translate = texts.translator(language)

    def tr(key: str) -> str:
        return translate(key)

    return tr, language


async def _edit_summary(
    transfers: TransferService, notifier: Notifier, tr: Translate, language: str, transfer: Transfer, status: str
) -> bool:
    """The summary stays readable above its latest status; its buttons go away."""
    if transfer.message_id is None:
        return False
    chat_id = transfer.chat_id if transfer.chat_id is not None else transfer.tg_id
    summary = summary_text(tr, language, transfer, recipient_name=await transfers.recipient_name(transfer))
    return await notifier.edit(chat_id, transfer.message_id, summary + "\n\n" + status)


async def _tell_final(transfers: TransferService, notifier: Notifier, texts: Texts, result: ConfirmResult) -> None:
    transfer = result.transfer
    if transfer is None:
        return
    tr, language = await _translator(transfers, texts, transfer)
    balance: Money | None = None
    if result.outcome == Outcome.ACCEPTED:
        balance = await transfers.rub_balance(transfer.tg_id, transfer.wallet)
    edited = await _edit_summary(
        transfers, notifier, tr, language, transfer, outcome_text(tr, language, result, balance=balance)
    )
    chat_id = transfer.chat_id if transfer.chat_id is not None else transfer.tg_id
    sent = await notifier.send(chat_id, final_notice(tr, language, result, balance=balance)) is not None
    if edited or sent:
        await transfers.mark_told(transfer.id)
    else:
        log.warning("transfer %s: could not tell the user the outcome", transfer.id)


async def _tell_open(transfers: TransferService, notifier: Notifier, texts: Texts, result: ConfirmResult) -> None:
    transfer = result.transfer
    if transfer is None:
        return
    tr, language = await _translator(transfers, texts, transfer)
    if await _edit_summary(
        transfers, notifier, tr, language, transfer, unknown_text(tr, language, transfer, result.doubt)
    ):
        return
    chat_id = transfer.chat_id if transfer.chat_id is not None else transfer.tg_id
    await notifier.send(chat_id, final_notice(tr, language, result, balance=None))
