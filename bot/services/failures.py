"""The one mapping from a failed QIWI call to the catalog key of the short reply a user sees."""

from __future__ import annotations

from bot.qiwi.errors import (
    QiwiAuthError,
    QiwiBadRequest,
    QiwiError,
    QiwiMalformedResponse,
    QiwiNotFound,
    QiwiRateLimited,
    QiwiUnavailable,
)
from bot.services.sessions import NotLoggedIn, SessionEnded
from bot.services.wallet import SlowDown


def failure_key(error: BaseException) -> str | None:
    """Catalog key for a failure we explain to the user, or None for a real bug (let it propagate)."""
    if isinstance(error, SlowDown):
        return "error.slow_down"
    if isinstance(error, NotLoggedIn):
        return "error.not_logged_in"
    if isinstance(error, SessionEnded):
        return "error.session_expired" if error.expired else "error.session_ended"
    if isinstance(error, QiwiAuthError):
        return "error.session_ended"
    if isinstance(error, QiwiRateLimited):
        return "error.rate_limited"
    if isinstance(error, QiwiUnavailable):
        return "error.unavailable"
    if isinstance(error, QiwiMalformedResponse):
        return "error.malformed"
    if isinstance(error, QiwiNotFound):
        return "error.not_found"
    if isinstance(error, QiwiBadRequest | QiwiError):
        return "error.qiwi_refused"
    return None
