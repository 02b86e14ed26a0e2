"""The one place the bot is assembled: the Bot, then the Dispatcher with its middlewares, routers and jobs.

Reading `build_dispatcher` tells the whole bot: which services handlers get (all of `Services`, by
name), what every update passes through (in order), which routers answer it, and which jobs run beside.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher, methods
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.strategy import FSMStrategy
from aiogram.methods.base import Response

from bot.handlers import build_root_router
from bot.handlers.errors import on_error
from bot.i18n import UserLanguageMiddleware
from bot.jobs import Job, before_serving, build_jobs
from bot.middlewares.flood import RetryAfterMiddleware
from bot.middlewares.in_flight import track_updates
from bot.middlewares.isolation import TransientEventIsolation
from bot.middlewares.qiwi_errors import QiwiErrorMiddleware
from bot.middlewares.typing import TypingMiddleware
from bot.middlewares.update_log import UpdateLogMiddleware
from bot.middlewares.user import UserMiddleware
from bot.storage.fsm import SQLiteStorage

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services.bundle import Services


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


def build_bot(settings: Settings) -> Bot:
    if not _RESPONSE_MODELS:
        _RESPONSE_MODELS.extend(Response[method.__returning__] for method in _USED_METHODS)  # type: ignore[name-defined]
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    session.middleware(RetryAfterMiddleware())
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


def build_dispatcher(services: Services, jobs: list[Job] | None = None) -> Dispatcher:
    dp = Dispatcher(
        storage=SQLiteStorage(services.db),
        # One update at a time per user (a dialog that touches money), different users concurrently.
        events_isolation=TransientEventIsolation(),
        fsm_strategy=FSMStrategy.USER_IN_CHAT,
    )
    dp.workflow_data.update(services.as_workflow_data())

    # Every update, in this order: counted until done, logged, its user resolved, its language set.
    track_updates(dp)
    dp.update.outer_middleware(UpdateLogMiddleware())
    dp.update.outer_middleware(UserMiddleware(services.members))
    dp.update.outer_middleware(UserLanguageMiddleware(services.i18n, remember=services.members.remember_language))
    for observer in (dp.message, dp.callback_query):
        observer.middleware(QiwiErrorMiddleware())
    dp.message.middleware(TypingMiddleware())
    dp.errors.register(on_error)

    dp.include_router(build_root_router(services.settings))

    # Start-up work and the jobs run before the first update is taken; on shutdown the updates in flight
    # finish first (one may be paying), then the jobs stop, newest first. The database closes after that.
    jobs = build_jobs(services) if jobs is None else jobs

    async def on_startup(bot: Bot) -> None:
        await before_serving(services, bot)

    dp.startup.register(on_startup)
    for job in jobs:
        dp.startup.register(job.start)
    for job in reversed(jobs):
        dp.shutdown.register(job.stop)
    return dp
