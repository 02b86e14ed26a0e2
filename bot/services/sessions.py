"""A member's QIWI session: the encrypted TGT, its lifetime, and the one place QIWI calls go through.

QIWI ends a TGT by itself 8 hours after login or after 2 hours without an ST request (spec, "Facts beyond
the 2017 document"). We cannot ask QIWI when that will be, so we track both moments ourselves and use them
to tell the user "until when", and to explain a 401 plainly when the limit has obviously passed.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.crypto import UndecryptableTicket
from bot.qiwi.errors import QiwiAuthError
from bot.storage.models import WalletSession

if TYPE_CHECKING:
    from bot.crypto import TicketCipher
    from bot.qiwi.client import QiwiClient
    from bot.storage import Database
    from bot.storage.models import User

log = logging.getLogger(__name__)

TGT_MAX_AGE = timedelta(hours=8)
TGT_IDLE_LIMIT = timedelta(hours=2)
# The idle limit is two hours: recording each use to the minute is plenty, and spares a synced write per call.
TOUCH_EVERY = timedelta(minutes=1)
LOGIN_ATTEMPTS = 5
LOGIN_WINDOW = timedelta(minutes=15)
# Users whose failed logins are remembered at once; each costs a few hundred bytes.
LOGIN_THROTTLE_MAX_USERS = 10_000

Clock = Callable[[], datetime]
T = TypeVar("T")


class NotLoggedIn(Exception):
    """No usable stored ticket: never logged in, logged out, or a row no key can decrypt."""


class SessionEnded(Exception):
    """QIWI refused the stored ticket (401); it has been dropped. `expired`: our clock says it had to end."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("the QIWI session ended")
        self.expired = expired


class TooManyLoginAttempts(Exception):
    def __init__(self, retry_at: datetime) -> None:
        super().__init__("too many login attempts")
        self.retry_at = retry_at


def session_expires_at(started_at: datetime, last_activity_at: datetime | None) -> datetime:
    """The earlier of the 8-hour cap and 2 hours after the last ticket request."""
    idle_end = (last_activity_at or started_at) + TGT_IDLE_LIMIT
    return min(started_at + TGT_MAX_AGE, idle_end)


@dataclass(frozen=True)
class Session:
    tg_id: int
    wallet: str
    tgt: str = field(repr=False)
    started_at: datetime
    last_activity_at: datetime | None

    @property
    def expires_at(self) -> datetime:
        return session_expires_at(self.started_at, self.last_activity_at)


@dataclass(frozen=True)
class SessionStatus:
    """What /start shows, without decrypting anything."""

    wallet: str | None
    expires_at: datetime | None

    @property
    def logged_in(self) -> bool:
        return self.wallet is not None and self.expires_at is not None


class LoginThrottle:
    """Failed password attempts per user in a sliding window (memory only: a restart forgives).

    Only users with failures inside the window have an entry, and at most `max_users` of them: beyond that
    the one whose last failure is oldest is forgotten (it is the likeliest to have left the window anyway).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        attempts: int = LOGIN_ATTEMPTS,
        window: timedelta = LOGIN_WINDOW,
        max_users: int = LOGIN_THROTTLE_MAX_USERS,
    ):
        self._clock = clock
        self._attempts = attempts
        self._window = window
        self._max_users = max_users
        # Ordered by last failure, oldest first (a failure moves its user to the end).
        self._failures: dict[int, deque[datetime]] = {}

    def _recent(self, tg_id: int) -> deque[datetime]:
        """The user's failures inside the window; empty (and no entry kept) when there are none."""
        failures = self._failures.get(tg_id)
        if failures is None:
            return deque()
        cutoff = self._clock() - self._window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[tg_id]
        return failures

    def check(self, tg_id: int) -> None:
        failures = self._recent(tg_id)
        if len(failures) >= self._attempts:
            raise TooManyLoginAttempts(failures[0] + self._window)

    def record_failure(self, tg_id: int) -> None:
        now = self._clock()
        failures = self._recent(tg_id)
        self._failures.pop(tg_id, None)
        failures.append(now)
        self._failures[tg_id] = failures
        # Oldest last failure first: drop the users whose every failure has left the window, then any
        # beyond the bound.
        cutoff = now - self._window
        while self._failures:
            oldest = next(iter(self._failures))
            if self._failures[oldest][-1] > cutoff and len(self._failures) <= self._max_users:
                break
            del self._failures[oldest]

    def reset(self, tg_id: int) -> None:
        self._failures.pop(tg_id, None)


class SessionService:
    """Every QIWI call a member makes goes through `run`, so a dead ticket is handled in one place."""

    def __init__(self, db: Database, cipher: TicketCipher, qiwi: QiwiClient, clock: Clock) -> None:
        self.db = db
        self.cipher = cipher
        self.qiwi = qiwi
        self.clock = clock
        self.throttle = LoginThrottle(clock)

    @staticmethod
    def status(user: User | WalletSession | None) -> SessionStatus:
        if user is None or user.tgt_ciphertext is None or user.session_started_at is None:
            return SessionStatus(None, None)
        return SessionStatus(user.wallet, session_expires_at(user.session_started_at, user.last_activity_at))

    async def login(self, tg_id: int, wallet: str, password: str) -> Session:
        """Adds the wallet (or renews its session) and makes it current; other wallets stay logged in.
        Raises TooManyLoginAttempts, QiwiAuthError (wrong password), another QiwiError, or NotLoggedIn when
        the member was removed meanwhile."""
        self.throttle.check(tg_id)
        try:
            tgt = await self.qiwi.create_tgt(wallet, password)
        except QiwiAuthError:
            self.throttle.record_failure(tg_id)
            raise
        now = self.clock()
        previous = await self.db.wallets.get(tg_id, wallet)
        if not await self.db.wallets.set_session(tg_id, wallet, self.cipher.encrypt(tgt, tg_id), now):
            # Removed while QIWI was answering: the fresh ticket must not outlive the membership either.
            await self._end_at_qiwi(tg_id, Session(tg_id, wallet, tgt, now, now))
            raise NotLoggedIn
        self.throttle.reset(tg_id)
        if previous is not None and previous.tgt_ciphertext is not None:
            # The renewed login replaces the old ticket; end the old one at QIWI rather than leave it alive.
            await self._end_at_qiwi(tg_id, previous)
        log.info("user %s logged in", tg_id)
        return Session(tg_id, wallet, tgt, now, now)

    async def wallets(self, tg_id: int) -> list[WalletSession]:
        return await self.db.wallets.list_for(tg_id)

    async def named_wallet(self, tg_id: int) -> str | None:
        """The current wallet, for a member who has more than one (whose answers must say which one). From the
        cached user row, which counts the member's wallets: no query on a command's path."""
        user = await self.db.users.get(tg_id)
        if user is None or user.wallet_count < 2:
            return None
        return user.wallet

    async def current_wallet(self, tg_id: int) -> str | None:
        """The wallet the member's commands act on (logged in or not), None before any login."""
        user = await self.db.users.get(tg_id)
        return None if user is None else user.wallet

    async def switch(self, tg_id: int, wallet: str) -> bool:
        """Makes one of the member's wallets current. False when it is not one of theirs."""
        return await self.db.users.set_current_wallet(tg_id, wallet)

    async def current(self, tg_id: int, wallet: str | None = None) -> Session:
        """The session of `wallet`, or of the member's current wallet. Raises NotLoggedIn."""
        if wallet is None:
            user = await self.db.users.get(tg_id)
            stored = None if user is None else user.current
        else:
            stored = await self.db.wallets.get(tg_id, wallet)
        if stored is None or stored.tgt_ciphertext is None:
            raise NotLoggedIn
        try:
            tgt = self.cipher.decrypt(stored.tgt_ciphertext, tg_id)
        except UndecryptableTicket:
            # A lost or rotated-away key: the ticket is useless, so it is simply a logged-out wallet.
            log.warning("user %s: stored ticket cannot be decrypted; dropping it", tg_id)
            await self.db.wallets.clear_session(tg_id, stored.wallet)
            raise NotLoggedIn from None
        started = stored.session_started_at or self.clock()
        return Session(tg_id, stored.wallet, tgt, started, stored.last_activity_at)

    async def run(
        self, tg_id: int, call: Callable[[QiwiClient, Session], Awaitable[T]], *, wallet: str | None = None
    ) -> T:
        """Call QIWI with the ticket of `wallet` (default: the current one). Raises NotLoggedIn, SessionEnded
        or a QiwiError."""
        session = await self.current(tg_id, wallet)
        try:
            result = await call(self.qiwi, session)
        except QiwiAuthError:
            now = self.clock()
            expired = now >= session.expires_at
            self.qiwi.forget_web_session(session.wallet)
            await self.db.wallets.clear_session(tg_id, session.wallet)
            log.info("user %s: QIWI refused the stored ticket (expired by our clock: %s)", tg_id, expired)
            raise SessionEnded(expired=expired) from None
        now = self.clock()
        if session.last_activity_at is None or now - session.last_activity_at >= TOUCH_EVERY:
            await self.db.wallets.touch(tg_id, session.wallet, now)
        return result

    async def logout(self, tg_id: int, wallet: str | None = None) -> bool:
        """Ends the session of `wallet` (default: the current one) at QIWI (best effort) and drops its
        ticket; another logged-in wallet becomes current. False when there was none."""
        try:
            session = await self.current(tg_id, wallet)
        except NotLoggedIn:
            return False
        await self._end_at_qiwi(tg_id, session)
        await self.db.wallets.clear_session(tg_id, session.wallet)
        return True

    async def logout_all(self, tg_id: int) -> int:
        """Every wallet of the member (their removal): returns how many sessions were ended."""
        ended = 0
        for stored in await self.db.wallets.list_for(tg_id):
            if stored.tgt_ciphertext is not None and await self.logout(tg_id, stored.wallet):
                ended += 1
        return ended

    async def _end_at_qiwi(self, tg_id: int, stored: Session | WalletSession) -> None:
        if isinstance(stored, WalletSession):
            if stored.tgt_ciphertext is None:
                return
            try:
                tgt = self.cipher.decrypt(stored.tgt_ciphertext, tg_id)
            except UndecryptableTicket:
                return
        else:
            tgt = stored.tgt
        self.qiwi.forget_web_session(stored.wallet)
        try:
            await self.qiwi.delete_tgt(tgt)
        except Exception as error:  # the ticket is dropped here either way; QIWI's answer changes nothing
            log.info("user %s: logout at QIWI failed (%s); ticket dropped anyway", tg_id, type(error).__name__)
