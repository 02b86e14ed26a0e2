"""Logging for a VPS owner: readable lines, never a secret (tickets, cookies, tokens, keys).

Two formats: `text` for people reading `journalctl`, `json` (one object per line) for log shippers.
Both go through the same `RedactingFilter`, which also scrubs the extra fields a JSON line carries.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

# Tickets (TGT-/ST-), the bot token in a Bot API URL, cookies and Authorization headers.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(TGT|ST)-[A-Za-z0-9._\-*]+"), r"\1-[redacted]"),
    (re.compile(r"/bot\d+:[A-Za-z0-9_\-]+"), "/bot[redacted]"),
    (re.compile(r"\b\d{6,12}:[A-Za-z0-9_\-]{30,}\b"), "[redacted-token]"),
    (re.compile(r"(?i)(ticket=)[^&\s\"']+"), r"\1[redacted]"),
    (re.compile(r"(?i)(cookie:?\s*)[^\n]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(authorization:?\s*)[^\n]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(\"?password\"?\s*[:=]\s*)\S+"), r"\1[redacted]"),
]

# Attributes every LogRecord has; anything else on a record came from `extra=` and is a field of its own.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    for secret in extra_secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRS}


class RedactingFilter(logging.Filter):
    """Rewrites every record (message, args, traceback, extra fields) before any handler formats it."""

    def __init__(self, extra_secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.extra_secrets = extra_secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            message = f"{message}\n{formatted}"
            record.exc_info = None
            record.exc_text = None
        if record.stack_info:
            message = f"{message}\n{record.stack_info}"
            record.stack_info = None
        record.msg = redact(message, self.extra_secrets)
        record.args = None
        for key, value in extra_fields(record).items():
            if not isinstance(value, bool | int | float | type(None)):
                setattr(record, key, redact(str(value), self.extra_secrets))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, then the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            line.setdefault(key, value)
        if record.exc_info:  # only when a handler runs without the redacting filter
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def build_handler(
    fmt: str = "text", extra_secrets: tuple[str, ...] = (), stream: TextIO | None = None
) -> logging.Handler:
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter(extra_secrets))
    return handler


def setup_logging(
    level: str = "INFO",
    fmt: str = "text",
    extra_secrets: tuple[str, ...] = (),
    stream: TextIO | None = None,
) -> None:
    root = logging.getLogger()
    root.handlers[:] = [build_handler(fmt, extra_secrets, stream)]
    root.setLevel(level)
    # httpx/httpcore log full URLs (with `?ticket=ST-...`) at INFO/DEBUG; our client logs what is safe.
    # aiogram.event logs every update too; UpdateLogMiddleware writes the one line per update we want.
    # aiosqlite at DEBUG prints every statement with its parameters (rows of user data): never wanted.
    for noisy in ("httpx", "httpcore", "aiohttp.access", "aiogram.event", "aiosqlite"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
