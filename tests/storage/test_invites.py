from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import pytest

from bot.storage import Database

from .conftest import NOW

DAY = timedelta(hours=24)


async def test_create_and_get(db: Database) -> None:
    invite = await db.invites.create("abc", created_by=1, now=NOW, ttl=DAY)
    assert (invite.code, invite.created_by, invite.used_by, invite.used_at) == ("abc", 1, None, None)
    assert invite.expires_at == NOW + DAY
    assert await db.invites.get("abc") == invite
    with pytest.raises(sqlite3.IntegrityError):
        await db.invites.create("abc", created_by=1, now=NOW, ttl=DAY)
    with pytest.raises(ValueError):
        await db.invites.create("zero", created_by=1, now=NOW, ttl=timedelta(0))


async def test_consume_makes_a_member_once(db: Database) -> None:
    await db.invites.create("abc", created_by=1, now=NOW, ttl=DAY)
    assert await db.invites.consume("abc", 50, NOW + timedelta(hours=1))
    user = await db.users.get(50)
    assert user is not None and user.role == "member"
    invite = await db.invites.get("abc")
    assert invite is not None and invite.used_by == 50 and invite.used_at == NOW + timedelta(hours=1)

    assert not await db.invites.consume("abc", 51, NOW + timedelta(hours=1))
    assert not await db.invites.consume("abc", 50, NOW + timedelta(hours=1))
    assert await db.users.get(51) is None
    assert not await db.invites.consume("unknown", 52, NOW)


async def test_expired_code_is_refused(db: Database) -> None:
    await db.invites.create("old", created_by=1, now=NOW, ttl=DAY)
    assert not await db.invites.consume("old", 60, NOW + DAY)
    assert await db.users.get(60) is None
    assert await db.invites.consume("old", 60, NOW + DAY - timedelta(seconds=1))


async def test_an_admin_using_an_invite_stays_admin(db: Database) -> None:
    await db.users.ensure(1, "admin", now=NOW)
    await db.invites.create("abc", created_by=1, now=NOW, ttl=DAY)
    assert await db.invites.consume("abc", 1, NOW)
    assert (await db.users.get(1)).role == "admin"  # type: ignore[union-attr]


async def test_concurrent_consumers_one_winner(db: Database) -> None:
    await db.invites.create("race", created_by=1, now=NOW, ttl=DAY)
    others = [await Database.open(db.path) for _ in range(3)]
    try:
        handles = [db, *others]
        results = await asyncio.gather(
            *(handles[i % len(handles)].invites.consume("race", 100 + i, NOW) for i in range(12))
        )
    finally:
        for other in others:
            await other.close()
    assert results.count(True) == 1
    winner = 100 + results.index(True)
    assert [u.tg_id for u in await db.users.list_members()] == [winner]


async def test_active_list_and_cleanup(db: Database) -> None:
    await db.invites.create("fresh", created_by=1, now=NOW, ttl=DAY)
    await db.invites.create("stale", created_by=1, now=NOW - 2 * DAY, ttl=DAY)
    await db.invites.create("used", created_by=1, now=NOW - 2 * DAY, ttl=DAY)
    assert await db.invites.consume("used", 7, NOW - 2 * DAY)
    assert [i.code for i in await db.invites.list_active(NOW)] == ["fresh"]
    assert await db.invites.delete_expired(NOW) == 1
    assert await db.invites.get("stale") is None
    assert await db.invites.get("used") is not None
