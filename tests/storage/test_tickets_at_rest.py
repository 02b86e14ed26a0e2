"""Stored tickets: encrypted on disk, and re-encrypted when keys rotate."""

from __future__ import annotations

import os
from pathlib import Path

from bot.crypto import TicketCipher
from bot.storage import Database
from bot.storage.rotation import rotate_tickets

from .conftest import NOW

TICKET = "TGT-25851-hMagtgtU4AdmmYJqtzUpf39WoEnwEMhKmGTBTHrYk3HSa0eHMZ-cas01.qiwi.com"


def _all_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_database_bytes_never_hold_the_plain_ticket(db_path: Path) -> None:
    cipher = TicketCipher([os.urandom(32)])
    db = await Database.open(db_path)
    await db.users.ensure(5, "member", now=NOW)
    blob = cipher.encrypt(TICKET, 5)
    await db.wallets.set_session(5, "79001112233", blob, NOW)
    second = cipher.encrypt(f"{TICKET}-second", 5)
    await db.wallets.set_session(5, "79002223344", second, NOW)  # a second wallet of the same member

    live = _all_bytes(db_path)  # the WAL holds it before the checkpoint
    assert blob in live and second in live
    assert TICKET.encode() not in live
    await db.backup(db_path.parent / "backup.sqlite3")
    await db.close()

    at_rest = _all_bytes(db_path) + (db_path.parent / "backup.sqlite3").read_bytes()
    assert blob in at_rest and second in at_rest
    assert TICKET.encode() not in at_rest
    assert b"hMagtgtU4AdmmYJqtzUpf39WoEnwEMhKmGTBTHrYk3HSa0eHMZ" not in at_rest


async def test_rotation_moves_every_ticket_to_the_new_key(db: Database) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    old = TicketCipher([old_key])
    for tg_id in (1, 2, 3):
        await db.users.ensure(tg_id, "member", now=NOW)
        await db.wallets.set_session(tg_id, f"7900111223{tg_id}", old.encrypt(f"{TICKET}-{tg_id}", tg_id), NOW)
    # member 1 has a second wallet: each of a member's tickets is rotated
    await db.wallets.set_session(1, "79009998877", old.encrypt(f"{TICKET}-1b", 1), NOW)
    # a blob no key opens: copied from another user's row
    await db.users.ensure(4, "member", now=NOW)
    await db.wallets.set_session(4, "79001112234", old.encrypt(TICKET, 1), NOW)

    both = TicketCipher([new_key, old_key])
    assert await rotate_tickets(db, both) == (4, 1)
    assert await rotate_tickets(db, both) == (0, 1)  # nothing left to do

    only_new = TicketCipher([new_key])
    expected = {(tg_id, f"7900111223{tg_id}"): f"{TICKET}-{tg_id}" for tg_id in (1, 2, 3)}
    expected[(1, "79009998877")] = f"{TICKET}-1b"
    for (tg_id, wallet), ticket in expected.items():
        stored = await db.wallets.get(tg_id, wallet)
        assert stored is not None and stored.tgt_ciphertext is not None
        assert only_new.decrypt(stored.tgt_ciphertext, tg_id) == ticket
        assert not only_new.needs_rotation(stored.tgt_ciphertext)
    user = await db.users.get(1)  # the current wallet reads the rotated blob too
    assert user is not None and user.wallet == "79009998877"
    assert only_new.decrypt(user.tgt_ciphertext, 1) == f"{TICKET}-1b"  # type: ignore[arg-type]
