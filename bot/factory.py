"""Builds the Bot and the Dispatcher; every long-lived service reaches handlers through workflow data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.strategy import FSMStrategy
from aiogram.methods.base import Response

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


# aiogram validates every Bot API answer with `Response[method.__returning__]`, a pydantic generic that
# pydantic caches only weakly: after each garbage collection the next call rebuilt it (~5 ms of CPU, measured
# with `python -m bench`). Holding the models for the methods this bot calls makes every call a cache hit.
_RESPONSE_MODELS: list[object] = []
_USED_METHODS = (
    methods.GetMe,
    methods.GetUpdates,
    methods.DeleteWebhook,
    methods.SetWebhook,
    methods.SetMyCommands,
    methods.SendMessage,
    methods.EditMessageText,
    methods.EditMessageReplyMarkup,
    methods.DeleteMessage,
    methods.AnswerCallbackQuery,
    methods.SendChatAction,
    methods.SendDocument,
    methods.SendPhoto,
)


def _keep_response_models() -> None:
    if not _RESPONSE_MODELS:
        _RESPONSE_MODELS.extend(Response[method.__returning__] for method in _USED_METHODS)  # type: ignore[name-defined]


def build_bot(settings: Settings) -> Bot:
    _keep_response_models()
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
