"""Routers composed once per dispatcher: setup mode, group chats, outsiders, then the private-chat features.

Access decisions live in filters on the parent routers (user middleware puts `user` and `is_admin` into the
handler data), so a feature router never repeats them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from aiogram import F, Router
from aiogram.types import CallbackQuery, TelegramObject

from bot.config import Settings
from bot.handlers import (
    balance,
    common,
    fallback,
    groups,
    history,
    login,
    members,
    outsiders,
    setup_mode,
    stats,
    transfer,
)


def _optional(name: str) -> ModuleType | None:
    """Feature modules of other issues that may not exist yet in a checkout; real import errors still raise."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise


def _attach(parent: Router, child: Router) -> None:
    # Feature routers are module singletons; a second dispatcher in the same process (tests, the console
    # restarting the bot) must be able to take them over, which aiogram only allows for unattached routers.
    previous = child.parent_router
    if previous is not None:
        previous.sub_routers.remove(child)
        child._parent_router = None
    parent.include_router(child)


def is_member(_: TelegramObject, user: object = None) -> bool:
    return user is not None


def is_outsider(_: TelegramObject, user: object = None) -> bool:
    return user is None


def _private_callback(callback: CallbackQuery) -> bool:
    return callback.message is not None and callback.message.chat.type == "private"


def build_root_router(settings: Settings) -> Router:
    root = Router(name="root")
    if not settings.admin_ids:
        _attach(root, setup_mode.router)
        return root

    _attach(root, groups.router)

    outside = Router(name="outsiders-gate")
    outside.message.filter(is_outsider)
    outside.callback_query.filter(is_outsider)
    _attach(outside, outsiders.router)
    root.include_router(outside)

    private = Router(name="private")
    private.message.filter(F.chat.type == "private", is_member)
    private.callback_query.filter(_private_callback, is_member)
    features: list[Router] = [
        common.router,
        members.router,
        login.router,
        balance.router,
        history.router,
        stats.router,
        transfer.router,
    ]
    # Features of later issues (interface.md lists them) join here once their module exists.
    for name in ("bot.handlers.alerts", "bot.handlers.requests", "bot.handlers.export"):
        module = _optional(name)
        if module is not None:
            features.append(module.router)
    for feature in features:
        _attach(private, feature)
    # Last: whatever no feature took (unknown commands, stray text, stale buttons).
    _attach(private, fallback.router)
    root.include_router(private)
    return root
