"""Telegram's HTML parse mode: markup in, plain text plus entities out, as the Bot API does it.

The fake server applies it so that transcripts hold what the user would see, and so that a bot which puts
unescaped user input into HTML fails here the way it would fail against Telegram.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

_SIMPLE_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "a": "text_link",
    "span": "spoiler",
    "tg-emoji": "custom_emoji",
}


class EntityParseError(ValueError):
    """The text is not valid Telegram HTML; the message matches the Bot API's wording."""


def utf16_len(text: str) -> int:
    # Entity offsets and lengths are counted in UTF-16 code units, not code points.
    return len(text.encode("utf-16-le")) // 2


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.open: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SIMPLE_TAGS:
            raise EntityParseError(f'Can\'t parse entities: unsupported start tag "{tag}"')
        attributes = {name: value or "" for name, value in attrs}
        extra: dict[str, Any] = {}
        if tag == "a":
            href = attributes.get("href", "")
            if not href:
                raise EntityParseError("Can't parse entities: can't find href attribute of the a tag")
            extra["url"] = href
        elif tag == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError('Can\'t parse entities: tag "span" must have class "tg-spoiler"')
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = attributes.get("emoji-id", "")
        elif tag == "code" and attributes.get("class", "").startswith("language-"):
            extra["language"] = attributes["class"].removeprefix("language-")
        self.open.append((tag, self.length, extra))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise EntityParseError(f'Can\'t parse entities: unsupported start tag "{tag}"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise EntityParseError(f'Can\'t parse entities: unmatched end tag "{tag}"')
        _, offset, extra = self.open.pop()
        length = self.length - offset
        if length == 0:
            return
        entity_type = _SIMPLE_TAGS[tag]
        if tag == "code" and self.open and self.open[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language, as Telegram reads it.
            if "language" in extra:
                self.open[-1][2]["language"] = extra["language"]
            return
        if tag == "code":
            extra.pop("language", None)
        self.entities.append({"type": entity_type, "offset": offset, "length": length, **extra})


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Returns the visible text and its entities, sorted by offset; raises `EntityParseError`."""
    parser = _Parser()
    parser.feed(text)
    parser.close()
    if parser.open:
        tag = parser.open[-1][0]
        raise EntityParseError(f"Can't parse entities: can't find end tag corresponding to start tag \"{tag}\"")
    entities = sorted(parser.entities, key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parser.parts), entities
