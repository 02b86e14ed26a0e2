"""Who is inside: one rule, asked by every part that shows, offers, polls or messages a person.

`ADMIN_IDS` is the only source of admin rights, and an invite the only way to become a member. A stored
row whose role says "admin" but whose id has left `ADMIN_IDS` is an outsider's: it is retired at start-up
(`MemberService.retire_former_admins`), and until then nobody treats it as inside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.storage.models import User


@dataclass(frozen=True, slots=True)
class Access:
    admin_ids: frozenset[int]

    @classmethod
    def of(cls, admin_ids: Iterable[int]) -> Access:
        return cls(frozenset(admin_ids))

    def is_admin(self, tg_id: int) -> bool:
        return tg_id in self.admin_ids

    def is_inside(self, user: User | None) -> bool:
        if user is None:
            return False
        return user.tg_id in self.admin_ids or user.role == "member"

    def inside(self, users: Iterable[User]) -> list[User]:
        return [user for user in users if self.is_inside(user)]
