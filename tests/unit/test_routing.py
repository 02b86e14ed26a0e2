"""aiogram runs a plain-function handler or filter, a magic `F...` filter included, through
`asyncio.to_thread`: a hop to the executor and back on every update it sees. Every handler and filter the
bot registers is a coroutine (or an aiogram `Filter`, which aiogram awaits), so none of them takes that hop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject

from bot.config import HINTS, load_settings
from bot.handlers import build_root_router


def routers(root: Router) -> Iterator[Router]:
    yield root
    for child in root.sub_routers:
        yield from routers(child)


def callables(root: Router) -> Iterator[tuple[str, CallableObject]]:
    for router in routers(root):
        for event, observer in router.observers.items():
            for own in observer._handler.filters or []:
                yield f"{router.name}.{event} router filter {own.callback!r}", own
            for handler in observer.handlers:
                name = getattr(handler.callback, "__qualname__", repr(handler.callback))
                yield f"{router.name}.{event} {name}", handler
                for check in handler.filters or []:
                    yield f"{router.name}.{event} {name} filter {check.callback!r}", check


@pytest.mark.parametrize("admins", ["", "1"], ids=["setup mode", "serving"])
def test_no_handler_or_filter_runs_in_a_thread(monkeypatch: pytest.MonkeyPatch, admins: str) -> None:
    for name in HINTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("ADMIN_IDS", admins)
    found = list(callables(build_root_router(load_settings())))
    assert len(found) >= (2 if not admins else 60)
    threaded = [name for name, item in found if not item.awaitable]
    assert threaded == [], "\n".join(threaded)
