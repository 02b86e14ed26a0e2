"""Settings checks that need no network and no heavy imports, run before anything starts.

Kept free of aiogram and storage imports: a configuration mistake should be reported in a blink, not
after the seconds it takes to import the Bot API's models.
"""

from __future__ import annotations

from bot.config import Settings, SettingsError

# QIWI limits history reads per wallet: more than about 100 requests a minute block the wallet's history
# for about 5 minutes (HTTP 423, `request.blocked`; spec, "Facts beyond the 2017 document"). The alerts read
# each member's history once per NOTIFY_INTERVAL, and the member's own /history, /stats and the check of a
# payment in doubt read the same history; below this many seconds the alerts alone eat much of that budget.
SAFE_NOTIFY_INTERVAL = 10


class WebhookConfigError(SettingsError):
    """The webhook settings are unusable; one line, like every other settings error."""


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram must echo; refuses a webhook without one (anyone could post fake updates)."""
    if not settings.webhook_url:
        raise WebhookConfigError("Configuration error: WEBHOOK_URL is not set, so there is no webhook to run.")
    if settings.webhook_secret is None:
        raise WebhookConfigError(
            "Configuration error: WEBHOOK_SECRET is required when WEBHOOK_URL is set (without it anyone "
            "could post fake updates): set it to 1-256 characters of A-Z, a-z, 0-9, _ and -, "
            "e.g. the output of `openssl rand -hex 32`."
        )
    return settings.webhook_secret.get_secret_value()


def check_settings(settings: Settings) -> None:
    """Raises SettingsError for what `load_settings` cannot see alone: a webhook without a secret,
    malformed ENCRYPTION_KEYS, a KEY_FILE that is a folder. Never creates KEY_FILE (that is the bot's first
    start)."""
    if settings.webhook_url:
        webhook_secret(settings)
    if settings.encryption_keys:
        from bot.crypto import load_cipher

        load_cipher(settings)
    else:
        from bot.crypto import refuse_key_folder

        refuse_key_folder(settings.key_file)


def startup_warnings(settings: Settings) -> list[str]:
    """Settings that work but deserve a word at start-up: one line each, to be logged as warnings once."""
    warnings: list[str] = []
    if settings.notify_interval < SAFE_NOTIFY_INTERVAL:
        warnings.append(
            f"NOTIFY_INTERVAL is {settings.notify_interval} s: every member's history is read that often for "
            f"alerts, and QIWI blocks a wallet's history for about 5 minutes after some 100 reads a minute; "
            f"{SAFE_NOTIFY_INTERVAL} s or more (default 60) is safer."
        )
    return warnings


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Every configured secret, for the log redaction filter and for scrubbing error text."""
    values = [settings.bot_token.get_secret_value()]
    values += [key.get_secret_value() for key in settings.encryption_keys]
    if settings.webhook_secret is not None:
        values.append(settings.webhook_secret.get_secret_value())
    return tuple(values)
