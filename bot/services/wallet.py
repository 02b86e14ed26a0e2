"""What a member reads from their wallet: balance, a page of history, totals, every payment of a period.

Every read goes through `SessionService.run`, so a dead ticket is handled in one place, and through a
per-member budget: QIWI blocks a wallet's history for five minutes past ~100 requests a minute (spec,
"Rate limit"), so a member who fires commands faster than a person reads is told to slow down before
the bot spends that allowance, which the alert poller and the transfers need as well.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.qiwi.client import QiwiClient
from bot.qiwi.models import Account, HistoryPage, Payment, Totals
from bot.services.history import READS_PER_PAGE, HistoryPosition, HistoryWalk
from bot.services.sessions import Session, SessionService

HISTORY_PAGE_ROWS = 10
# Interactive reads per member and minute; a person paging quickly makes a dozen.
READS_PER_MINUTE = 30
# Members whose recent reads are remembered (the oldest are forgotten first).
TRACKED_MEMBERS = 10_000


class SlowDown(Exception):
    """Too many reads in the last minute; `retry_after` seconds until the next one is allowed."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("too many requests from this member")
        self.retry_after = retry_after


class ReadBudget:
    """A sliding one-minute window of reads per member, bounded in the number of members it remembers."""

    def __init__(
        self,
        per_minute: int = READS_PER_MINUTE,
        *,
        members: int = TRACKED_MEMBERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.members = members
        self._clock = clock
        self._reads: OrderedDict[int, deque[float]] = OrderedDict()

    def spend(self, tg_id: int) -> None:
        """Counts one read, or raises SlowDown when the member has used up the minute."""
        now = self._clock()
        reads = self._reads.pop(tg_id, None) or deque()
        while reads and reads[0] <= now - 60.0:
            reads.popleft()
        if len(reads) >= self.per_minute:
            self._reads[tg_id] = reads
            raise SlowDown(max(1.0, reads[0] + 60.0 - now))
        reads.append(now)
        self._reads[tg_id] = reads
        while len(self._reads) > self.members:
            self._reads.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Balance:
    wallet: str
    accounts: list[Account]


class WalletService:
    def __init__(self, sessions: SessionService, budget: ReadBudget | None = None) -> None:
        self.sessions = sessions
        self.budget = budget or ReadBudget()

    def now(self) -> datetime:
        return self.sessions.clock()

    async def named_wallet(self, tg_id: int) -> str | None:
        """The current wallet, for a member who has more than one (whose answers must say which one)."""
        return await self.sessions.named_wallet(tg_id)

    async def balance(self, tg_id: int) -> Balance:
        self.budget.spend(tg_id)

        async def call(qiwi: QiwiClient, session: Session) -> Balance:
            return Balance(session.wallet, await qiwi.balance(session.tgt, session.wallet))

        return await self.sessions.run(tg_id, call)

    async def history_page(
        self,
        tg_id: int,
        *,
        operation: str,
        start: datetime,
        end: datetime,
        cursor: tuple[int, datetime] | None = None,
    ) -> HistoryPage:
        self.budget.spend(tg_id)

        async def call(qiwi: QiwiClient, session: Session) -> HistoryPage:
            return await qiwi.history(
                session.tgt,
                session.wallet,
                rows=HISTORY_PAGE_ROWS,
                operation=operation,
                start=start,
                end=end,
                next_txn_id=None if cursor is None else cursor[0],
                next_txn_date=None if cursor is None else cursor[1],
            )

        return await self.sessions.run(tg_id, call)

    async def history_walk(
        self,
        tg_id: int,
        *,
        operation: str,
        position: HistoryPosition,
        rows: int = HISTORY_PAGE_ROWS,
        max_reads: int = READS_PER_PAGE,
    ) -> HistoryWalk:
        """One page of up to `rows` payments from `position` back in time, and where the page after it starts
        (None once the history has ended: see bot/services/history.py).

        A page ends where its 90-day window does once it has something to show, so a page costs one QIWI
        read however sparse the wallet; only a press that finds its window empty reads on into older ones,
        up to the year of empty windows that ends the history.

        The first read is charged to the member's budget like any other (SlowDown when it is spent); a
        further read the budget refuses, or one past `max_reads`, ends the page early instead, and the
        Older button carries on from there.
        """
        self.budget.spend(tg_id)

        async def call(qiwi: QiwiClient, session: Session) -> HistoryWalk:
            payments: list[Payment] = []
            at: HistoryPosition | None = position
            searched = position.window_start
            reads = 0
            while at is not None and len(payments) < rows:
                if reads >= max_reads or (reads and not self._spend_quietly(tg_id)):
                    break
                page = await qiwi.history(
                    session.tgt,
                    session.wallet,
                    rows=rows - len(payments),
                    operation=operation,
                    start=at.window_start,
                    end=at.window_end,
                    next_txn_id=None if at.cursor is None else at.cursor[0],
                    next_txn_date=None if at.cursor is None else at.cursor[1],
                )
                reads += 1
                searched = at.window_start
                payments += page.payments
                following = None
                if page.next_txn_id is not None and page.next_txn_date is not None and page.payments:
                    following = (page.next_txn_id, page.next_txn_date)
                if following is not None and following != at.cursor:
                    at = HistoryPosition(at.window_end, following)
                else:
                    # This window has nothing more. It counts as empty only when read from its newest end.
                    at = at.older_window(this_one_was_empty=at.cursor is None and not page.payments)
                    if payments:
                        break  # a page with something to show ends with its window: one read, not five
            return HistoryWalk(payments, at, searched)

        return await self.sessions.run(tg_id, call)

    def _spend_quietly(self, tg_id: int) -> bool:
        try:
            self.budget.spend(tg_id)
        except SlowDown:
            return False
        return True

    async def totals(self, tg_id: int, start: datetime, end: datetime) -> Totals:
        self.budget.spend(tg_id)

        async def call(qiwi: QiwiClient, session: Session) -> Totals:
            return await qiwi.totals(session.tgt, session.wallet, start=start, end=end)

        return await self.sessions.run(tg_id, call)

    async def payments(self, tg_id: int, start: datetime, end: datetime) -> list[Payment]:
        """Every payment of the period, all pages (for the chart and the export)."""
        self.budget.spend(tg_id)

        async def call(qiwi: QiwiClient, session: Session) -> list[Payment]:
            return [p async for p in qiwi.iter_history(session.tgt, session.wallet, start=start, end=end)]

        return await self.sessions.run(tg_id, call)
