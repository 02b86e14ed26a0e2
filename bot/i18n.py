"""Translations: every `locales/<lang>/LC_MESSAGES/*.po` merged and compiled in memory with Babel.

Several features keep their own catalog file (`messages.po`, `transfer.po`, ...); they share one gettext
domain here. msgids are keys (`"balance.header"`), never English text.

There is one way to translate: a `Translator` for one language, called as `tr("key", name=value)`. Handlers
receive the update's as `tr` (set by `UserLanguageMiddleware`); code outside an update (alerts, payment
outcomes found later, request notices) asks `CatalogI18n.translator(language)` for the member's one.
"""

from __future__ import annotations

import gettext
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot import LOCALES_DIR

LANGUAGES: tuple[str, ...] = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


def read_catalogs(locales_dir: Path = LOCALES_DIR) -> dict[str, dict[str, str]]:
    """`{lang: {msgid: msgstr}}` from every .po file of every language folder (empty msgstrs kept)."""
    result: dict[str, dict[str, str]] = {}
    for language_dir in sorted(p for p in locales_dir.iterdir() if p.is_dir()):
        entries: dict[str, str] = {}
        for po_path in sorted((language_dir / "LC_MESSAGES").glob("*.po")):
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=language_dir.name)
            for message in catalog:
                if message.id and isinstance(message.id, str):
                    entries[message.id] = message.string if isinstance(message.string, str) else ""
        result[language_dir.name] = entries
    return result


def compile_translations(locales_dir: Path = LOCALES_DIR) -> dict[str, gettext.GNUTranslations]:
    translations: dict[str, gettext.GNUTranslations] = {}
    for language, entries in read_catalogs(locales_dir).items():
        catalog = Catalog(locale=language, charset="utf-8")
        for msgid, msgstr in entries.items():
            catalog.add(msgid, msgstr)
        buffer = BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        translations[language] = gettext.GNUTranslations(buffer)
    return translations


class CatalogI18n(I18n):
    """aiogram's I18n, fed from .po files compiled at start-up instead of prebuilt .mo files."""

    def __init__(self, *, path: Path = LOCALES_DIR, default_locale: str = DEFAULT_LANGUAGE) -> None:
        super().__init__(path=path, default_locale=default_locale)

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return compile_translations(self.path)

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram's `gettext` looks the instance up through I18n's own context variable; a subclass gets a
        # variable of its own (ContextInstanceMixin), so it must register under the base class.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)

    def text(self, key: str, language: str, **params: Any) -> str:
        message = self.gettext(key, locale=language)
        return message.format(**params) if params else message

    def translator(self, language: str | None) -> Translator:
        return Translator(self, language if language in LANGUAGES else DEFAULT_LANGUAGE)


@dataclass(frozen=True, slots=True)
class Translator:
    """The catalog's texts in one language: `tr("stats.net", amount="+1,00 ₽")`."""

    catalog: CatalogI18n
    language: str

    def __call__(self, key: str, /, **params: Any) -> str:
        return self.catalog.text(key, self.language, **params)


def pick_language(stored: str | None, telegram_code: str | None) -> str:
    """The user's choice, else their Telegram language when we speak it, else Russian."""
    if stored in LANGUAGES:
        return stored
    if telegram_code:
        base = telegram_code.split("-")[0].split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT_LANGUAGE


class UserLanguageMiddleware(I18nMiddleware):
    """Runs after the user middleware, which puts the stored `user` (or None) into the handler data; hands
    handlers `tr`, the catalog in the update's language."""

    def __init__(self, i18n: CatalogI18n, remember: Remember | None = None) -> None:
        super().__init__(i18n)
        self.catalog = i18n
        self.remember = remember

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        stored = getattr(user, "language", None)
        telegram_user: User | None = data.get("event_from_user")
        language = pick_language(stored, telegram_user.language_code if telegram_user else None)
        if user is not None and stored is None and self.remember is not None:
            # Alerts, request notices and payment outcomes found at start-up are sent outside any update:
            # they need the language kept, not derived from an update that isn't there.
            await self.remember(user.tg_id, language)
        data["tr"] = self.catalog.translator(language)
        return language


Remember = Callable[[int, str], Awaitable[object]]
