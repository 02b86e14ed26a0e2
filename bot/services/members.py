"""Members and admins: who they are, invites, removal, and their per-member settings (language, alerts).

Removing someone — a member an admin removes, or an admin whose id left `ADMIN_IDS` — is one path: the
QIWI ticket is ended at QIWI, the money requests from or to them are closed (the other side is told), and
the row goes together with any open dialog, so nothing of theirs is polled, offered or listed again.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.services.access import Access
from bot.services.names import member_labels

if TYPE_CHECKING:
    from bot.services.requests import RequestService
    from bot.services.sessions import Clock, SessionService
    from bot.storage import Database
    from bot.storage.models import User

log = logging.getLogger(__name__)

INVITE_TTL = timedelta(hours=24)
# Telegram allows 64 characters in a first name; a longer one is not Telegram's.
NAME_STORED = 64


@dataclass(frozen=True, slots=True)
class NewInvite:
    code: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AlertsSwitch:
    enabled: bool
    logged_in: bool
    wallet: str | None


class MemberService:
    def __init__(
        self, db: Database, sessions: SessionService, requests: RequestService, access: Access, clock: Clock
    ) -> None:
        self.db = db
        self.sessions = sessions
        self.requests = requests
        self.access = access
        self.clock = clock

    async def resolve(self, tg_id: int, first_name: str = "", username: str | None = None) -> tuple[User | None, bool]:
        """The stored user if they are inside (an admin gets a row on first contact), and whether admin.
        The name Telegram sent is kept current for those inside; an outsider leaves nothing behind."""
        is_admin = self.access.is_admin(tg_id)
        user = await self.db.users.get(tg_id)
        if is_admin and (user is None or user.role != "admin"):
            user = await self.db.users.ensure(tg_id, "admin", now=self.clock())
        if not self.access.is_inside(user):
            return None, is_admin
        assert user is not None
        first_name = first_name[:NAME_STORED]
        if (user.first_name, user.username) != (first_name, username):
            await self.db.users.set_name(tg_id, first_name, username)
            user = replace(user, first_name=first_name, username=username)
        return user, is_admin

    async def labels(self) -> dict[int, str]:
        """Everyone inside by name (`names.member_labels`): how members are shown to each other."""
        return member_labels(self.access.inside(await self.db.users.list_all()))

    async def get(self, tg_id: int) -> User | None:
        user = await self.db.users.get(tg_id)
        return user if self.access.is_inside(user) else None

    async def members(self) -> list[User]:
        """The invited members, oldest first (admins are set by ADMIN_IDS and not listed)."""
        return [m for m in await self.db.users.list_members() if not self.access.is_admin(m.tg_id)]

    async def others_with_wallet(self, tg_id: int) -> list[User]:
        """Everyone inside but `tg_id` whose wallet is known: whom a member can ask for money."""
        users = self.access.inside(await self.db.users.list_all())
        return [u for u in users if u.wallet is not None and u.tg_id != tg_id]

    async def payees_for(self, tg_id: int) -> list[tuple[int, str, str]]:
        """Whom `tg_id` can pay in two taps: every other member or admin whose current wallet is logged in,
        as `(tg_id, name, wallet)`, by name."""
        users = self.access.inside(await self.db.users.list_all())
        labels = member_labels(users)
        payees = [
            (u.tg_id, labels[u.tg_id], u.wallet) for u in users if u.tg_id != tg_id and u.has_session and u.wallet
        ]
        return sorted(((t, n, w) for t, n, w in payees if w is not None), key=lambda p: p[1].casefold())

    async def name_for_wallet(self, wallet: str) -> str | None:
        """The name of the member whose wallet this is (current or not), None for anyone else's."""
        owners = await self.db.wallets.owners(wallet)
        if not owners:
            return None
        users = self.access.inside(await self.db.users.list_all())
        labels = member_labels(users)
        return next((labels[tg_id] for tg_id in owners if tg_id in labels), None)

    # -- joining and leaving -------------------------------------------------------------------------

    async def create_invite(self, admin_id: int) -> NewInvite:
        code = secrets.token_urlsafe(16)
        invite = await self.db.invites.create(code, admin_id, self.clock(), INVITE_TTL)
        return NewInvite(invite.code, invite.expires_at)

    async def join(self, tg_id: int, code: str) -> bool:
        """Uses the invite once; the person becomes a member (also someone whose admin rights ended)."""
        if not code or not await self.db.invites.consume(code, tg_id, self.clock()):
            return False
        user = await self.db.users.ensure(tg_id, "member", now=self.clock())
        if user.role != "member" and not self.access.is_admin(tg_id):
            await self.db.users.set_role(tg_id, "member")
        log.info("user %s joined with an invite", tg_id)
        return True

    async def remove(self, tg_id: int) -> bool:
        """An admin removes a member. False when there is no such member (already removed)."""
        target = await self.db.users.get(tg_id)
        if target is None or target.role != "member" or self.access.is_admin(tg_id):
            return False
        await self._expel(target)
        return True

    async def retire_former_admins(self) -> int:
        """At start-up: every stored admin whose id left ADMIN_IDS is removed like a member."""
        retired = 0
        for user in await self.db.users.list_all():
            if user.role == "admin" and not self.access.is_admin(user.tg_id):
                await self._expel(user)
                retired += 1
        if retired:
            log.info("start-up: %d former admin(s) removed with their stored sessions", retired)
        return retired

    async def _expel(self, user: User) -> None:
        # End the QIWI sessions first: no stored ticket may outlive the person's place here.
        await self.sessions.logout_all(user.tg_id)
        await self.requests.close_involving(user.tg_id)
        await self.db.users.remove(user.tg_id)
        log.info("user %s removed", user.tg_id)

    # -- settings ------------------------------------------------------------------------------------

    async def set_language(self, tg_id: int, language: str) -> None:
        await self.db.users.set_language(tg_id, language)

    async def remember_language(self, tg_id: int, language: str) -> None:
        """Messages sent outside an update (alerts, outcomes found later) need a language kept; a member who
        never chose one gets the one their Telegram app is in."""
        user = await self.db.users.get(tg_id)
        if user is not None and user.language is None:
            await self.db.users.set_language(tg_id, language)

    async def toggle_alerts(self, tg_id: int) -> AlertsSwitch:
        """Alerts of the current wallet on or off. Before any login there is no wallet: "on after login"."""
        user = await self.db.users.get(tg_id)
        if user is None or user.current is None:
            return AlertsSwitch(enabled=True, logged_in=False, wallet=None)
        enabled = not user.current.notify
        await self.db.wallets.set_notify(tg_id, user.current.wallet, enabled)
        return AlertsSwitch(enabled, user.current.has_session, user.current.wallet)
