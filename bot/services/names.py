"""How members are called wherever the bot shows or offers them: by the name Telegram last sent.

Names are Telegram's, not ours to trust: they are shown HTML-escaped, cut to a sane length, and two members
with the same name are told apart by their @username, or by the end of their Telegram id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from html import escape

from bot.storage.models import User

NAME_MAX = 32


def _base(user: User) -> str:
    name = " ".join(user.first_name.split())[:NAME_MAX]
    if name:
        return name
    if user.username:
        return f"@{user.username}"
    return f"#{user.tg_id}"


def member_labels(users: Iterable[User]) -> dict[int, str]:
    """`{tg_id: label}` for everyone given, each label unique among them (plain text, not yet escaped)."""
    users = list(users)
    counts = Counter(_base(u).casefold() for u in users)
    labels: dict[int, str] = {}
    for user in users:
        base = _base(user)
        if counts[base.casefold()] > 1:
            if user.username and not base.startswith("@"):
                base = f"{base} (@{user.username})"
            else:
                base = f"{base} (#{str(user.tg_id)[-4:]})"
        labels[user.tg_id] = base
    return labels


def shown(label: str) -> str:
    """A label inside an HTML message."""
    return escape(label)
