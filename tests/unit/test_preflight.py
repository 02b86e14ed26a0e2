"""Start-up checks that need no network: the warnings a working but risky setting earns, and KEY_FILE."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from bot.ops.preflight import SAFE_NOTIFY_INTERVAL, check_settings, startup_warnings


def settings(tmp_path: Path, **values: object) -> Settings:
    values = {"BOT_TOKEN": "1:test", "KEY_FILE": tmp_path / "data" / "secret.key", **values}
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [1, 5, 9])
def test_a_short_notify_interval_gets_one_warning(tmp_path: Path, interval: int) -> None:
    [warning] = startup_warnings(settings(tmp_path, NOTIFY_INTERVAL=interval))
    assert warning.startswith(f"NOTIFY_INTERVAL is {interval} s")
    assert "QIWI" in warning and "100" in warning and "5 minutes" in warning
    assert "\n" not in warning


@pytest.mark.parametrize("interval", [SAFE_NOTIFY_INTERVAL, 60, 3600])
def test_a_sane_setup_has_no_warnings(tmp_path: Path, interval: int) -> None:
    assert startup_warnings(settings(tmp_path, NOTIFY_INTERVAL=interval)) == []


def test_key_file_that_is_a_folder_is_refused_before_start_and_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with pytest.raises(SettingsError) as caught:
        check_settings(settings(tmp_path, KEY_FILE=folder))
    message = str(caught.value)
    assert message.startswith(
        f"Configuration error: KEY_FILE is invalid: {folder} is a folder: point KEY_FILE at a file"
    )
    assert "\n" not in message
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_check_settings_does_not_create_the_key_file(tmp_path: Path) -> None:
    check_settings(settings(tmp_path))
    assert not (tmp_path / "data").exists()
