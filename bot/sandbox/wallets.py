"""Wallets, their accounts and their payment history, as the emulator stores them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.money import NUMBER_BY_CURRENCY
from bot.sandbox.jsonio import balance_amount, history_amount
from bot.timeutil import qiwi_datetime

STATUS_TEXT = {"SUCCESS": "Успешно", "WAITING": "Запрос обрабатывается", "ERROR": "Ошибка"}
# The source filter of history/totals: a wallet account by currency, or the outside sources.
SOURCES = frozenset({"QW_RUB", "QW_USD", "QW_KZT", "CARD", "MK"})

QIWI_WALLET_PROVIDER: dict[str, Any] = {
    "id": 99,
    "shortName": "QIWI Кошелек",
    "longName": "QIWI Кошелек",
    "logoUrl": "https://static.qiwi.com/img/providers/logoBig/99_l.png",
    "description": "Перевод на QIWI Кошелек",
    "keys": "перевод, кошелек",
    "siteUrl": None,
}


@dataclass
class Account:
    currency: str  # letter code
    balance: Decimal | None
    fs_alias: str = "qb_wallet"
    title: str = "Qiwi Account"
    type_id: str = "WALLET"
    type_title: str = "Visa QIWI Wallet"

    def to_json(self) -> dict[str, Any]:
        number = NUMBER_BY_CURRENCY[self.currency]
        balance = None if self.balance is None else {"amount": balance_amount(self.balance), "currencyId": number}
        return {
            "fsAlias": self.fs_alias,
            "title": self.title,
            "type": {"id": self.type_id, "title": self.type_title},
            "currencyId": number,
            "balance": balance,
        }


@dataclass
class HistoryRow:
    txn_id: int
    person_id: int
    date: datetime
    type: str  # IN | OUT | QIWI_CARD
    status: str  # SUCCESS | WAITING | ERROR
    amount: Decimal
    currency: str
    account: str | None
    source: str  # one of SOURCES
    commission: Decimal = Decimal(0)
    trm_txn_id: str | None = None
    provider: dict[str, Any] | None = None
    comment: str | None = None
    error_code: int = 0
    error: str | None = None

    @property
    def total(self) -> Decimal:
        return self.amount + self.commission

    def to_json(self) -> dict[str, Any]:
        def money(amount: Decimal) -> dict[str, Any]:
            return {"amount": history_amount(amount), "currency": self.currency}

        return {
            "txnId": self.txn_id,
            "personId": self.person_id,
            "date": qiwi_datetime(self.date),
            "errorCode": self.error_code,
            "error": self.error,
            "status": self.status,
            "type": self.type,
            "statusText": STATUS_TEXT[self.status],
            "trmTxnId": self.trm_txn_id,
            "account": self.account,
            "sum": money(self.amount),
            "commission": money(self.commission),
            "total": money(self.total),
            "provider": self.provider,
            "comment": self.comment,
            "currencyRate": 1,
            "extras": None,
            "chequeReady": self.status == "SUCCESS",
            "bankDocumentAvailable": False,
            "bankDocumentReady": False,
            "repeatPaymentEnabled": self.type == "OUT",
        }


@dataclass
class Wallet:
    phone: str
    password: str | None  # None: receives money but nobody can log in (an auto-created recipient)
    identified: bool = True
    accounts: list[Account] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)

    def account(self, currency: str) -> Account:
        for account in self.accounts:
            if account.currency == currency:
                return account
        account = Account(currency, Decimal("0.00"))
        self.accounts.append(account)
        return account

    def balance(self, currency: str = "RUB") -> Decimal:
        for account in self.accounts:
            if account.currency == currency:
                return account.balance or Decimal(0)
        return Decimal(0)
