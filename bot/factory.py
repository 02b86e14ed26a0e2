"""Builds the Bot and the Dispatcher; every long-lived service reaches handlers through workflow data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.strategy import FSMStrategy

from bot.handlers import build_root_router
from bot.i18n import CatalogI18n, UserLanguageMiddleware
from bot.middlewares.flood import RetryAfterMiddleware
from bot.middlewares.qiwi_errors import QiwiErrorMiddleware
from bot.middlewares.typing import TypingMiddleware
from bot.middlewares.update_log import UpdateLogMiddleware
from bot.middlewares.user import UserMiddleware
from bot.services.sessions import Clock, SessionService
from bot.services.transfers import TransferService
from bot.storage.fsm import SQLiteStorage

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.crypto import TicketCipher
    from bot.qiwi.client import QiwiClient
    from bot.sandbox.seed import DemoWallet
    from bot.storage import Database


@dataclass
class Services:
    """Everything long-lived a handler may need; each field is also a workflow-data key of its own name."""

    settings: Settings
    db: Database
    cipher: TicketCipher
    qiwi: QiwiClient
    sessions: SessionService
    clock: Clock
    i18n: CatalogI18n
    transfers: TransferService
    demo_wallets: Sequence[DemoWallet] = field(default_factory=tuple)


def build_bot(settings: Settings) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(RetryAfterMiddleware())
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_dispatcher(services: Services) -> Dispatcher:
    dp = Dispatcher(
        storage=SQLiteStorage(services.db),
        events_isolation=SimpleEventIsolation(),
        fsm_strategy=FSMStrategy.USER_IN_CHAT,
    )
    dp.workflow_data.update(
        services=services,
        settings=services.settings,
        db=services.db,
        cipher=services.cipher,
        qiwi=services.qiwi,
        sessions=services.sessions,
        transfers=services.transfers,
        clock=services.clock,
        demo_wallets=tuple(services.demo_wallets),
    )
    # Outer update middlewares run in this order, after aiogram has resolved `event_from_user`.
    dp.update.outer_middleware(UpdateLogMiddleware())
    dp.update.outer_middleware(UserMiddleware(services.db, services.settings.admin_ids))
    dp.update.outer_middleware(UserLanguageMiddleware(services.i18n))
    for observer in (dp.message, dp.callback_query):
        observer.middleware(QiwiErrorMiddleware())
    dp.message.middleware(TypingMiddleware())
    dp.include_router(build_root_router(services.settings))
    return dp
