"""Fixed values of the QIWI protocol: they never depend on which hosts the bot is pointed at."""

from __future__ import annotations

from typing import Final

# CAS service identifiers: protocol constants, not URLs to call (the edge one really is http and t.qiwi.com).
PAYMENTS_SERVICE: Final = "https://qiwi.com/j_spring_cas_security_check"
EDGE_SERVICE: Final = "http://t.qiwi.com/j_spring_cas_security_check"

SSO_ACCEPT: Final = "application/vnd.qiwi.sso-v1+json"
PAYMENT_ACCEPT: Final = "application/vnd.qiwi.v2+json"
EDGE_ACCEPT: Final = "application/json"
JSON_CONTENT_TYPE: Final = "application/json"
USER_AGENT: Final = "qiwi-family-bot/0.1"

TGT_COOKIE: Final = "CASTGC"

# Provider 99 is "transfer to a QIWI wallet"; only RUB from the RUB account is allowed by the spec.
WALLET_TRANSFER_PROVIDER: Final = 99
RUB_NUMERIC: Final = "643"
RUB_SOURCE: Final = "account_643"

MAX_HISTORY_ROWS: Final = 50
MAX_WINDOW_DAYS: Final = 90
OPERATIONS: Final = frozenset({"ALL", "IN", "OUT", "QIWI_CARD"})
SOURCES: Final = frozenset({"QW_RUB", "QW_KZT", "QW_USD", "CARD", "MK"})
