"""The texts of a money request, in whichever language the reader has: the request itself and its notices."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.money import format_money
from bot.phone import format_phone
from bot.storage.models import User
from bot.storage.requests import MoneyRequest
from bot.timeutil import show_moment


def request_money(request: MoneyRequest, tr: Translator) -> str:
    return format_money(request.amount, "RUB", tr.language)


def requester_label(request: MoneyRequest) -> str:
    wallet = format_phone(request.requester_wallet)
    return f"{escape(request.requester_name)} ({wallet})" if request.requester_name else wallet


def payer_label(payer: User | None, request: MoneyRequest) -> str:
    return format_phone(payer.wallet) if payer is not None and payer.wallet else str(request.payer_tg_id)


def request_text(tr: Translator, request: MoneyRequest, status_key: str | None = None) -> str:
    """The message the addressee gets, with the request's latest status under it when given."""
    lines = [
        tr(
            "request.incoming",
            requester=requester_label(request),
            amount=request_money(request, tr),
            wallet=format_phone(request.requester_wallet),
        )
    ]
    if request.comment:
        lines.append(tr("request.incoming.comment", comment=escape(request.comment)))
    lines.append(tr("request.incoming.until", until=show_moment(request.expires_at)))
    text = "\n".join(lines)
    return text + "\n\n" + tr(status_key) if status_key else text
