import pytest

from bot.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("BOT_TOKEN", "ADMIN_IDS", "ENCRYPTION_KEYS", "NOTIFY_INTERVAL", "LOG_LEVEL", "QIWI_AUTH_URL"):
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
