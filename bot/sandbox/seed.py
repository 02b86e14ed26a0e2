"""The demo wallets: deterministic (seeded random) data that looks like a real family's wallet."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.sandbox.wallets import QIWI_WALLET_PROVIDER, Account, HistoryRow, Wallet

DEMO_PASSWORD = "demo-password"
MAIN_WALLET = "79001112233"
RECEIVER_WALLET = "79002223344"
EMPTY_WALLET = "79003334455"
# Exists, but QIWI refuses to pay into it (QWPRC-167) until its owner is identified.
UNIDENTIFIED_WALLET = "79005556677"
FIRST_SEEDED_TXN_ID = 18_000_000_000
FIRST_NEW_TXN_ID = 19_000_000_001


@dataclass(frozen=True)
class DemoWallet:
    phone: str
    password: str
    description: str


DEMO_WALLETS: tuple[DemoWallet, ...] = (
    DemoWallet(MAIN_WALLET, DEMO_PASSWORD, "RUB, USD and KZT accounts, about 70 payments over four months"),
    DemoWallet(RECEIVER_WALLET, DEMO_PASSWORD, "RUB only, a good recipient for transfers"),
    DemoWallet(EMPTY_WALLET, DEMO_PASSWORD, "a new wallet with no payment history"),
)

_MOBILE_PROVIDERS: tuple[dict[str, Any], ...] = (
    {
        "id": 1,
        "shortName": "МТС",
        "longName": "ПАО МТС",
        "logoUrl": None,
        "description": "МТС",
        "keys": "мтс, мобильная связь",
        "siteUrl": "https://mts.ru",
    },
    {
        "id": 2,
        "shortName": "Билайн",
        "longName": "ПАО Вымпелком",
        "logoUrl": None,
        "description": "Билайн",
        "keys": "билайн, мобильная связь",
        "siteUrl": None,
    },
)
_COMMENTS_OUT = ("за обед", "на подарок маме", "долг", "Коммуналка за октябрь", "такси", "", None, None)
_COMMENTS_IN = ("зарплата", "вернул долг", "с днём рождения!", "на продукты", None, None)
_FAMILY = ("79002223344", "79161234567", "79267654321", "77011234567")
_MONTH = timedelta(days=30)


def _rub(rng: random.Random) -> Decimal:
    if rng.random() < 0.5:
        return Decimal(rng.choice((100, 150, 200, 300, 500, 700, 1000, 1500, 2500, 5000)))
    return Decimal(rng.randint(1000, 400000)) / 100


def _main_history(rng: random.Random, now: datetime, person_id: int) -> list[HistoryRow]:
    # Three payments inside the last day, so a request without dates (which QIWI limits to yesterday..now)
    # finds something; the rest spread over four months.
    ages = [timedelta(hours=rng.uniform(0.5, 20)) for _ in range(3)]
    ages += [timedelta(days=rng.uniform(1.2, 4 * 30)) for _ in range(67)]
    rows: list[HistoryRow] = []
    for index, age in enumerate(sorted(ages, reverse=True)):
        date = (now - age).replace(microsecond=0)
        roll = rng.random()
        currency = "RUB" if roll < 0.84 else ("USD" if roll < 0.92 else "KZT")
        if currency == "RUB":
            amount = _rub(rng)
        elif currency == "USD":
            amount = Decimal(rng.randint(500, 20000)) / 100
        else:
            amount = Decimal(rng.randint(1000, 50000))
        kind = rng.random()
        status = "SUCCESS"
        if index % 13 == 5:
            status = "WAITING"
        elif index % 11 == 7:
            status = "ERROR"
        row = HistoryRow(
            txn_id=FIRST_SEEDED_TXN_ID + index * 7919 + rng.randint(0, 7000),
            person_id=person_id,
            date=date,
            type="OUT",
            status=status,
            amount=amount,
            currency=currency,
            account=None,
            source=f"QW_{currency}",
        )
        if kind < 0.38:
            row.type = "IN"
            if currency == "RUB" and rng.random() < 0.4:
                row.source, row.account, row.provider = "CARD", "427638******1234", None
                row.comment = None
            else:
                row.account = "+" + rng.choice(_FAMILY)
                row.provider = QIWI_WALLET_PROVIDER
                row.comment = rng.choice(_COMMENTS_IN)
        elif kind < 0.45 and currency == "RUB":
            row.type, row.source = "QIWI_CARD", "QW_RUB"
            row.account, row.provider, row.comment = "4693******5678", None, None
        elif kind < 0.6 and currency == "RUB":
            provider = rng.choice(_MOBILE_PROVIDERS)
            row.account, row.provider, row.comment = f"916{rng.randint(1000000, 9999999)}", provider, None
            row.trm_txn_id = str(int(date.timestamp() * 1000))
        else:
            row.account = "+" + rng.choice(_FAMILY)
            row.provider = QIWI_WALLET_PROVIDER if rng.random() < 0.85 else None
            row.comment = rng.choice(_COMMENTS_OUT)
            row.trm_txn_id = str(int(date.timestamp() * 1000))
            if rng.random() < 0.2:
                row.commission = (amount * Decimal("0.01")).quantize(Decimal("0.01"))
        if status == "ERROR":
            row.error_code, row.error = 220, "Недостаточно средств"
        rows.append(row)
    return rows


def _receiver_history(rng: random.Random, now: datetime, person_id: int) -> list[HistoryRow]:
    rows = []
    for index in range(8):
        date = (now - timedelta(days=rng.uniform(1, 60))).replace(microsecond=0)
        rows.append(
            HistoryRow(
                txn_id=FIRST_SEEDED_TXN_ID + 900_000 + index * 104729,
                person_id=person_id,
                date=date,
                type="IN",
                status="SUCCESS",
                amount=_rub(rng),
                currency="RUB",
                account="+" + MAIN_WALLET,
                source="QW_RUB",
                provider=QIWI_WALLET_PROVIDER,
                comment=rng.choice(_COMMENTS_IN),
            )
        )
    return rows


def seed_wallets(now: datetime) -> dict[str, Wallet]:
    """Fresh demo wallets, history dated relative to `now`; the same every time for the same `now`."""
    rng = random.Random(20170301)
    main = Wallet(
        MAIN_WALLET,
        DEMO_PASSWORD,
        accounts=[
            Account("RUB", Decimal("15230.50")),
            Account("USD", Decimal("120.35")),
            Account("KZT", Decimal("25000.00")),
            # An account QIWI lists without a balance: clients must show it as unknown, not zero.
            Account("EUR", None),
        ],
    )
    main.history = _main_history(rng, now, int(MAIN_WALLET))
    receiver = Wallet(RECEIVER_WALLET, DEMO_PASSWORD, accounts=[Account("RUB", Decimal("1500.00"))])
    receiver.history = _receiver_history(rng, now, int(RECEIVER_WALLET))
    empty = Wallet(EMPTY_WALLET, DEMO_PASSWORD, accounts=[Account("RUB", Decimal("0.00"))])
    unidentified = Wallet(UNIDENTIFIED_WALLET, None, identified=False, accounts=[Account("RUB", Decimal("10.00"))])
    return {wallet.phone: wallet for wallet in (main, receiver, empty, unidentified)}
