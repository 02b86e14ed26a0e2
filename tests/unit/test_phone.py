from decimal import Decimal

import pytest

from bot.phone import InvalidPhone, api_account, ascii_digits, format_phone, mask_phone, normalize_phone


@pytest.mark.parametrize(
    "text",
    ["+7 912 111-22-33", "79121112233", "89121112233", "9121112233", "8 (912) 111 22 33", " +7(912)1112233 "],
)
def test_russian_notations_give_one_wallet(text: str) -> None:
    assert normalize_phone(text) == "79121112233"


def test_kazakh_mobile_is_accepted() -> None:
    assert normalize_phone("+7 777 123 45 67") == "77771234567"


@pytest.mark.parametrize(
    "text",
    ["", "hello", "+1 912 111 22 33", "7912111223", "791211122334", "+7 495 123-45-67", "12345", "+79121112233x"],
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(text)


def test_payment_account_drops_the_country_code() -> None:
    assert api_account("79121112233") == "9121112233"


def test_mask_and_format() -> None:
    assert mask_phone("79121112233") == "+7 912 ***-**-33"
    assert format_phone("79121112233") == "+7 912 111-22-33"


# -- digits of any script: converted, and the wallet id is ASCII ----------------------------------------


@pytest.mark.parametrize(
    ("text", "wallet"),
    [
        ("＋７ ９００ １１１-２２-３３", "79001112233"),  # fullwidth, ASCII separators
        ("＋７ ９００ １１１－２２－３３", "79001112233"),  # fullwidth separators too
        ("+7 9００ 1１1-22-３3", "79001112233"),  # mixed
        ("８（９００）１１１\u3000２２\u3000３３", "79001112233"),
        ("+٧ ٩٠٠ ١١١-٢٢-٣٣", "79001112233"),  # Arabic-Indic
        ("۸۹۰۰۱۱۱۲۲۳۳", "79001112233"),  # Extended Arabic-Indic, trunk prefix 8
        ("+7 900 111\u201322\u201333", "79001112233"),  # en dashes
        ("९००१११२२३३", "79001112233"),  # Devanagari, ten digits
    ],
)
def test_non_ascii_digits_give_the_ascii_wallet(text: str, wallet: str) -> None:
    normalized = normalize_phone(text)
    assert normalized == wallet
    assert normalized.isascii()


@pytest.mark.parametrize("text", ["+7 ²⁰⁰ 111 22 33", "+7 912 111 22 ③③", "7" * 41, "+7 912 111 22 33" + " " * 40])
def test_digit_look_alikes_and_absurd_length_are_refused(text: str) -> None:
    with pytest.raises(InvalidPhone):
        normalize_phone(text)


def test_ascii_digits_leaves_everything_else_alone() -> None:
    assert ascii_digits("abc 123") == "abc 123"
    assert ascii_digits("Сумма ١٥٠") == "Сумма 150"
    assert ascii_digits("①²") == "①²"  # not decimal digits: left for the caller to refuse


def test_own_wallet_in_fullwidth_is_still_ones_own() -> None:
    from bot.services.transfers import DraftProblem, parse_command, parse_recipient

    with pytest.raises(DraftProblem) as caught:
        parse_recipient("＋７ ９００ １１１-２２-３３", sender="79001112233")
    assert caught.value.reason == "self"
    with pytest.raises(DraftProblem) as caught:
        parse_command("＋７ ９００ １１１ ２２ ３３ １５０", limit=Decimal("99999"), sender="79001112233")
    assert caught.value.reason == "self"
    draft = parse_command("＋７ ９００ １１１ ２２ ３３ １５０,５０ thanks", limit=Decimal("99999"))
    assert (draft.recipient, draft.amount, draft.comment) == ("79001112233", Decimal("150.50"), "thanks")
    assert draft.account == "9001112233" and draft.account.isascii()
