"""The routers, composed fresh for each dispatcher: setup mode, group chats, outsiders, then the features.

Every feature module has `build_router()`, which makes a new router each call (a second dispatcher in one
process — tests, the console — gets routers of its own). Access lives in the filters of the parent
routers, so a feature never repeats them: `private` takes members and admins in private chats, `admins`
inside it takes admins only.
"""

from __future__ import annotations

from aiogram import Router

from bot.config import Settings
from bot.filters import in_private_chat, is_admin, is_inside, is_outsider, private_message
from bot.handlers import (
    alerts,
    balance,
    common,
    export,
    fallback,
    groups,
    history,
    login,
    members,
    outsiders,
    requests,
    setup_mode,
    stats,
    transfer,
    wallets,
)
from bot.middlewares.password_step import PasswordStepMiddleware


def build_root_router(settings: Settings) -> Router:
    root = Router(name="root")
    if not settings.admin_ids:
        root.include_router(setup_mode.build_router())
        return root

    root.include_router(groups.build_router())

    outside = Router(name="outsiders-gate")
    outside.message.filter(is_outsider)
    outside.callback_query.filter(is_outsider)
    outside.include_router(outsiders.build_router())
    root.include_router(outside)

    private = Router(name="private")
    private.message.filter(private_message, is_inside)
    private.callback_query.filter(in_private_chat, is_inside)
    # Before any feature sees it: whatever arrives in the password step is deleted, commands included.
    private.message.outer_middleware(PasswordStepMiddleware())

    admins = Router(name="admins")
    admins.message.filter(is_admin)
    admins.callback_query.filter(is_admin)
    admins.include_router(members.build_admin_router())

    private.include_routers(
        # The everyday reads first: aiogram tries every router's handlers in turn (ahead of six routers,
        # /balance costs ~0.2 ms less CPU), and these take only their own commands and buttons, so no
        # dialog step below misses anything meant for it.
        balance.build_router(),
        history.build_router(),
        stats.build_router(),
        common.build_router(),
        admins,
        members.build_router(),
        login.build_router(),
        wallets.build_router(),
        transfer.build_router(),
        alerts.build_router(),
        requests.build_router(),
        export.build_router(),
        # Last: whatever no feature took (unknown commands, stray text, stale buttons).
        fallback.build_router(),
    )
    root.include_router(private)
    return root
