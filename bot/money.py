"""Money: parsing what people type, formatting for their language, and ISO 4217 codes. Always Decimal."""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

from babel.numbers import format_currency

from bot.phone import ascii_digits

CURRENCY_BY_NUMBER: dict[int, str] = {643: "RUB", 398: "KZT", 840: "USD", 978: "EUR"}
NUMBER_BY_CURRENCY: dict[str, int] = {code: number for number, code in CURRENCY_BY_NUMBER.items()}

_GROUPING = re.compile(r"[\s\u00a0\u202f']")
# Sign, whole part, fraction; ASCII digits only (`ascii_digits` has converted any others).
_NUMBER = re.compile(r"(-?)([0-9]*)(?:\.([0-9]*))?", re.ASCII)
# Whole-rubles digits beyond leading zeros: a quadrillion is far above any TRANSFER_LIMIT (at most ten million)
# and, with the kopecks, far inside Decimal's 28 significant digits, where quantize() would raise.
MAX_WHOLE_DIGITS = 15
# The number as typed without group separators, `-`, `0000150.50000` included. Longer is not an amount.
MAX_AMOUNT_LENGTH = 32
# Beyond this many digits format_money does not spell an amount out (the bot never holds one that large).
_FORMAT_DIGITS = 100
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
    """`150`, `150.5`, `150,50`, `1 000` -> Decimal with two places; refuses anything a payment can't be.

    Digits in any script count (`１５０,５０` is 150.50). The text is measured before any Decimal is made, so
    an absurdly long number is an InvalidAmount like any other, never a decimal.InvalidOperation.
    """
    cleaned = _GROUPING.sub("", ascii_digits(text).strip()).replace(",", ".")
    match = _NUMBER.fullmatch(cleaned)
    if match is None or not (match[2] or match[3]):
        raise InvalidAmount("not_a_number")
    negative, whole, fraction = match[1], match[2].lstrip("0"), (match[3] or "").rstrip("0")
    if negative or not (whole or fraction):
        raise InvalidAmount("not_positive")
    if len(whole) > MAX_WHOLE_DIGITS:
        raise InvalidAmount("too_large")
    if len(fraction) > 2:
        raise InvalidAmount("too_precise")
    if len(cleaned) > MAX_AMOUNT_LENGTH:
        raise InvalidAmount("not_a_number")  # a sane value buried in padding zeros: nobody types that
    amount = Decimal(f"{whole or '0'}.{fraction:0<2}")
    if limit is not None and amount > limit:
        raise InvalidAmount("too_large")
    return amount


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """`3,15 ₽` in Russian, `RUB 3.15` in English (Babel's locale data decides).

    Never raises for a Decimal: Babel rounds to kopecks in the current decimal context, whose 28 digits
    an amount of 10**27 or more overflows, so the context is widened to fit; NaN, infinities and absurd
    exponents are written plainly.
    """
    if not amount.is_finite() or amount.adjusted() > _FORMAT_DIGITS:
        return f"{amount} {currency}"
    locale = BABEL_LOCALES.get(language, "ru_RU")
    with localcontext() as context:
        context.prec = max(context.prec, amount.adjusted() + 10)
        if language == "en":
            return format_currency(amount, currency, locale=locale, format="¤¤ #,##0.00", currency_digits=False)
        return format_currency(amount, currency, locale=locale)
