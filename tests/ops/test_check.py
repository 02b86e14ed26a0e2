"""`python -m bot check` against real loopback servers: the fake Bot API and the QIWI emulator."""

from __future__ import annotations

import os
import time
from pathlib import Path

from bot.crypto import TicketCipher, decode_key, generate_key
from bot.devtools.fake_telegram import FakeTelegram
from bot.ops.heartbeat import HEARTBEAT_NAME
from bot.sandbox import EmulatorServer
from bot.storage import LATEST_VERSION, Database
from bot.timeutil import now_utc

from .conftest import InProcessCli, base_env, dead_url, run_cli


def check_env(tmp_path: Path, telegram: FakeTelegram, qiwi: EmulatorServer, **extra: str) -> dict[str, str]:
    values = {
        "BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.base_url,
        "QIWI_AUTH_URL": qiwi.auth_url,
        "QIWI_WEB_URL": qiwi.web_url,
        "QIWI_EDGE_URL": qiwi.edge_url,
        "DATABASE_PATH": str(tmp_path / "data" / "bot.sqlite3"),
        "KEY_FILE": str(tmp_path / "data" / "secret.key"),
        "ADMIN_IDS": "1001",
    }
    values.update(extra)
    return base_env(**values)


async def make_database(
    path: Path, cipher: TicketCipher, sessions: int, wallets: tuple[str, ...] = ("79001112233",)
) -> None:
    """`sessions` members, each logged in to every one of `wallets`."""
    db = await Database.open(path)
    try:
        for tg_id in range(1, sessions + 1):
            await db.users.ensure(tg_id, "member")
            for wallet in wallets:
                ticket = f"TGT-{tg_id}-{wallet}-very-secret-ticket"
                await db.wallets.set_session(tg_id, wallet, cipher.encrypt(ticket, tg_id), now_utc())
    finally:
        await db.close()


async def test_healthy_installation(tmp_path: Path, telegram: FakeTelegram, qiwi_server: EmulatorServer) -> None:
    key = generate_key()
    # Two wallets each: every stored session is counted, not every member.
    await make_database(
        tmp_path / "data" / "bot.sqlite3",
        TicketCipher([decode_key(key)]),
        sessions=3,
        wallets=("79001112233", "79002223344"),
    )
    env = check_env(tmp_path, telegram, qiwi_server, ENCRYPTION_KEYS=key)
    result = await run_cli("check", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.rstrip().endswith("healthy")
    assert "FAIL" not in result.stdout
    assert "@qiwi_family_test_bot" in result.stdout  # getMe really went to the fake Bot API
    assert telegram.calls("getMe")
    for url in (qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url):
        assert url in result.stdout
    assert f"schema version {LATEST_VERSION}" in result.stdout
    assert "6 stored session(s)" in result.stdout
    assert "6 of 6 stored session(s) decrypt" in result.stdout
    for secret in (telegram.token, key, "very-secret-ticket"):
        assert secret not in result.output


async def test_dead_qiwi_url_and_wrong_token_are_unhealthy(
    tmp_path: Path, telegram: FakeTelegram, qiwi_server: EmulatorServer, cli_in_process: InProcessCli
) -> None:
    dead = dead_url()
    wrong_token = "987654321:AAWrongTokenWrongTokenWrongToken_0123"
    env = check_env(tmp_path, telegram, qiwi_server, QIWI_EDGE_URL=dead, BOT_TOKEN=wrong_token)
    result = await cli_in_process("check", "--timeout", "5", env=env, cwd=tmp_path)
    assert result.code == 1, result.output
    lines = result.stdout.splitlines()
    edge = next(line for line in lines if "QIWI_EDGE_URL" in line)
    assert edge.startswith("FAIL") and "unreachable" in edge and dead in edge
    auth = next(line for line in lines if "QIWI_AUTH_URL" in line)
    assert auth.startswith("ok")
    tg = next(line for line in lines if " telegram " in f" {line} ")
    assert tg.startswith("FAIL") and "BOT_TOKEN" in tg
    assert lines[-1].startswith("NOT healthy")
    assert wrong_token not in result.output
    assert "Traceback" not in result.output


async def test_offline_check_catches_a_lost_key_and_a_stale_heartbeat(
    tmp_path: Path, cli_in_process: InProcessCli
) -> None:
    data = tmp_path / "data"
    old_key = generate_key()
    await make_database(data / "bot.sqlite3", TicketCipher([decode_key(old_key)]), sessions=2)
    heartbeat = data / HEARTBEAT_NAME
    heartbeat.touch()
    stale = time.time() - 600
    os.utime(heartbeat, (stale, stale))
    env = base_env(
        BOT_TOKEN="1:x",
        DATABASE_PATH=str(data / "bot.sqlite3"),
        ENCRYPTION_KEYS=generate_key(),  # not the key the sessions were sealed with
        # Offline means offline: these would fail if they were contacted.
        TELEGRAM_API_URL=dead_url(),
        QIWI_AUTH_URL=dead_url(),
    )
    result = await run_cli("check", "--offline", "--max-heartbeat-age", "120", env=env, cwd=tmp_path)
    assert result.code == 1, result.output
    keys = next(line for line in result.stdout.splitlines() if " keys " in f" {line} ")
    assert keys.startswith("FAIL") and "2 cannot be decrypted" in keys
    beat = next(line for line in result.stdout.splitlines() if "heartbeat" in line)
    assert beat.startswith("FAIL")
    assert "telegram" not in result.stdout and "QIWI_AUTH_URL" not in result.stdout
    assert old_key not in result.output

    # The old key back (second, as during a rotation) and a fresh beat: healthy again.
    os.utime(heartbeat)
    env["ENCRYPTION_KEYS"] = f"{generate_key()},{old_key}"
    result = await cli_in_process("check", "--offline", "--max-heartbeat-age", "120", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert "2 under an older key" in result.stdout
