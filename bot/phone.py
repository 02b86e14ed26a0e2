"""Wallet numbers: the one place where a phone number written by a person becomes a QIWI wallet id."""

from __future__ import annotations

import re

# Russian mobiles start with 9 after the country code; Kazakh mobiles (also country code 7) with
# 70x, 747 or 75x-77x.
_MOBILE = re.compile(r"7(?:9\d\d|70\d|747|7[5-7]\d)\d{7}")
_SEPARATORS = re.compile(r"[\s\-().\u00a0]")


class InvalidPhone(ValueError):
    """The text is not a Russian or Kazakh mobile number."""


def normalize_phone(text: str) -> str:
    """Return the wallet id (`79121112233`) for any usual notation of a +7 mobile number.

    Accepts `+7 912 111-22-33`, `79121112233`, `89121112233`, `9121112233`, `8 (912) 111 22 33`.
    """
    digits = _SEPARATORS.sub("", text.strip())
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("7"):
            raise InvalidPhone(text)
    elif len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    elif len(digits) == 10:
        digits = "7" + digits
    if not digits.isdigit() or not _MOBILE.fullmatch(digits):
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
