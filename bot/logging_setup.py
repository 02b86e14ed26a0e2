"""Logging for a VPS owner: readable lines, never a secret (tickets, cookies, tokens, keys)."""

from __future__ import annotations

import logging
import re
import sys

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


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    for secret in extra_secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites every record (message, args and traceback) before any handler formats it."""

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
        record.msg = redact(message, self.extra_secrets)
        record.args = None
        return True


def setup_logging(level: str = "INFO", fmt: str = "text", extra_secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(extra_secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx/httpcore log full URLs (with `?ticket=ST-...`) at INFO/DEBUG; our client logs what is safe.
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
