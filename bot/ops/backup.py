"""`python -m bot backup PATH`: an online copy of the database, verified before it is called a backup."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.storage.connection import SQLite


class BackupError(Exception):
    """One line for the operator."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    size: int
    schema_version: int


def destination(path: str | Path, now: datetime | None = None) -> Path:
    """A folder (an existing one, or any path ending in "/") gets a timestamped file inside it, so a cron
    line can stay the same every night."""
    text = str(path)
    folder = Path(text)
    if folder.is_dir() or text.endswith(("/", os.sep)):
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        candidate = folder / f"bot-{stamp}.sqlite3"
        counter = 1
        while candidate.exists():  # two backups within one second
            counter += 1
            candidate = folder / f"bot-{stamp}-{counter}.sqlite3"
        return candidate
    return folder


def verify_copy(path: Path) -> int:
    """Runs SQLite's own consistency check on the copy; returns its schema version."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as error:
        raise BackupError(f"the copy {path} is not a valid database ({error})") from None
    finally:
        conn.close()
    problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
    if problems:
        raise BackupError(f"the copy {path} failed PRAGMA integrity_check: {problems[0]}")
    return version


def plan_target(source: Path, dest: str | Path, *, overwrite: bool) -> Path:
    if not source.is_file():
        raise BackupError(f"there is no database at {source} (check DATABASE_PATH)")
    target = destination(dest)
    if target.resolve() == source.resolve():
        raise BackupError("the backup path is the database itself; choose another file or folder")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists; pass --force to replace it, or choose a folder")
    return target


async def backup_database(source: Path, dest: str | Path, *, overwrite: bool = False) -> BackupReport:
    """Copies without migrating: a backup taken before an upgrade must keep the old schema."""
    target = plan_target(source, dest, overwrite=overwrite)
    sql = await SQLite.connect(source)
    try:
        await sql.backup(target)
    finally:
        await sql.close()
    try:
        version = verify_copy(target)
    except BackupError:
        target.unlink(missing_ok=True)
        raise
    return BackupReport(target, _size(target), version)


def _size(path: Path) -> int:
    return path.stat().st_size
