"""All emulator state and the QIWI rules applied to it; the HTTP layer (`sites.py`) only translates."""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.sandbox.clock import Clock
from bot.sandbox.faults import Faults
from bot.sandbox.seed import FIRST_NEW_TXN_ID, seed_wallets
from bot.sandbox.wallets import QIWI_WALLET_PROVIDER, Account, HistoryRow, Wallet

PAYMENTS_SERVICE = "https://qiwi.com/j_spring_cas_security_check"
EDGE_SERVICE = "http://t.qiwi.com/j_spring_cas_security_check"
SERVICES = frozenset({PAYMENTS_SERVICE, EDGE_SERVICE})

TGT_LIFETIME = timedelta(hours=8)
TGT_IDLE = timedelta(hours=2)
ST_LIFETIME = timedelta(minutes=5)
SESSION_IDLE = timedelta(minutes=30)
HISTORY_BURST = 100  # requests per wallet per minute before QIWI blocks history
HISTORY_WINDOW = timedelta(minutes=1)
HISTORY_BLOCK = timedelta(minutes=5)
MIN_PAYMENT = Decimal("1")
MAX_PAYMENT = Decimal("99999")
REFUSAL_MESSAGES: dict[str, str] = {
    "QWPRC-241": "Сумма платежа меньше минимальной (1 руб.)",
    "QWPRC-242": "Сумма платежа больше максимальной (99 999 руб.)",
    "QWPRC-319": "Платеж невозможен",
    "QWPRC-167": (
        "Статус кошелька получателя не позволяет совершить платеж. "
        "Попросите владельца кошелька пройти идентификацию — ввести паспортные данные."
    ),
    "QWPRC-220": "Недостаточно средств",
    "QWPRC-408": "Платеж с таким идентификатором уже существует",
}


class Refused(Exception):
    """A payment QIWI turns down: answered as HTTP 400 `{"code": "QWPRC-...", "message": ...}`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


@dataclass
class IssuedTicket:
    """Every TGT and ST handed out. `presented` counts every use attempt, so a test can assert that a client
    never showed the same ST twice (`presented <= 1`)."""

    ticket: str
    kind: str  # "TGT" | "ST"
    wallet: str
    issued_at: datetime
    service: str | None = None
    tgt: str | None = None
    presented: int = 0
    used_at: datetime | None = None


@dataclass
class Tgt:
    ticket: str
    wallet: str
    created_at: datetime
    last_st_at: datetime
    dead: bool = False

    def alive(self, now: datetime) -> bool:
        return not self.dead and now < self.created_at + TGT_LIFETIME and now < self.last_st_at + TGT_IDLE


@dataclass
class WebSession:
    cookie: str
    wallet: str
    tgt: str
    last_used_at: datetime


@dataclass(frozen=True)
class LedgerEntry:
    client_id: str
    sender: str
    recipient: str
    amount: Decimal
    currency: str
    txn_id: int
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "sender": self.sender,
            "recipient": self.recipient,
            "amount": self.amount,
            "currency": self.currency,
            "txn_id": self.txn_id,
            "at": self.at.isoformat(),
        }


@dataclass(frozen=True)
class PaymentRequest:
    """A payment request as it arrived, whatever its fate (refused, faulted, malformed): every client id a
    client ever sent, for tests that check it never changes. Fields a malformed body lacks are None."""

    sender: str | None  # the wallet of the web session, if the cookie names a live one
    client_id: str | None
    amount: Decimal | None
    recipient: str | None
    at: datetime
    fault: str | None  # the injected fault that struck it, if any

    def to_json(self) -> dict[str, Any]:
        return {
            "sender": self.sender,
            "client_id": self.client_id,
            "amount": self.amount,
            "recipient": self.recipient,
            "at": self.at.isoformat(),
            "fault": self.fault,
        }


@dataclass
class _HistoryLimit:
    recent: deque[datetime] = field(default_factory=deque)
    blocked_until: datetime | None = None


class Emulator:
    def __init__(self, clock: Clock | None = None, *, seed: bool = True) -> None:
        self.clock = clock or Clock()
        self.faults = Faults()
        self._seed = seed
        # qiwi.com's web `*.action` endpoints may wrap answers in {code, data: {body, status}, message,
        # messages}; tests switch this on so clients prove they read both forms.
        self.payment_envelope = False
        self.reset()

    def reset(self) -> None:
        """Back to the freshly seeded state (the clock keeps its time; faults are cleared)."""
        self.wallets: dict[str, Wallet] = seed_wallets(self.clock.now()) if self._seed else {}
        self.ledger: list[LedgerEntry] = []
        self.payment_requests: list[PaymentRequest] = []
        self.issued_tickets: list[IssuedTicket] = []
        self._tickets: dict[str, IssuedTicket] = {}
        self._tgts: dict[str, Tgt] = {}
        self._sessions: dict[str, WebSession] = {}
        self._payments: dict[tuple[str, str], dict[str, Any]] = {}
        self._history_limits: dict[str, _HistoryLimit] = {}
        self._next_txn_id = FIRST_NEW_TXN_ID
        self.faults.clear()

    # --- wallets -------------------------------------------------------------------------------------

    def wallet(self, phone: str) -> Wallet:
        return self.wallets[phone]

    def add_wallet(
        self,
        phone: str,
        password: str | None,
        balances: dict[str, Decimal] | None = None,
        *,
        identified: bool = True,
    ) -> Wallet:
        accounts = [Account(currency, amount) for currency, amount in (balances or {"RUB": Decimal(0)}).items()]
        wallet = Wallet(phone, password, identified, accounts)
        self.wallets[phone] = wallet
        return wallet

    def add_incoming(
        self,
        phone: str,
        amount: Decimal,
        from_phone: str,
        comment: str | None = None,
        currency: str = "RUB",
    ) -> HistoryRow:
        """A transfer arriving from outside: the balance grows and an IN row appears, dated now."""
        wallet = self.wallets.get(phone) or self.add_wallet(phone, None)
        account = wallet.account(currency)
        account.balance = (account.balance or Decimal(0)) + amount
        row = HistoryRow(
            txn_id=self._new_txn_id(),
            person_id=int(phone),
            date=self.clock.now().replace(microsecond=0),
            type="IN",
            status="SUCCESS",
            amount=amount,
            currency=currency,
            account="+" + from_phone,
            source=f"QW_{currency}",
            provider=QIWI_WALLET_PROVIDER,
            comment=comment,
        )
        wallet.history.append(row)
        return row

    def _new_txn_id(self) -> int:
        txn_id = self._next_txn_id
        self._next_txn_id += 1
        return txn_id

    # --- CAS -----------------------------------------------------------------------------------------

    def _issue(self, kind: str, wallet: str, service: str | None = None, tgt: str | None = None) -> str:
        ticket = f"{kind}-{secrets.randbelow(10**7):07d}-{secrets.token_urlsafe(24)}"
        record = IssuedTicket(ticket, kind, wallet, self.clock.now(), service, tgt)
        self.issued_tickets.append(record)
        self._tickets[ticket] = record
        return ticket

    def create_tgt(self, login: str, password: str) -> str | None:
        wallet = self.wallets.get(login)
        if wallet is None or wallet.password is None or not secrets.compare_digest(wallet.password, password):
            return None
        now = self.clock.now()
        ticket = self._issue("TGT", login)
        self._tgts[ticket] = Tgt(ticket, login, now, now)
        return ticket

    def live_tgt(self, ticket: str) -> Tgt | None:
        tgt = self._tgts.get(ticket)
        return tgt if tgt is not None and tgt.alive(self.clock.now()) else None

    def delete_tgt(self, ticket: str) -> bool:
        tgt = self.live_tgt(ticket)
        if tgt is None:
            return False
        tgt.dead = True
        return True

    def expire_tgt(self, ticket: str) -> None:
        self._tgts[ticket].dead = True

    def revoke_tgts(self, phone: str) -> int:
        revoked = 0
        for tgt in self._tgts.values():
            if tgt.wallet == phone and not tgt.dead:
                tgt.dead = True
                revoked += 1
        return revoked

    def issue_st(self, tgt_ticket: str, service: str) -> str | None:
        tgt = self.live_tgt(tgt_ticket)
        if tgt is None:
            return None
        tgt.last_st_at = self.clock.now()
        return self._issue("ST", tgt.wallet, service, tgt.ticket)

    def redeem_st(self, ticket: str, service: str) -> str | None:
        """The wallet the ST belongs to, if it is fresh, unused, for this service and its TGT lives.
        Presenting a ticket uses it up, even when the answer is 401."""
        record = self._tickets.get(ticket)
        if record is None or record.kind != "ST":
            return None
        record.presented += 1
        if record.used_at is not None:
            return None
        now = self.clock.now()
        record.used_at = now
        if record.service != service or now > record.issued_at + ST_LIFETIME:
            return None
        if record.tgt is None or self.live_tgt(record.tgt) is None:
            return None
        return record.wallet

    # --- web session ---------------------------------------------------------------------------------

    def open_session(self, st: str) -> str | None:
        wallet = self.redeem_st(st, PAYMENTS_SERVICE)
        if wallet is None:
            return None
        record = self._tickets[st]
        assert record.tgt is not None
        cookie = secrets.token_hex(16).upper()
        self._sessions[cookie] = WebSession(cookie, wallet, record.tgt, self.clock.now())
        return cookie

    def session_wallet(self, cookie: str) -> str | None:
        session = self._sessions.get(cookie)
        now = self.clock.now()
        if session is None:
            return None
        if now > session.last_used_at + SESSION_IDLE or self.live_tgt(session.tgt) is None:
            del self._sessions[cookie]
            return None
        session.last_used_at = now
        return session.wallet

    # --- payments ------------------------------------------------------------------------------------

    def record_payment_request(self, cookie: str, body: Any, fault: str | None) -> PaymentRequest:
        """Note a payment request on arrival (before faults and checks); changes no other state."""
        fields = body if isinstance(body, dict) else {}
        total = fields.get("sum")
        amount = total.get("amount") if isinstance(total, dict) else None
        account = fields.get("fields")
        recipient = account.get("account") if isinstance(account, dict) else None
        client_id = fields.get("id")
        session = self._sessions.get(cookie)
        entry = PaymentRequest(
            sender=session.wallet if session is not None else None,
            client_id=client_id if isinstance(client_id, str) else None,
            amount=Decimal(amount) if isinstance(amount, int | Decimal) and not isinstance(amount, bool) else None,
            recipient="7" + recipient if isinstance(recipient, str) else None,
            at=self.clock.now(),
            fault=fault,
        )
        self.payment_requests.append(entry)
        return entry

    def previous_payment(self, sender: str, client_id: str) -> dict[str, Any] | None:
        return self._payments.get((sender, client_id))

    def pay(self, sender: str, request: dict[str, Any]) -> dict[str, Any]:
        """Move the money for a validated request body; the answer is the request echoed plus the
        transaction. A repeated client id answers with the first payment's transaction."""
        client_id: str = request["id"]
        first = self._payments.get((sender, client_id))
        if first is not None:
            return first
        amount: Decimal = request["sum"]["amount"]
        recipient_phone = "7" + request["fields"]["account"]
        if amount < MIN_PAYMENT:
            raise Refused("QWPRC-241", REFUSAL_MESSAGES["QWPRC-241"])
        if amount > MAX_PAYMENT:
            raise Refused("QWPRC-242", REFUSAL_MESSAGES["QWPRC-242"])
        if recipient_phone == sender:
            raise Refused("QWPRC-319", REFUSAL_MESSAGES["QWPRC-319"])
        recipient = self.wallets.get(recipient_phone)
        if recipient is not None and not recipient.identified:
            raise Refused("QWPRC-167", REFUSAL_MESSAGES["QWPRC-167"])
        source = self.wallets[sender].account("RUB")
        if (source.balance or Decimal(0)) < amount:
            raise Refused("QWPRC-220", REFUSAL_MESSAGES["QWPRC-220"])
        if recipient is None:
            # QIWI wallets receive money without registration.
            recipient = self.add_wallet(recipient_phone, None)
        target = recipient.account("RUB")
        source.balance = (source.balance or Decimal(0)) - amount
        target.balance = (target.balance or Decimal(0)) + amount
        txn_id = self._new_txn_id()
        now = self.clock.now().replace(microsecond=0)
        comment = request["comment"]
        common: dict[str, Any] = {
            "txn_id": txn_id,
            "date": now,
            "status": "SUCCESS",
            "amount": amount,
            "currency": "RUB",
            "source": "QW_RUB",
            "provider": QIWI_WALLET_PROVIDER,
            "comment": comment,
        }
        self.wallets[sender].history.append(
            HistoryRow(person_id=int(sender), type="OUT", account="+" + recipient_phone, trm_txn_id=client_id, **common)
        )
        recipient.history.append(HistoryRow(person_id=int(recipient_phone), type="IN", account="+" + sender, **common))
        self.ledger.append(LedgerEntry(client_id, sender, recipient_phone, amount, "RUB", txn_id, now))
        # The original documentation shows the echoed id with a stray leading colon; clients must cope.
        answer = {**request, "id": ":" + client_id, "transaction": {"id": str(txn_id), "state": {"code": "Accepted"}}}
        self._payments[(sender, client_id)] = answer
        return answer

    # --- history -------------------------------------------------------------------------------------

    def history_allowed(self, wallet: str) -> bool:
        """Count one history request; False while the wallet is blocked for asking too often."""
        now = self.clock.now()
        limit = self._history_limits.setdefault(wallet, _HistoryLimit())
        if limit.blocked_until is not None:
            if now < limit.blocked_until:
                return False
            limit.blocked_until = None
            limit.recent.clear()
        while limit.recent and limit.recent[0] <= now - HISTORY_WINDOW:
            limit.recent.popleft()
        limit.recent.append(now)
        if len(limit.recent) > HISTORY_BURST:
            limit.blocked_until = now + HISTORY_BLOCK
            return False
        return True

    def select_history(
        self,
        wallet: str,
        *,
        start: datetime,
        end: datetime,
        operation: str,
        sources: frozenset[str],
    ) -> list[HistoryRow]:
        """Matching rows, newest first (date, then txn id, descending)."""
        rows = [
            row
            for row in self.wallets[wallet].history
            if start <= row.date <= end
            and (operation == "ALL" or row.type == operation)
            and (not sources or row.source in sources)
        ]
        rows.sort(key=lambda row: (row.date, row.txn_id), reverse=True)
        return rows
