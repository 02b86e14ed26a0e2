"""/notify: incoming-payment alerts on or off. The poller itself is a job (`bot/jobs.py`)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator
from bot.services.members import MemberService


async def notify(message: Message, members: MemberService, tr: Translator) -> None:
    assert message.from_user is not None
    switch = await members.toggle_alerts(message.from_user.id)
    if not switch.enabled:
        await message.answer(tr("notify.off"))
    elif not switch.logged_in:
        await message.answer(tr("notify.on_after_login"))
    else:
        await message.answer(tr("notify.on"))


def build_router() -> Router:
    router = Router(name="alerts")
    router.message.register(notify, Command("notify"))
    return router
