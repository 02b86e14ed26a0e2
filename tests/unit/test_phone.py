import pytest

from bot.phone import InvalidPhone, api_account, format_phone, mask_phone, normalize_phone


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
