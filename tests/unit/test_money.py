from decimal import Decimal

import pytest

from bot.money import InvalidAmount, currency_code, format_money, parse_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150", "150.00"),
        ("150.5", "150.50"),
        ("150,50", "150.50"),
        ("1 000", "1000.00"),
        ("0.01", "0.01"),
        ("1\u00a0000,5", "1000.50"),
    ],
)
def test_amounts_people_type(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "not_positive"),
        ("-5", "not_positive"),
        ("1.001", "too_precise"),
        ("abc", "not_a_number"),
        ("", "not_a_number"),
        ("1e3", "not_a_number"),
        ("NaN", "not_a_number"),
        ("1.2.3", "not_a_number"),
    ],
)
def test_refused_amounts_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text)
    assert caught.value.reason == reason


def test_limit() -> None:
    assert parse_amount("99999", limit=Decimal("99999")) == Decimal("99999.00")
    with pytest.raises(InvalidAmount) as caught:
        parse_amount("99999.01", limit=Decimal("99999"))
    assert caught.value.reason == "too_large"


@pytest.mark.parametrize(("value", "code"), [(643, "RUB"), ("643", "RUB"), ("RUB", "RUB"), (840, "USD"), (398, "KZT")])
def test_currency_codes(value: object, code: str) -> None:
    assert currency_code(value) == code


def test_formatting_follows_the_language() -> None:
    assert format_money(Decimal("3.15"), "RUB", "ru") == "3,15\xa0₽"
    assert format_money(Decimal("3.15"), "RUB", "en") == "RUB 3.15"
    assert format_money(Decimal("1234.5"), "USD", "en") == "USD 1,234.50"
