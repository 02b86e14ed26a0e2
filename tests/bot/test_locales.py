"""Every text exists in Russian and English, with the same placeholders, and every key the code uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from bot import LOCALES_DIR, PROJECT_ROOT
from bot.i18n import LANGUAGES, CatalogI18n, pick_language, read_catalogs

# `_("key")`, `__("key")`, `gettext("key")`, `lazy_gettext("key")`, `i18n.text("key", ...)`, and the
# transfer feature's `tr("key")` / `_tr("key")` helpers.
_USE = re.compile(r"""(?:\b_{1,2}|\b_?tr|\bgettext|\blazy_gettext|\.text)\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _used_keys() -> dict[str, Path]:
    used: dict[str, Path] = {}
    for path in (PROJECT_ROOT / "bot").rglob("*.py"):
        for key in _USE.findall(path.read_text(encoding="utf-8")):
            used.setdefault(key, path)
    return used


def test_both_languages_have_catalogs() -> None:
    catalogs = read_catalogs()
    assert set(LANGUAGES) <= set(catalogs)
    assert all(catalogs[lang] for lang in LANGUAGES)


def test_every_key_exists_in_every_language() -> None:
    catalogs = read_catalogs()
    keys = {lang: set(catalogs[lang]) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            missing = sorted(keys[other] - keys[lang])
            assert not missing, f"missing in {lang}: {missing}"


def test_no_empty_translation() -> None:
    for lang, entries in read_catalogs().items():
        empty = sorted(key for key, text in entries.items() if not text.strip())
        assert not empty, f"empty msgstr in {lang}: {empty}"


def test_placeholders_match_between_languages() -> None:
    catalogs = read_catalogs()
    reference = catalogs[LANGUAGES[0]]
    for lang in LANGUAGES[1:]:
        for key, text in catalogs[lang].items():
            if key in reference:
                assert _placeholders(text) == _placeholders(reference[key]), f"{key}: {lang} vs {LANGUAGES[0]}"


def test_every_key_used_in_code_exists() -> None:
    catalogs = read_catalogs()
    used = _used_keys()
    assert len(used) > 50, "the scan found too few keys: the pattern no longer matches the code"
    for lang in LANGUAGES:
        missing = {key: str(path.relative_to(PROJECT_ROOT)) for key, path in used.items() if key not in catalogs[lang]}
        assert not missing, f"keys used in code but missing in {lang}: {missing}"


def test_compiled_catalog_translates_every_key() -> None:
    i18n = CatalogI18n()
    for lang, entries in read_catalogs(LOCALES_DIR).items():
        for key, text in entries.items():
            assert i18n.gettext(key, locale=lang) == text


def test_catalog_files_are_merged(tmp_path: Path) -> None:
    for lang, (first, second) in {"en": ("One", "Two"), "ru": ("Один", "Два")}.items():
        folder = tmp_path / lang / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(f'msgid "a.one"\nmsgstr "{first}"\n', encoding="utf-8")
        (folder / "extra.po").write_text(f'msgid "b.two"\nmsgstr "{second}"\n', encoding="utf-8")
    i18n = CatalogI18n(path=tmp_path)
    assert i18n.text("a.one", "ru") == "Один"
    assert i18n.text("b.two", "en") == "Two"


@pytest.mark.parametrize(
    ("stored", "telegram", "expected"),
    [("en", "ru", "en"), (None, "en-US", "en"), (None, "de", "ru"), (None, None, "ru"), ("xx", "en", "en")],
)
def test_pick_language(stored: str | None, telegram: str | None, expected: str) -> None:
    assert pick_language(stored, telegram) == expected
