"""Webhook mode in-process: a real Dispatcher behind `run_webhook`, the fake Bot API for setWebhook and
the replies, and plain HTTP posts playing Telegram (and an impostor)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from bot.config import Settings, load_settings
from bot.devtools.fake_telegram import FakeTelegram
from bot.middlewares.in_flight import track_updates
from bot.webhook import WebhookConfigError, run_webhook, webhook_path

from .conftest import poll_until

SECRET = "webhook-secret_0123456789"
PUBLIC_URL = "https://bot.example.test/tg/updates"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webhook_settings(telegram: FakeTelegram, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "WEBHOOK_URL": PUBLIC_URL,
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": free_port(),
    }
    values.update(extra)
    return load_settings(**values)


class EchoBot:
    """A real Dispatcher whose one handler answers through the fake Bot API, slowly enough to be in flight."""

    def __init__(self, telegram: FakeTelegram, delay: float = 0.0) -> None:
        self.bot = Bot(telegram.token, session=AiohttpSession(api=TelegramAPIServer.from_base(telegram.base_url)))
        self.dp = Dispatcher()
        track_updates(self.dp)  # as the bot's own dispatcher does
        self.seen: list[str] = []
        self.finished: list[str] = []
        self.started = self.stopped = False
        self.delay = delay

        @self.dp.message()
        async def echo(message: Message) -> None:
            self.seen.append(message.text or "")
            await asyncio.sleep(self.delay)
            await message.answer(f"pong: {message.text}")
            self.finished.append(message.text or "")

        @self.dp.startup()
        async def on_startup() -> None:
            self.started = True

        @self.dp.shutdown()
        async def on_shutdown() -> None:
            self.stopped = True


@pytest.fixture
async def telegram(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> AsyncIterator[FakeTelegram]:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    async with FakeTelegram() as server:
        yield server


async def start(
    echo: EchoBot, settings: Settings, telegram: FakeTelegram
) -> tuple[asyncio.Task[None], asyncio.Event, str]:
    """Runs the webhook until the returned event is set; returns once it has registered with Telegram."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhook(echo.bot, echo.dp, settings, stop_event=stop))

    def registered() -> bool:
        if task.done():
            task.result()  # raises what stopped it
        return telegram.webhook_url == PUBLIC_URL

    await poll_until(registered, "setWebhook")
    return task, stop, f"http://127.0.0.1:{settings.webhook_port}"


async def test_secret_checked_update_dispatched_impostors_rejected(telegram: FakeTelegram) -> None:
    echo = EchoBot(telegram)
    settings = webhook_settings(telegram)
    task, stop, base = await start(echo, settings, telegram)
    try:
        assert echo.started
        [call] = telegram.calls("setWebhook")
        assert call.params["secret_token"] == SECRET
        assert call.params.get("drop_pending_updates") in (None, False, "false")
        assert "message" in call.params["allowed_updates"]

        user = telegram.user(5005, "Alice")
        update = await user.send("hello")
        path = webhook_path(PUBLIC_URL)
        async with httpx.AsyncClient(base_url=base) as http:
            missing = await http.post(path, json=update)
            wrong = await http.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert missing.status_code == 401
            assert wrong.status_code == 401
            ok = await http.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert ok.status_code == 200
            await poll_until(lambda: echo.finished == ["hello"], "the update to be handled")
            assert echo.seen == ["hello"], "rejected requests must never reach the dispatcher"
            assert [action.text for action in user.log.actions] == ["pong: hello"]

            health = await http.get("/healthz")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            other = await http.post("/elsewhere", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert other.status_code in (404, 405)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await echo.bot.session.close()
    assert echo.stopped
    assert telegram.webhook_url == PUBLIC_URL, "the webhook stays set so updates queue up during a restart"


async def test_stop_waits_for_updates_in_flight(telegram: FakeTelegram) -> None:
    echo = EchoBot(telegram, delay=0.5)
    settings = webhook_settings(telegram)
    task, stop, base = await start(echo, settings, telegram)
    user = telegram.user(6006, "Bob")
    try:
        update = await user.send("slow one")
        async with httpx.AsyncClient(base_url=base) as http:
            answer = await http.post(
                webhook_path(PUBLIC_URL), json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
        assert answer.status_code == 200  # Telegram is answered at once; the handler is still sleeping
        await poll_until(lambda: echo.seen == ["slow one"], "the handler to start")
        assert echo.finished == []
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert echo.finished == ["slow one"]
    assert [action.text for action in user.log.actions] == ["pong: slow one"]
    await echo.bot.session.close()


async def test_webhook_without_secret_refuses_to_start(telegram: FakeTelegram) -> None:
    echo = EchoBot(telegram)
    settings = webhook_settings(telegram, WEBHOOK_SECRET=None)
    with pytest.raises(WebhookConfigError) as refused:
        await run_webhook(echo.bot, echo.dp, settings, stop_event=asyncio.Event())
    assert "WEBHOOK_SECRET" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not telegram.calls("setWebhook")
    assert not echo.started
    await echo.bot.session.close()


def test_webhook_path_follows_the_public_url() -> None:
    assert webhook_path("https://bot.example.test/tg/updates") == "/tg/updates"
    assert webhook_path("https://bot.example.test") == "/webhook"
    assert webhook_path("https://bot.example.test/") == "/webhook"


async def test_non_ascii_secret_header_is_401_not_500(telegram: FakeTelegram) -> None:
    echo = EchoBot(telegram)
    settings = webhook_settings(telegram)
    task, stop, base = await start(echo, settings, telegram)
    try:
        update = await telegram.user(7007, "Mallory").send("let me in")
        path = webhook_path(PUBLIC_URL)
        forged = [
            "секрет".encode(),  # UTF-8, not ASCII
            (SECRET[:-1] + "９").encode(),  # the secret with a fullwidth last digit
            b"\xff\xfe" + SECRET.encode(),  # not even UTF-8
        ]
        async with httpx.AsyncClient(base_url=base) as http:
            for header in forged:
                answer = await http.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": header})
                assert answer.status_code == 401, (header, answer.status_code)
            ok = await http.post(path, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET.encode()})
            assert ok.status_code == 200
        await poll_until(lambda: echo.finished == ["let me in"], "the genuine update to be handled")
        assert echo.seen == ["let me in"], "forged requests must never reach the dispatcher"
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await echo.bot.session.close()
