"""Incoming-payment alerts: a gentle poller of each member's history (operation IN).

Budget: QIWI blocks a wallet's history for about five minutes after ~100 requests a minute, and the
member's own /history and /stats count against the same budget. So each wallet is asked at most once per
interval (one request in the usual case: a page of 50 reaches back past the last seen payment), never twice
at once, first polls are spread at random over one interval, and failures back off exponentially (a 423 at
least for the five minutes the block lasts).

Exactly once: payments are announced oldest first and the high-water mark (`users.last_seen_txn_id`) is
stored right after each message is sent, so a restart resumes where the messages stopped. A crash between
sending and storing can repeat that one message; nothing is ever skipped. The very first poll after a login
sets the mark at the newest payment dated before the login (old payments are history, not news) and
announces the ones that arrived since, so it may run late without losing anything.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from html import escape
from typing import TYPE_CHECKING

from bot.money import format_money
from bot.phone import InvalidPhone, format_phone, normalize_phone
from bot.qiwi.constants import MAX_HISTORY_ROWS, MAX_WINDOW_DAYS
from bot.qiwi.errors import QiwiError, QiwiRateLimited
from bot.services.history import counterparty
from bot.services.names import member_labels
from bot.services.sessions import NotLoggedIn, Session, SessionEnded
from bot.timeutil import MSK, show_moment

if TYPE_CHECKING:
    from bot.i18n import Translator
    from bot.qiwi.client import QiwiClient
    from bot.qiwi.models import Payment
    from bot.services.access import Access
    from bot.services.notifier import Notifier, Texts
    from bot.services.sessions import SessionService
    from bot.storage.models import User, WalletSession

log = logging.getLogger(__name__)

# How far back a poll looks when it has no better idea (after a start-up): QIWI's own window limit.
RESUME_WINDOW = timedelta(days=MAX_WINDOW_DAYS)
# After a payment was seen, later polls look back from its date with this margin: a payment can become
# visible in the history a little after the moment it is dated.
WINDOW_MARGIN = timedelta(hours=1)
MAX_PAGES_PER_POLL = 4
# The roster is re-read when a login, logout, alerts switch or removal changed it (the storage counts
# those writes), and at least this often anyway.
ROSTER_REFRESH = 60.0
# Polls in flight at once. Each wallet is asked once per interval whatever this is; it only has to be
# large enough that N wallets / interval polls a second fit in: 16 × ~50 ms per poll ≈ 300 polls/s.
CONCURRENCY = 16
MAX_ALERTS_PER_POLL = 10
RATE_LIMIT_PAUSE = 300.0  # QIWI's history block lasts about five minutes
BACKOFF_CAP = 1800.0
STOP_GRACE = 5.0
# How often the schedule is looked at; a due poll starts at most this late.
TICK_SECONDS = 1.0
# A wallet's next poll is one interval after its last one started, give or take this share: enough to keep
# polls from bunching up again after a burst, little enough that with a tick's lateness every gap between
# two polls stays within the interval ± 10 %.
JITTER = 0.05


class PollResult(StrEnum):
    SKIPPED = "skipped"  # alerts off, no session, user gone
    SEEDED = "seeded"  # first poll after login: the mark set, nothing announced
    OK = "ok"
    SESSION_ENDED = "session_ended"
    RATE_LIMITED = "rate_limited"
    FAILED = "failed"


@dataclass
class _Schedule:
    next_due: float
    failures: int = 0
    newest_seen: datetime | None = None  # the date of the newest payment seen, to narrow the window


@dataclass
class _Fetched:
    new: list[Payment] = field(default_factory=list)
    newest_id: int | None = None
    newest_date: datetime | None = None
    baseline_id: int | None = None  # first poll: the newest payment from before the login


def alert_text(payment: Payment, tr: Translator, *, payer: str | None = None, to_wallet: str | None = None) -> str:
    """`payer`: the paying member's name, when their wallet is one of the family's; `to_wallet`: the wallet
    paid, for a member with more than one."""
    money = payment.sum or payment.total
    amount = format_money(money.amount, money.currency, tr.language) if money else "?"
    sender = counterparty(payment)
    when = show_moment(payment.date, "day_time")
    if sender and payer:
        sender = f"{payer}, {sender}"
    if sender:
        text = tr("alerts.incoming", amount=amount, sender=escape(sender), time=when)
    else:
        text = tr("alerts.incoming_anonymous", amount=amount, time=when)
    if payment.comment and payment.comment.strip():
        text += "\n" + tr("alerts.comment", comment=escape(payment.comment.strip()[:200]))
    if payment.status == "WAITING":
        text += "\n" + tr("alerts.waiting")
    if to_wallet:
        text += "\n" + tr("alerts.to_wallet", wallet=format_phone(to_wallet))
    return text


class AlertPoller:
    """Polls every logged-in member with alerts on. The jobs module calls `tick()` about once a second
    and `drain()` at shutdown."""

    def __init__(
        self,
        sessions: SessionService,
        notifier: Notifier,
        texts: Texts,
        access: Access,
        *,
        interval: float = 60.0,
        concurrency: int = CONCURRENCY,
        default_language: str = "ru",
        rng: random.Random | None = None,
    ) -> None:
        self.sessions = sessions
        self.db = sessions.db
        self.notifier = notifier
        self.texts = texts
        self.access = access
        self.interval = interval  # seconds, not money
        self.default_language = default_language
        self._rng = rng or random.Random()
        self._slots = asyncio.Semaphore(concurrency)
        self._schedules: dict[tuple[int, str], _Schedule] = {}  # by (member, wallet)
        self._in_flight: dict[str, asyncio.Task[PollResult]] = {}  # by wallet
        self._blocked_until: dict[str, float] = {}  # by wallet, after a 423
        # The session each wallet was last told to log in again for: one entry per polled wallet at most.
        self._told_to_login: dict[tuple[int, str], datetime | None] = {}
        self._roster: list[WalletSession] = []
        self._roster_due = 0.0
        self._roster_generation = -1
        # Due polls by time: (due, order, key); an entry whose schedule moved since is skipped when popped.
        self._due: list[tuple[float, int, tuple[int, str]]] = []
        self._order = itertools.count()
        # Who is who, refreshed with the roster: a payer's wallet that belongs to a member is shown by name.
        self._names_by_wallet: dict[str, str] = {}
        self._wallet_counts: dict[int, int] = {}

    # -- one poll ------------------------------------------------------------------------------------

    async def poll_user(self, tg_id: int, wallet: str | None = None) -> PollResult:
        """One look at one wallet's incoming payments (default: the member's current one), announcing what
        is new. Never raises a QiwiError."""
        user = await self.db.users.get(tg_id)
        if user is None or not self.access.is_inside(user):
            return PollResult.SKIPPED
        stored = user.current if wallet is None else await self.db.wallets.get(tg_id, wallet)
        if stored is None or not stored.notify or stored.tgt_ciphertext is None:
            return PollResult.SKIPPED
        key = (tg_id, stored.wallet)
        # A poll outside the schedule (a test, a first look) narrows nothing and schedules nothing.
        schedule = self._schedules.get(key) or _Schedule(next_due=0.0)
        mark = stored.last_seen_txn_id
        now = self.sessions.clock()
        since = (stored.session_started_at or now) if mark is None else None
        try:
            fetched = await self.sessions.run(
                tg_id, lambda qiwi, s: self._fetch(qiwi, s, mark, since, schedule, now), wallet=stored.wallet
            )
        except NotLoggedIn:
            return PollResult.SKIPPED
        except SessionEnded:
            await self._tell_to_login(user, stored)
            return PollResult.SESSION_ENDED
        except QiwiRateLimited:
            log.warning("alerts: history of user %s is rate-limited by QIWI; pausing", tg_id)
            return PollResult.RATE_LIMITED
        except QiwiError as error:
            log.info("alerts: poll for user %s failed: %s", tg_id, type(error).__name__)
            return PollResult.FAILED
        if fetched.newest_date is not None:
            schedule.newest_seen = max(schedule.newest_seen or fetched.newest_date, fetched.newest_date)
        if mark is None:
            await self.db.wallets.set_last_seen_txn(tg_id, stored.wallet, fetched.baseline_id or 0)
            await self._announce(user, stored.wallet, fetched.new)
            return PollResult.SEEDED
        await self._announce(user, stored.wallet, fetched.new)
        return PollResult.OK

    async def _fetch(
        self,
        qiwi: QiwiClient,
        session: Session,
        mark: int | None,
        since: datetime | None,
        schedule: _Schedule,
        now: datetime,
    ) -> _Fetched:
        """New payments: above the mark, or (first poll, `since` = the login) dated from the login on."""
        end = now.astimezone(MSK).replace(microsecond=0)
        start = end - RESUME_WINDOW
        if schedule.newest_seen is not None and mark is not None:
            start = max(start, schedule.newest_seen - WINDOW_MARGIN)
        fetched = _Fetched()
        cursor: tuple[int, datetime] | None = None
        for _ in range(MAX_PAGES_PER_POLL):
            page = await qiwi.history(
                session.tgt,
                session.wallet,
                rows=MAX_HISTORY_ROWS,
                operation="IN",
                start=start,
                end=end,
                next_txn_id=cursor[0] if cursor else None,
                next_txn_date=cursor[1] if cursor else None,
            )
            reached_mark = False
            for payment in page.payments:
                if fetched.newest_id is None or payment.txn_id > fetched.newest_id:
                    fetched.newest_id, fetched.newest_date = payment.txn_id, payment.date
                is_new = payment.txn_id > mark if mark is not None else since is not None and payment.date >= since
                if is_new:
                    fetched.new.append(payment)
                else:
                    reached_mark = True
                    if mark is None and (fetched.baseline_id is None or payment.txn_id > fetched.baseline_id):
                        fetched.baseline_id = payment.txn_id
            if reached_mark or page.next_txn_id is None or page.next_txn_date is None or not page.payments:
                break
            cursor = (page.next_txn_id, page.next_txn_date)
        return fetched

    async def _announce(self, user: User, wallet: str, payments: list[Payment]) -> None:
        tr = self.texts.translator(user.language or self.default_language)
        fresh = sorted({p.txn_id: p for p in payments}.values(), key=lambda p: p.txn_id)
        # A member with several wallets is told which one was paid.
        to_wallet = wallet if self._wallet_counts.get(user.tg_id, 1) > 1 else None
        # The rest waits for the next poll: a burst is spread out rather than flooding the chat.
        for payment in fresh[:MAX_ALERTS_PER_POLL]:
            if payment.status != "ERROR":  # a failed incoming payment brought no money
                text = alert_text(payment, tr, payer=self._payer_name(payment), to_wallet=to_wallet)
                if await self.notifier.send(user.tg_id, text) is None:
                    # Not marked: the next poll tries this payment again.
                    log.warning("alerts: could not message user %s", user.tg_id)
                    return
            await self.db.wallets.set_last_seen_txn(user.tg_id, wallet, payment.txn_id)
            log.info("alerts: user %s told of incoming payment %s", user.tg_id, payment.txn_id)

    def _payer_name(self, payment: Payment) -> str | None:
        account = payment.account
        if not account:
            return None
        try:
            return self._names_by_wallet.get(normalize_phone(account))
        except InvalidPhone:
            return None

    async def _tell_to_login(self, user: User, stored: WalletSession) -> None:
        # The dropped ticket keeps this wallet out of later polls; the map guards against a repeat anyway
        # (e.g. a second member on the same wallet's 401 arriving in the same round).
        key = (user.tg_id, stored.wallet)
        if key in self._told_to_login and self._told_to_login[key] == stored.session_started_at:
            return
        self._told_to_login[key] = stored.session_started_at
        tr = self.texts.translator(user.language or self.default_language)
        await self.notifier.send(user.tg_id, tr("alerts.session_ended", wallet=format_phone(stored.wallet)))

    # -- the schedule ----------------------------------------------------------------------------------

    def _after(self, key: tuple[int, str], schedule: _Schedule, result: PollResult, started: float, now: float) -> None:
        if self._schedules.get(key) is not schedule:
            return  # left the roster while its poll ran
        if result in (PollResult.OK, PollResult.SEEDED, PollResult.SKIPPED, PollResult.SESSION_ENDED):
            schedule.failures = 0
            # From the poll's start, not its end: a slow QIWI answer does not stretch the interval.
            due = started + self.interval * self._rng.uniform(1 - JITTER, 1 + JITTER)
            self._push(key, schedule, max(due, now))
            return
        schedule.failures += 1
        delay = min(BACKOFF_CAP, self.interval * 2.0**schedule.failures)
        if result is PollResult.RATE_LIMITED:
            delay = max(delay, RATE_LIMIT_PAUSE)
            self._blocked_until[key[1]] = now + delay
        self._push(key, schedule, now + delay * self._rng.uniform(1.0, 1.2))

    def delay_for(self, tg_id: int, wallet: str | None = None) -> float | None:
        """Seconds until the next poll of the member's wallet (any of theirs when not given; None if not
        scheduled); for tests and diagnostics."""
        due = [s.next_due for (t, w), s in self._schedules.items() if t == tg_id and wallet in (None, w)]
        return None if not due else min(due) - asyncio.get_running_loop().time()

    def schedule_of(self, tg_id: int, wallet: str) -> _Schedule | None:
        return self._schedules.get((tg_id, wallet))

    def poll_soon(self, tg_id: int, wallet: str) -> bool:
        """Moves the wallet's next poll to now (the next tick starts it). False when it is not scheduled."""
        key = (tg_id, wallet)
        schedule = self._schedules.get(key)
        if schedule is None:
            return False
        self._push(key, schedule, asyncio.get_running_loop().time())
        return True

    async def _refresh_roster(self) -> None:
        users = {u.tg_id: u for u in self.access.inside(await self.db.users.list_all())}
        wallets = await self.db.wallets.all_with_session()
        self._roster = [w for w in wallets if w.notify and w.tg_id in users]
        counts: dict[int, int] = {}
        for stored in wallets:
            counts[stored.tg_id] = counts.get(stored.tg_id, 0) + 1
        self._wallet_counts = counts
        labels = member_labels(users.values())
        self._names_by_wallet = {w.wallet: labels[w.tg_id] for w in wallets if w.tg_id in labels}

    async def tick(self) -> None:
        """Starts the polls that are due. The alert job calls it about once a second; with nothing due it
        costs a look at the top of a heap."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        generation = self.db.users.user_cache.generation
        if now >= self._roster_due or generation != self._roster_generation:
            self._roster_generation = generation
            await self._refresh_roster()
            self._roster_due = now + ROSTER_REFRESH
            self._reschedule(now)
        while self._due and self._due[0][0] <= now:
            due, _, key = heapq.heappop(self._due)
            schedule = self._schedules.get(key)
            if schedule is None or schedule.next_due != due:
                continue  # the wallet left the roster, or its poll moved
            tg_id, wallet = key
            if wallet in self._in_flight:
                # Another member's poll of the same wallet is running: this one waits for the next interval.
                self._push(key, schedule, now + self.interval * self._rng.uniform(0.9, 1.1))
                continue
            if self._blocked_until.get(wallet, 0.0) > now:
                self._push(key, schedule, self._blocked_until[wallet])
                continue
            self._in_flight[wallet] = loop.create_task(self._run_one(tg_id, wallet, schedule, now))

    def _reschedule(self, now: float) -> None:
        """After a roster read: new wallets get their first poll, spread evenly over one interval so a
        start does not poll everyone at once; wallets no longer in the roster are forgotten."""
        present = {(w.tg_id, w.wallet) for w in self._roster}
        for gone in set(self._schedules) - present:
            del self._schedules[gone]
            self._told_to_login.pop(gone, None)
        for key in present - set(self._schedules):
            schedule = self._schedules[key] = _Schedule(0.0)
            self._push(key, schedule, now + self.interval * self._rng.random())

    def _push(self, key: tuple[int, str], schedule: _Schedule, due: float) -> None:
        schedule.next_due = due
        heapq.heappush(self._due, (due, next(self._order), key))

    async def _run_one(self, tg_id: int, wallet: str, schedule: _Schedule, started: float) -> PollResult:
        try:
            async with self._slots:
                result = await self.poll_user(tg_id, wallet)
            self._after((tg_id, wallet), schedule, result, started, asyncio.get_running_loop().time())
            return result
        except Exception:
            log.exception("alerts: poll for user %s crashed", tg_id)
            self._after((tg_id, wallet), schedule, PollResult.FAILED, started, asyncio.get_running_loop().time())
            return PollResult.FAILED
        finally:
            self._in_flight.pop(wallet, None)

    async def wait_idle(self) -> None:
        """Waits for the polls in flight to finish."""
        while self._in_flight:
            await asyncio.wait(list(self._in_flight.values()))

    async def drain(self, grace: float = STOP_GRACE) -> None:
        """At shutdown: lets polls in flight finish (so a sent alert gets its mark), then cancels the rest."""
        pending = list(self._in_flight.values())
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
