"""Settings from the environment and `.env`, as `interface.md` lists them."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# How to fix each variable when it is missing or wrong; shown in the one-line start-up error.
HINTS: dict[str, str] = {
    "BOT_TOKEN": "set BOT_TOKEN to the token @BotFather gave you, like 123456789:AAH... (in the environment or .env)",
    "TELEGRAM_API_URL": "an http(s) URL such as https://api.telegram.org",
    "QIWI_AUTH_URL": "an http(s) URL such as https://auth.qiwi.com",
    "QIWI_WEB_URL": "an http(s) URL such as https://qiwi.com",
    "QIWI_EDGE_URL": "an http(s) URL such as https://edge.qiwi.com",
    "DATABASE_PATH": "a file path such as data/bot.sqlite3",
    "ENCRYPTION_KEYS": "comma-separated keys made by `python -m bot genkey` (or leave it unset)",
    "KEY_FILE": "a file path such as data/secret.key",
    "ADMIN_IDS": "comma-separated numeric Telegram user ids, e.g. 123456789,987654321",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "LOG_FORMAT": "text or json",
    "NOTIFY_INTERVAL": "a whole number of seconds between 1 and 86400, e.g. 60",
    "QIWI_SANDBOX": "0 or 1",
    "QIWI_TIMEOUT": "seconds to wait for one QIWI answer, between 1 and 120",
    "QIWI_RETRIES": "extra tries for a failed QIWI read, between 0 and 5",
    "TRANSFER_LIMIT": "a positive amount in rubles of at most 10000000 with up to 2 decimals, e.g. 99999 or 15000.50",
    "WEBHOOK_URL": "the public https URL Telegram should post updates to",
    "WEBHOOK_SECRET": "1-256 characters of A-Z, a-z, 0-9, _ and -",
    "WEBHOOK_HOST": "an address to listen on, e.g. 0.0.0.0",
    "WEBHOOK_PORT": "a port number, e.g. 8080",
}


# The largest TRANSFER_LIMIT accepted. QIWI's own limits are far lower (a single transfer from even a fully
# identified wallet is capped in the hundreds of thousands of rubles), so this refuses nothing real: it keeps
# typos like `1e30` out, and every amount the bot compares or formats within Decimal's 28 digits.
MAX_TRANSFER_LIMIT = Decimal("10000000")
# Rubles, optionally with kopecks: ASCII digits only (no exponent, sign, `nan` or `inf`).
_RUBLES = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,2})?", re.ASCII)
# A day. Alerts a day late are no alerts; and an interval near the float range would break the scheduler.
MAX_NOTIFY_INTERVAL = 86400


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _http_url(value: str) -> str:
    value = value.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    bot_token: SecretStr = Field(alias="BOT_TOKEN")
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL")
    qiwi_auth_url: str = Field("https://auth.qiwi.com", alias="QIWI_AUTH_URL")
    qiwi_web_url: str = Field("https://qiwi.com", alias="QIWI_WEB_URL")
    qiwi_edge_url: str = Field("https://edge.qiwi.com", alias="QIWI_EDGE_URL")
    database_path: Path = Field(Path("data/bot.sqlite3"), alias="DATABASE_PATH")
    encryption_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list, alias="ENCRYPTION_KEYS")
    key_file: Path = Field(Path("data/secret.key"), alias="KEY_FILE")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, alias="ADMIN_IDS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field("INFO", alias="LOG_LEVEL")
    log_format: Literal["text", "json"] = Field("text", alias="LOG_FORMAT")
    # At least 1 (interface.md); below 10 `bot.ops.preflight.startup_warnings` warns about QIWI's rate limit.
    notify_interval: int = Field(60, ge=1, le=MAX_NOTIFY_INTERVAL, alias="NOTIFY_INTERVAL")
    qiwi_sandbox: bool = Field(False, alias="QIWI_SANDBOX")
    qiwi_timeout: float = Field(10.0, ge=1, le=120, alias="QIWI_TIMEOUT")
    qiwi_retries: int = Field(2, ge=0, le=5, alias="QIWI_RETRIES")
    transfer_limit: Decimal = Field(Decimal("99999"), gt=0, le=MAX_TRANSFER_LIMIT, alias="TRANSFER_LIMIT")
    webhook_url: str | None = Field(None, alias="WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, alias="WEBHOOK_SECRET")
    webhook_host: str = Field("0.0.0.0", alias="WEBHOOK_HOST")
    webhook_port: int = Field(8080, ge=1, le=65535, alias="WEBHOOK_PORT")

    @field_validator("telegram_api_url", "qiwi_auth_url", "qiwi_web_url", "qiwi_edge_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None) -> str | None:
        return _http_url(value) if value else None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("transfer_limit", mode="before")
    @classmethod
    def _rubles(cls, value: object) -> object:
        # Before pydantic's own Decimal parsing, which takes `1e30`, `nan` and `inf` (and the positive and
        # maximum checks after it would raise on `nan` rather than refuse it).
        if isinstance(value, str):
            text = value.strip()
        elif isinstance(value, Decimal):
            text = f"{value:f}" if value.is_finite() else "nan"
        elif isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        else:  # a float is not an exact amount of rubles
            raise ValueError("is not an amount")
        if not _RUBLES.fullmatch(text):
            raise ValueError("is not an amount in rubles")
        amount = Decimal(text)
        if not 0 < amount <= MAX_TRANSFER_LIMIT:
            raise ValueError("is out of range")
        return amount

    @field_validator("admin_ids", "encryption_keys", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("bot_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr) -> SecretStr:
        # aiogram refuses anything else with a traceback; BotFather tokens are `<bot id>:<secret>`.
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]+", value.get_secret_value().strip()):
            raise ValueError("is not a bot token")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("webhook_secret")
    @classmethod
    def _secret_charset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not (1 <= len(secret) <= 256) or not all(c.isascii() and (c.isalnum() or c in "_-") for c in secret):
            raise ValueError("has characters Telegram does not allow")
        return value


class SettingsError(Exception):
    """One line that names the variable and how to fix it; never echoes the value."""


def describe_validation_error(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "settings"
    name = name.upper()
    problem = "is required" if first["type"] == "missing" else "is invalid"
    hint = HINTS.get(name, "see README, section Configuration")
    return f"Configuration error: {name} {problem}: {hint}."


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
