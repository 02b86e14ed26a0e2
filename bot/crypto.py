"""Encryption of stored QIWI tickets (TGTs): AES-256-GCM, bound to the Telegram user they belong to.

Blob layout: version (1 byte) | key id (8 bytes, SHA-256 of the key) | nonce (12 bytes) | ciphertext+tag.
The header and the user id are authenticated data, so a blob copied onto another user's row, or with its
header edited, does not decrypt. Keys come from ENCRYPTION_KEYS (the first encrypts, all decrypt, which is
how keys are rotated) or from a key generated once into KEY_FILE.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Settings, SettingsError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
KEY_ID_SIZE = 8
_HEADER_SIZE = 1 + KEY_ID_SIZE
_TAG_SIZE = 16
_GENKEY_HINT = "make one with `python -m bot genkey`"
# A key file holds one line of 44 characters; a KEY_FILE pointed at something big is not read whole.
_KEY_FILE_MAX_READ = 4096


class UndecryptableTicket(Exception):
    """No configured key opens this blob: tampered, another user's, or sealed with a key no longer listed."""


def generate_key() -> str:
    """A new key as ENCRYPTION_KEYS and KEY_FILE hold it: urlsafe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(os.urandom(KEY_SIZE)).decode("ascii")


def decode_key(text: str) -> bytes:
    """Raises ValueError with a message that never contains the key."""
    text = text.strip()
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not urlsafe base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"decodes to {len(key)} bytes instead of {KEY_SIZE}")
    return key


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:KEY_ID_SIZE]


class TicketCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._raw: dict[bytes, bytes] = {}
        for key in keys:
            if len(key) != KEY_SIZE:
                raise ValueError(f"keys are {KEY_SIZE} bytes")
            self._raw.setdefault(key_id(key), key)
        self._current_id = key_id(keys[0])
        self._aead: dict[bytes, AESGCM] | None = None

    @property
    def _keys(self) -> dict[bytes, AESGCM]:
        # cryptography's Rust and OpenSSL code is ~6 MB of memory: loaded at the first ticket sealed or
        # opened, so a bot whose members have not logged in does not hold it.
        if self._aead is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._aead = {ident: AESGCM(key) for ident, key in self._raw.items()}
        return self._aead

    @property
    def current_key_id(self) -> bytes:
        return self._current_id

    def encrypt(self, text: str, tg_id: int) -> bytes:
        header = bytes([VERSION]) + self._current_id
        nonce = os.urandom(NONCE_SIZE)
        sealed = self._keys[self._current_id].encrypt(nonce, text.encode("utf-8"), _aad(header, tg_id))
        return header + nonce + sealed

    def decrypt(self, blob: bytes, tg_id: int) -> str:
        blob = bytes(blob)
        if len(blob) < _HEADER_SIZE + NONCE_SIZE + _TAG_SIZE or blob[0] != VERSION:
            raise UndecryptableTicket("not a ticket blob this version can read")
        header = blob[:_HEADER_SIZE]
        aead = self._keys.get(header[1:])
        if aead is None:
            raise UndecryptableTicket("sealed with a key that is not configured")
        nonce = blob[_HEADER_SIZE : _HEADER_SIZE + NONCE_SIZE]
        from cryptography.exceptions import InvalidTag

        try:
            plain = aead.decrypt(nonce, blob[_HEADER_SIZE + NONCE_SIZE :], _aad(header, tg_id))
        except InvalidTag:
            raise UndecryptableTicket("does not authenticate (tampered or another user's)") from None
        return plain.decode("utf-8")

    def needs_rotation(self, blob: bytes) -> bool:
        """True unless the blob is in the current format under the first (encrypting) key."""
        return bytes(blob[:_HEADER_SIZE]) != bytes([VERSION]) + self._current_id


def _aad(header: bytes, tg_id: int) -> bytes:
    return header + b"|tg:" + str(int(tg_id)).encode("ascii")


def load_cipher(settings: Settings) -> TicketCipher:
    """Keys from ENCRYPTION_KEYS, else the key in KEY_FILE (generated on first start)."""
    if settings.encryption_keys:
        keys: list[bytes] = []
        for position, secret in enumerate(settings.encryption_keys, start=1):
            try:
                keys.append(decode_key(secret.get_secret_value()))
            except ValueError as error:
                raise SettingsError(
                    f"Configuration error: ENCRYPTION_KEYS is invalid: key #{position} {error}; {_GENKEY_HINT}."
                ) from None
        return TicketCipher(keys)
    return TicketCipher([load_or_create_key_file(settings.key_file)])


def refuse_key_folder(path: Path) -> None:
    """KEY_FILE naming a folder is a SettingsError (the key would be read from, and chmod-ed on, the folder).
    Any other trouble with the path is left to loading the key, which explains it."""
    try:
        is_folder = stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return
    if is_folder:
        raise SettingsError(_folder_message(path))


def _folder_message(path: Path) -> str:
    return (
        f"Configuration error: KEY_FILE is invalid: {path} is a folder: point KEY_FILE at a file, "
        f"e.g. {path / 'secret.key'} (it is created on first start)."
    )


def load_or_create_key_file(path: Path) -> bytes:
    refuse_key_folder(path)
    try:
        try:
            return _read_key_file(path)
        except FileNotFoundError:
            pass
        _create_key_file(path)
        return _read_key_file(path)
    except OSError as error:
        raise SettingsError(
            f"Configuration error: KEY_FILE is invalid: cannot use {path} ({error.strerror or error}); "
            "point KEY_FILE at a writable place, or set ENCRYPTION_KEYS."
        ) from None


def _read_key_file(path: Path) -> bytes:
    # O_NONBLOCK: a FIFO in its place must not hang the start; for a regular file it changes nothing.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        status = os.fstat(fd)
        # Checked on the open file, not the name, so nothing swapped in between gets chmod-ed.
        if stat.S_ISDIR(status.st_mode):
            raise SettingsError(_folder_message(path))
        if not stat.S_ISREG(status.st_mode):
            raise SettingsError(
                f"Configuration error: KEY_FILE is invalid: {path} is not a regular file; point KEY_FILE at "
                "a file, or set ENCRYPTION_KEYS."
            )
        mode = stat.S_IMODE(status.st_mode)
        if mode & 0o077:
            try:
                os.fchmod(fd, 0o600)
            except OSError:
                raise SettingsError(
                    f"Configuration error: KEY_FILE is invalid: {path} is readable by others "
                    f"(mode {mode:o}) and cannot be changed; run `chmod 600 {path}`."
                ) from None
            log.warning("KEY_FILE %s was readable by others (mode %o); tightened to 600", path, mode)
        with os.fdopen(fd, "r", encoding="ascii", errors="replace", closefd=False) as handle:
            text = handle.read(_KEY_FILE_MAX_READ)
    finally:
        os.close(fd)
    try:
        return decode_key(text)
    except ValueError as error:
        raise SettingsError(
            f"Configuration error: KEY_FILE is invalid: {path} {error}; restore it from a backup, or delete "
            f"it to start over (stored sessions are then lost and members /login again)."
        ) from None


def _create_key_file(path: Path) -> None:
    """Writes a fresh key so that the file appears whole or not at all, and never replaces one."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may only remove bits, but be explicit
        os.write(fd, (generate_key() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails if the name exists: two processes starting at once keep the first key.
        os.link(partial, path)
        log.warning("generated a new encryption key in %s; back it up — without it stored sessions are lost", path)
    except FileExistsError:
        pass
    finally:
        os.unlink(partial)
