"""Runs the bot: open what it needs, serve until told to stop, close it all.

The order matters on the way out: stop taking updates, let those in flight finish (one may be paying) and
the jobs stop (the dispatcher's shutdown), then close the Bot API session, the QIWI client, the emulator
and last the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, TextIO

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from aiogram.types import User

from bot.config import Settings, SettingsError
from bot.crypto import load_cipher
from bot.dispatcher import build_bot, build_dispatcher
from bot.i18n import CatalogI18n
from bot.logging_setup import setup_logging
from bot.ops.preflight import startup_warnings
from bot.qiwi.client import QiwiClient
from bot.services.bundle import build_services
from bot.services.notifier import TelegramNotifier
from bot.services.sessions import Clock
from bot.storage import Database
from bot.timeutil import now_utc

if TYPE_CHECKING:
    from bot.sandbox import EmulatorServer
    from bot.sandbox.seed import DemoWallet

log = logging.getLogger(__name__)


async def run_bot(
    settings: Settings,
    *,
    stop_event: asyncio.Event | None = None,
    clock: Clock | None = None,
    configure_logging: bool = True,
    log_stream: TextIO | None = None,
    demo_wallets: Sequence[DemoWallet] = (),
    freeze_start_up: bool = False,
) -> None:
    """Serve until SIGTERM/SIGINT, or until `stop_event` is set when one is given (console, tests).

    `demo_wallets` are shown in /start: the sandbox's own, or those of an emulator the caller runs.
    `freeze_start_up` is for a process that serves until it exits (`python -m bot`): see `_freeze`."""
    token = settings.bot_token.get_secret_value()
    if configure_logging:
        setup_logging(settings.log_level, settings.log_format, extra_secrets=(token,), stream=log_stream)
    for warning in startup_warnings(settings):
        log.warning("%s", warning)

    async with contextlib.AsyncExitStack() as resources:
        resources.callback(log.info, "Stopped")
        auth_url, web_url, edge_url = settings.qiwi_auth_url, settings.qiwi_web_url, settings.qiwi_edge_url
        if settings.qiwi_sandbox:
            emulator = await resources.enter_async_context(_sandbox())
            auth_url, web_url, edge_url = emulator.auth_url, emulator.web_url, emulator.edge_url
            from bot.sandbox import DEMO_WALLETS

            demo_wallets = DEMO_WALLETS
            # The emulator decides when tickets die; the bot reads the same clock to say "until when".
            clock = clock or emulator.emulator.clock.now
            log.info("Sandbox mode: QIWI emulator on %s, %s, %s", auth_url, web_url, edge_url)

        db = await Database.open(settings.database_path)
        resources.push_async_callback(db.close)
        cipher = load_cipher(settings)
        qiwi = QiwiClient.create(
            auth_url, web_url, edge_url, timeout=settings.qiwi_timeout, read_retries=settings.qiwi_retries
        )
        resources.push_async_callback(qiwi.aclose)
        bot = build_bot(settings)
        resources.push_async_callback(bot.session.close)
        services = build_services(
            settings, db, cipher, qiwi, TelegramNotifier(bot), CatalogI18n(), clock or now_utc, demo_wallets
        )
        resources.callback(services.close)
        dp = build_dispatcher(services)
        if freeze_start_up:
            _freeze()
        await _serve(bot, dp, settings, stop_event)


def _freeze() -> None:
    """Moves everything alive now (~200,000 objects: aiogram's and pydantic's models, the catalogs, Babel's
    data, the routers) out of the cyclic collector's sight, then turns the collector on (`python -m bot`
    starts with it off). Each full pass over them took 150-200 ms of holding the event loop, so every
    member's answer waited whenever one ran; they live as long as the process anyway. The little garbage
    start-up leaves (~1,800 objects, under a megabyte) is frozen with them.
    Not for tests that start many bots in one process: what they freeze would never be freed."""
    gc.freeze()
    gc.enable()


@contextlib.asynccontextmanager
async def _sandbox() -> AsyncIterator[EmulatorServer]:
    from bot.sandbox import EmulatorServer

    server = EmulatorServer()
    await server.start(host="127.0.0.1")
    try:
        yield server
    finally:
        await server.stop()


async def _serve(bot: Bot, dp: Dispatcher, settings: Settings, stop_event: asyncio.Event | None) -> None:
    me = await _wait_for_telegram(bot, settings, stop_event)
    if me is None:
        return
    mode = "" if settings.admin_ids else " in setup mode (ADMIN_IDS is empty)"
    log.info("Bot @%s (id %s) starting%s", me.username, me.id, mode)
    if settings.webhook_url:
        from bot.webhook import run_webhook

        await run_webhook(bot, dp, settings, stop_event=stop_event)
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
