"""What can go wrong talking to QIWI, as a small hierarchy callers branch on (never bare status codes).

`error_from_response` is the single place where an error answer (edge JSON, web `*.action` envelope,
`QWPRC-NNN` payment refusal, empty or garbage body) becomes an exception; the client and the tests of the
captured samples both go through it.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.logging_setup import redact


class QiwiError(Exception):
    """Base of every QIWI failure. `code` is QIWI's own code when it sent one, `status` the HTTP status."""

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        # Whatever QIWI echoes back goes through the same redaction as log lines: a ticket never reaches text.
        self.message = redact(message)
        self.code = code
        self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        return " ".join(parts) if len(parts) == 1 else f"{parts[0]} ({', '.join(parts[1:])})"


class QiwiAuthError(QiwiError):
    """401: wrong password, dead or revoked TGT, used or wrong-service ST, expired web session."""


class QiwiNotFound(QiwiError):
    """404: wallet not found (balance) or nothing matches (history is turned into an empty page instead)."""


class QiwiRateLimited(QiwiError):
    """423 / `request.blocked`: too many history requests; QIWI blocks the wallet for a few minutes."""


class QiwiUnavailable(QiwiError):
    """5xx, timeouts, broken connections: QIWI did not answer usefully. Reads are retried."""


class QiwiBadRequest(QiwiError):
    """400 that is not a payment refusal: the request itself was refused as malformed."""


class QiwiMalformedResponse(QiwiError):
    """A success status whose body is not what the protocol promises."""


class QiwiPaymentOutcomeUnknown(QiwiUnavailable):
    """The payment request may have reached QIWI and no readable answer came back: money may have moved.

    Re-send with the SAME client id (QIWI never moves money twice for one id) or look for it in history.
    """


class RefusalReason(StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    AMOUNT_TOO_SMALL = "amount_too_small"
    AMOUNT_TOO_LARGE = "amount_too_large"
    RECIPIENT_NOT_IDENTIFIED = "recipient_not_identified"
    DUPLICATE_ID = "duplicate_id"
    OTHER = "other"


_REASON_BY_NUMBER: dict[int, RefusalReason] = {
    220: RefusalReason.INSUFFICIENT_FUNDS,
    241: RefusalReason.AMOUNT_TOO_SMALL,
    242: RefusalReason.AMOUNT_TOO_LARGE,
    167: RefusalReason.RECIPIENT_NOT_IDENTIFIED,
    408: RefusalReason.DUPLICATE_ID,
}
_QWPRC = re.compile(r"QWPRC-(\d+)")


def refusal_reason(code: str | None) -> RefusalReason:
    match = _QWPRC.fullmatch(code.strip()) if code else None
    if match is None:
        return RefusalReason.OTHER
    return _REASON_BY_NUMBER.get(int(match.group(1)), RefusalReason.OTHER)


class QiwiPaymentRefused(QiwiError):
    """QIWI answered the payment with a `QWPRC-NNN` refusal: no money moved."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        qiwi_message: str | None = None,
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.reason = refusal_reason(code)
        self.qiwi_message = redact(qiwi_message.strip()) if qiwi_message else None


def load_json(body: bytes) -> Any:
    """QIWI JSON with every non-integer number as Decimal; raises ValueError on anything unreadable."""
    return json.loads(body, parse_float=Decimal)


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _is_envelope(payload: object) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("code"), dict) and "data" in payload


def _by_status(status: int | None, message: str, code: str | None) -> QiwiError:
    if status == 401:
        return QiwiAuthError(message, code=code, status=status)
    if status == 404:
        return QiwiNotFound(message, code=code, status=status)
    if status in (423, 429) or code == "request.blocked":
        return QiwiRateLimited(message, code=code, status=status)
    if status == 400:
        return QiwiBadRequest(message, code=code, status=status)
    if status is not None and (status >= 500 or status == 408):
        return QiwiUnavailable(message, code=code, status=status)
    return QiwiError(message, code=code, status=status)


_DEFAULT_MESSAGES = {
    401: "QIWI refused the authorization",
    404: "QIWI found nothing",
    423: "QIWI blocked requests for a while",
    400: "QIWI refused the request",
}


def error_from_payload(status: int | None, payload: object) -> QiwiError:
    """Map an already-decoded error answer (or None when the body was empty or not JSON)."""
    if _is_envelope(payload):
        assert isinstance(payload, dict)
        data = payload.get("data")
        if isinstance(data, dict) and ("body" in data or "status" in data):
            inner_status = data.get("status")
            inner = int(inner_status) if isinstance(inner_status, int) else status
            return error_from_payload(inner, data.get("body"))
        envelope_code = payload["code"]
        name = _text(envelope_code.get("_name")) or "ERROR"
        value = envelope_code.get("value")
        message = _text(payload.get("message")) or f"QIWI web error {name}"
        web_code = f"{name}/{value}" if value is not None else name
        # An envelope that carries no answer is QIWI's "technical error": nothing we can act on but waiting.
        if status is None or status < 400 or status >= 500:
            return QiwiUnavailable(message, code=web_code, status=status)
        return _by_status(status, message, web_code)

    if isinstance(payload, dict):
        code = _text(payload.get("code")) if isinstance(payload.get("code"), str) else None
        if code is not None and code.upper().startswith("QWPRC-"):
            qiwi_message = _text(payload.get("message"))
            return QiwiPaymentRefused(
                f"QIWI refused the payment: {qiwi_message or code}",
                code=code,
                status=status,
                qiwi_message=qiwi_message,
            )
        error_code = _text(payload.get("errorCode")) or code
        message = (
            _text(payload.get("userMessage"))
            or _text(payload.get("description"))
            or _text(payload.get("message"))
            or _DEFAULT_MESSAGES.get(status or 0)
            or f"QIWI answered HTTP {status}"
        )
        return _by_status(status, message, error_code)

    return _by_status(status, _DEFAULT_MESSAGES.get(status or 0) or f"QIWI answered HTTP {status}", None)


def error_from_response(status: int, body: bytes) -> QiwiError:
    """The exception for an HTTP error answer; garbage or empty bodies still map by status alone."""
    payload: object = None
    if body.strip():
        try:
            payload = load_json(body)
        except ValueError:
            payload = None
    return error_from_payload(status, payload)
