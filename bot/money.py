"""Money: parsing what people type, formatting for their language, and ISO 4217 codes. Always Decimal."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency

CURRENCY_BY_NUMBER: dict[int, str] = {643: "RUB", 398: "KZT", 840: "USD", 978: "EUR"}
NUMBER_BY_CURRENCY: dict[str, int] = {code: number for number, code in CURRENCY_BY_NUMBER.items()}

_GROUPING = re.compile(r"[\s\u00a0\u202f']")
BABEL_LOCALES = {"ru": "ru_RU", "en": "en_US"}


class InvalidAmount(ValueError):
    """Why an amount was refused: one of 'not_a_number', 'not_positive', 'too_precise', 'too_large'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def currency_code(value: object) -> str:
    """Letter code for either form QIWI uses: `643`, `"643"` or `"RUB"`."""
    if isinstance(value, bool):
        raise ValueError(f"not a currency: {value!r}")
    if isinstance(value, int | Decimal):
        number = int(value)
        return CURRENCY_BY_NUMBER.get(number, str(number))
    if isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            return CURRENCY_BY_NUMBER.get(int(text), text)
        if text:
            return text
    raise ValueError(f"not a currency: {value!r}")


def parse_amount(text: str, *, limit: Decimal | None = None) -> Decimal:
    """`150`, `150.5`, `150,50`, `1 000` -> Decimal with two places; refuses anything a payment can't be."""
    cleaned = _GROUPING.sub("", text.strip()).replace(",", ".")
    if not re.fullmatch(r"-?\d+(\.\d*)?|-?\.\d+", cleaned):
        raise InvalidAmount("not_a_number")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidAmount("not_a_number") from None
    if amount <= 0:
        raise InvalidAmount("not_positive")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidAmount("too_precise")
    if limit is not None and amount > limit:
        raise InvalidAmount("too_large")
    return amount.quantize(Decimal("0.01"))


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """`3,15 ₽` in Russian, `RUB 3.15` in English (Babel's locale data decides)."""
    locale = BABEL_LOCALES.get(language, "ru_RU")
    if language == "en":
        return format_currency(amount, currency, locale=locale, format="¤¤ #,##0.00", currency_digits=False)
    return format_currency(amount, currency, locale=locale)
