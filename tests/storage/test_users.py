from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Database

from .conftest import NOW


async def test_ensure_creates_and_keeps_an_admin_an_admin(db: Database) -> None:
    assert await db.users.get(1) is None
    member = await db.users.ensure(1, "member", now=NOW)
    assert (member.tg_id, member.role, member.notify, member.wallet) == (1, "member", True, None)
    assert member.created_at == NOW and member.created_at.tzinfo is not None

    promoted = await db.users.ensure(1, "admin", now=NOW + timedelta(days=1))
    assert promoted.role == "admin"
    assert promoted.created_at == NOW  # not a new user

    still_admin = await db.users.ensure(1, "member")
    assert still_admin.role == "admin"
    assert await db.users.set_role(1, "member")
    assert (await db.users.get(1)).role == "member"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        await db.users.ensure(2, "owner")  # type: ignore[arg-type]


async def test_session_lifecycle(db: Database) -> None:
    await db.users.ensure(5, "member", now=NOW)
    await db.users.set_notify(5, False)
    await db.users.set_last_seen_txn(5, 111)
    moscow = NOW.astimezone(timezone(timedelta(hours=3)))
    assert await db.users.set_session(5, "79001112233", b"\x01blob", moscow)

    user = await db.users.get(5)
    assert user is not None and user.has_session
    assert user.wallet == "79001112233"
    assert user.tgt_ciphertext == b"\x01blob"
    assert user.session_started_at == NOW and user.last_activity_at == NOW
    assert user.session_started_at.tzinfo is not None  # type: ignore[union-attr]
    assert user.notify is True  # alerts are on after login
    assert user.last_seen_txn_id is None  # a different wallet than before (none)

    await db.users.set_last_seen_txn(5, 222)
    assert await db.users.set_session(5, "79001112233", b"\x01again", NOW)
    assert (await db.users.get(5)).last_seen_txn_id == 222  # type: ignore[union-attr]  # same wallet
    assert await db.users.set_session(5, "79002223344", b"\x01other", NOW)
    assert (await db.users.get(5)).last_seen_txn_id is None  # type: ignore[union-attr]

    later = NOW + timedelta(minutes=5)
    assert await db.users.touch(5, later)
    assert (await db.users.get(5)).last_activity_at == later  # type: ignore[union-attr]

    assert [u.tg_id for u in await db.users.all_with_session()] == [5]
    assert await db.users.clear_session(5)
    assert not await db.users.clear_session(5)
    user = await db.users.get(5)
    assert user is not None and not user.has_session and user.session_started_at is None
    assert user.wallet == "79002223344"
    assert await db.users.all_with_session() == []


async def test_naive_datetimes_are_refused(db: Database) -> None:
    await db.users.ensure(5, "member", now=NOW)
    with pytest.raises(ValueError, match="naive"):
        await db.users.touch(5, NOW.replace(tzinfo=None))


async def test_language_notify_and_unknown_users(db: Database) -> None:
    await db.users.ensure(3, "member", now=NOW)
    assert await db.users.set_language(3, "en")
    assert (await db.users.get(3)).language == "en"  # type: ignore[union-attr]
    assert await db.users.set_notify(3, False)
    assert (await db.users.get(3)).notify is False  # type: ignore[union-attr]
    assert not await db.users.set_language(999, "ru")
    assert not await db.users.touch(999, NOW)
    assert not await db.users.set_session(999, "79001112233", b"x", NOW)
    assert await db.users.get(999) is None


async def test_members_listing_and_count(db: Database) -> None:
    await db.users.ensure(10, "admin", now=NOW)
    await db.users.ensure(30, "member", now=NOW + timedelta(seconds=2))
    await db.users.ensure(20, "member", now=NOW + timedelta(seconds=1))
    assert [u.tg_id for u in await db.users.list_members()] == [20, 30]
    assert [u.tg_id for u in await db.users.list_all()] == [10, 20, 30]
    assert await db.users.count() == 3
    assert await db.users.count("member") == 2
    assert await db.users.count("admin") == 1


async def test_remove_deletes_session_and_dialog_state(db: Database) -> None:
    await db.users.ensure(42, "member", now=NOW)
    await db.users.ensure(43, "member", now=NOW)
    await db.users.set_session(42, "79001112233", b"secret-blob", NOW)
    mine = StorageKey(bot_id=1, chat_id=42, user_id=42)
    theirs = StorageKey(bot_id=1, chat_id=43, user_id=43)
    await db.fsm.set_state(mine, "Transfer:amount")
    await db.fsm.set_state(theirs, "Transfer:amount")

    assert await db.users.remove(42)
    assert not await db.users.remove(42)
    assert await db.users.get(42) is None
    assert await db.fsm.get_state(mine) is None
    assert await db.fsm.get_state(theirs) == "Transfer:amount"
    rows = await db.sql.fetchall("SELECT tgt_ciphertext FROM users")
    assert all(row[0] != b"secret-blob" for row in rows)


async def test_ciphertext_iteration_and_compare_and_swap(db: Database) -> None:
    for tg_id in (1, 2, 3):
        await db.users.ensure(tg_id, "member", now=NOW)
    await db.users.set_session(1, "79001112233", b"one", NOW)
    await db.users.set_session(3, "79001112234", b"three", NOW)
    assert [pair async for pair in db.users.iter_ciphertexts()] == [(1, b"one"), (3, b"three")]

    assert not await db.users.replace_ciphertext(1, b"new", expected=b"stale")
    assert (await db.users.get(1)).tgt_ciphertext == b"one"  # type: ignore[union-attr]
    assert await db.users.replace_ciphertext(1, b"new", expected=b"one")
    assert (await db.users.get(1)).tgt_ciphertext == b"new"  # type: ignore[union-attr]
    assert await db.users.replace_ciphertext(3, b"newer")
    assert not await db.users.replace_ciphertext(2, b"x")  # no session: nothing to replace
    assert (await db.users.get(2)).tgt_ciphertext is None  # type: ignore[union-attr]


async def test_times_come_back_aware_in_utc(db: Database) -> None:
    user = await db.users.ensure(1, "member", now=NOW.astimezone(timezone(timedelta(hours=-5))))
    assert user.created_at == NOW
    assert user.created_at.utcoffset() == UTC.utcoffset(None)
