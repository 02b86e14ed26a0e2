"""`python -m bot check`: is this installation able to run? Settings, Telegram, QIWI, database, keys.

Every line is safe to paste into a support chat: the token, keys and tickets are never printed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from bot.config import Settings
from bot.crypto import UndecryptableTicket, load_cipher
from bot.logging_setup import redact
from bot.ops.heartbeat import heartbeat_age, heartbeat_path
from bot.ops.preflight import secret_values, webhook_secret
from bot.storage.connection import SQLite
from bot.storage.migrations import LATEST_VERSION, user_version
from bot.storage.user_cache import UserCache
from bot.storage.wallets import WalletRepository

DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Finding:
    name: str
    ok: bool
    detail: str


def _failure(error: BaseException) -> str:
    reason = str(error).strip()
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__


def check_mode(settings: Settings) -> Finding:
    """Raises SettingsError (exit code 2) for a webhook without a secret, as starting the bot would."""
    if settings.webhook_url:
        webhook_secret(settings)
        mode = f"webhook mode, Telegram posts to {settings.webhook_url}"
        mode += f", listening on {settings.webhook_host}:{settings.webhook_port}"
    else:
        mode = "long polling mode"
    if settings.qiwi_sandbox:
        mode += ", QIWI sandbox (emulator inside the bot)"
    return Finding("settings", True, mode)


async def check_telegram(settings: Settings, http: httpx.AsyncClient) -> Finding:
    base = settings.telegram_api_url
    token = settings.bot_token.get_secret_value()
    try:
        response = await http.get(f"{base}/bot{token}/getMe")
    except httpx.HTTPError as error:
        return Finding("telegram", False, f"{base} unreachable ({redact(_failure(error), (token,))})")
    if response.status_code == 401:
        return Finding("telegram", False, f"{base} rejected the token (401): check BOT_TOKEN")
    if response.status_code == 404:
        return Finding("telegram", False, f"{base} answered 404: is TELEGRAM_API_URL a Bot API server?")
    try:
        body = response.json()
        me = body["result"] if body.get("ok") else None
    except (ValueError, KeyError, AttributeError):
        me = None
    if response.status_code != 200 or not isinstance(me, dict):
        return Finding("telegram", False, f"{base} answered HTTP {response.status_code} to getMe")
    return Finding("telegram", True, f"{base}: getMe is @{me.get('username')} (id {me.get('id')})")


async def check_qiwi(settings: Settings, http: httpx.AsyncClient) -> list[Finding]:
    if settings.qiwi_sandbox:
        return [Finding("qiwi", True, "skipped: QIWI_SANDBOX=1 runs the emulator inside the bot")]
    findings = []
    for name, url in (
        ("QIWI_AUTH_URL", settings.qiwi_auth_url),
        ("QIWI_WEB_URL", settings.qiwi_web_url),
        ("QIWI_EDGE_URL", settings.qiwi_edge_url),
    ):
        # Any HTTP answer proves DNS, TCP and TLS work; the paths we use need tickets we do not have here.
        try:
            response = await http.get(f"{url}/")
        except httpx.HTTPError as error:
            findings.append(Finding(name, False, f"{url} unreachable ({redact(_failure(error))})"))
            continue
        findings.append(Finding(name, True, f"{url} answered HTTP {response.status_code}"))
    return findings


def _writable_folder(path: Path) -> bool:
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return os.access(folder, os.W_OK)


async def read_database(settings: Settings) -> tuple[Finding, list[tuple[int, bytes]]]:
    """Opens without migrating (the bot migrates at start); returns the stored ticket blobs too."""
    path = settings.database_path
    if not path.exists():
        if _writable_folder(path):
            return Finding("database", True, f"{path} not created yet; the bot creates it at first start"), []
        return Finding("database", False, f"{path} does not exist and its folder is not writable"), []
    try:
        sql = await SQLite.connect(path)
    except Exception as error:
        return Finding("database", False, f"{path} cannot be opened ({_failure(error)})"), []
    tickets: list[tuple[int, bytes]] = []
    try:
        version = await user_version(sql)
        if version > LATEST_VERSION:
            detail = f"{path} has schema version {version}, newer than this bot ({LATEST_VERSION}): upgrade"
            return Finding("database", False, detail), []
        if version == LATEST_VERSION:
            tickets = [
                (tg_id, blob) async for tg_id, _wallet, blob in WalletRepository(sql, UserCache()).iter_ciphertexts()
            ]
            detail = f"{path}, schema version {version} (current), {len(tickets)} stored session(s)"
        else:
            detail = f"{path}, schema version {version}; the bot migrates it to {LATEST_VERSION} at start"
    except Exception as error:
        return Finding("database", False, f"{path} cannot be read ({_failure(error)})"), []
    finally:
        await sql.close()
    return Finding("database", True, detail), tickets


def check_keys(settings: Settings, tickets: list[tuple[int, bytes]]) -> Finding:
    """Raises SettingsError (exit code 2) for an invalid ENCRYPTION_KEYS or KEY_FILE."""
    if not settings.encryption_keys and not settings.key_file.exists():
        if tickets:
            return Finding(
                "keys",
                False,
                f"{len(tickets)} stored session(s) but no key: ENCRYPTION_KEYS is unset and KEY_FILE "
                f"{settings.key_file} is missing; restore the key file from a backup",
            )
        return Finding("keys", True, f"no key yet; one is generated into {settings.key_file} at first start")
    cipher = load_cipher(settings)
    source = (
        f"{len(settings.encryption_keys)} key(s) in ENCRYPTION_KEYS"
        if settings.encryption_keys
        else (f"the key in {settings.key_file}")
    )
    unreadable = old = 0
    for tg_id, blob in tickets:
        try:
            cipher.decrypt(blob, tg_id)
        except UndecryptableTicket:
            unreadable += 1
            continue
        old += cipher.needs_rotation(blob)
    detail = f"{source}; {len(tickets) - unreadable} of {len(tickets)} stored session(s) decrypt"
    if old:
        detail += f"; {old} under an older key (run `python -m bot rotate-key`)"
    if unreadable:
        detail += f"; {unreadable} cannot be decrypted (those members must /login again)"
    # Some unreadable tickets is a leftover of an old key; all of them is a wrong or lost key.
    return Finding("keys", not (tickets and unreadable == len(tickets)), detail)


def check_heartbeat(settings: Settings, max_age: float) -> Finding:
    path = heartbeat_path(settings)
    age = heartbeat_age(path)
    if age is None:
        return Finding("heartbeat", False, f"{path} missing: is the bot running?")
    if age > max_age:
        return Finding("heartbeat", False, f"last beat {age:.0f} s ago (limit {max_age:.0f} s): the bot is stuck")
    return Finding("heartbeat", True, f"last beat {age:.0f} s ago")


async def run_checks(
    settings: Settings,
    *,
    offline: bool = False,
    max_heartbeat_age: float | None = None,
    request_timeout: float = DEFAULT_TIMEOUT,
) -> list[Finding]:
    findings = [check_mode(settings)]
    if not offline:
        async with httpx.AsyncClient(timeout=request_timeout, follow_redirects=False) as http:
            findings.append(await check_telegram(settings, http))
            findings.extend(await check_qiwi(settings, http))
    database, tickets = await read_database(settings)
    findings.append(database)
    findings.append(check_keys(settings, tickets))
    if max_heartbeat_age is not None:
        findings.append(check_heartbeat(settings, max_heartbeat_age))
    secrets = secret_values(settings)
    return [Finding(item.name, item.ok, redact(item.detail, secrets)) for item in findings]
