"""Wallet numbers: the one place where a phone number written by a person becomes a QIWI wallet id."""

from __future__ import annotations

import re
import unicodedata

# Russian mobiles start with 9 after the country code; Kazakh mobiles (also country code 7) with
# 70x, 747 or 75x-77x. re.ASCII and [0-9]: by the time a pattern runs, every digit is ASCII.
_MOBILE = re.compile(r"7(?:9[0-9]{2}|70[0-9]|747|7[5-7][0-9])[0-9]{7}", re.ASCII)
_SEPARATORS = re.compile(r"[\s\-().\u00a0]")
_DIGITS_ONLY = re.compile(r"[0-9]+", re.ASCII)
# Far more than any spelling of an 11-digit number with spaces and brackets; longer text is not a number.
MAX_PHONE_LENGTH = 40

# What phone keyboards and copy-paste put around numbers instead of ASCII punctuation: fullwidth forms
# (CJK keyboards), typographic dashes and minus, the Arabic decimal and thousands separators.
_PUNCTUATION = str.maketrans(
    {
        "\uff0b": "+",  # fullwidth plus
        "\uff0d": "-",  # fullwidth hyphen-minus
        "\u2010": "-",  # hyphen
        "\u2011": "-",  # non-breaking hyphen
        "\u2012": "-",  # figure dash
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus sign
        "\uff08": "(",  # fullwidth brackets
        "\uff09": ")",
        "\uff0e": ".",  # fullwidth full stop
        "\uff0c": ",",  # fullwidth comma
        "\u066b": ",",  # Arabic decimal separator
        "\u066c": "'",  # Arabic thousands separator
        "\u3000": " ",  # ideographic space
    }
)


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit (fullwidth U+FF17, Arabic-Indic U+0667, Devanagari ...) as its ASCII digit,
    and the usual look-alikes of `+ - ( ) . ,` as ASCII; everything else unchanged.

    Python's `\\d` and `str.isdigit` accept all of those digits, so without this a fullwidth number could pass
    a check and reach QIWI, or miss an equality test against the ASCII one it means.
    """
    if text.isascii():
        return text
    text = text.translate(_PUNCTUATION)
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() and not char.isascii() else char for char in text)


class InvalidPhone(ValueError):
    """The text is not a Russian or Kazakh mobile number."""


def normalize_phone(text: str) -> str:
    """Return the wallet id (`79121112233`, ASCII digits only) for any usual notation of a +7 mobile number.

    Accepts `+7 912 111-22-33`, `79121112233`, `89121112233`, `9121112233`, `8 (912) 111 22 33`, also written
    with fullwidth or other non-ASCII digits.
    """
    if len(text) > MAX_PHONE_LENGTH:
        raise InvalidPhone(text[:MAX_PHONE_LENGTH])
    digits = _SEPARATORS.sub("", ascii_digits(text).strip())
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("7"):
            raise InvalidPhone(text)
    elif len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    if not _DIGITS_ONLY.fullmatch(digits) or not _MOBILE.fullmatch(digits):
        raise InvalidPhone(text)
    return digits


def api_account(wallet: str) -> str:
    """The recipient as the payment call wants it: without the international prefix."""
    return wallet[1:]


def mask_phone(wallet: str) -> str:
    """`+7 912 ***-**-33`: enough to recognise a number without exposing it whole in a chat."""
    return f"+7 {wallet[1:4]} ***-**-{wallet[-2:]}"


def format_phone(wallet: str) -> str:
    return f"+7 {wallet[1:4]} {wallet[4:7]}-{wallet[7:9]}-{wallet[9:11]}"
