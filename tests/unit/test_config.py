from decimal import Decimal

import pytest

from bot.config import HINTS, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in HINTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BOT_TOKEN" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    settings = load_settings()
    assert settings.qiwi_edge_url == "https://edge.qiwi.com"
    assert settings.notify_interval == 60
    assert settings.admin_ids == []
    assert settings.qiwi_sandbox is False


def test_lists_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("BOT_TOKEN=1:from-file\nADMIN_IDS=1, 2\n")
    monkeypatch.setenv("BOT_TOKEN", "2:from-env")
    settings = load_settings()
    assert settings.bot_token.get_secret_value() == "2:from-env"  # the real environment wins
    assert settings.admin_ids == [1, 2]


@pytest.mark.parametrize(
    ("name", "value"),
    [("ADMIN_IDS", "alice"), ("NOTIFY_INTERVAL", "soon"), ("LOG_LEVEL", "LOUD"), ("QIWI_AUTH_URL", "ftp-only-host")],
)
def test_invalid_values_name_the_variable_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert name in str(caught.value)
    assert value not in str(caught.value)


def test_a_malformed_token_is_refused_before_aiogram_sees_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "paste-your-token-from-BotFather")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "BOT_TOKEN" in str(caught.value)
    assert "paste-your-token" not in str(caught.value)


@pytest.mark.parametrize(
    "value", ["1e30", "nan", "NaN", "inf", "-inf", "-5", "0", "0.00", "abc", "1.234", "10000000.01", "１０", "5 000"]
)
def test_transfer_limit_must_be_a_sane_amount(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TRANSFER_LIMIT", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("Configuration error: TRANSFER_LIMIT is invalid: ")
    assert "\n" not in message
    assert f" {value} " not in message and not message.endswith(f" {value}.")  # the value is not echoed
    assert "10000000" in message and "2 decimals" in message  # how to fix it


@pytest.mark.parametrize(
    ("value", "expected"),
    [("99999", "99999"), ("15000.50", "15000.50"), ("0.01", "0.01"), ("10000000", "10000000"), (" 500 ", "500")],
)
def test_sane_transfer_limits_are_taken(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TRANSFER_LIMIT", value)
    assert load_settings().transfer_limit == Decimal(expected)


def test_transfer_limit_default_and_overrides() -> None:
    assert load_settings(BOT_TOKEN="1:x").transfer_limit == Decimal("99999")
    assert load_settings(BOT_TOKEN="1:x", TRANSFER_LIMIT=500).transfer_limit == Decimal("500")
    assert load_settings(BOT_TOKEN="1:x", TRANSFER_LIMIT=Decimal("250.5")).transfer_limit == Decimal("250.5")
    for bad in (Decimal("NaN"), Decimal("1e30"), 1.5, True):
        with pytest.raises(SettingsError, match="TRANSFER_LIMIT"):
            load_settings(BOT_TOKEN="1:x", TRANSFER_LIMIT=bad)


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("9", 9), ("10", 10), ("60", 60), ("86400", 86400)])
def test_notify_interval_whole_seconds_from_one(monkeypatch: pytest.MonkeyPatch, value: str, expected: int) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("NOTIFY_INTERVAL", value)
    assert load_settings().notify_interval == expected


@pytest.mark.parametrize("value", ["0", "-1", "1.5", "soon", "86401", "1" * 30])
def test_notify_interval_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("NOTIFY_INTERVAL", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith("Configuration error: NOTIFY_INTERVAL is invalid: a whole number of seconds")
