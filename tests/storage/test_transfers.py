from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from bot.storage import Database, Transfer, TransferStatus

from .conftest import NOW

TTL = timedelta(minutes=10)
S = TransferStatus


async def _draft(db: Database, tg_id: int = 1, *, amount: str = "150.50", now: object = NOW) -> Transfer:
    return await db.transfers.create_draft(
        tg_id=tg_id,
        wallet="79001112233",
        recipient="79002223344",
        amount=Decimal(amount),
        comment="за обед",
        now=now,  # type: ignore[arg-type]
    )


async def test_draft_row_round_trips(db: Database) -> None:
    draft = await _draft(db)
    assert draft.status is S.AWAITING_CONFIRMATION
    assert draft.amount == Decimal("150.50") and str(draft.amount) == "150.50"
    assert draft.comment == "за обед"
    assert draft.created_at == NOW == draft.updated_at
    assert draft.client_id == str(int(NOW.timestamp() * 1000))
    assert (draft.qiwi_txn_id, draft.chat_id, draft.message_id) == (None, None, None)
    assert await db.transfers.get(draft.id) == draft
    assert await db.transfers.get_by_client_id(draft.client_id) == draft
    assert await db.transfers.get(draft.id + 1) is None


async def test_amounts_must_be_decimal(db: Database) -> None:
    with pytest.raises(TypeError):
        await db.transfers.create_draft(
            tg_id=1,
            wallet="79001112233",
            recipient="79002223344",
            amount=1.5,  # type: ignore[arg-type]
            comment="",
            now=NOW,
        )
    with pytest.raises(ValueError):
        await _draft(db, amount="NaN")


async def test_client_ids_are_unique_increasing_digits(db: Database) -> None:
    drafts = await asyncio.gather(*(_draft(db) for _ in range(10)))  # all in the same millisecond
    drafts.append(await _draft(db, now=NOW - timedelta(days=1)))  # the clock stepped back
    ids = [int(d.client_id) for d in sorted(drafts, key=lambda d: d.id)]
    assert ids == sorted(set(ids))
    assert ids[0] == int(NOW.timestamp() * 1000)
    assert all(d.client_id.isdigit() and len(d.client_id) <= 20 for d in drafts)

    later = await _draft(db, now=NOW + timedelta(hours=1))
    assert int(later.client_id) == int((NOW + timedelta(hours=1)).timestamp() * 1000)


async def test_claim_only_owner_only_once_only_fresh(db: Database) -> None:
    draft = await _draft(db, tg_id=1)
    assert await db.transfers.claim(draft.id, 2, NOW, TTL) is None  # someone else's button
    claimed = await db.transfers.claim(draft.id, 1, NOW + timedelta(minutes=9), TTL)
    assert claimed is not None and claimed.status is S.SENDING
    assert claimed.client_id == draft.client_id
    assert claimed.updated_at == NOW + timedelta(minutes=9)
    assert await db.transfers.claim(draft.id, 1, NOW + timedelta(minutes=9), TTL) is None  # second press
    assert await db.transfers.claim(12345, 1, NOW, TTL) is None


async def test_stale_summary_cannot_be_confirmed(db: Database) -> None:
    draft = await _draft(db)
    assert await db.transfers.claim(draft.id, 1, NOW + TTL, TTL) is None
    expired = await db.transfers.get(draft.id)
    assert expired is not None and expired.status is S.EXPIRED
    assert await db.transfers.claim(draft.id, 1, NOW, TTL) is None


async def test_twenty_concurrent_claims_one_winner(db: Database) -> None:
    draft = await _draft(db)
    # Half on the shared connection, half on separate connections to the same file.
    others = [await Database.open(db.path) for _ in range(4)]
    try:
        handles = [db, *others]
        results = await asyncio.gather(
            *(handles[i % len(handles)].transfers.claim(draft.id, 1, NOW, TTL) for i in range(20))
        )
    finally:
        for other in others:
            await other.close()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].status is S.SENDING
    assert (await db.transfers.get(draft.id)).status is S.SENDING  # type: ignore[union-attr]


async def _sending(db: Database) -> Transfer:
    draft = await _draft(db)
    claimed = await db.transfers.claim(draft.id, 1, NOW, TTL)
    assert claimed is not None
    return claimed


async def test_accepted_is_final_and_idempotent(db: Database) -> None:
    row = await _sending(db)
    later = NOW + timedelta(seconds=3)
    assert await db.transfers.mark_accepted(row.id, "11111", later)
    assert not await db.transfers.mark_accepted(row.id, "22222", later)
    assert not await db.transfers.mark_failed(row.id, "QWPRC-220", "no money", later)
    assert not await db.transfers.mark_unknown(row.id, later)
    assert not await db.transfers.cancel(row.id, 1, later)
    assert await db.transfers.claim(row.id, 1, later, TTL) is None
    final = await db.transfers.get(row.id)
    assert final is not None
    assert (final.status, final.qiwi_txn_id, final.failure_code) == (S.ACCEPTED, "11111", None)
    assert final.updated_at == later


async def test_failed_records_code_and_message(db: Database) -> None:
    row = await _sending(db)
    assert await db.transfers.mark_failed(row.id, "QWPRC-220", "Недостаточно средств", NOW)
    assert not await db.transfers.mark_failed(row.id, "QWPRC-1", "other", NOW)
    assert not await db.transfers.mark_accepted(row.id, "1", NOW)
    final = await db.transfers.get(row.id)
    assert final is not None
    assert (final.status, final.failure_code, final.failure_message) == (S.FAILED, "QWPRC-220", "Недостаточно средств")


async def test_unknown_then_resolved_by_reconciliation(db: Database) -> None:
    first = await _sending(db)
    second = await _sending(db)
    third = await _draft(db)
    assert await db.transfers.mark_unknown(first.id, NOW, "timeout")
    assert not await db.transfers.mark_unknown(first.id, NOW)
    assert [t.id for t in await db.transfers.unresolved()] == [first.id, second.id]
    assert third.id not in {t.id for t in await db.transfers.unresolved()}

    assert await db.transfers.mark_accepted(first.id, "999", NOW)
    assert await db.transfers.mark_failed(second.id, None, "not in history", NOW)
    assert await db.transfers.unresolved() == []
    resolved = await db.transfers.get(first.id)
    assert resolved is not None and resolved.failure_message is None and resolved.qiwi_txn_id == "999"


async def test_draft_cannot_skip_to_an_outcome(db: Database) -> None:
    draft = await _draft(db)
    assert not await db.transfers.mark_accepted(draft.id, "1", NOW)
    assert not await db.transfers.mark_failed(draft.id, "x", "y", NOW)
    assert not await db.transfers.mark_unknown(draft.id, NOW)
    assert (await db.transfers.get(draft.id)).status is S.AWAITING_CONFIRMATION  # type: ignore[union-attr]


async def test_cancel_only_by_owner_before_confirm(db: Database) -> None:
    draft = await _draft(db, tg_id=1)
    assert not await db.transfers.cancel(draft.id, 2, NOW)
    assert await db.transfers.cancel(draft.id, 1, NOW)
    assert not await db.transfers.cancel(draft.id, 1, NOW)
    assert await db.transfers.claim(draft.id, 1, NOW, TTL) is None
    assert (await db.transfers.get(draft.id)).status is S.CANCELLED  # type: ignore[union-attr]
    sending = await _sending(db)
    assert not await db.transfers.cancel(sending.id, 1, NOW)


async def test_expire_stale(db: Database) -> None:
    old = await _draft(db, now=NOW - TTL - timedelta(seconds=1))
    fresh = await _draft(db, now=NOW)
    sending = await _sending(db)
    assert await db.transfers.expire_stale(NOW, TTL) == 1
    assert (await db.transfers.get(old.id)).status is S.EXPIRED  # type: ignore[union-attr]
    assert (await db.transfers.get(fresh.id)).status is S.AWAITING_CONFIRMATION  # type: ignore[union-attr]
    assert (await db.transfers.get(sending.id)).status is S.SENDING  # type: ignore[union-attr]


async def test_set_message_and_listing(db: Database) -> None:
    draft = await _draft(db, tg_id=1)
    other = await _draft(db, tg_id=2)
    assert await db.transfers.set_message(draft.id, chat_id=1, message_id=77)
    assert not await db.transfers.set_message(9999, chat_id=1, message_id=1)
    stored = await db.transfers.get(draft.id)
    assert stored is not None and (stored.chat_id, stored.message_id) == (1, 77)
    newer = await _draft(db, tg_id=1)
    assert [t.id for t in await db.transfers.list_for_user(1)] == [newer.id, draft.id]
    assert [t.id for t in await db.transfers.list_for_user(2)] == [other.id]


async def test_transfers_survive_reopen_and_member_removal(db: Database) -> None:
    await db.users.ensure(1, "member", now=NOW)
    row = await _sending(db)
    await db.users.remove(1)
    path = db.path
    await db.close()
    reopened = await Database.open(path)
    try:
        assert [t.id for t in await reopened.transfers.unresolved()] == [row.id]
    finally:
        await reopened.close()


async def test_told_is_recorded_once_and_only_for_final_rows(db: Database) -> None:
    waiting = await _draft(db)
    assert not await db.transfers.mark_told(waiting.id, NOW)  # nothing final to tell yet
    paid = await _draft(db)
    assert await db.transfers.claim(paid.id, 1, NOW, TTL) is not None
    assert await db.transfers.mark_accepted(paid.id, "555", NOW)
    refused = await _draft(db)
    assert await db.transfers.claim(refused.id, 1, NOW, TTL) is not None
    assert await db.transfers.mark_failed(refused.id, "QWPRC-220", "no money", NOW)
    not_sent = await _draft(db)
    assert await db.transfers.claim(not_sent.id, 1, NOW, TTL) is not None
    assert await db.transfers.mark_failed(not_sent.id, "not_sent", None, NOW)  # its replacement owns the summary
    assert [row.id for row in await db.transfers.untold()] == [paid.id, refused.id]
    assert await db.transfers.mark_told(paid.id, NOW + timedelta(seconds=1))
    assert not await db.transfers.mark_told(paid.id, NOW + timedelta(seconds=2))  # the first moment stays
    told = await db.transfers.get(paid.id)
    assert told is not None and told.told_at == NOW + timedelta(seconds=1)
    assert [row.id for row in await db.transfers.untold()] == [refused.id]
