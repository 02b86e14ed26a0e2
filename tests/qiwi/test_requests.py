"""Request building without a server: history/totals queries, the payment body, error mapping by status."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.qiwi import (
    QiwiAuthError,
    QiwiError,
    QiwiNotFound,
    QiwiPaymentRefused,
    QiwiRateLimited,
    QiwiUnavailable,
    RefusalReason,
    error_from_response,
    history_query,
    payment_body,
    totals_query,
)
from bot.qiwi.errors import load_json
from bot.timeutil import MSK

START = datetime(2017, 3, 1, tzinfo=MSK)
END = datetime(2017, 3, 31, 23, 59, 59, tzinfo=MSK)


def test_history_query_encodes_plus_and_colon() -> None:
    query = history_query(rows=50, operation="IN", sources=("QW_RUB", "CARD"), start=START, end=END)
    assert query == (
        "rows=50&operation=IN&sources[0]=QW_RUB&sources[1]=CARD"
        "&startDate=2017-03-01T00%3A00%3A00%2B03%3A00&endDate=2017-03-31T23%3A59%3A59%2B03%3A00"
    )
    assert "+" not in query and ":" not in query


def test_history_query_converts_other_offsets_to_moscow() -> None:
    utc_start = datetime(2017, 2, 28, 21, 0, tzinfo=MSK).astimezone(MSK.utc)
    query = history_query(rows=1, start=utc_start, end=utc_start + timedelta(hours=1))
    assert "startDate=2017-02-28T21%3A00%3A00%2B03%3A00" in query


def test_history_query_cursor() -> None:
    query = history_query(rows=10, next_txn_id=9001, next_txn_date=datetime(2017, 1, 31, 15, 24, 10, tzinfo=MSK))
    assert query == "rows=10&operation=ALL&nextTxnId=9001&nextTxnDate=2017-01-31T15%3A24%3A10%2B03%3A00"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rows": 0},
        {"rows": 51},
        {"rows": True},
        {"rows": 10, "start": START},
        {"rows": 10, "end": END},
        {"rows": 10, "start": END, "end": START},
        {"rows": 10, "start": START, "end": START + timedelta(days=91)},
        {"rows": 10, "start": START.replace(tzinfo=None), "end": END.replace(tzinfo=None)},
        {"rows": 10, "next_txn_id": 1},
        {"rows": 10, "next_txn_date": END},
        {"rows": 10, "operation": "SIDEWAYS"},
        {"rows": 10, "sources": ("QW_EUR",)},
    ],
)
def test_history_query_rejects(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        history_query(**kwargs)  # type: ignore[arg-type]


def test_history_query_accepts_bounds() -> None:
    assert history_query(rows=1).startswith("rows=1&")
    assert history_query(rows=50).startswith("rows=50&")


def test_totals_query() -> None:
    assert totals_query() == "operation=ALL"
    assert totals_query(start=START, end=END, operation="OUT", sources=("QW_USD",)) == (
        "startDate=2017-03-01T00%3A00%3A00%2B03%3A00&endDate=2017-03-31T23%3A59%3A59%2B03%3A00"
        "&operation=OUT&sources[0]=QW_USD"
    )
    with pytest.raises(ValueError):
        totals_query(start=START)


def test_payment_body_exact_shape_and_decimal_number() -> None:
    body = payment_body(client_id="11111111111111", amount=Decimal("100.50"), account="9121112233", comment="тест")
    assert b'"amount": 100.50,' in body
    decoded = load_json(body)
    assert decoded == {
        "id": "11111111111111",
        "sum": {"amount": Decimal("100.50"), "currency": "643"},
        "source": "account_643",
        "paymentMethod": {"type": "Account", "accountId": "643"},
        "comment": "тест",
        "fields": {"account": "9121112233"},
    }
    assert list(decoded) == ["id", "sum", "source", "paymentMethod", "comment", "fields"]
    assert str(decoded["sum"]["amount"]) == "100.50"


def test_payment_body_escapes_comment() -> None:
    nasty = 'a "quote", a \\ and\nnewline}, "amount": 1'
    body = payment_body(client_id="1", amount=Decimal("1E+2"), account="9121112233", comment=nasty)
    decoded = json.loads(body)
    assert decoded["comment"] == nasty
    assert b'"amount": 100,' in body


@pytest.mark.parametrize(
    ("client_id", "amount", "account"),
    [
        ("", Decimal(1), "9121112233"),
        ("1" * 21, Decimal(1), "9121112233"),
        ("12a", Decimal(1), "9121112233"),
        ("1", Decimal("0"), "9121112233"),
        ("1", Decimal("-5"), "9121112233"),
        ("1", Decimal("1.001"), "9121112233"),
        ("1", Decimal("NaN"), "9121112233"),
        ("1", 1.5, "9121112233"),
        ("1", Decimal(1), "+79121112233"),
        ("1", Decimal(1), "912"),
        ("1", Decimal(1), "79121112233"),
    ],
)
def test_payment_body_rejects(client_id: str, amount: Decimal, account: str) -> None:
    with pytest.raises(ValueError):
        payment_body(client_id=client_id, amount=amount, account=account, comment="")


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, b"", QiwiAuthError),
        (401, b'{"errorCode": "auth.failed", "userMessage": "bad ticket"}', QiwiAuthError),
        (404, b"", QiwiNotFound),
        (423, b"", QiwiRateLimited),
        (500, b"<html>oops</html>", QiwiUnavailable),
        (502, b"", QiwiUnavailable),
        (503, b'{"serviceName": "x", "errorCode": "down", "description": "maintenance"}', QiwiUnavailable),
        (418, b"", QiwiError),
    ],
)
def test_error_mapping_by_status(status: int, body: bytes, kind: type[QiwiError]) -> None:
    error = error_from_response(status, body)
    assert type(error) is kind
    assert error.status == status


def test_error_keeps_qiwi_code_and_message() -> None:
    error = error_from_response(401, b'{"errorCode": "token.invalid", "userMessage": "Invalid token"}')
    assert (error.code, error.message) == ("token.invalid", "Invalid token")
    assert "Invalid token" in str(error) and "token.invalid" in str(error)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        (220, RefusalReason.INSUFFICIENT_FUNDS),
        (241, RefusalReason.AMOUNT_TOO_SMALL),
        (242, RefusalReason.AMOUNT_TOO_LARGE),
        (167, RefusalReason.RECIPIENT_NOT_IDENTIFIED),
        (408, RefusalReason.DUPLICATE_ID),
        (319, RefusalReason.OTHER),
    ],
)
def test_refusal_reasons(number: int, reason: RefusalReason) -> None:
    body = json.dumps({"code": f"QWPRC-{number}", "message": "msg "}).encode()
    error = error_from_response(400, body)
    assert isinstance(error, QiwiPaymentRefused)
    assert error.reason == reason and error.code == f"QWPRC-{number}" and error.qiwi_message == "msg"


def test_error_text_is_redacted() -> None:
    body = b'{"errorCode": "x", "userMessage": "ticket ST-123-abc and TGT-9-zz are bad"}'
    error = error_from_response(401, body)
    assert "ST-123" not in str(error) and "TGT-9" not in str(error)
