"""Every captured QIWI answer in /work/shared/qiwi-samples parses, or becomes the right exception."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bot.qiwi import (
    Money,
    QiwiBadRequest,
    QiwiClient,
    QiwiMalformedResponse,
    QiwiPaymentOutcomeUnknown,
    QiwiPaymentRefused,
    QiwiRateLimited,
    QiwiUnavailable,
    RefusalReason,
    error_from_response,
    parse_balance,
    parse_history,
    parse_limits,
    parse_payment,
    parse_ticket,
    parse_totals,
)
from bot.qiwi.errors import load_json
from bot.qiwi.models import parse_payment_item
from bot.timeutil import MSK

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "qiwi-samples"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/qiwi-samples")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def check_balance_v1(body: bytes) -> None:
    [account] = parse_balance(body)
    assert account.fs_alias == "qb_wallet"
    assert account.type_id == "WALLET"
    assert account.currency == "RUB"
    assert account.balance == Money(Decimal("3.15"), "RUB")
    assert str(account.balance.amount) == "3.15"
    assert account.alias is None and account.default is False


def check_balance_v2(body: bytes) -> None:
    rub, usd = parse_balance(body)
    assert (rub.alias, rub.currency, rub.default) == ("qw_wallet_rub", "RUB", True)
    assert rub.balance == Money(Decimal("10.03"), "RUB")
    assert (usd.alias, usd.currency, usd.default) == ("qw_wallet_usd", "USD", False)
    assert usd.balance is not None and str(usd.balance.amount) == "0.00"


def check_st(body: bytes) -> None:
    assert parse_ticket(body, "ST-") == "ST-***"
    with pytest.raises(QiwiMalformedResponse):
        parse_ticket(body, "TGT-")


def check_tgt(body: bytes) -> None:
    assert parse_ticket(body, "TGT-") == "TGT-***"


def check_blocked(body: bytes) -> None:
    # The issue did not show the status: the errorCode alone must mean "rate limited".
    for status in (423, 400, 429):
        error = error_from_response(status, body)
        assert isinstance(error, QiwiRateLimited)
        assert error.code == "request.blocked"
        assert "request blocked" in str(error)


def check_history_item_v2(body: bytes) -> None:
    item = parse_payment_item(load_json(body))
    assert item.txn_id == 11233344692 and item.person_id == 79161122331
    assert item.date == datetime(2017, 8, 30, 14, 38, 9, tzinfo=MSK)
    assert (item.status, item.type, item.trm_txn_id) == ("WAITING", "OUT", "11233344691")
    assert item.sum == Money(Decimal(1), "RUB")
    assert item.commission == Money(Decimal(0), "RUB")
    assert item.provider_name == "MTS"
    assert item.error_code == 0 and item.error is None and item.comment == ""


def check_history_observer(body: bytes) -> None:
    page = parse_history(body)
    assert [p.txn_id for p in page.payments] == [15738399289, 14622242585, 14622242585, 14622105855]
    first = page.payments[0]
    assert first.total == Money(Decimal(980), "KZT")
    assert first.sum is None and first.status is None and first.provider_name is None
    assert page.payments[3].total == Money(Decimal("80.8"), "RUB")
    assert page.next_txn_id == 13585831948
    assert page.next_txn_date == datetime(2018, 8, 1, 7, 12, 36, tzinfo=MSK)


def check_history_v1(body: bytes) -> None:
    page = parse_history(body)
    [item] = page.payments
    assert item.txn_id == 9309 and item.trm_txn_id == "1489826461807"
    assert item.sum == Money(Decimal(70), "RUB")
    assert item.provider_name == "Yandex.Money"
    assert item.comment is None and item.status_text == "Успешно"
    assert item.date.utcoffset() is not None
    assert page.next_txn_id == 9001


def check_limits(body: bytes) -> None:
    [limit] = parse_limits(body)
    assert limit.currency == "RUB" and limit.type == "TURNOVER"
    assert limit.rest == Decimal("199949.9") and limit.spent == Decimal("50.1")
    assert limit.date_from == datetime(2020, 9, 1, tzinfo=MSK)
    assert limit.date_till is not None and limit.date_till.utcoffset() is not None


def check_refused(code: str, reason: RefusalReason) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        error = error_from_response(400, body)
        assert isinstance(error, QiwiPaymentRefused)
        assert (error.code, error.reason, error.status) == (code, reason, 400)
        assert error.qiwi_message and error.qiwi_message == error.qiwi_message.strip()
        # A bare refusal in a 200 body (no transaction) is refused the same way by the success parser.
        with pytest.raises(QiwiPaymentRefused):
            parse_payment(body)

    return check


def check_payment_v1(body: bytes) -> None:
    result = parse_payment(body)
    assert result.client_id == "11111111111111"  # the stray ":" is dropped
    assert (result.transaction_id, result.state) == ("4969142201", "Accepted")
    assert result.amount == Money(Decimal(100), "RUB")
    assert result.account == "9121112233"


def check_envelope_refusal(code: str, reason: RefusalReason) -> Callable[[bytes], None]:
    def check(body: bytes) -> None:
        with pytest.raises(QiwiPaymentRefused) as caught:
            parse_payment(body)
        assert (caught.value.code, caught.value.reason, caught.value.status) == (code, reason, 400)
        # The same envelope arriving with an HTTP error status maps the same way.
        again = error_from_response(400, body)
        assert isinstance(again, QiwiPaymentRefused) and again.reason == reason

    return check


def check_envelope_technical(body: bytes) -> None:
    with pytest.raises(QiwiUnavailable) as caught:
        parse_payment(body)
    assert "Техническая ошибка" in str(caught.value)
    assert not isinstance(caught.value, QiwiPaymentRefused)


def check_envelope_payment(body: bytes) -> None:
    result = parse_payment(body)
    assert (result.client_id, result.transaction_id, result.state) == ("1506065852518", "11371492716", "Accepted")
    assert result.amount == Money(Decimal(5), "RUB") and result.account == "708"


def check_totals(body: bytes) -> None:
    totals = parse_totals(body)
    assert totals.incoming == [Money(Decimal(3500), "RUB")]
    assert totals.outgoing == [Money(Decimal("3497.5"), "RUB")]
    assert str(totals.outgoing[0].amount) == "3497.5"


CHECKS: dict[str, Callable[[bytes], None]] = {
    "balance-qiwidocs-v1-1.json": check_balance_v1,
    "balance-sega21rus7-v2-1.json": check_balance_v2,
    "cas-st-qiwidocs-1.json": check_st,
    "cas-tgt-qiwidocs-1.json": check_tgt,
    "error-simpleqiwi-issue3-1.json": check_blocked,
    "history-item-qiwidocs-v2-1.json": check_history_item_v2,
    "history-qiwi_observer-v2-1.json": check_history_observer,
    "history-qiwidocs-v1-1.json": check_history_v1,
    "limits-sega21rus7-1.json": check_limits,
    "payment-error-sega21rus7-1.json": check_refused("QWPRC-167", RefusalReason.RECIPIENT_NOT_IDENTIFIED),
    "payment-error-sega21rus7-2.json": check_refused("QWPRC-319", RefusalReason.OTHER),
    "payment-qiwidocs-v1-1.json": check_payment_v1,
    "proxy-envelope-error-qiwidocs-1.json": check_envelope_refusal("QWPRC-542", RefusalReason.OTHER),
    "proxy-error-unidentified-3.json": check_envelope_technical,
    "proxy-payment-unidentified-1.json": check_envelope_payment,
    "proxy-payment-unidentified-2.json": check_envelope_refusal("QWPRC-220", RefusalReason.INSUFFICIENT_FUNDS),
    "total-qiwidocs-v1-1.json": check_totals,
    "total-qiwidocs-v2-1.json": check_totals,
}


def test_every_sample_file_has_a_check() -> None:
    on_disk = {path.name for path in SAMPLES.iterdir() if path.suffix == ".json"}
    assert on_disk == set(CHECKS), "a sample was added or removed: give it a check"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_sample(name: str) -> None:
    CHECKS[name](sample(name))


# The spec's own examples (docs/spec qiwi-api.md), verbatim.
SPEC_BALANCE = (
    b'{"accounts": [{"fsAlias": "qb_wallet", "title": "Qiwi Account", "type": {"id": "WALLET", '
    b'"title": "Visa QIWI Wallet"}, "currencyId": 643, "balance": {"amount": 3.15, "currencyId": 643}}]}'
)
SPEC_TOTALS = (
    b'{"incomingTotal": [{"amount": 3500, "currency": "RUB"}], '
    b'"outgoingTotal": [{"amount": 3497.5, "currency": "RUB"}]}'
)
SPEC_TGT = (
    b'{"entity": {"user": "79121112233", "ticket": "TGT-1-abc"}, '
    b'"links": [{"rel": "sts", "href": "https://auth.qiwi.com/cas/sts"}]}'
)
SPEC_ST = b'{"entity": {"ticket": "ST-1-abc"}, "links": []}'
SPEC_HISTORY_EMPTY_CURSOR = b'{"data": [], "nextTxnId": null, "nextTxnDate": null}'


def test_spec_examples() -> None:
    check_balance_v1(SPEC_BALANCE)
    check_totals(SPEC_TOTALS)
    assert parse_ticket(SPEC_TGT, "TGT-") == "TGT-1-abc"
    assert parse_ticket(SPEC_ST, "ST-") == "ST-1-abc"
    page = parse_history(SPEC_HISTORY_EMPTY_CURSOR)
    assert page.payments == [] and page.next_txn_id is None and page.next_txn_date is None


def test_null_and_unknown_fields_are_tolerated() -> None:
    body = (
        b'{"accounts": [{"alias": null, "fsAlias": null, "title": null, "type": null, "currency": "643",'
        b' "balance": null, "defaultAccount": null, "brandNewField": {"x": [1, 2]}}], "more": 1}'
    )
    [account] = parse_balance(body)
    assert account.currency == "RUB" and account.balance is None and account.default is False
    history = (
        b'{"data": [{"txnId": 1, "date": "2017-01-21T11:41:07+03:00", "sum": null, "total": {"amount": 0.00,'
        b' "currency": "RUB"}, "provider": null, "newThing": true}], "nextTxnId": null, "nextTxnDate": null}'
    )
    [item] = parse_history(history).payments
    assert item.sum is None and item.total is not None and str(item.total.amount) == "0.00"
    assert parse_totals(b'{"incomingTotal": null, "outgoingTotal": []}').incoming == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>502</html>",
        b"[]",
        b'{"accounts": "nope"}',
        b'{"accounts": [{"title": "no currency"}]}',
        b"\xff\xfe",
    ],
)
def test_garbage_balance_is_malformed(body: bytes) -> None:
    with pytest.raises(QiwiMalformedResponse):
        parse_balance(body)


@pytest.mark.parametrize(
    "body",
    [b'{"data": [{"date": "2017-01-21T11:41:07+03:00"}]}', b'{"data": [{"txnId": 1, "date": "yesterday"}]}'],
)
def test_history_item_without_id_or_date_is_malformed(body: bytes) -> None:
    with pytest.raises(QiwiMalformedResponse):
        parse_history(body)


def test_payment_without_transaction_is_malformed() -> None:
    with pytest.raises(QiwiMalformedResponse):
        parse_payment(b'{"id": "1", "sum": {"amount": 1, "currency": "643"}}')


def test_plain_bad_request_is_not_a_refusal() -> None:
    error = error_from_response(400, b'{"serviceName": "x", "errorCode": "request.invalid", "description": "rows"}')
    assert isinstance(error, QiwiBadRequest) and error.code == "request.invalid" and "rows" in str(error)


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("payment-qiwidocs-v1-1.json", 200, "11111111111111"),
        ("proxy-payment-unidentified-1.json", 200, "1506065852518"),
        ("proxy-payment-unidentified-2.json", 200, RefusalReason.INSUFFICIENT_FUNDS),
        ("proxy-envelope-error-qiwidocs-1.json", 400, RefusalReason.OTHER),
        ("payment-error-sega21rus7-1.json", 400, RefusalReason.RECIPIENT_NOT_IDENTIFIED),
        ("payment-error-sega21rus7-2.json", 400, RefusalReason.OTHER),
        ("proxy-error-unidentified-3.json", 200, QiwiPaymentOutcomeUnknown),
        ("proxy-error-unidentified-3.json", 500, QiwiPaymentOutcomeUnknown),
    ],
)
def test_payment_samples_through_the_clients_answer_path(name: str, status: int, expected: object) -> None:
    response = httpx.Response(status, content=sample(name))
    if isinstance(expected, RefusalReason):  # before `str`: a StrEnum is a str
        with pytest.raises(QiwiPaymentRefused) as caught:
            QiwiClient._payment_outcome(response, "1")
        assert caught.value.reason == expected
    elif isinstance(expected, str):
        assert QiwiClient._payment_outcome(response, expected).client_id == expected
    else:
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            QiwiClient._payment_outcome(response, "1")


def test_garbage_payment_answer_is_an_unknown_outcome() -> None:
    for response in (httpx.Response(200, content=b"<html>"), httpx.Response(200, content=b'{"id": "1"}')):
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            QiwiClient._payment_outcome(response, "1")
