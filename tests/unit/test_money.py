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


# -- absurd input: refused with a reason, never a decimal.InvalidOperation ---------------------------------


@pytest.mark.parametrize("digits", [16, 27, 28, 29, 300, 4096])
def test_absurdly_long_numbers_are_above_the_limit(digits: int) -> None:
    for text in ("9" * digits, "1" * digits + ",50", "1 " * digits):
        with pytest.raises(InvalidAmount) as caught:
            parse_amount(text, limit=Decimal("99999"))
        assert caught.value.reason == "too_large"
        with pytest.raises(InvalidAmount) as caught:
            parse_amount(text)  # no limit: the digit bound alone refuses it
        assert caught.value.reason == "too_large"


def test_the_largest_amount_the_digit_bound_allows_still_parses() -> None:
    assert parse_amount("9" * 15 + ",99") == Decimal("999999999999999.99")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1." + "0" * 4096, "not_a_number"),  # a sane value in absurd padding
        ("0" * 4096 + "1", "not_a_number"),
        ("1." + "1" * 4096, "too_precise"),
        ("-" + "9" * 4096, "not_positive"),
        ("x" * 4096, "not_a_number"),
        ("9" * 4096 + "x", "not_a_number"),
        (".", "not_a_number"),
        ("-", "not_a_number"),
        ("-0", "not_positive"),
        ("0.001", "too_precise"),
        ("1e30", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("²", "not_a_number"),  # a digit to str.isdigit, not a decimal digit
    ],
)
def test_other_absurd_amounts_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount(text, limit=Decimal("99999"))
    assert caught.value.reason == reason


def test_padding_within_reason_is_fine() -> None:
    assert parse_amount("000150.5000") == Decimal("150.50")
    assert parse_amount("5.") == Decimal("5.00")
    assert parse_amount(".5") == Decimal("0.50")


# -- digits of any script ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("１５０,５０", "150.50"),  # fullwidth
        ("１５０，５０", "150.50"),  # fullwidth comma too
        ("1５0.5", "150.50"),  # mixed with ASCII
        ("١٥٠٫٥", "150.50"),  # Arabic-Indic, Arabic decimal separator
        ("۱۵۰", "150.00"),  # Extended Arabic-Indic (Persian)
        ("१,५०", "1.50"),  # Devanagari
        ("１\u3000０００", "1000.00"),  # ideographic space as grouping
    ],
)
def test_digits_of_any_script_become_ascii(text: str, expected: str) -> None:
    amount = parse_amount(text)
    assert amount == Decimal(expected)
    assert str(amount) == expected  # the Decimal's own digits are ASCII


def test_non_ascii_digits_are_bounded_too() -> None:
    with pytest.raises(InvalidAmount) as caught:
        parse_amount("９" * 300)
    assert caught.value.reason == "too_large"


# -- formatting never fails ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        Decimal("1e30"),
        Decimal("1E+27"),
        Decimal("10000000"),
        Decimal("123456789012345678901234567890.129"),
        Decimal("0.001"),
        Decimal("-5"),
        Decimal("1e-30"),
        Decimal("1e400"),
        Decimal("NaN"),
        Decimal("Infinity"),
    ],
)
@pytest.mark.parametrize("language", ["ru", "en", "de"])
def test_format_money_never_raises(amount: Decimal, language: str) -> None:
    text = format_money(amount, "RUB", language)
    assert text and "\n" not in text


def test_format_money_spells_out_amounts_beyond_28_digits() -> None:
    assert format_money(Decimal("1e30"), "RUB", "en") == "RUB 1," + ",".join(["000"] * 10) + ".00"
    assert format_money(Decimal("1e30"), "RUB", "ru") == "1" + "\xa0000" * 10 + ",00\xa0₽"


@pytest.mark.parametrize("language", ["ru", "en"])
def test_an_absurdly_long_amount_gets_the_above_the_limit_line(language: str) -> None:
    from bot.i18n import read_catalogs
    from bot.services.transfer_texts import problem_text
    from bot.services.transfers import DraftProblem, parse_transfer_amount

    catalog = read_catalogs()[language]
    limit = Decimal("99999")
    with pytest.raises(DraftProblem) as caught:
        parse_transfer_amount("9" * 4096, limit=limit)
    assert (caught.value.step, caught.value.reason) == ("amount", "too_large")
    line = problem_text(catalog.__getitem__, caught.value, limit=limit, language=language)
    assert line == catalog["transfer.bad.amount.too_large"].format(limit=format_money(limit, "RUB", language))
