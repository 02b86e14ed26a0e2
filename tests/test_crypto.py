from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings, SettingsError
from bot.crypto import (
    NONCE_SIZE,
    TicketCipher,
    UndecryptableTicket,
    decode_key,
    generate_key,
    key_id,
    load_cipher,
)

TICKET = "TGT-25851-hMagtgtU4AdmmYJqtzUpf39WoEnwEMhKmGTBTHrYk3HSa0eHMZ-cas01.qiwi.com"
USER = 123456789


def _settings(tmp_path: Path, keys: str | None = None, key_file: Path | None = None) -> Settings:
    values: dict[str, object] = {"BOT_TOKEN": "1:test", "KEY_FILE": key_file or tmp_path / "keys" / "secret.key"}
    if keys is not None:
        values["ENCRYPTION_KEYS"] = keys
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def _key() -> bytes:
    return os.urandom(32)


def test_round_trip_with_fresh_nonces() -> None:
    cipher = TicketCipher([_key()])
    first, second = cipher.encrypt(TICKET, USER), cipher.encrypt(TICKET, USER)
    assert first != second  # random nonce
    assert first[1 + 8 : 1 + 8 + NONCE_SIZE] != second[1 + 8 : 1 + 8 + NONCE_SIZE]
    assert TICKET.encode() not in first
    assert cipher.decrypt(first, USER) == TICKET == cipher.decrypt(second, USER)
    assert cipher.decrypt(memoryview(first), USER) == TICKET  # type: ignore[arg-type]


def test_blob_layout() -> None:
    key = _key()
    blob = TicketCipher([key]).encrypt(TICKET, USER)
    assert blob[0] == 1
    assert blob[1:9] == key_id(key)
    assert len(blob) == 1 + 8 + NONCE_SIZE + len(TICKET.encode()) + 16


def test_blob_is_bound_to_its_user() -> None:
    cipher = TicketCipher([_key()])
    blob = cipher.encrypt(TICKET, USER)
    with pytest.raises(UndecryptableTicket):
        cipher.decrypt(blob, USER + 1)


@pytest.mark.parametrize("position", [0, 1, 5, 9, 15, 25, -1])
def test_any_flipped_byte_is_refused(position: int) -> None:
    cipher = TicketCipher([_key()])
    blob = bytearray(cipher.encrypt(TICKET, USER))
    blob[position] ^= 0x01
    with pytest.raises(UndecryptableTicket):
        cipher.decrypt(bytes(blob), USER)


def test_garbage_and_unknown_keys_are_refused() -> None:
    cipher = TicketCipher([_key()])
    stranger = TicketCipher([_key()]).encrypt(TICKET, USER)
    for blob in (b"", b"\x01", b"\x02" + stranger[1:], stranger, os.urandom(60)):
        with pytest.raises(UndecryptableTicket) as caught:
            cipher.decrypt(blob, USER)
        assert TICKET not in str(caught.value)


def test_rotation_old_blobs_still_open_and_need_rotation() -> None:
    old_key, new_key = _key(), _key()
    old = TicketCipher([old_key])
    blob = old.encrypt(TICKET, USER)
    assert not old.needs_rotation(blob)

    both = TicketCipher([new_key, old_key])
    assert both.needs_rotation(blob)
    assert both.decrypt(blob, USER) == TICKET
    rotated = both.encrypt(both.decrypt(blob, USER), USER)
    assert not both.needs_rotation(rotated)

    only_new = TicketCipher([new_key])
    assert only_new.decrypt(rotated, USER) == TICKET
    with pytest.raises(UndecryptableTicket):
        only_new.decrypt(blob, USER)


def test_cipher_rejects_bad_key_lists() -> None:
    with pytest.raises(ValueError):
        TicketCipher([])
    with pytest.raises(ValueError):
        TicketCipher([b"short"])


def test_generated_keys_decode() -> None:
    text = generate_key()
    assert len(decode_key(text)) == 32
    assert decode_key(text.rstrip("=")) == decode_key(text)
    assert generate_key() != text


def test_keys_from_environment(tmp_path: Path) -> None:
    first, second = generate_key(), generate_key()
    cipher = load_cipher(_settings(tmp_path, keys=f"{first}, {second}"))
    assert cipher.current_key_id == key_id(decode_key(first))
    blob_under_second = TicketCipher([decode_key(second)]).encrypt(TICKET, USER)
    assert cipher.decrypt(blob_under_second, USER) == TICKET
    assert not (tmp_path / "keys").exists()  # no key file when keys are configured


@pytest.mark.parametrize("bad", ["not base64 at all!!", "c2hvcnQ", "A" * 44 + "==" + "A", "c2hvcnQ=" + "x" * 3])
def test_malformed_environment_key_is_a_clear_settings_error(tmp_path: Path, bad: str) -> None:
    good = generate_key()
    with pytest.raises(SettingsError) as caught:
        load_cipher(_settings(tmp_path, keys=f"{good},{bad}"))
    message = str(caught.value)
    assert "ENCRYPTION_KEYS" in message and "#2" in message
    assert bad not in message and good not in message
    assert "\n" not in message


def test_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    key_file = tmp_path / "nested" / "dir" / "secret.key"
    first = load_cipher(_settings(tmp_path, key_file=key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(decode_key(key_file.read_text())) == 32
    blob = first.encrypt(TICKET, USER)

    second = load_cipher(_settings(tmp_path, key_file=key_file))
    assert second.decrypt(blob, USER) == TICKET
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no partial files left


def test_key_file_with_loose_permissions_is_tightened(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text(generate_key() + "\n")
    key_file.chmod(0o644)
    load_cipher(_settings(tmp_path, key_file=key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_malformed_key_file_is_reported_not_replaced(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("garbage-that-is-secret")
    key_file.chmod(0o600)
    with pytest.raises(SettingsError) as caught:
        load_cipher(_settings(tmp_path, key_file=key_file))
    assert "KEY_FILE" in str(caught.value)
    assert "garbage-that-is-secret" not in str(caught.value)
    assert key_file.read_text() == "garbage-that-is-secret"


def test_settings_repr_does_not_show_keys(tmp_path: Path) -> None:
    key = generate_key()
    settings = _settings(tmp_path, keys=key)
    assert key not in repr(settings)
    assert isinstance(settings.encryption_keys[0], SecretStr)


def test_unusable_key_file_location_is_a_settings_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(SettingsError, match="KEY_FILE"):
        load_cipher(_settings(tmp_path, key_file=blocker / "secret.key"))


@pytest.mark.parametrize("existing", [False, True])
def test_key_file_pointing_at_a_folder_is_refused_and_the_folder_left_alone(tmp_path: Path, existing: bool) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o755)
    if existing:  # a key inside the folder: still not read from, nor replaced
        (folder / "secret.key").write_text(generate_key() + "\n")
    with pytest.raises(SettingsError) as caught:
        load_cipher(_settings(tmp_path, key_file=folder))
    message = str(caught.value)
    assert message == (
        f"Configuration error: KEY_FILE is invalid: {folder} is a folder: point KEY_FILE at a file, "
        f"e.g. {folder / 'secret.key'} (it is created on first start)."
    )
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755, "the folder must not be chmod-ed"
    assert sorted(p.name for p in folder.iterdir()) == (["secret.key"] if existing else [])


def test_key_file_that_is_a_fifo_does_not_hang_the_start(tmp_path: Path) -> None:
    fifo = tmp_path / "secret.key"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match=r"KEY_FILE is invalid: .* is not a regular file"):
        load_cipher(_settings(tmp_path, key_file=fifo))


def test_cryptography_is_loaded_at_the_first_ticket_not_at_start(tmp_path: Path) -> None:
    """Its native code is ~6 MB of the bot's memory: a bot whose members have not logged in does not hold it."""
    import subprocess
    import sys

    from bot import PROJECT_ROOT

    code = (
        "import sys; from bot import app, crypto; from bot.config import Settings;"
        f"cipher = crypto.load_cipher(Settings(_env_file=None, BOT_TOKEN='1:t', ENCRYPTION_KEYS={generate_key()!r}));"
        "assert 'cryptography' not in sys.modules, 'imported at start';"
        "blob = cipher.encrypt('TGT-1', 7); assert 'cryptography' in sys.modules;"
        "assert cipher.decrypt(blob, 7) == 'TGT-1'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT, timeout=60)
