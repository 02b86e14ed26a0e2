"""The floor of each command: the QIWI round trips the protocol makes unavoidable, one after another.

Derived from the protocol as QIWI documents it (the bot's own Telegram calls are on loopback and not counted):
- Every edge call (balance, history, totals) needs `Authorization: Token <ST>` with a fresh, single-use
  ST for the edge service, and an ST is only had by asking CAS (`POST /cas/sts`) with the TGT: so
  /balance = ST + `GET /funding-sources/.../accounts` = 2; /history = ST + `GET .../payments` = 2; the next
  page is another history call = 2; /stats' totals = ST + `GET .../payments/total` = 2. The bot then
  draws a chart of the period from its history: ST + one history page (the bench wallets have fewer than
  50 payments a month) = 2 more, after the totals as the bot sends them in that order: /stats with its
  chart = 4. (Fetched side by side, totals and history could share the same two round trips.)
- A payment needs the web session: an ST for the payments service, then
  `GET /j_spring_cas_security_check?ticket=ST` for the cookies, then `POST .../proxy.action` = 3; the
  session cookies are then reused while they live (30 min idle), so later payments are 1. The new balance
  shown after it is ST + balance = 2 and can only be read once the payment has answered. So the first
  confirm of a member = 5, later ones = 3.
  (A bot that asked for the edge ST while the payment is in flight could save one round trip: 4 and 2.
  Not counted as the floor here, since no implementation is expected to pipeline that.)
- The transfer summary and the login's first two steps need no QIWI call (floor 0: no ratio); the
  password step needs `POST /cas/tgts` = 1.
"""

from __future__ import annotations

FLOORS: dict[str, int] = {
    "/balance": 2,
    "/history": 2,
    "next page": 2,
    "/stats (totals text)": 2,
    "/stats (with chart)": 4,
    "/transfer summary": 0,
    "transfer confirm (first)": 5,
    "transfer confirm": 3,
    "login: /login": 0,
    "login: wallet": 0,
    "login: password": 1,
}

ORDER = list(FLOORS)
