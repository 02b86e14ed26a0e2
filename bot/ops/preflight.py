"""Settings checks that need no network and no heavy imports, run before anything starts.

Kept free of aiogram and storage imports: a configuration mistake should be reported in a blink, not
after the seconds it takes to import the Bot API's models.
"""

from __future__ import annotations

from bot.config import Settings, SettingsError


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
    """Raises SettingsError for what `load_settings` cannot see alone: a webhook without a secret and
    malformed ENCRYPTION_KEYS. Never creates KEY_FILE (that is the bot's first start)."""
    if settings.webhook_url:
        webhook_secret(settings)
    if settings.encryption_keys:
        from bot.crypto import load_cipher

        load_cipher(settings)


def secret_values(settings: Settings) -> tuple[str, ...]:
    """Every configured secret, for the log redaction filter and for scrubbing error text."""
    values = [settings.bot_token.get_secret_value()]
    values += [key.get_secret_value() for key in settings.encryption_keys]
    if settings.webhook_secret is not None:
        values.append(settings.webhook_secret.get_secret_value())
    return tuple(values)
