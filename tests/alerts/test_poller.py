"""Incoming-payment alerts against the emulator over loopback and a real SQLite file."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bot.crypto import TicketCipher
from bot.i18n import CatalogI18n
from bot.jobs import Job
from bot.qiwi.constants import EDGE_SERVICE
from bot.sandbox import Emulator, EmulatorServer
from bot.sandbox.seed import DEMO_PASSWORD, EMPTY_WALLET, MAIN_WALLET, RECEIVER_WALLET
from bot.services.access import Access
from bot.services.alerts import JITTER, RATE_LIMIT_PAUSE, AlertPoller, PollResult
from bot.services.notifier import SentMessage
from tests.service_stack import ALICE, BOB, Stack, close_stack, open_stack


def edge_requests(emulator: Emulator) -> int:
    """Every edge call takes a fresh ST, so this counts history requests made against the wallet budget."""
    return sum(1 for t in emulator.issued_tickets if t.kind == "ST" and t.service == EDGE_SERVICE)


ACCESS = Access.of([])  # ALICE and BOB are members


def poller(stack: Stack, i18n: CatalogI18n, **kwargs: object) -> AlertPoller:
    return AlertPoller(stack.sessions, stack, i18n, ACCESS, rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


def polling_job(alerts: AlertPoller, tick: float) -> Job:
    return Job("alert-poller", alerts.tick, tick, on_stop=alerts.drain)


def arrive(stack: Stack, amount: str, comment: str = "", wallet: str = MAIN_WALLET) -> None:
    stack.emulator.add_incoming(wallet, Decimal(amount), "79261234567", comment)
    stack.emulator.clock.advance(timedelta(seconds=5))


async def test_first_poll_after_login_sets_the_mark_without_announcing(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    alerts = poller(stack, i18n)
    assert await alerts.poll_user(ALICE) is PollResult.SEEDED
    user = await stack.db.users.get(ALICE)
    assert user is not None and user.last_seen_txn_id is not None and user.last_seen_txn_id > 0
    assert stack.sent == []  # the seeded wallet has months of incoming payments: none is news


async def test_a_payment_after_login_but_before_the_first_poll_is_announced(stack: Stack, i18n: CatalogI18n) -> None:
    stack.emulator.clock.advance(timedelta(seconds=2))
    await stack.login()
    stack.emulator.clock.advance(timedelta(seconds=2))
    arrive(stack, "77.70")
    alerts = poller(stack, i18n)
    assert await alerts.poll_user(ALICE) is PollResult.SEEDED
    assert len(stack.sent) == 1 and "77,70" in stack.sent[0][1]
    assert await alerts.poll_user(ALICE) is PollResult.OK
    assert len(stack.sent) == 1


async def test_a_wallet_with_no_payments_is_seeded_then_announces_the_first(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login(wallet=EMPTY_WALLET)
    alerts = poller(stack, i18n)
    assert await alerts.poll_user(ALICE) is PollResult.SEEDED
    arrive(stack, "10", wallet=EMPTY_WALLET)
    assert await alerts.poll_user(ALICE) is PollResult.OK
    assert len(stack.sent) == 1 and "10" in stack.sent[0][1]


async def test_new_incoming_payments_are_announced_once_each_oldest_first(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    alerts = poller(stack, i18n)
    await alerts.poll_user(ALICE)
    arrive(stack, "150.50", "за обед <b>")
    arrive(stack, "1000")
    assert await alerts.poll_user(ALICE) is PollResult.OK
    assert [tg for tg, _ in stack.sent] == [ALICE, ALICE]
    first, second = (text for _, text in stack.sent)
    assert "150,50" in first and "за обед &lt;b&gt;" in first  # Russian formatting, comment HTML-escaped
    assert "1 000" in second.replace("\xa0", " ")
    assert await alerts.poll_user(ALICE) is PollResult.OK
    assert len(stack.sent) == 2  # nothing twice


async def test_nothing_missed_or_repeated_across_a_restart(
    emulator: Emulator, qiwi_server: EmulatorServer, tmp_path: Path, cipher: TicketCipher, i18n: CatalogI18n
) -> None:
    path = tmp_path / "bot.sqlite3"
    first = await open_stack(emulator, qiwi_server, path, cipher)
    await first.login()
    alerts = poller(first, i18n)
    await alerts.poll_user(ALICE)
    arrive(first, "11")
    await alerts.poll_user(ALICE)
    assert len(first.sent) == 1
    await close_stack(first)

    arrive(first, "22")  # arrives while the bot is down
    arrive(first, "33")
    second = await open_stack(emulator, qiwi_server, path, cipher)
    try:
        restarted = poller(second, i18n)
        assert await restarted.poll_user(ALICE) is PollResult.OK
        texts = [text for _, text in second.sent]
        assert len(texts) == 2 and "22" in texts[0] and "33" in texts[1]
        assert await restarted.poll_user(ALICE) is PollResult.OK
        assert len(second.sent) == 2
    finally:
        await close_stack(second)


async def test_a_failed_message_is_retried_and_earlier_ones_are_not_repeated(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    delivered: list[str] = []
    failures = iter([False, True])  # the second message fails once

    class FlakyTelegram:
        async def send(self, chat_id: int, text: str, keyboard: object = None) -> SentMessage | None:
            if next(failures, False):
                return None  # what the notifier reports when Telegram is down
            delivered.append(text)
            return SentMessage(chat_id, len(delivered))

        async def edit(self, chat_id: int, message_id: int, text: str, keyboard: object = None) -> bool:
            return True

    alerts = AlertPoller(stack.sessions, FlakyTelegram(), i18n, ACCESS, rng=random.Random(1))
    await alerts.poll_user(ALICE)
    arrive(stack, "1")
    arrive(stack, "2")
    await alerts.poll_user(ALICE)
    assert len(delivered) == 1
    await alerts.poll_user(ALICE)
    assert len(delivered) == 2 and "1" in delivered[0] and "2" in delivered[1]


async def test_no_alerts_when_turned_off_logged_out_or_removed(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    alerts = poller(stack, i18n)
    await alerts.poll_user(ALICE)
    arrive(stack, "5")
    await stack.db.wallets.set_notify(ALICE, MAIN_WALLET, False)
    before = edge_requests(stack.emulator)
    assert await alerts.poll_user(ALICE) is PollResult.SKIPPED
    assert edge_requests(stack.emulator) == before  # not even asked
    await stack.db.wallets.set_notify(ALICE, MAIN_WALLET, True)
    await stack.sessions.logout(ALICE)
    assert await alerts.poll_user(ALICE) is PollResult.SKIPPED
    await stack.db.users.remove(ALICE)
    assert await alerts.poll_user(ALICE) is PollResult.SKIPPED
    assert stack.sent == []


async def test_a_dead_session_gets_one_login_message_not_one_a_minute(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    alerts = poller(stack, i18n, interval=0.05)
    await alerts.poll_user(ALICE)
    stack.emulator.revoke_tgts(MAIN_WALLET)
    assert await alerts.poll_user(ALICE) is PollResult.SESSION_ENDED
    assert len(stack.sent) == 1 and "/login" in stack.sent[0][1]
    for _ in range(3):  # the scheduler keeps running; the member is no longer polled
        await alerts.tick()
        await asyncio.sleep(0.06)
    assert await alerts.poll_user(ALICE) is PollResult.SKIPPED
    assert len(stack.sent) == 1


async def test_423_backs_off_for_the_block_and_then_resumes(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    alerts = poller(stack, i18n, interval=0.05)
    await alerts.poll_user(ALICE)
    stack.emulator.faults.inject("history", "status", status=423)
    await alerts.tick()  # reads the roster: ALICE's wallet is scheduled
    assert alerts.poll_soon(ALICE, MAIN_WALLET)
    await alerts.tick()
    await alerts.wait_idle()
    delay = alerts.delay_for(ALICE)
    assert delay is not None and delay >= RATE_LIMIT_PAUSE - 1
    before = edge_requests(stack.emulator)
    for _ in range(3):
        await alerts.tick()
        await asyncio.sleep(0.02)
    assert edge_requests(stack.emulator) == before  # nothing sent while blocked
    arrive(stack, "7")
    assert await alerts.poll_user(ALICE) is PollResult.OK  # the fault is gone: a direct poll works again
    assert len(stack.sent) == 1


async def test_the_next_poll_is_one_interval_after_the_last_one_started(stack: Stack, i18n: CatalogI18n) -> None:
    """A slow QIWI answer does not stretch the interval: with the tick's lateness, every gap between two polls
    of a wallet stays within the interval ± 10 %."""
    await stack.login()
    alerts = poller(stack, i18n, interval=2.0)
    await alerts.poll_user(ALICE)  # the first poll sets the mark
    await alerts.tick()  # reads the roster
    assert alerts.poll_soon(ALICE, MAIN_WALLET)
    stack.emulator.faults.latency = 0.3  # the poll's ST and history read: 0.6 s or more
    loop = asyncio.get_running_loop()
    started = loop.time()
    await alerts.tick()
    await alerts.wait_idle()
    assert loop.time() - started >= 0.6
    delay = alerts.delay_for(ALICE)
    assert delay is not None
    gap = loop.time() + delay - started
    assert 2.0 * (1 - JITTER) - 0.01 <= gap <= 2.0 * (1 + JITTER) + 0.01


async def test_errors_back_off_exponentially(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login()
    alerts = poller(stack, i18n, interval=0.05)
    await alerts.poll_user(ALICE)
    stack.emulator.faults.inject("history", "status", status=500, times=None)
    delays = []
    for _ in range(3):
        await alerts.tick()
        await alerts.wait_idle()
        schedule_delay = alerts.delay_for(ALICE)
        assert schedule_delay is not None
        delays.append(schedule_delay)
        # Make it due again at once, to watch the next failure's delay grow.
        assert alerts.poll_soon(ALICE, MAIN_WALLET)
    assert delays[0] < delays[1] < delays[2]
    stack.emulator.faults.clear()


async def test_the_loop_polls_spread_one_request_per_wallet_and_stops_cleanly(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login(ALICE, MAIN_WALLET)
    await stack.login(BOB, RECEIVER_WALLET)
    alerts = poller(stack, i18n, interval=0.3)
    job = polling_job(alerts, 0.02)
    await job.start()
    try:
        for _ in range(100):
            users = [await stack.db.users.get(t) for t in (ALICE, BOB)]
            if all(u is not None and u.last_seen_txn_id is not None for u in users):
                break
            await asyncio.sleep(0.02)
        arrive(stack, "42")
        arrive(stack, "43", wallet=RECEIVER_WALLET)
        for _ in range(100):
            if len(stack.sent) >= 2:
                break
            await asyncio.sleep(0.02)
        assert sorted(tg for tg, _ in stack.sent) == [ALICE, BOB]
        # About one request per member per interval: over ~0.6 s at most a handful, never a flood.
        before = edge_requests(stack.emulator)
        await asyncio.sleep(0.6)
        assert edge_requests(stack.emulator) - before <= 2 * 4
    finally:
        await asyncio.wait_for(job.stop(), 3)
    after_stop = edge_requests(stack.emulator)
    await asyncio.sleep(0.4)
    assert edge_requests(stack.emulator) == after_stop  # stopped means stopped


async def test_two_members_on_one_wallet_never_poll_it_at_the_same_time(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login(ALICE, MAIN_WALLET)
    await stack.login(BOB, MAIN_WALLET)
    alerts = poller(stack, i18n, interval=0.01)
    stack.emulator.faults.inject("history", "latency", delay=0.3, times=None)
    await alerts.tick()
    await asyncio.sleep(0.05)
    await alerts.tick()
    assert len(alerts._in_flight) == 1
    await alerts.drain()
    stack.emulator.faults.clear()


async def test_an_admin_who_left_admin_ids_is_never_polled(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.db.users.ensure(ALICE, "admin")
    await stack.sessions.login(ALICE, MAIN_WALLET, DEMO_PASSWORD)
    alerts = poller(stack, i18n)  # ACCESS names no admin: ALICE's row says admin, ADMIN_IDS does not
    before = edge_requests(stack.emulator)
    assert await alerts.poll_user(ALICE) is PollResult.SKIPPED
    await alerts.tick()
    assert alerts.delay_for(ALICE) is None
    assert edge_requests(stack.emulator) == before and stack.sent == []


async def test_every_logged_in_wallet_is_polled_and_the_alert_names_the_wallet_and_the_paying_member(
    stack: Stack, i18n: CatalogI18n
) -> None:
    await stack.login(ALICE, MAIN_WALLET)
    await stack.login(ALICE, EMPTY_WALLET)  # a second wallet; it is now the current one
    await stack.db.users.ensure(BOB, "member")
    await stack.db.users.set_name(BOB, "Rita", "rita")
    await stack.sessions.login(BOB, RECEIVER_WALLET, DEMO_PASSWORD)
    await stack.db.wallets.set_notify(BOB, RECEIVER_WALLET, False)  # Bob's own alerts do not matter here
    alerts = poller(stack, i18n, interval=0.05)
    for _ in range(2):  # the first round seeds each wallet
        await alerts.tick()
        await alerts.wait_idle()
        for wallet in (MAIN_WALLET, EMPTY_WALLET):
            assert alerts.poll_soon(ALICE, wallet), wallet
    stack.sent.clear()
    stack.emulator.add_incoming(MAIN_WALLET, Decimal("12"), RECEIVER_WALLET, "от Риты")
    stack.emulator.add_incoming(EMPTY_WALLET, Decimal("7"), "79261234567", "")
    stack.emulator.clock.advance(timedelta(seconds=5))
    await alerts.tick()
    await alerts.wait_idle()
    texts = sorted(text for tg, text in stack.sent if tg == ALICE)
    assert len(texts) == 2, stack.sent
    to_main = next(t for t in texts if "12" in t)
    to_empty = next(t for t in texts if "7,00" in t)
    assert "+7 900 111-22-33" in to_main and "+7 900 333-44-55" in to_empty  # which wallet was paid
    assert "Rita, +7 900 222-33-44" in to_main  # the payer's wallet is a member's: by name first


async def test_a_login_or_logout_reaches_the_schedule_at_the_next_tick_not_after_a_timer(
    stack: Stack, i18n: CatalogI18n
) -> None:
    alerts = poller(stack, i18n, interval=30.0)
    await alerts.tick()
    assert alerts.delay_for(ALICE) is None
    await stack.login(ALICE, MAIN_WALLET)
    await alerts.tick()
    delay = alerts.delay_for(ALICE)
    assert delay is not None and 0 <= delay <= 30.0  # first polls spread over one interval
    await stack.sessions.logout(ALICE)
    await alerts.tick()
    assert alerts.delay_for(ALICE) is None


async def test_nothing_due_costs_no_database_read(stack: Stack, i18n: CatalogI18n) -> None:
    await stack.login(ALICE, MAIN_WALLET)
    alerts = poller(stack, i18n, interval=30.0)
    await alerts.tick()
    statements: list[str] = []
    await stack.db.sql._conn.set_trace_callback(statements.append)
    for _ in range(100):
        await alerts.tick()
    await stack.db.sql._conn.set_trace_callback(None)
    assert statements == []
