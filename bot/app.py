"""Runs the bot: storage, cipher, QIWI client (and the in-process emulator in sandbox mode), then polling.

Shutdown order matters: stop taking updates, let updates in flight finish (they may be mid-payment), then
close the QIWI client, the emulator and last the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError
from aiogram.types import User

from bot.config import Settings, SettingsError
from bot.crypto import load_cipher
from bot.factory import Services, build_bot, build_dispatcher
from bot.handlers.alerts import start_alerts
from bot.handlers.requests import start_request_sweeper
from bot.i18n import CatalogI18n
from bot.keyboards.menu import set_command_menu
from bot.logging_setup import setup_logging
from bot.qiwi.client import QiwiClient
from bot.services import transfer_reconcile
from bot.services.alerts import AlertPoller
from bot.services.sessions import Clock, SessionService
from bot.services.transfers import TransferService
from bot.storage import Database
from bot.timeutil import now_utc

if TYPE_CHECKING:
    from bot.sandbox import EmulatorServer
    from bot.sandbox.seed import DemoWallet

log = logging.getLogger(__name__)

# How long shutdown waits for updates already being handled (a transfer waiting on QIWI, say).
DRAIN_TIMEOUT = 30.0


async def run_bot(
    settings: Settings,
    *,
    stop_event: asyncio.Event | None = None,
    clock: Clock | None = None,
    configure_logging: bool = True,
    log_stream: TextIO | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT, or until `stop_event` is set when one is given (console, tests)."""
    token = settings.bot_token.get_secret_value()
    if configure_logging:
        setup_logging(settings.log_level, settings.log_format, extra_secrets=(token,), stream=log_stream)

    emulator_server: EmulatorServer | None = None
    demo_wallets: Sequence[DemoWallet] = ()
    auth_url, web_url, edge_url = settings.qiwi_auth_url, settings.qiwi_web_url, settings.qiwi_edge_url
    if settings.qiwi_sandbox:
        from bot.sandbox import DEMO_WALLETS, EmulatorServer

        emulator_server = EmulatorServer()
        await emulator_server.start(host="127.0.0.1")
        auth_url, web_url, edge_url = emulator_server.auth_url, emulator_server.web_url, emulator_server.edge_url
        demo_wallets = DEMO_WALLETS
        # The emulator decides when tickets die; the bot reads the same clock to say "until when".
        clock = clock or emulator_server.emulator.clock.now
        log.info("Sandbox mode: QIWI emulator on %s, %s, %s", auth_url, web_url, edge_url)

    db: Database | None = None
    qiwi: QiwiClient | None = None
    try:
        db = await Database.open(settings.database_path)
        cipher = load_cipher(settings)
        qiwi = QiwiClient.create(
            auth_url, web_url, edge_url, timeout=settings.qiwi_timeout, read_retries=settings.qiwi_retries
        )
        now: Clock = clock or now_utc
        sessions = SessionService(db, cipher, qiwi, now)
        services = Services(
            settings=settings,
            db=db,
            cipher=cipher,
            qiwi=qiwi,
            sessions=sessions,
            transfers=TransferService(sessions, limit=settings.transfer_limit),
            clock=now,
            i18n=CatalogI18n(),
            demo_wallets=demo_wallets,
        )
        bot = build_bot(settings)
        dp = build_dispatcher(services)
        dp.shutdown.register(_drain_updates)
        await _serve(bot, dp, services, stop_event)
    finally:
        if qiwi is not None:
            await qiwi.aclose()
        if emulator_server is not None:
            await emulator_server.stop()
        if db is not None:
            await db.close()
        log.info("Stopped")


async def _serve(bot: Bot, dp: Dispatcher, services: Services, stop_event: asyncio.Event | None) -> None:
    background: set[asyncio.Task[Any]] = set()
    alerts: AlertPoller | None = None
    try:
        me = await _wait_for_telegram(bot, services.settings, stop_event)
        if me is None:
            return
        mode = "" if services.settings.admin_ids else " in setup mode (ADMIN_IDS is empty)"
        log.info("Bot @%s (id %s) starting%s", me.username, me.id, mode)
        try:
            await set_command_menu(bot, services.i18n)
        except (TelegramAPIError, TelegramNetworkError) as error:
            log.warning("Could not set the command menu: %s", type(error).__name__)
        background = await _reconcile_transfers(bot, services)
        # Incoming-payment alerts and money-request follow-up run beside polling (issue 7).
        alerts = start_alerts(bot, services)
        background.add(start_request_sweeper(bot, services, asyncio.Event()))

        if services.settings.webhook_url:
            from bot.webhook import run_webhook

            await run_webhook(bot, dp, services.settings, stop_event=stop_event)
            return
        # A webhook left over from webhook mode makes getUpdates fail with 409 forever.
        await bot.delete_webhook(drop_pending_updates=False)
        if stop_event is None:
            await dp.start_polling(bot, handle_signals=True, close_bot_session=False)
            return
        watcher = asyncio.create_task(_stop_when_set(dp, stop_event))
        try:
            await dp.start_polling(bot, handle_signals=False, close_bot_session=False)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
    finally:
        if alerts is not None:
            await alerts.stop()  # lets a poll in flight store the mark of an alert it already sent
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        await bot.session.close()


async def _wait_for_telegram(bot: Bot, settings: Settings, stop_event: asyncio.Event | None) -> User | None:
    """`getMe`, retried with backoff: a VPS often starts the bot before its network is up."""
    delay = 1.0
    while True:
        try:
            return await bot.get_me()
        except TelegramUnauthorizedError:
            raise SettingsError(
                "Configuration error: BOT_TOKEN is invalid: Telegram refused it; copy the token from @BotFather."
            ) from None
        except TelegramNetworkError as error:
            log.warning(
                "Telegram is not reachable at %s (%s); retrying in %.0f s",
                settings.telegram_api_url,
                type(error).__name__,
                delay,
            )
        if stop_event is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), timeout=delay)
            if stop_event.is_set():
                return None
        delay = min(delay * 2, 60.0)


async def _stop_when_set(dp: Dispatcher, stop_event: asyncio.Event) -> None:
    await stop_event.wait()
    with contextlib.suppress(RuntimeError):  # polling may have stopped by itself already
        await dp.stop_polling()


async def _drain_updates(dispatcher: Dispatcher) -> None:
    # aiogram cancels only the polling loop; handler tasks already running are left alone, so we wait.
    in_flight = [task for task in dispatcher._handle_update_tasks if not task.done()]
    if not in_flight:
        return
    log.info("Waiting for %s update(s) in flight", len(in_flight))
    _done, pending = await asyncio.wait(in_flight, timeout=DRAIN_TIMEOUT)
    for task in pending:
        task.cancel()


async def _reconcile_transfers(bot: Bot, services: Services) -> set[asyncio.Task[Any]]:
    """Payments whose outcome was unknown when the bot stopped are settled before polling starts; the
    periodic re-check of `unknown` rows runs beside polling and is cancelled before the database closes."""
    try:
        await transfer_reconcile.reconcile_unresolved(bot, services.sessions, services.i18n)
    except Exception:
        # Unknown outcomes stay marked as such and are retried next start; never block start-up on them.
        log.exception("Reconciling unresolved transfers failed")
    return {transfer_reconcile.start_periodic_recheck(bot, services.sessions, services.i18n)}
