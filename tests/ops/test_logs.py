"""Log lines a VPS owner can read and ship: JSON that parses, one line per update, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.filters import Command
from aiogram.types import Message

from bot.logging_setup import setup_logging
from bot.middlewares.update_log import UpdateLogMiddleware

TOKEN = "123456789:AAHsecretBotTokenValue_abcdefghijklmn"
SECRETS = (TOKEN, "TGT-777-topsecret", "ST-888-single", "JSESSIONID=cookie-value", "hunter2", "Passw0rd!")


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def emit_secrets() -> None:
    log = logging.getLogger("bot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    log.warning("got ticket %s and %s", "TGT-777-topsecret", "ST-888-single")
    log.info("headers", extra={"detail": "Cookie: JSESSIONID=cookie-value", "count": 3, "flag": True})
    try:
        raise RuntimeError(f"login failed for password=hunter2 with token {TOKEN}")
    except RuntimeError:
        log.exception("request failed")


def test_json_lines_parse_and_hold_no_secret(log_stream: io.StringIO) -> None:
    setup_logging("DEBUG", "json", extra_secrets=(TOKEN,), stream=log_stream)
    emit_secrets()
    lines = json_lines(log_stream)
    assert len(lines) == 4
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
        assert line["logger"] == "bot.test"
        assert line["time"].endswith("+00:00")
    assert lines[1]["level"] == "WARNING"
    assert lines[2]["count"] == 3 and lines[2]["flag"] is True  # extra fields keep their JSON types
    assert "[redacted]" in lines[2]["detail"]
    assert "RuntimeError" in lines[3]["message"]  # the traceback is kept, scrubbed
    text = log_stream.getvalue()
    for secret in SECRETS:
        assert secret not in text


def test_text_lines_hold_no_secret(log_stream: io.StringIO) -> None:
    setup_logging("DEBUG", "text", extra_secrets=(TOKEN,), stream=log_stream)
    emit_secrets()
    text = log_stream.getvalue()
    assert "request failed" in text and "Traceback" in text
    for secret in SECRETS:
        assert secret not in text


def message_update(update_id: int, text: str, user_id: int = 5005) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Alice"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1700000000,
            "chat": {"id": user_id, "type": "private", "first_name": "Alice"},
            "from": person,
            "text": text,
        },
    }


async def test_one_update_line_each_without_message_text(log_stream: io.StringIO) -> None:
    setup_logging("INFO", "json", extra_secrets=(TOKEN,), stream=log_stream)
    dp = Dispatcher()
    dp.update.outer_middleware(UpdateLogMiddleware())

    @dp.message(Command("login"))
    async def login(message: Message) -> None:
        return None

    @dp.message(Command("start"))
    async def start(message: Message) -> None:
        return None

    @dp.message(F.text == "boom Passw0rd!")
    async def boom(message: Message) -> None:
        raise RuntimeError("handler failed")

    @dp.message(F.text)
    async def any_text(message: Message) -> None:  # e.g. the password step of /login
        return None

    bot = Bot(TOKEN)
    await dp.feed_raw_update(bot, message_update(1, "/login"))
    await dp.feed_raw_update(bot, message_update(2, "hunter2"))
    await dp.feed_raw_update(bot, message_update(3, "/hunter2 is my password"))
    await dp.feed_raw_update(bot, message_update(4, "/start secret-invite-code"))
    with pytest.raises(RuntimeError):
        await dp.feed_raw_update(bot, message_update(5, "boom Passw0rd!"))
    callback = {
        "update_id": 6,
        "callback_query": {
            "id": "99",
            "from": {"id": 6006, "is_bot": False, "first_name": "Bob"},
            "chat_instance": "ci",
            "data": "transfer:confirm:42",
        },
    }
    await dp.feed_raw_update(bot, callback)  # no callback handler: ignored
    await bot.session.close()

    lines = [line for line in json_lines(log_stream) if line["logger"] == "bot.updates"]
    assert [line["update_id"] for line in lines] == [1, 2, 3, 4, 5, 6]
    summary = [(line["user_id"], line["kind"], line["command"], line["outcome"]) for line in lines]
    assert summary == [
        (5005, "message", "/login", "ok"),
        (5005, "message:text", None, "ok"),
        (5005, "message", "/?", "ok"),
        (5005, "message", "/start", "ok"),
        (5005, "message:text", None, "error"),
        (6006, "callback_query", "transfer", "ignored"),
    ]
    assert all(isinstance(line["ms"], float) and line["ms"] >= 0 for line in lines)
    assert lines[4]["level"] == "WARNING"
    text = log_stream.getvalue()
    for secret in ("hunter2", "Passw0rd", "secret-invite-code", "is my password", "confirm:42", TOKEN):
        assert secret not in text
