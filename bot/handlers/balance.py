"""/balance: every account of the wallet with its balance."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator
from bot.money import format_money
from bot.phone import format_phone
from bot.services.wallet import WalletService


async def balance(message: Message, wallet: WalletService, tr: Translator) -> None:
    assert message.from_user is not None
    found = await wallet.balance(message.from_user.id)
    lines = [tr("balance.header", wallet=format_phone(found.wallet))]
    for account in found.accounts:
        amount = (
            format_money(account.balance.amount, account.balance.currency, tr.language)
            if account.balance is not None
            else tr("balance.unknown")
        )
        marker = " ★" if account.default else ""
        lines.append(f"• {account.currency}: <b>{amount}</b>{marker}")
    if not found.accounts:
        lines.append(tr("balance.no_accounts"))
    await message.answer("\n".join(lines))


def build_router() -> Router:
    router = Router(name="balance")
    router.message.register(balance, Command("balance"), flags={"chat_action": "typing"})
    return router
