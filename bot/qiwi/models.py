"""QIWI answers as frozen dataclasses, and the parsers that build them from raw bytes.

QIWI sends several shapes for one thing (v1 and v2, `currency` or `currencyId`, numeric or letter currencies,
`null` almost anywhere, extra fields over the years), so the parsers read field by field, tolerate missing or
unknown keys and fail with `QiwiMalformedResponse` only when something essential is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.money import currency_code
from bot.qiwi.errors import QiwiMalformedResponse, error_from_payload, load_json
from bot.timeutil import parse_qiwi_datetime


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str  # always the letter code ("RUB"), whichever form QIWI used


@dataclass(frozen=True, slots=True)
class Account:
    alias: str | None
    fs_alias: str | None
    title: str | None
    type_id: str | None
    currency: str
    balance: Money | None
    default: bool


@dataclass(frozen=True, slots=True)
class Payment:
    txn_id: int
    person_id: int | None
    date: datetime
    status: str | None
    type: str | None
    status_text: str | None
    trm_txn_id: str | None
    account: str | None
    sum: Money | None
    commission: Money | None
    total: Money | None
    provider_name: str | None
    comment: str | None
    error_code: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    payments: list[Payment]
    next_txn_id: int | None
    next_txn_date: datetime | None


@dataclass(frozen=True, slots=True)
class Totals:
    incoming: list[Money]
    outgoing: list[Money]


@dataclass(frozen=True, slots=True)
class PaymentResult:
    client_id: str
    transaction_id: str
    state: str
    amount: Money | None
    account: str | None


def _fail(what: str) -> QiwiMalformedResponse:
    return QiwiMalformedResponse(f"unexpected QIWI answer: {what}")


def _load_object(body: bytes, what: str) -> dict[str, Any]:
    try:
        payload = load_json(body)
    except ValueError:
        raise _fail(f"{what} is not JSON") from None
    if not isinstance(payload, dict):
        raise _fail(f"{what} is not a JSON object")
    return payload


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | Decimal):
        return str(value)
    return None


def _opt_int(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return None


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            return None
        return parsed if parsed.is_finite() else None
    return None


def _currency(value: object) -> str | None:
    if value is None:
        return None
    try:
        return currency_code(value)
    except ValueError:
        return None


def _money(value: object, fallback_currency: str | None = None) -> Money | None:
    """`{"amount": 3.15, "currency": "RUB" | 643 | "643"}` or `currencyId`; None when unusable or null."""
    if not isinstance(value, Mapping):
        return None
    amount = _decimal(value.get("amount"))
    currency = _currency(value.get("currency")) or _currency(value.get("currencyId")) or fallback_currency
    if amount is None or currency is None:
        return None
    return Money(amount=amount, currency=currency)


def _date(value: object) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_qiwi_datetime(value)
    except ValueError:
        return None


def _account(item: object) -> Account:
    if not isinstance(item, Mapping):
        raise _fail("account is not an object")
    currency = _currency(item.get("currency")) or _currency(item.get("currencyId"))
    balance = _money(item.get("balance"), currency)
    if currency is None and balance is not None:
        currency = balance.currency
    if currency is None:
        raise _fail("account without a currency")
    account_type = item.get("type")
    type_id = _opt_str(account_type.get("id")) if isinstance(account_type, Mapping) else _opt_str(account_type)
    return Account(
        alias=_opt_str(item.get("alias")),
        fs_alias=_opt_str(item.get("fsAlias")),
        title=_opt_str(item.get("title")),
        type_id=type_id,
        currency=currency,
        balance=balance,
        default=item.get("defaultAccount") is True,
    )


def parse_balance(body: bytes) -> list[Account]:
    payload = _load_object(body, "balance")
    accounts = payload.get("accounts")
    if accounts is None:
        return []
    if not isinstance(accounts, list):
        raise _fail("balance.accounts is not a list")
    return [_account(item) for item in accounts]


def _provider_name(provider: object) -> str | None:
    if not isinstance(provider, Mapping):
        return None
    return _opt_str(provider.get("shortName")) or _opt_str(provider.get("longName"))


def parse_payment_item(item: object) -> Payment:
    if not isinstance(item, Mapping):
        raise _fail("history item is not an object")
    txn_id = _opt_int(item.get("txnId"))
    date = _date(item.get("date"))
    if txn_id is None or date is None:
        raise _fail("history item without txnId or date")
    return Payment(
        txn_id=txn_id,
        person_id=_opt_int(item.get("personId")),
        date=date,
        status=_opt_str(item.get("status")),
        type=_opt_str(item.get("type")),
        status_text=_opt_str(item.get("statusText")),
        trm_txn_id=_opt_str(item.get("trmTxnId")),
        account=_opt_str(item.get("account")),
        sum=_money(item.get("sum")),
        commission=_money(item.get("commission")),
        total=_money(item.get("total")),
        provider_name=_provider_name(item.get("provider")),
        comment=_opt_str(item.get("comment")),
        error_code=_opt_int(item.get("errorCode")),
        error=_opt_str(item.get("error")),
    )


def parse_history(body: bytes) -> HistoryPage:
    payload = _load_object(body, "history")
    data = payload.get("data")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise _fail("history.data is not a list")
    next_txn_id = _opt_int(payload.get("nextTxnId"))
    next_txn_date = _date(payload.get("nextTxnDate"))
    # A half cursor cannot be followed (the API wants both): treat it as the last page.
    if next_txn_id is None or next_txn_date is None:
        next_txn_id, next_txn_date = None, None
    return HistoryPage(
        payments=[parse_payment_item(item) for item in data],
        next_txn_id=next_txn_id,
        next_txn_date=next_txn_date,
    )


def _money_list(value: object, what: str) -> list[Money]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"{what} is not a list")
    result = []
    for item in value:
        money = _money(item)
        if money is None:
            raise _fail(f"{what} entry without amount or currency")
        result.append(money)
    return result


def parse_totals(body: bytes) -> Totals:
    payload = _load_object(body, "totals")
    return Totals(
        incoming=_money_list(payload.get("incomingTotal"), "incomingTotal"),
        outgoing=_money_list(payload.get("outgoingTotal"), "outgoingTotal"),
    )


def _unwrap_envelope(payload: dict[str, Any]) -> dict[str, Any]:
    """The web `*.action` answers wrap both results and errors in `{code, data: {body, status}, ...}`."""
    code = payload.get("code")
    if not (isinstance(code, Mapping) and "data" in payload):
        return payload
    data = payload.get("data")
    name = _opt_str(code.get("_name"))
    inner_status = _opt_int(data.get("status")) if isinstance(data, Mapping) else None
    if (
        not isinstance(data, Mapping)
        or (name is not None and name.upper() != "NORMAL")
        or (inner_status is not None and inner_status >= 400)
    ):
        raise error_from_payload(200, payload)
    body = data.get("body")
    if not isinstance(body, dict):
        raise _fail("payment envelope without a body")
    return body


def parse_payment(body: bytes) -> PaymentResult:
    """A 200 answer of the payment call: the echoed request plus `transaction`, maybe inside the envelope.

    Raises the mapped QIWI error when the envelope (or a bare `{code: "QWPRC-...", message}`) carries one.
    """
    payload = _unwrap_envelope(_load_object(body, "payment"))
    code = payload.get("code")
    if isinstance(code, str) and "transaction" not in payload:
        raise error_from_payload(400, payload)
    transaction = payload.get("transaction")
    if not isinstance(transaction, Mapping):
        raise _fail("payment answer without a transaction")
    transaction_id = _opt_str(transaction.get("id"))
    state = transaction.get("state")
    state_code = _opt_str(state.get("code")) if isinstance(state, Mapping) else _opt_str(state)
    client_id = _opt_str(payload.get("id"))
    if not transaction_id or not state_code or client_id is None:
        raise _fail("payment answer without id, transaction id or state")
    fields = payload.get("fields")
    return PaymentResult(
        # QIWI's own example answers `":11111111111111"`: the colon is noise, the digits are our id.
        client_id=client_id.strip().lstrip(":"),
        transaction_id=transaction_id,
        state=state_code,
        amount=_money(payload.get("sum")),
        account=_opt_str(fields.get("account")) if isinstance(fields, Mapping) else None,
    )


def parse_ticket(body: bytes, prefix: str) -> str:
    """`{"entity": {"ticket": "TGT-..."}}` from /cas/tgts or /cas/sts; `prefix` is "TGT-" or "ST-"."""
    payload = _load_object(body, "CAS answer")
    entity = payload.get("entity")
    ticket = entity.get("ticket") if isinstance(entity, Mapping) else None
    if not isinstance(ticket, str) or not ticket.startswith(prefix):
        raise _fail(f"CAS answer without a {prefix.rstrip('-')} ticket")
    return ticket


@dataclass(frozen=True, slots=True)
class Limit:
    """One turnover limit (`qw-limits`); not used by the bot yet, parsed so its shape is known."""

    type: str | None
    currency: str | None
    max: Decimal | None
    spent: Decimal | None
    rest: Decimal | None
    date_from: datetime | None
    date_till: datetime | None


def parse_limits(body: bytes) -> list[Limit]:
    payload = _load_object(body, "limits")
    by_country = payload.get("limits")
    if not isinstance(by_country, Mapping):
        raise _fail("limits is not an object")
    result = []
    for items in by_country.values():
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            interval = item.get("interval")
            interval = interval if isinstance(interval, Mapping) else {}
            result.append(
                Limit(
                    type=_opt_str(item.get("type")),
                    currency=_currency(item.get("currency")),
                    max=_decimal(item.get("max")),
                    spent=_decimal(item.get("spent")),
                    rest=_decimal(item.get("rest")),
                    date_from=_date(interval.get("dateFrom")),
                    date_till=_date(interval.get("dateTill")),
                )
            )
    return result
