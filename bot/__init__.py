"""A self-hosted Telegram bot for QIWI Wallet."""

import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _locales_dir() -> Path:
    # Run from a checkout (quick start, Docker, systemd) the texts sit beside the package; an installed wheel
    # carries them as data files under the environment's prefix.
    beside = PROJECT_ROOT / "locales"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "qiwi-family-bot" / "locales"


LOCALES_DIR = _locales_dir()
