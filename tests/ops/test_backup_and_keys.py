"""`backup` while the bot writes, and `rotate-key` leaving every session readable under the new key alone."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.crypto import TicketCipher, decode_key, generate_key
from bot.storage import Database
from bot.timeutil import now_utc

from .conftest import InProcessCli, base_env, poll_until, run_cli


def user_ids(path: Path) -> list[int]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [int(row[0]) for row in conn.execute("SELECT tg_id FROM users ORDER BY tg_id")]
    finally:
        conn.close()


async def test_backup_taken_while_writing_holds_every_committed_row(tmp_path: Path) -> None:
    source = tmp_path / "data" / "bot.sqlite3"
    db = await Database.open(source)
    committed = 0
    stop = asyncio.Event()

    async def writer() -> None:
        nonlocal committed
        while not stop.is_set():
            await db.users.ensure(committed + 1, "member")
            committed += 1  # counted only once the commit has returned
            await asyncio.sleep(0.005)  # a steady trickle, leaving CPU for the backup process

    task = asyncio.create_task(writer())
    try:
        await poll_until(lambda: committed >= 50, "the first rows")
        before = committed
        dest = tmp_path / "backups" / "copy.sqlite3"
        env = base_env(BOT_TOKEN="1:x", DATABASE_PATH=str(source))
        result = await run_cli("backup", str(dest), env=env, cwd=tmp_path)
        after = committed
    finally:
        stop.set()
        await task
        await db.close()
    assert result.code == 0, result.output
    assert "integrity check ok" in result.stdout
    assert after > before, "the writer must have kept committing during the backup"
    ids = user_ids(dest)
    # One consistent snapshot: every row committed before the backup began, and no gaps after that.
    assert ids == list(range(1, len(ids) + 1))
    assert before <= len(ids) <= after
    assert dest.stat().st_mode & 0o077 == 0, "the copy holds encrypted tickets: owner-only"
    assert not list(dest.parent.glob("*.partial"))


def test_backup_into_folder_refuses_overwrite_and_missing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "1:x")
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "missing.sqlite3"))
    assert main(["backup", str(tmp_path / "x.sqlite3")]) == 1
    assert "there is no database" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite3").exists(), "a backup must not create an empty database"

    source = tmp_path / "bot.sqlite3"
    asyncio.run(_seed(source, users=3))
    monkeypatch.setenv("DATABASE_PATH", str(source))
    folder = tmp_path / "nightly"  # not there yet: the trailing "/" says it is a folder
    assert main(["backup", f"{folder}/"]) == 0
    [made] = list(folder.glob("bot-*.sqlite3"))
    assert main(["backup", str(folder)]) == 0, "an existing folder needs no trailing /"
    assert len(list(folder.glob("bot-*.sqlite3"))) == 2  # even within the same second
    assert user_ids(made) == [1, 2, 3]
    capsys.readouterr()

    assert main(["backup", str(made)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["backup", "--force", str(made)]) == 0
    assert main(["backup", str(source)]) == 1
    assert "the database itself" in capsys.readouterr().err


async def _seed(path: Path, users: int) -> None:
    db = await Database.open(path)
    try:
        for tg_id in range(1, users + 1):
            await db.users.ensure(tg_id, "member")
    finally:
        await db.close()


async def _store_sessions(
    path: Path, tickets: dict[int, tuple[str, TicketCipher]], wallet: str = "79001112233"
) -> None:
    db = await Database.open(path)
    try:
        for tg_id, (ticket, cipher) in tickets.items():
            await db.users.ensure(tg_id, "member")
            await db.wallets.set_session(tg_id, wallet, cipher.encrypt(ticket, tg_id), now_utc())
    finally:
        await db.close()


async def _stored(path: Path) -> dict[tuple[int, str], bytes]:
    db = await Database.open(path)
    try:
        return {(tg_id, wallet): blob async for tg_id, wallet, blob in db.wallets.iter_ciphertexts()}
    finally:
        await db.close()


async def test_rotate_key_leaves_every_session_readable_with_the_new_key_alone(
    tmp_path: Path, cli_in_process: InProcessCli
) -> None:
    path = tmp_path / "data" / "bot.sqlite3"
    old, new, stranger = generate_key(), generate_key(), generate_key()
    old_cipher = TicketCipher([decode_key(old)])
    tickets = {tg_id: f"TGT-{tg_id}-secret" for tg_id in (11, 12, 13)}
    await _store_sessions(path, {tg_id: (ticket, old_cipher) for tg_id, ticket in tickets.items()})
    # A second wallet of member 11: every stored session counts, not every member.
    await _store_sessions(path, {11: ("TGT-11-second", old_cipher)}, wallet="79002223344")
    # A session sealed with a key nobody configured any more: reported, not silently dropped.
    await _store_sessions(path, {99: ("TGT-99-lost", TicketCipher([decode_key(stranger)]))})

    env = base_env(BOT_TOKEN="1:x", DATABASE_PATH=str(path), ENCRYPTION_KEYS=f"{new},{old}")
    result = await run_cli("rotate-key", env=env, cwd=tmp_path)
    assert result.code == 1, result.output
    assert "5 stored session(s): 4 re-encrypted now" in result.stdout
    assert "1 session(s) could not be decrypted" in result.stderr
    for secret in (old, new, stranger, "TGT-"):
        assert secret not in result.output

    new_only = TicketCipher([decode_key(new)])
    blobs = await _stored(path)
    readable = {(tg_id, "79001112233"): ticket for tg_id, ticket in tickets.items()}
    readable[(11, "79002223344")] = "TGT-11-second"
    for (tg_id, wallet), ticket in readable.items():
        assert new_only.decrypt(blobs[(tg_id, wallet)], tg_id) == ticket
        assert not new_only.needs_rotation(blobs[(tg_id, wallet)])

    db = await Database.open(path)
    await db.wallets.clear_session(99, "79001112233")
    await db.close()
    result = await cli_in_process("rotate-key", env=env, cwd=tmp_path)
    assert result.code == 0, result.output
    assert "4 stored session(s): 0 re-encrypted now, 4 under the first key" in result.stdout
    assert "older keys may be removed" in result.stdout
