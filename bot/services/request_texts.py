"""The texts of a money request, in whichever language the reader has: the request itself and its notices."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.money import format_money
from bot.phone import format_phone
from bot.storage.requests import MoneyRequest
from bot.timeutil import show_moment


def request_money(request: MoneyRequest, tr: Translator) -> str:
    return format_money(request.amount, "RUB", tr.language)


def member_with_wallet(label: str | None, wallet: str | None) -> str:
    """`Rita, +7 921 333-44-55` (HTML-escaped): the name first, the wallet after; either may be missing."""
    parts = [escape(label)] if label else []
    if wallet:
        parts.append(format_phone(wallet))
    return ", ".join(parts) or "?"


def request_text(
    tr: Translator, request: MoneyRequest, requester: str | None = None, status_key: str | None = None
) -> str:
    """The message the addressee gets (`requester`: the asking member's name), with the request's latest
    status under it when given."""
    name = requester or request.requester_name or None
    lines = [
        tr(
            "request.incoming",
            requester=member_with_wallet(name, request.requester_wallet),
            amount=request_money(request, tr),
            wallet=format_phone(request.requester_wallet),
        )
    ]
    if request.comment:
        lines.append(tr("request.incoming.comment", comment=escape(request.comment)))
    lines.append(tr("request.incoming.until", until=show_moment(request.expires_at)))
    text = "\n".join(lines)
    return text + "\n\n" + tr(status_key) if status_key else text
