"""The per-user event lock: one update at a time per user, and nothing kept once a user's updates are done."""

from __future__ import annotations

import asyncio

from aiogram.fsm.storage.base import StorageKey

from bot.middlewares.isolation import TransientEventIsolation


def key(user_id: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=user_id, user_id=user_id)


async def test_one_update_at_a_time_per_user_and_others_in_parallel() -> None:
    isolation = TransientEventIsolation()
    order: list[str] = []
    release = asyncio.Event()

    async def handle(user_id: int, name: str, wait: bool) -> None:
        async with isolation.lock(key(user_id)):
            order.append(f"{name} in")
            if wait:
                await release.wait()
            order.append(f"{name} out")

    first = asyncio.create_task(handle(1, "a1", wait=True))
    await asyncio.sleep(0)
    second = asyncio.create_task(handle(1, "a2", wait=False))
    other = asyncio.create_task(handle(2, "b", wait=False))
    await asyncio.sleep(0.01)
    assert order == ["a1 in", "b in", "b out"]  # a2 waits for a1; b does not
    assert isolation.held == 1
    release.set()
    await asyncio.gather(first, second, other)
    assert order[3:] == ["a1 out", "a2 in", "a2 out"]


async def test_nothing_is_kept_for_users_who_are_done() -> None:
    isolation = TransientEventIsolation()
    for user_id in range(10_000):
        async with isolation.lock(key(user_id)):
            pass
    assert isolation.held == 0


async def test_a_failing_update_releases_its_lock() -> None:
    isolation = TransientEventIsolation()
    try:
        async with isolation.lock(key(1)):
            raise RuntimeError("handler failed")
    except RuntimeError:
        pass
    assert isolation.held == 0
    async with asyncio.timeout(1):
        async with isolation.lock(key(1)):
            pass
