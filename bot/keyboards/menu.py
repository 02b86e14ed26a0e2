"""The command menu (`setMyCommands`), declared once and set per language at start-up."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, CatalogI18n

MENU: tuple[tuple[str, str], ...] = (
    ("balance", "menu.balance"),
    ("history", "menu.history"),
    ("stats", "menu.stats"),
    ("transfer", "menu.transfer"),
    ("request", "menu.request"),
    ("export", "menu.export"),
    ("notify", "menu.notify"),
    ("wallets", "menu.wallets"),
    ("login", "menu.login"),
    ("logout", "menu.logout"),
    ("language", "menu.language"),
    ("cancel", "menu.cancel"),
    ("help", "menu.help"),
)


def menu_commands(i18n: CatalogI18n, language: str) -> list[BotCommand]:
    tr = i18n.translator(language)
    return [BotCommand(command=name, description=tr(key)) for name, key in MENU]


async def set_command_menu(bot: Bot, i18n: CatalogI18n) -> None:
    scope = BotCommandScopeAllPrivateChats()
    # The default list (no language_code) is for clients in languages we do not speak.
    await bot.set_my_commands(menu_commands(i18n, DEFAULT_LANGUAGE), scope=scope)
    for language in LANGUAGES:
        await bot.set_my_commands(menu_commands(i18n, language), scope=scope, language_code=language)
