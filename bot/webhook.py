"""Webhook mode: Telegram posts updates to us instead of us polling for them.

Telegram signs nothing; the only thing that tells its requests from anybody else's is the secret token it
echoes in `X-Telegram-Bot-Api-Secret-Token`. So a webhook without WEBHOOK_SECRET is refused outright.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.config import Settings
from bot.ops.preflight import WebhookConfigError, webhook_secret

log = logging.getLogger(__name__)

__all__ = [
    "HEALTH_PATH",
    "WebhookConfigError",
    "WebhookServer",
    "build_webhook_app",
    "register_webhook",
    "run_webhook",
    "webhook_path",
    "webhook_secret",
]

HEALTH_PATH = "/healthz"


def webhook_path(url: str) -> str:
    """The local route is the public URL's path, so a reverse proxy can pass requests through unchanged."""
    path = urlsplit(url).path
    return path if path.startswith("/") and path != "/" else "/webhook"


def secret_matches(received: str, expected: str) -> bool:
    """The X-Telegram-Bot-Api-Secret-Token check, in constant time over bytes: `secrets.compare_digest` on
    str raises TypeError for non-ASCII text (a 500 to whoever sends such a header); here it is a mismatch."""
    if not expected:
        return False
    return hmac.compare_digest(received.encode("utf-8", "surrogateescape"), expected.encode("utf-8"))


class _WebhookRequestHandler(SimpleRequestHandler):
    """Answers Telegram at once and handles the update in the background (a slow QIWI must not make
    Telegram resend it). Updates in flight are waited for by the dispatcher's shutdown (the in-flight
    middleware), as in polling mode; the bot's session belongs to the caller, who closes it after that."""

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        return secret_matches(telegram_secret_token, self.secret_token or "")

    async def close(self) -> None:
        """Leaves the bot's session open (aiogram's handler would close it before the shutdown hooks)."""


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "mode": "webhook"})


def build_webhook_app(bot: Bot, dp: Dispatcher, *, secret: str, path: str, **data: Any) -> web.Application:
    app = web.Application()
    _WebhookRequestHandler(dp, bot, secret_token=secret, **data).register(app, path=path)
    app.router.add_get(HEALTH_PATH, _healthz)
    return app


class WebhookServer:
    """The aiohttp server on WEBHOOK_HOST:WEBHOOK_PORT (port 0 picks a free one; see `port`)."""

    def __init__(self, bot: Bot, dp: Dispatcher, settings: Settings, **data: Any) -> None:
        self.secret = webhook_secret(settings)
        assert settings.webhook_url is not None  # webhook_secret() has checked it
        self.url = settings.webhook_url
        self.path = webhook_path(self.url)
        self.host = settings.webhook_host
        self._requested_port = settings.webhook_port
        self.app = build_webhook_app(bot, dp, secret=self.secret, path=self.path, **data)
        self._runner = web.AppRunner(self.app, handle_signals=False)
        self.port = 0

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else self._requested_port

    async def stop(self) -> None:
        await self._runner.cleanup()


async def register_webhook(bot: Bot, dp: Dispatcher, url: str, secret: str) -> None:
    # drop_pending_updates=False: what users sent while we were down is still answered.
    await bot.set_webhook(
        url,
        secret_token=secret,
        drop_pending_updates=False,
        allowed_updates=dp.resolve_used_update_types(),
    )


async def run_webhook(bot: Bot, dp: Dispatcher, settings: Settings, *, stop_event: asyncio.Event | None = None) -> None:
    """Serves until `stop_event` is set (or, without one, until SIGTERM/SIGINT), then drains and returns.

    Emits the dispatcher's startup and shutdown hooks, as `start_polling` does in polling mode.
    The webhook stays registered at Telegram on shutdown so that updates queue up during a restart.
    """
    server = WebhookServer(bot, dp, settings)
    loop = asyncio.get_running_loop()
    own_signals = stop_event is None
    stop = stop_event if stop_event is not None else asyncio.Event()
    if own_signals:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
    workflow = {"dispatcher": dp, "bots": [bot], **dp.workflow_data}
    workflow.pop("bot", None)
    try:
        await dp.emit_startup(bot=bot, **workflow)
        await server.start()
        try:
            await register_webhook(bot, dp, server.url, server.secret)
            log.info("Webhook mode: listening on %s:%s%s for %s", server.host, server.port, server.path, server.url)
            await stop.wait()
            log.info("Webhook mode: stopping")
        finally:
            await server.stop()
            await dp.emit_shutdown(bot=bot, **workflow)
    finally:
        if own_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(signum)
