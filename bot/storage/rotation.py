"""Re-encrypting stored tickets under the first key after ENCRYPTION_KEYS gained a new one."""

from __future__ import annotations

import logging

from ..crypto import TicketCipher, UndecryptableTicket
from .database import Database

log = logging.getLogger(__name__)


async def rotate_tickets(db: Database, cipher: TicketCipher) -> tuple[int, int]:
    """Returns (rotated, unreadable). Unreadable blobs (no configured key opens them) are left in place:
    the owner's next request finds no usable session and is asked to /login again."""
    rotated = unreadable = 0
    async for tg_id, wallet, blob in db.wallets.iter_ciphertexts():
        if not cipher.needs_rotation(blob):
            continue
        try:
            ticket = cipher.decrypt(blob, tg_id)
        except UndecryptableTicket:
            unreadable += 1
            continue
        if await db.wallets.replace_ciphertext(tg_id, wallet, cipher.encrypt(ticket, tg_id), expected=blob):
            rotated += 1
    if rotated or unreadable:
        log.info("ticket rotation: %d re-encrypted, %d unreadable", rotated, unreadable)
    return rotated, unreadable
