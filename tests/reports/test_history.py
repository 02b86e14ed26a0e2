"""/history to the wallet's first payment: QIWI's cursor inside each 90-day window, then the 90 days before,
until a year of empty windows; every payment exactly once, in order. Through the real QIWI client and the
emulator on loopback, and through the real bot on a FakeTelegram."""

from __future__ import annotations

import html
import itertools
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.i18n import CatalogI18n
from bot.qiwi.client import QiwiClient
from bot.qiwi.models import parse_payment_item
from bot.sandbox import Emulator
from bot.sandbox.seed import EMPTY_WALLET, MAIN_WALLET
from bot.sandbox.wallets import QIWI_WALLET_PROVIDER, HistoryRow
from bot.services.history import (
    END_AFTER_EMPTY_WINDOWS,
    HISTORY_WINDOW,
    HistoryPosition,
    newest_position,
    payment_line,
)
from bot.services.wallet import ReadBudget, WalletService
from tests.bot.harness import ADMIN_ID, RunningBot, ask, login
from tests.service_stack import ALICE, Stack, arrive

_LINE = re.compile(r"^\d\d\.\d\d\.\d\d \d\d:\d\d ")


def old_payment(emulator: Emulator, wallet: str, age: timedelta, txn_id: int, amount: str = "100") -> HistoryRow:
    """A payment `age` before the emulator's now (seconds kept: QIWI's dates are whole seconds)."""
    row = HistoryRow(
        txn_id=txn_id,
        person_id=int(wallet),
        date=(emulator.clock.now() - age).replace(microsecond=0),
        type="IN" if txn_id % 2 else "OUT",
        status="SUCCESS",
        amount=Decimal(amount),
        currency="RUB",
        account="+79261234567",
        source="QW_RUB",
        provider=QIWI_WALLET_PROVIDER,
        comment=f"old #{txn_id}",
    )
    emulator.wallet(wallet).history.append(row)
    return row


def older_than_90_days(emulator: Emulator, wallet: str = MAIN_WALLET) -> list[HistoryRow]:
    """Payments on and around window boundaries, a dozen in one second, and a silent window between two
    older ones; the seed's four months already cross the first boundary."""
    window = HISTORY_WINDOW
    rows = [
        old_payment(emulator, wallet, window, 17_000_000_001),  # the first window's oldest second
        old_payment(emulator, wallet, window + timedelta(seconds=1), 17_000_000_002),  # the next one's newest
        old_payment(emulator, wallet, 2 * window + timedelta(seconds=1), 17_000_000_003),  # 2nd window's start
        old_payment(emulator, wallet, 2 * window + timedelta(seconds=2), 17_000_000_004),  # 3rd window's end
    ]
    rows += [old_payment(emulator, wallet, timedelta(days=200), 17_000_000_100 + i, f"{i}.50") for i in range(12)]
    rows.append(old_payment(emulator, wallet, timedelta(days=300), 17_000_000_200))
    rows.append(old_payment(emulator, wallet, timedelta(days=480), 17_000_000_201))  # after one empty window
    return rows


def newest_first(emulator: Emulator, wallet: str = MAIN_WALLET, *, operation: str = "ALL") -> list[HistoryRow]:
    rows = [r for r in emulator.wallet(wallet).history if operation == "ALL" or r.type == operation]
    return sorted(rows, key=lambda row: (row.date, row.txn_id), reverse=True)


async def walk(service: WalletService, *, rows: int, operation: str = "ALL") -> tuple[list[int], int]:
    """Every page from the newest to the end: the txn ids in order, and the number of pages."""
    position: HistoryPosition | None = newest_position(service.now())
    seen: list[int] = []
    pages = 0
    while position is not None:
        page = await service.history_walk(ALICE, operation=operation, position=position, rows=rows)
        assert page.payments or page.older is None, "a page with nothing on it only at the end"
        seen += [p.txn_id for p in page.payments]
        position = page.older
        pages += 1
        assert pages < 100
    return seen, pages


@pytest.mark.parametrize("rows", [7, 10, 50])
async def test_walking_back_shows_every_payment_once_in_order_to_the_first(stack: Stack, rows: int) -> None:
    await stack.login()
    older_than_90_days(stack.emulator)
    service = WalletService(stack.sessions, ReadBudget(per_minute=10_000))
    seen, pages = await walk(service, rows=rows)
    expected = [row.txn_id for row in newest_first(stack.emulator)]
    assert len(expected) > 80 and min(r.date for r in newest_first(stack.emulator)) < service.now() - 5 * HISTORY_WINDOW
    assert seen == expected  # each once, newest first, across pages, cursors and window boundaries
    assert pages >= len(expected) // rows


async def test_filters_walk_the_same_way(stack: Stack) -> None:
    await stack.login()
    older_than_90_days(stack.emulator)
    service = WalletService(stack.sessions, ReadBudget(per_minute=10_000))
    for operation in ("IN", "OUT"):
        seen, _ = await walk(service, rows=10, operation=operation)
        assert seen == [row.txn_id for row in newest_first(stack.emulator, operation=operation)]


async def test_the_end_is_a_year_of_empty_windows(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    await stack.login(wallet=EMPTY_WALLET)
    first = old_payment(stack.emulator, EMPTY_WALLET, timedelta(days=10), 17_000_000_301)
    # Beyond four silent windows: by the rule in bot/services/history.py, paging does not reach it.
    old_payment(stack.emulator, EMPTY_WALLET, timedelta(days=10) + 5 * HISTORY_WINDOW, 17_000_000_302)
    reads: list[tuple[datetime, datetime]] = []
    real = QiwiClient.history

    async def counted(self: QiwiClient, *args: object, **kwargs: object) -> object:
        reads.append((kwargs["start"], kwargs["end"]))  # type: ignore[arg-type]
        return await real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(QiwiClient, "history", counted)
    service = WalletService(stack.sessions, ReadBudget(per_minute=10_000))
    page = await service.history_walk(ALICE, operation="ALL", position=newest_position(service.now()))
    assert [p.txn_id for p in page.payments] == [first.txn_id] and len(reads) == 1  # a page ends with its window
    assert page.older is not None  # nothing is known yet about the windows before it
    page = await service.history_walk(ALICE, operation="ALL", position=page.older)
    assert page.payments == [] and page.older is None
    assert len(reads) == 1 + END_AFTER_EMPTY_WINDOWS  # then a year of empty windows ends it
    for (_, newer_end), (older_start, older_end) in itertools.pairwise(reads):
        assert older_end < newer_end and older_end - older_start == HISTORY_WINDOW
    assert page.searched_back_to == reads[-1][0]


async def test_a_page_stopped_by_the_budget_carries_on_where_it_stopped(stack: Stack) -> None:
    await stack.login(wallet=EMPTY_WALLET)
    row = old_payment(stack.emulator, EMPTY_WALLET, timedelta(days=10) + 3 * HISTORY_WINDOW, 17_000_000_401)
    stingy = WalletService(stack.sessions, ReadBudget(per_minute=2))
    page = await stingy.history_walk(ALICE, operation="ALL", position=newest_position(stingy.now()))
    assert page.payments == [] and page.older is not None and page.older.empty_windows == 2
    generous = WalletService(stack.sessions, ReadBudget(per_minute=10_000))
    rest = await generous.history_walk(ALICE, operation="ALL", position=page.older)
    assert [p.txn_id for p in rest.payments] == [row.txn_id]


def page_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if _LINE.match(line)]


async def test_the_bot_pages_back_to_the_first_payment(running_bot: RunningBot, i18n: CatalogI18n) -> None:
    emulator = running_bot.emulator
    older_than_90_days(emulator)
    user = running_bot.user(ADMIN_ID)
    await login(user)
    tr = i18n.translator("en")
    expected = [
        html.unescape(payment_line(parse_payment_item(row.to_json()), "en", tr)) for row in newest_first(emulator)
    ]

    first = await ask(user, "/history", "Payments")
    shown = page_lines(first)
    assert len(shown) == 10
    pages = 1
    while True:
        message = user.last_bot_message
        assert message is not None
        if message.button("Older ▶") is None:
            break
        await user.press("Older ▶", message_id=message.message_id)
        page = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
        assert "(older)" in page
        shown += page_lines(page)
        pages += 1
        assert pages < 30
    assert shown == expected  # every payment once, newest first, to the very first
    last = user.last_bot_message
    assert last is not None and "No older payments (looked back to" in (last.text or "")
    assert [b.text for b in last.buttons if b.text in ("Older ▶", "⏮ Newest")] == ["⏮ Newest"]


async def test_an_old_older_button_shows_the_same_page_after_new_payments(running_bot: RunningBot) -> None:
    user = running_bot.user(ADMIN_ID)
    await login(user)
    first = await ask(user, "/history", "Payments")
    message = user.last_bot_message
    assert message is not None
    older = message.button("Older ▶")
    assert older is not None and older.callback_data is not None
    assert len(older.callback_data.encode()) <= 64
    await user.press("Older ▶", message_id=message.message_id)
    second = (await user.wait_for(lambda a: a.kind == "edit")).text or ""

    for i in range(12):  # a page and more of new payments, after the buttons were made
        arrive(running_bot.emulator, f"{i + 1}.00", f"new #{i}")
    await user.press("⏮ Newest", message_id=message.message_id)
    newest = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
    assert "new #11" in newest and newest != first

    await user.press_data(older.callback_data, message_id=message.message_id)
    again = (await user.wait_for(lambda a: a.kind == "edit")).text or ""
    assert again == second  # the same list: the window travelled in the button
    assert "new #" not in again
