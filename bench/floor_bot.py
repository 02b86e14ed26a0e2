"""`python -m bench.floor_bot`: the floor bot, the least an aiogram 3 bot can cost for the same /balance.

One handler and nothing else: no middlewares, no storage, no i18n, no database. It answers /balance with the
same two QIWI calls the real bot makes (an edge ST from CAS, then the balance with it) over plain aiohttp, and
the same one `sendMessage`. Whatever the real bot spends beyond this (CPU, memory, start-up, latency) is the
cost of everything it does besides: that is the yardstick `python -m bench` holds it to, in the same run.

It takes the bot's environment (`BOT_TOKEN`, `TELEGRAM_API_URL`, `QIWI_AUTH_URL`, `QIWI_EDGE_URL`) and
`FLOOR_SESSIONS`, a JSON file `{"<telegram id>": ["<wallet>", "<TGT>"]}` the benchmark writes (the TGTs come
straight from the emulator, as the real bot's stored sessions do). Not part of the bot.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import Message

# The protocol's own values (bot/qiwi/constants.py), copied: the floor bot imports nothing of the bot.
EDGE_SERVICE = "http://t.qiwi.com/j_spring_cas_security_check"
SSO_ACCEPT = "application/vnd.qiwi.sso-v1+json"


def load_sessions() -> dict[int, tuple[str, str]]:
    raw = json.loads(Path(os.environ["FLOOR_SESSIONS"]).read_text())
    return {int(tg_id): (wallet, tgt) for tg_id, (wallet, tgt) in raw.items()}


async def main(sessions: dict[int, tuple[str, str]]) -> None:
    auth = os.environ["QIWI_AUTH_URL"].rstrip("/")
    edge = os.environ["QIWI_EDGE_URL"].rstrip("/")
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    dp = Dispatcher()
    async with aiohttp.ClientSession() as http:

        @dp.message(Command("balance"))
        async def balance(message: Message) -> None:
            assert message.from_user is not None
            wallet, tgt = sessions[message.from_user.id]
            headers = {"Accept": SSO_ACCEPT, "Content-Type": "application/json"}
            body = {"service": EDGE_SERVICE, "ticket": tgt}
            async with http.post(f"{auth}/cas/sts", json=body, headers=headers) as answer:
                ticket = (await answer.json(content_type=None))["entity"]["ticket"]
            headers = {"Accept": "application/json", "Authorization": f"Token {ticket}"}
            async with http.get(f"{edge}/funding-sources/v1/accounts/{wallet}", headers=headers) as answer:
                accounts = (await answer.json(content_type=None))["accounts"]
            lines = [f"Balance +{wallet}"]
            for account in accounts:
                money = account.get("balance") or {}
                lines.append(f"• {account.get('currencyId')}: {money.get('amount', '?')}")
            await message.answer("\n".join(lines))

        await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main(load_sessions()))
