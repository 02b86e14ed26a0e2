"""Every command as an operator meets it: one clear line for a bad setting, --help everywhere, no tracebacks."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx
import pytest

from bot.crypto import decode_key

from .conftest import REPO_ROOT, base_env, run_cli

NEEDS_SETTINGS = [[], ["run"], ["check"], ["check", "--offline"], ["backup", "copy.sqlite3"], ["rotate-key"]]


def assert_one_line(text: str, *must_contain: str) -> None:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    for fragment in must_contain:
        assert fragment in lines[0]


@pytest.mark.parametrize("args", NEEDS_SETTINGS, ids=lambda a: " ".join(a) or "default")
async def test_missing_bot_token_is_one_line_naming_it(tmp_path: Path, args: list[str]) -> None:
    result = await run_cli(*args, env=base_env(), cwd=tmp_path)
    assert result.code == 2
    assert result.stdout == ""
    assert_one_line(result.stderr, "BOT_TOKEN", "@BotFather")
    assert not (tmp_path / "data").exists(), "a failed start must not create the data folder"


@pytest.mark.parametrize("args", NEEDS_SETTINGS, ids=lambda a: " ".join(a) or "default")
async def test_invalid_admin_ids_is_one_line_naming_it(tmp_path: Path, args: list[str], token: str) -> None:
    env = base_env(BOT_TOKEN=token, ADMIN_IDS="12345,not-a-number")
    result = await run_cli(*args, env=env, cwd=tmp_path)
    assert result.code == 2
    assert_one_line(result.stderr, "ADMIN_IDS")
    assert "not-a-number" not in result.output
    assert token not in result.output


async def test_settings_come_from_dotenv_in_working_folder(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TOKEN=1:x\nLOG_LEVEL=LOUD\n")
    result = await run_cli("check", "--offline", env=base_env(), cwd=tmp_path)
    assert result.code == 2
    assert_one_line(result.stderr, "LOG_LEVEL")


async def test_webhook_without_secret_refuses_to_start(tmp_path: Path, token: str) -> None:
    env = base_env(BOT_TOKEN=token, WEBHOOK_URL="https://bot.example.test/tg")
    for args in ([], ["check", "--offline"]):
        result = await run_cli(*args, env=env, cwd=tmp_path)
        assert result.code == 2
        assert_one_line(result.stderr, "WEBHOOK_SECRET", "WEBHOOK_URL")


async def test_invalid_encryption_key_is_one_line_without_the_key(tmp_path: Path, token: str) -> None:
    bad_key = "c2hvcnQta2V5LXNlY3JldA"  # valid base64, 16 bytes: wrong length
    env = base_env(BOT_TOKEN=token, ENCRYPTION_KEYS=bad_key)
    for args in (["check", "--offline"], ["rotate-key"]):
        result = await run_cli(*args, env=env, cwd=tmp_path)
        assert result.code == 2, result.output
        assert_one_line(result.stderr, "ENCRYPTION_KEYS")
        assert bad_key not in result.output


async def test_rotate_key_without_encryption_keys_explains_and_touches_nothing(tmp_path: Path) -> None:
    result = await run_cli("rotate-key", env=base_env(BOT_TOKEN="1:x"), cwd=tmp_path)
    assert result.code == 0, result.output
    assert "ENCRYPTION_KEYS is unset" in result.stdout and "Key rotation" in result.stdout
    assert not (tmp_path / "data").exists(), "no key file and no database may appear"


@pytest.mark.parametrize(
    "args", [[], ["run"], ["console"], ["sandbox"], ["check"], ["backup"], ["rotate-key"], ["genkey"]]
)
async def test_every_command_has_help(tmp_path: Path, args: list[str]) -> None:
    result = await run_cli(*args, "--help", env=base_env(), cwd=tmp_path)
    assert result.code == 0, result.output
    assert result.stdout.startswith("usage:")
    assert "Traceback" not in result.output


async def test_top_level_help_lists_every_command(tmp_path: Path) -> None:
    result = await run_cli("--help", env=base_env(), cwd=tmp_path)
    for command in ("run", "console", "sandbox", "check", "backup", "rotate-key", "genkey"):
        assert f"    {command}" in result.stdout


async def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    result = await run_cli("frobnicate", env=base_env(), cwd=tmp_path)
    assert result.code == 2
    assert "invalid choice" in result.stderr
    assert "Traceback" not in result.output


async def test_genkey_needs_no_token_and_prints_fresh_valid_keys(tmp_path: Path) -> None:
    first = await run_cli("genkey", env=base_env(), cwd=tmp_path)
    second = await run_cli("genkey", env=base_env(), cwd=tmp_path)
    assert first.code == second.code == 0
    keys = [first.stdout.strip(), second.stdout.strip()]
    assert keys[0] != keys[1]
    for key in keys:
        assert len(decode_key(key)) == 32


async def test_sandbox_needs_no_token_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "sandbox",
        env=base_env(),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    urls: dict[str, str] = {}
    try:
        async with asyncio.timeout(30):
            while len(urls) < 3:
                line = (await process.stdout.readline()).decode()
                assert line, "the sandbox exited before printing its URLs"
                if line.startswith("QIWI_") and "=" in line:
                    name, value = line.strip().split("=", 1)
                    urls[name] = value
        assert set(urls) == {"QIWI_AUTH_URL", "QIWI_WEB_URL", "QIWI_EDGE_URL"}
        async with httpx.AsyncClient() as http:
            answer = await http.post(
                f"{urls['QIWI_AUTH_URL']}/cas/tgts",
                json={"login": "79001112233", "password": "demo-password"},
                headers={"Accept": "application/vnd.qiwi.sso-v1+json", "Content-Type": "application/json"},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["entity"]["ticket"].startswith("TGT-")
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(15):
            rest, errors = await process.communicate()
    assert process.returncode == 0
    assert "Traceback" not in (rest + errors).decode()


def test_console_script_entry_point_is_the_cli() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    assert 'qiwi-bot = "bot.__main__:main"' in pyproject
    from bot.__main__ import main
    from bot.cli import main as cli_main

    assert main is cli_main


@pytest.mark.parametrize("value", ["1e30", "nan", "inf", "-5", "0", "abc"])
async def test_insane_transfer_limit_is_one_line_naming_it(tmp_path: Path, token: str, value: str) -> None:
    env = base_env(BOT_TOKEN=token, TRANSFER_LIMIT=value, KEY_FILE=tmp_path / "data" / "secret.key")
    result = await run_cli("check", "--offline", env=env, cwd=tmp_path)
    assert result.code == 2, result.output
    assert result.stdout == ""
    assert_one_line(result.stderr, "TRANSFER_LIMIT", "10000000", "e.g. 99999")
    assert f" {value} " not in result.stderr and f"'{value}'" not in result.stderr
    assert not (tmp_path / "data").exists()


async def test_key_file_that_is_a_folder_is_one_line_and_the_folder_untouched(tmp_path: Path, token: str) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    folder.chmod(0o755)
    env = base_env(BOT_TOKEN=token, KEY_FILE=folder, DATABASE_PATH=tmp_path / "db" / "bot.sqlite3")
    for args in ([], ["check", "--offline"]):
        result = await run_cli(*args, env=env, cwd=tmp_path)
        assert result.code == 2, result.output
        assert_one_line(result.stderr, "KEY_FILE", "is a folder", "point KEY_FILE at a file")
        assert oct(folder.stat().st_mode & 0o777) == oct(0o755)
        assert list(folder.iterdir()) == []
    assert not (tmp_path / "db").exists()
