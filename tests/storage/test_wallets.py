"""Several wallets per member (`wallets` table), and the step-5 migration that moved sessions there."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from aiogram.fsm.storage.base import StorageKey

from bot.storage import LATEST_VERSION, Database
from bot.storage.codec import dump_time
from bot.storage.connection import SQLite
from bot.storage.migrations import migrate, user_version

from .conftest import NOW

A = "79001112233"
B = "79002223344"
C = "79003334455"
MINUTE = timedelta(minutes=1)


async def _member(db: Database, tg_id: int = 5) -> None:
    await db.users.ensure(tg_id, "member", now=NOW)


async def _current(db: Database, tg_id: int = 5) -> str | None:
    user = await db.users.get(tg_id)
    assert user is not None
    return user.wallet


async def test_two_logins_keep_both_wallets_and_the_last_is_current(db: Database) -> None:
    await _member(db)
    await db.wallets.set_session(5, A, b"blob-a", NOW)
    assert await _current(db) == A
    await db.wallets.set_session(5, B, b"blob-b", NOW + MINUTE)

    user = await db.users.get(5)
    assert user is not None and user.wallet == B and user.tgt_ciphertext == b"blob-b"
    assert user.session_started_at == NOW + MINUTE
    listed = await db.wallets.list_for(5)
    assert [(w.wallet, w.tgt_ciphertext, w.session_started_at) for w in listed] == [
        (A, b"blob-a", NOW),
        (B, b"blob-b", NOW + MINUTE),
    ]
    assert all(w.tg_id == 5 and w.has_session for w in listed)
    assert [(w.tg_id, w.wallet) for w in await db.wallets.all_with_session()] == [(5, A), (5, B)]

    # Logging in to the first wallet again renews its session in place and makes it current again; the
    # listing keeps the order of first login.
    await db.wallets.set_session(5, A, b"blob-a2", NOW + 2 * MINUTE)
    assert await _current(db) == A
    listed = await db.wallets.list_for(5)
    assert [(w.wallet, w.tgt_ciphertext) for w in listed] == [(A, b"blob-a2"), (B, b"blob-b")]
    assert listed[0].created_at == NOW and listed[0].session_started_at == NOW + 2 * MINUTE
    count = await db.sql.fetchone("SELECT count(*) FROM wallets WHERE tg_id = 5")
    assert count is not None and count[0] == 2


async def test_clearing_the_current_wallet_makes_another_logged_in_one_current(db: Database) -> None:
    await _member(db)
    await db.wallets.set_session(5, A, b"a", NOW)
    await db.wallets.set_session(5, B, b"b", NOW + MINUTE)
    assert await db.wallets.clear_session(5, B) == A
    user = await db.users.get(5)
    assert user is not None and user.wallet == A and user.tgt_ciphertext == b"a"
    cleared = await db.wallets.get(5, B)
    assert cleared is not None and cleared.tgt_ciphertext is None and cleared.session_started_at is None

    # With several left, the most recently logged-in one takes over, and a logged-out one never does.
    await db.wallets.set_session(5, C, b"c", NOW + 2 * MINUTE)  # B is logged out, A older than C
    await db.wallets.set_session(5, B, b"b2", NOW + 3 * MINUTE)
    await db.wallets.set_session(5, A, b"a2", NOW + 4 * MINUTE)  # current: A; by login time B, then C
    assert await db.wallets.clear_session(5, A) == B
    assert await _current(db) == B
    assert await db.wallets.clear_session(5, B) == C
    assert await _current(db) == C

    # The last one logged out: it stays current (the member still sees which wallet they use), without a
    # session.
    assert await db.wallets.clear_session(5, C) == C
    user = await db.users.get(5)
    assert user is not None and user.wallet == C and not user.has_session
    assert await db.wallets.all_with_session() == []


async def test_clearing_a_wallet_that_is_not_current_keeps_the_current(db: Database) -> None:
    await _member(db)
    await db.wallets.set_session(5, A, b"a", NOW)
    await db.wallets.set_session(5, B, b"b", NOW + MINUTE)
    assert await db.wallets.clear_session(5, A) == B
    user = await db.users.get(5)
    assert user is not None and user.wallet == B and user.tgt_ciphertext == b"b"
    assert (await db.wallets.get(5, A)).tgt_ciphertext is None  # type: ignore[union-attr]
    assert await db.wallets.clear_session(5, "79990000000") == B  # not theirs: nothing changes
    assert await db.wallets.clear_session(999, A) is None  # nobody
    assert [w.wallet for w in await db.wallets.all_with_session()] == [B]


async def test_members_sharing_a_wallet_number_have_separate_sessions(db: Database) -> None:
    await _member(db, 5)
    await _member(db, 6)
    await db.wallets.set_session(5, A, b"five", NOW)
    await db.wallets.set_session(6, A, b"six", NOW)
    await db.wallets.set_notify(6, A, False)
    assert await db.wallets.clear_session(5, A) == A
    theirs = await db.users.get(6)
    assert theirs is not None and theirs.tgt_ciphertext == b"six" and theirs.notify is False
    mine = await db.users.get(5)
    assert mine is not None and not mine.has_session and mine.notify is True
    assert [(w.tg_id, w.wallet) for w in await db.wallets.all_with_session()] == [(6, A)]


async def test_set_current_wallet_only_to_a_wallet_the_member_has(db: Database) -> None:
    await _member(db, 5)
    await _member(db, 6)
    await db.wallets.set_session(5, A, b"a", NOW)
    await db.wallets.set_session(5, B, b"b", NOW + MINUTE)
    await db.wallets.set_session(6, C, b"c", NOW)

    assert not await db.users.set_current_wallet(5, C)  # another member's wallet
    assert not await db.users.set_current_wallet(5, "79990000000")  # nobody's
    assert await _current(db) == B

    assert await db.users.set_current_wallet(5, A)
    user = await db.users.get(5)
    assert user is not None and user.wallet == A and user.tgt_ciphertext == b"a"
    assert await _current(db, 6) == C

    # A logged-out wallet is still one of theirs: it can be chosen (its session then reads as absent).
    await db.wallets.clear_session(5, B)
    assert await db.users.set_current_wallet(5, B)
    user = await db.users.get(5)
    assert user is not None and user.wallet == B and not user.has_session

    await _member(db, 7)  # no wallet at all
    assert not await db.users.set_current_wallet(7, A)
    assert (await db.users.get(7)).current is None  # type: ignore[union-attr]


async def test_notify_and_last_seen_are_per_wallet(db: Database) -> None:
    await _member(db)
    await db.wallets.set_session(5, A, b"a", NOW)
    await db.wallets.set_session(5, B, b"b", NOW + MINUTE)

    assert await db.wallets.set_notify(5, A, False)
    assert await db.wallets.set_last_seen_txn(5, A, 100)
    assert await db.wallets.set_last_seen_txn(5, B, 200)
    a, b = await db.wallets.get(5, A), await db.wallets.get(5, B)
    assert a is not None and (a.notify, a.last_seen_txn_id) == (False, 100)
    assert b is not None and (b.notify, b.last_seen_txn_id) == (True, 200)
    user = await db.users.get(5)  # the user reads the current wallet's values
    assert user is not None and (user.wallet, user.notify, user.last_seen_txn_id) == (B, True, 200)
    assert await db.users.set_current_wallet(5, A)
    user = await db.users.get(5)
    assert user is not None and (user.wallet, user.notify, user.last_seen_txn_id) == (A, False, 100)

    # Touching one wallet leaves the other's activity alone.
    assert await db.wallets.touch(5, B, NOW + 10 * MINUTE)
    assert (await db.wallets.get(5, A)).last_activity_at == NOW  # type: ignore[union-attr]
    assert (await db.wallets.get(5, B)).last_activity_at == NOW + 10 * MINUTE  # type: ignore[union-attr]

    # A logout keeps what was seen, so a later login announces nothing twice; the login turns alerts on.
    await db.wallets.clear_session(5, A)
    await db.wallets.set_session(5, A, b"a2", NOW + 20 * MINUTE)
    a = await db.wallets.get(5, A)
    assert a is not None and (a.notify, a.last_seen_txn_id) == (True, 100)
    assert (await db.wallets.get(5, B)).last_seen_txn_id == 200  # type: ignore[union-attr]

    assert await db.wallets.set_last_seen_txn(5, B, None)
    assert (await db.wallets.get(5, B)).last_seen_txn_id is None  # type: ignore[union-attr]
    assert not await db.wallets.set_notify(5, C, False)
    assert not await db.wallets.set_last_seen_txn(5, C, 1)
    assert not await db.wallets.touch(5, C, NOW)


async def test_remove_deletes_every_wallet_of_the_member(db: Database) -> None:
    await _member(db, 5)
    await _member(db, 6)
    await db.wallets.set_session(5, A, b"secret-a", NOW)
    await db.wallets.set_session(5, B, b"secret-b", NOW)
    await db.wallets.clear_session(5, B)  # a logged-out wallet row goes too
    await db.wallets.set_session(6, A, b"theirs", NOW)
    await db.fsm.set_state(StorageKey(bot_id=1, chat_id=5, user_id=5), "Transfer:amount")

    assert await db.users.remove(5)
    assert await db.wallets.list_for(5) == []
    assert await db.wallets.get(5, A) is None and await db.wallets.get(5, B) is None
    rows = await db.sql.fetchall("SELECT tg_id, wallet, tgt_ciphertext FROM wallets")
    assert [(row[0], row[1], bytes(row[2])) for row in rows] == [(6, A, b"theirs")]
    assert [(w.tg_id, w.wallet) for w in await db.wallets.all_with_session()] == [(6, A)]
    assert [row async for row in db.wallets.iter_ciphertexts()] == [(6, A, b"theirs")]


# --- migration from schema version 4 (sessions in `users`) ------------------------------------------------

OLD_USER_COLUMNS = (
    "tg_id, role, language, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify, "
    "last_seen_txn_id, created_at"
)


async def _columns(sql: SQLite, table: str) -> set[str]:
    return {row[1] for row in await sql.fetchall(f"PRAGMA table_info({table})")}


async def test_step_5_moves_every_session_into_wallets(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    created = dump_time(NOW - timedelta(days=30))
    started, active = dump_time(NOW), dump_time(NOW + 5 * MINUTE)
    old_rows = [
        # logged in, alerts off, a payment already announced
        (1, "member", "en", A, b"\x01ticket-one", started, active, 0, 555, created),
        # logged in to another wallet, alerts on, nothing seen yet
        (2, "admin", None, B, b"\x01ticket-two", started, started, 1, None, created),
        # logged out: the wallet is still known, with what was seen
        (3, "member", "ru", C, None, None, active, 1, 77, created),
        # never logged in
        (4, "member", None, None, None, None, None, 1, None, created),
    ]

    sql = await SQLite.connect(db_path)
    try:
        assert await migrate(sql, 4) == 4
        assert "tgt_ciphertext" in await _columns(sql, "users")
        assert "wallets" not in {
            row[0] for row in await sql.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for row in old_rows:
            await sql.execute(f"INSERT INTO users ({OLD_USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)

        assert await migrate(sql) == LATEST_VERSION
        assert await user_version(sql) == LATEST_VERSION

        wallets = await sql.fetchall(
            "SELECT tg_id, wallet, tgt_ciphertext, session_started_at, last_activity_at, notify, last_seen_txn_id,"
            " created_at FROM wallets ORDER BY tg_id"
        )
        assert [tuple(row) for row in wallets] == [
            (1, A, b"\x01ticket-one", started, active, 0, 555, started),
            (2, B, b"\x01ticket-two", started, started, 1, None, started),
            (3, C, None, None, active, 1, 77, created),  # no session: first seen when the member was
        ]
        users = await sql.fetchall(
            "SELECT tg_id, role, language, current_wallet, first_name, username, created_at FROM users ORDER BY tg_id"
        )
        assert [tuple(row) for row in users] == [
            (1, "member", "en", A, "", None, created),
            (2, "admin", None, B, "", None, created),
            (3, "member", "ru", C, "", None, created),
            (4, "member", None, None, "", None, created),
        ]

        user_columns = await _columns(sql, "users")
        assert user_columns == {"tg_id", "role", "language", "current_wallet", "created_at", "first_name", "username"}
        for gone in (
            "wallet",
            "tgt_ciphertext",
            "session_started_at",
            "last_activity_at",
            "notify",
            "last_seen_txn_id",
        ):
            assert gone not in user_columns
        indexes = {row[0] for row in await sql.fetchall("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "users_with_session" not in indexes and "wallets_with_session" in indexes
        integrity = await sql.fetchone("PRAGMA integrity_check")
        assert integrity is not None and integrity[0] == "ok"
    finally:
        await sql.close()

    # The repositories read the moved sessions back as before.
    async with await Database.open(db_path) as db:
        one = await db.users.get(1)
        assert one is not None and one.wallet == A and one.tgt_ciphertext == b"\x01ticket-one"
        assert (one.session_started_at, one.last_activity_at) == (NOW, NOW + 5 * MINUTE)
        assert (one.notify, one.last_seen_txn_id) == (False, 555)
        three = await db.users.get(3)
        assert three is not None and three.wallet == C and not three.has_session and three.last_seen_txn_id == 77
        never = await db.users.get(4)
        assert never is not None and never.current is None and never.wallet is None and never.notify is True
        assert await db.wallets.list_for(4) == []
        assert [(w.tg_id, w.wallet) for w in await db.wallets.all_with_session()] == [(1, A), (2, B)]
        assert [row async for row in db.wallets.iter_ciphertexts()] == [
            (1, A, b"\x01ticket-one"),
            (2, B, b"\x01ticket-two"),
        ]
