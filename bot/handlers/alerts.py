"""/notify: incoming-payment alerts on or off; and the poller's start-up from the bot's services."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import DEFAULT_LANGUAGE
from bot.services.alerts import AlertPoller
from bot.storage import Database

if TYPE_CHECKING:
    from bot.factory import Services

log = logging.getLogger(__name__)
router = Router(name="alerts")


async def remember_language(db: Database, tg_id: int, language: str) -> None:
    """Alerts and request notices are sent outside any update, so they need the language stored; a user who
    never chose one gets the language their Telegram app is in, as in their dialogs."""
    user = await db.users.get(tg_id)
    if user is not None and user.language is None:
        await db.users.set_language(tg_id, language)


@router.message(Command("notify"))
async def notify(message: Message, db: Database, i18n: I18n) -> None:
    assert message.from_user is not None
    user = await db.users.get(message.from_user.id)
    if user is None:
        return
    await remember_language(db, user.tg_id, i18n.current_locale)
    enabled = not user.notify
    await db.users.set_notify(user.tg_id, enabled)
    if not enabled:
        await message.answer(_("notify.off"))
    elif user.tgt_ciphertext is None:
        await message.answer(_("notify.on_after_login"))
    else:
        await message.answer(_("notify.on"))


def start_alerts(bot: Bot, services: Services) -> AlertPoller:
    """The poller runs beside polling; `await poller.stop()` before the bot session and database close."""

    async def send(tg_id: int, text: str) -> None:
        await bot.send_message(tg_id, text)

    poller = AlertPoller(
        services.sessions,
        send,
        services.i18n,
        interval=services.settings.notify_interval,
        default_language=DEFAULT_LANGUAGE,
    )
    poller.start()
    return poller
