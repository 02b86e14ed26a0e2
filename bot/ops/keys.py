"""`python -m bot rotate-key`: re-encrypt every stored ticket under the first key of ENCRYPTION_KEYS."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from bot.crypto import UndecryptableTicket, load_cipher
from bot.storage import Database
from bot.storage.rotation import rotate_tickets


@dataclass(frozen=True, slots=True)
class RotationReport:
    stored: int
    rotated: int
    unreadable: int
    current_after: int


async def rotate_key(settings: Settings) -> RotationReport:
    """Safe beside a running bot: each row is swapped only if it still holds the blob that was read."""
    cipher = load_cipher(settings)
    db = await Database.open(settings.database_path)
    try:
        rotated, unreadable = await rotate_tickets(db, cipher)
        stored = current = 0
        # Count what is true afterwards rather than trust the rotation's own arithmetic.
        async for tg_id, _wallet, blob in db.wallets.iter_ciphertexts():
            stored += 1
            if cipher.needs_rotation(blob):
                continue
            try:
                cipher.decrypt(blob, tg_id)
            except UndecryptableTicket:
                continue
            current += 1
    finally:
        await db.close()
    return RotationReport(stored=stored, rotated=rotated, unreadable=unreadable, current_after=current)
