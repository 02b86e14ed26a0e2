"""/balance: every account of the wallet with its balance."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.money import format_money
from bot.phone import format_phone
from bot.qiwi.client import QiwiClient
from bot.qiwi.models import Account
from bot.services.sessions import Session, SessionService

router = Router(name="balance")


@router.message(Command("balance"), flags={"chat_action": "typing"})
async def balance(message: Message, sessions: SessionService, i18n: I18n) -> None:
    assert message.from_user is not None

    async def fetch(qiwi: QiwiClient, session: Session) -> tuple[str, list[Account]]:
        return session.wallet, await qiwi.balance(session.tgt, session.wallet)

    wallet, accounts = await sessions.run(message.from_user.id, fetch)
    language = i18n.current_locale
    lines = [_("balance.header").format(wallet=format_phone(wallet))]
    for account in accounts:
        amount = (
            format_money(account.balance.amount, account.balance.currency, language)
            if account.balance is not None
            else _("balance.unknown")
        )
        marker = " ★" if account.default else ""
        lines.append(f"• {account.currency}: <b>{amount}</b>{marker}")
    if not accounts:
        lines.append(_("balance.no_accounts"))
    await message.answer("\n".join(lines))
