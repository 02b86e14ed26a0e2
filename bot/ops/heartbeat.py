"""A file the running bot touches every few seconds, so a health check can tell a live process from a
hung one without talking to it (Docker's HEALTHCHECK runs in a separate process)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from bot.config import Settings

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 15.0
HEARTBEAT_NAME = "heartbeat"


def heartbeat_path(settings: Settings) -> Path:
    """Beside the database: that folder is the one volume the bot may write to."""
    return settings.database_path.parent / HEARTBEAT_NAME


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    os.utime(path)


def heartbeat_age(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat, or None when there has never been one."""
    try:
        modified = path.stat().st_mtime
    except FileNotFoundError:
        return None
    return max(0.0, (time.time() if now is None else now) - modified)
