"""Settling transfers whose outcome is open, outside any update: at start-up and every few minutes.

At start-up every `sending` row is one the previous process claimed and never heard back about, and
every `unknown` row one whose answer never came; both are resolved by their own client id (see
`TransferService.resolve`) and the user is told the final result in their language. Later, a periodic pass
re-checks the `unknown` rows left (QIWI unreachable, session dead, payment still WAITING). The periodic
pass leaves `sending` rows alone: in a running bot those belong to a Confirm still being handled.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.i18n import pick_language
from bot.services.transfer_texts import final_notice, summary_text
from bot.services.transfers import ConfirmResult, Outcome, TransferService
from bot.storage import DatabaseClosed
from bot.storage.models import Transfer, TransferStatus

if TYPE_CHECKING:
    from bot.services.sessions import SessionService

log = logging.getLogger(__name__)

# A row touched this recently may still be in a handler's hands (Confirm resolving it right now).
RECHECK_QUIET = timedelta(minutes=1)
RECHECK_INTERVAL = 120.0


class Texts(Protocol):
    """What the reconciliation needs from the i18n: `CatalogI18n.text(key, language)` fits."""

    def text(self, key: str, language: str, **params: Any) -> str: ...


async def reconcile_unresolved(bot: Bot, sessions: SessionService, i18n: Texts) -> list[ConfirmResult]:
    """Start-up hook: resolve every `sending`/`unknown` transfer and message each user the outcome.

    Call once after the database, the QIWI client and the bot exist and before polling starts
    (`bot/app.py`). Never raises for one transfer's trouble; returns what became of each row.
    """
    service = TransferService(sessions)
    results: list[ConfirmResult] = []
    for transfer in await sessions.db.transfers.unresolved():
        results.append(await _settle(bot, service, i18n, transfer, tell_if_still_open=True))
    if results:
        log.info("start-up: %d open transfers checked", len(results))
    return results


async def recheck_unknown(bot: Bot, sessions: SessionService, i18n: Texts) -> list[ConfirmResult]:
    """One periodic pass over the `unknown` rows that nobody is handling right now."""
    service = TransferService(sessions)
    quiet_since = service.now() - RECHECK_QUIET
    results: list[ConfirmResult] = []
    for transfer in await sessions.db.transfers.unresolved():
        if transfer.status != TransferStatus.UNKNOWN or transfer.updated_at > quiet_since:
            continue
        results.append(await _settle(bot, service, i18n, transfer, tell_if_still_open=False))
    return results


async def recheck_unknown_forever(
    bot: Bot, sessions: SessionService, i18n: Texts, *, interval: float = RECHECK_INTERVAL
) -> None:
    """`recheck_unknown` every `interval` seconds until the database is closed (the bot stopping)."""
    loop = asyncio.get_running_loop()
    next_run = loop.time() + interval
    while not sessions.db.sql.closed:
        # Short naps so a stopped bot's task ends within a second instead of sleeping out the interval.
        await asyncio.sleep(min(1.0, max(0.0, next_run - loop.time())))
        if loop.time() < next_run or sessions.db.sql.closed:
            continue
        next_run = loop.time() + interval
        try:
            await recheck_unknown(bot, sessions, i18n)
        except DatabaseClosed:
            return
        except Exception:
            log.exception("periodic transfer re-check failed; trying again later")


_background: set[asyncio.Task[None]] = set()


def start_periodic_recheck(
    bot: Bot, sessions: SessionService, i18n: Texts, *, interval: float = RECHECK_INTERVAL
) -> asyncio.Task[None]:
    task = asyncio.create_task(recheck_unknown_forever(bot, sessions, i18n, interval=interval))
    # The loop keeps only a weak reference to tasks; hold it until it ends.
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


async def _settle(
    bot: Bot, service: TransferService, i18n: Texts, transfer: Transfer, *, tell_if_still_open: bool
) -> ConfirmResult:
    was = transfer.status
    try:
        result = await service.resolve(transfer)
    except Exception:
        log.exception("transfer %s: resolution failed; it stays open", transfer.id)
        return ConfirmResult(Outcome.UNKNOWN, transfer)
    still_open = result.transfer is None or result.transfer.status in (TransferStatus.SENDING, TransferStatus.UNKNOWN)
    # Someone who saw only "sending…" before the restart hears that it is still being checked; otherwise
    # an open row stays quiet until it is settled.
    if still_open and not (tell_if_still_open and was == TransferStatus.SENDING):
        return result
    await _notify(bot, service, i18n, result)
    return result


async def _notify(bot: Bot, service: TransferService, i18n: Texts, result: ConfirmResult) -> None:
    transfer = result.transfer
    if transfer is None:
        return
    user = await service.sessions.db.users.get(transfer.tg_id)
    language = pick_language(user.language if user else None, None)

    def tr(key: str) -> str:
        return i18n.text(key, language)

    balance = None
    if result.outcome == Outcome.ACCEPTED:
        balance = await service.rub_balance(transfer.tg_id)
    notice = final_notice(tr, language, result, balance=balance)
    chat_id = transfer.chat_id if transfer.chat_id is not None else transfer.tg_id
    try:
        if transfer.message_id is not None and transfer.status != TransferStatus.UNKNOWN:
            # The summary still says "sending…" (or "checking"): bring it up to date, buttons gone.
            summary = summary_text(tr, language, transfer)
            try:
                await bot.edit_message_text(
                    summary + "\n\n" + notice.split("\n", 1)[-1],
                    chat_id=chat_id,
                    message_id=transfer.message_id,
                    reply_markup=None,
                )
            except TelegramAPIError as error:
                log.info("transfer %s: summary not edited (%s)", transfer.id, type(error).__name__)
        await bot.send_message(chat_id, notice)
    except TelegramAPIError as error:
        log.warning("transfer %s: could not tell the user (%s)", transfer.id, type(error).__name__)
