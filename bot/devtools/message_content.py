"""What the Bot API checks and derives from message content: parse modes, inline keyboards, photo sizes."""

from __future__ import annotations

from typing import Any

from bot.devtools.bot_api_request import BadParameter
from bot.devtools.html_entities import EntityParseError, parse_html
from bot.devtools.transcript import Button

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 0, 0


def formatted(text: str, parse_mode: str | None, entities: Any) -> tuple[str, list[dict[str, Any]]]:
    if parse_mode and parse_mode.upper() == "HTML":
        try:
            return parse_html(text)
        except EntityParseError as problem:
            raise BadParameter(f"Bad Request: {problem}") from None
    if isinstance(entities, list):
        return text, [dict(entity) for entity in entities if isinstance(entity, dict)]
    return text, []


def keyboard(
    markup: Any,
) -> tuple[list[list[dict[str, Any]]] | None, list[list[Button]], dict[str, Any] | None]:
    """Splits reply_markup into (inline keyboard as echoed back, its buttons, a reply keyboard)."""
    if not markup:
        return None, [], None
    if not isinstance(markup, dict):
        raise BadParameter("Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None, [], markup
    raw = markup["inline_keyboard"]
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise BadParameter('Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    rows: list[list[Button]] = []
    for row in raw:
        buttons: list[Button] = []
        for payload in row:
            if not isinstance(payload, dict) or not payload.get("text"):
                raise BadParameter("Bad Request: can't parse inline keyboard button: Text must be non-empty")
            data = payload.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise BadParameter("Bad Request: BUTTON_DATA_INVALID")
            if len(payload) == 1:
                raise BadParameter(
                    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            buttons.append(Button.from_payload(payload))
        rows.append(buttons)
    return (raw or None), rows, None
