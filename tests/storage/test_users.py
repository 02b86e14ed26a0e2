from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.storage import Database

from .conftest import NOW

A = "79001112233"
B = "79002223344"


async def test_ensure_creates_and_keeps_an_admin_an_admin(db: Database) -> None:
    assert await db.users.get(1) is None
    member = await db.users.ensure(1, "member", now=NOW)
    assert (member.tg_id, member.role, member.notify, member.wallet) == (1, "member", True, None)
    assert (member.first_name, member.username, member.current, member.has_session) == ("", None, None, False)
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
    assert await db.wallets.get(5, A) is None
    assert not await db.wallets.set_notify(5, A, False)  # no such wallet yet: nothing to change
    assert not await db.wallets.set_last_seen_txn(5, A, 111)
    moscow = NOW.astimezone(timezone(timedelta(hours=3)))
    await db.wallets.set_session(5, A, b"\x01blob", moscow)

    user = await db.users.get(5)
    assert user is not None and user.has_session
    assert user.wallet == A
    assert user.tgt_ciphertext == b"\x01blob"
    assert user.session_started_at == NOW and user.last_activity_at == NOW
    assert user.session_started_at.tzinfo is not None  # type: ignore[union-attr]
    assert user.notify is True  # alerts are on after login
    assert user.last_seen_txn_id is None  # a wallet never seen before
    assert user.current == await db.wallets.get(5, A)

    assert await db.wallets.set_notify(5, A, False)
    assert await db.wallets.set_last_seen_txn(5, A, 222)
    assert (await db.users.get(5)).notify is False  # type: ignore[union-attr]
    await db.wallets.set_session(5, A, b"\x01again", NOW + timedelta(minutes=1))
    user = await db.users.get(5)
    assert user is not None and user.tgt_ciphertext == b"\x01again"
    assert user.session_started_at == NOW + timedelta(minutes=1)
    assert user.notify is True  # a fresh login switches alerts back on
    assert user.last_seen_txn_id == 222  # same wallet: nothing is announced twice

    await db.wallets.set_session(5, B, b"\x01other", NOW + timedelta(minutes=2))
    user = await db.users.get(5)
    assert user is not None and user.wallet == B and user.tgt_ciphertext == b"\x01other"
    assert user.last_seen_txn_id is None  # another wallet: its old history is not news
    kept = await db.wallets.get(5, A)  # the first wallet's session is not touched by the second login
    assert kept is not None and kept.tgt_ciphertext == b"\x01again" and kept.last_seen_txn_id == 222

    later = NOW + timedelta(minutes=5)
    assert await db.wallets.touch(5, B, later)
    assert (await db.users.get(5)).last_activity_at == later  # type: ignore[union-attr]
    assert (await db.wallets.get(5, A)).last_activity_at == NOW + timedelta(minutes=1)  # type: ignore[union-attr]

    assert [(w.tg_id, w.wallet) for w in await db.wallets.all_with_session()] == [(5, A), (5, B)]
    assert await db.wallets.clear_session(5, B) == A  # the other logged-in wallet takes over
    assert await db.wallets.clear_session(5, A) == A  # none left: the wallet stays current, logged out
    assert await db.wallets.clear_session(5, A) == A
    user = await db.users.get(5)
    assert user is not None and not user.has_session and user.session_started_at is None
    assert user.wallet == A
    assert await db.wallets.all_with_session() == []
    # Logged out, but still known: /wallets can offer them again.
    assert [(w.wallet, w.tgt_ciphertext) for w in await db.wallets.list_for(5)] == [(A, None), (B, None)]


async def test_naive_datetimes_are_refused(db: Database) -> None:
    await db.users.ensure(5, "member", now=NOW)
    with pytest.raises(ValueError, match="naive"):
        await db.wallets.set_session(5, A, b"x", NOW.replace(tzinfo=None))
    await db.wallets.set_session(5, A, b"x", NOW)
    with pytest.raises(ValueError, match="naive"):
        await db.wallets.touch(5, A, NOW.replace(tzinfo=None))
    assert (await db.users.get(5)).last_activity_at == NOW  # type: ignore[union-attr]


async def test_language_name_notify_and_unknown_users(db: Database) -> None:
    await db.users.ensure(3, "member", now=NOW)
    assert await db.users.set_language(3, "en")
    assert (await db.users.get(3)).language == "en"  # type: ignore[union-attr]
    assert await db.users.set_name(3, "Анна", "anna")
    user = await db.users.get(3)
    assert user is not None and (user.first_name, user.username) == ("Анна", "anna")
    assert await db.users.set_name(3, "Anna", None)
    user = await db.users.get(3)
    assert user is not None and (user.first_name, user.username) == ("Anna", None)
    await db.wallets.set_session(3, A, b"x", NOW)
    assert await db.wallets.set_notify(3, A, False)
    assert (await db.users.get(3)).notify is False  # type: ignore[union-attr]
    assert not await db.wallets.set_notify(3, B, False)  # not one of their wallets
    assert not await db.users.set_language(999, "ru")
    assert not await db.users.set_name(999, "X", None)
    assert not await db.wallets.touch(999, A, NOW)
    assert not await db.wallets.set_notify(999, A, True)
    assert not await db.wallets.set_last_seen_txn(999, A, 1)
    assert not await db.users.set_current_wallet(999, A)
    assert await db.users.get(999) is None


async def test_no_session_is_stored_for_an_unknown_user(db: Database) -> None:
    # A /login that finishes after the member was removed must not leave a live ticket behind.
    assert not await db.wallets.set_session(999, A, b"x", NOW)
    assert await db.users.get(999) is None
    assert await db.wallets.get(999, A) is None
    assert await db.wallets.all_with_session() == []


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
    await db.wallets.set_session(42, A, b"secret-blob", NOW)
    await db.wallets.set_session(42, B, b"secret-blob-2", NOW)
    await db.wallets.set_session(43, A, b"their-blob", NOW)
    mine = StorageKey(bot_id=1, chat_id=42, user_id=42)
    theirs = StorageKey(bot_id=1, chat_id=43, user_id=43)
    await db.fsm.set_state(mine, "Transfer:amount")
    await db.fsm.set_state(theirs, "Transfer:amount")

    assert await db.users.remove(42)
    assert not await db.users.remove(42)
    assert await db.users.get(42) is None
    assert await db.wallets.list_for(42) == []
    assert await db.fsm.get_state(mine) is None
    assert await db.fsm.get_state(theirs) == "Transfer:amount"
    rows = await db.sql.fetchall("SELECT tg_id, tgt_ciphertext FROM wallets")
    assert [(row[0], bytes(row[1])) for row in rows] == [(43, b"their-blob")]
    assert (await db.users.get(43)).tgt_ciphertext == b"their-blob"  # type: ignore[union-attr]


async def test_ciphertext_iteration_and_compare_and_swap(db: Database) -> None:
    for tg_id in (1, 2, 3):
        await db.users.ensure(tg_id, "member", now=NOW)
    await db.wallets.set_session(1, A, b"one", NOW)
    await db.wallets.set_session(1, B, b"one-b", NOW)
    await db.wallets.set_session(3, B, b"three", NOW)
    await db.wallets.set_session(2, A, b"two", NOW)
    await db.wallets.clear_session(2, A)  # logged out: no blob to iterate
    assert [row async for row in db.wallets.iter_ciphertexts()] == [(1, A, b"one"), (1, B, b"one-b"), (3, B, b"three")]

    assert not await db.wallets.replace_ciphertext(1, A, b"new", expected=b"stale")
    assert (await db.wallets.get(1, A)).tgt_ciphertext == b"one"  # type: ignore[union-attr]
    assert not await db.wallets.replace_ciphertext(1, A, b"new", expected=b"one-b")  # another wallet's blob
    assert await db.wallets.replace_ciphertext(1, A, b"new", expected=b"one")
    assert (await db.wallets.get(1, A)).tgt_ciphertext == b"new"  # type: ignore[union-attr]
    assert (await db.wallets.get(1, B)).tgt_ciphertext == b"one-b"  # type: ignore[union-attr]
    assert await db.wallets.replace_ciphertext(3, B, b"newer", expected=b"three")
    assert (await db.users.get(3)).tgt_ciphertext == b"newer"  # type: ignore[union-attr]
    assert not await db.wallets.replace_ciphertext(2, A, b"x", expected=b"two")  # no session: nothing to replace
    assert (await db.wallets.get(2, A)).tgt_ciphertext is None  # type: ignore[union-attr]
    assert not await db.wallets.replace_ciphertext(9, A, b"x", expected=b"one")


async def test_times_come_back_aware_in_utc(db: Database) -> None:
    user = await db.users.ensure(1, "member", now=NOW.astimezone(timezone(timedelta(hours=-5))))
    assert user.created_at == NOW
    assert user.created_at.utcoffset() == UTC.utcoffset(None)


async def test_the_cached_row_follows_every_write(db: Database) -> None:
    """Each update reads its user from memory; whatever the repositories write is what the next read sees."""
    await db.users.ensure(7, "member", now=NOW)
    assert (await db.users.get(7)).current is None  # type: ignore[union-attr]
    await db.wallets.set_session(7, A, b"blob", NOW)
    user = await db.users.get(7)
    assert user is not None and user.wallet == A and user.tgt_ciphertext == b"blob"
    await db.wallets.touch(7, A, NOW + timedelta(minutes=5))
    user = await db.users.get(7)
    assert user is not None and user.last_activity_at == NOW + timedelta(minutes=5)
    await db.wallets.set_notify(7, A, False)
    assert (await db.users.get(7)).notify is False  # type: ignore[union-attr]
    await db.users.set_name(7, "Rita", "rita")
    await db.users.set_language(7, "en")
    user = await db.users.get(7)
    assert user is not None and (user.first_name, user.username, user.language) == ("Rita", "rita", "en")
    await db.wallets.clear_session(7, A)
    assert (await db.users.get(7)).tgt_ciphertext is None  # type: ignore[union-attr]
    await db.users.remove(7)
    assert await db.users.get(7) is None


async def test_outsiders_do_not_grow_the_cache_without_bound() -> None:
    from bot.storage.user_cache import UserCache

    cache = UserCache(size=100)
    for tg_id in range(1000):
        cache.put(tg_id, None)
    assert cache.get(999) == (True, None) and cache.get(0) == (False, None)
    assert len(cache._rows) == 100
