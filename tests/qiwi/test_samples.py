"""QIWI's documented answers parse into the client's models, or become the right exception.

The fixtures in `fixtures/` are QIWI's own example answers, kept in the repository (see `fixtures/SOURCES.md`).
The answers other projects captured from the live service live beside the repository, in
`../shared/qiwi-samples/`: they are checked too when that folder exists, and skipped with the reason when not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from bot.qiwi import (
    Money,
    QiwiAuthError,
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

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED = REPO_ROOT.parent / "shared"
SHARED_SAMPLES = SHARED / "qiwi-samples"
SPEC_2017 = SHARED / "spec" / "qiwi-wallet-api-2017.ru.txt"

needs_shared_samples = pytest.mark.skipif(
    not SHARED_SAMPLES.is_dir(),
    reason="the captured samples are kept outside the repository, in ../shared/qiwi-samples, absent here",
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shared_sample(name: str) -> bytes:
    return (SHARED_SAMPLES / name).read_bytes()


# ----- checks: one per answer, shared by the fixtures and the captured samples ----------------------


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
    with pytest.raises(QiwiMalformedResponse):
        parse_ticket(body, "ST-")


def check_blocked(body: bytes) -> None:
    # Whatever the HTTP status (the captured one was reported without it), the errorCode means "rate limited".
    for status in (423, 400, 429):
        error = error_from_response(status, body)
        assert isinstance(error, QiwiRateLimited)
        assert error.code == "request.blocked"
        assert error.message == load_json(body)["userMessage"]


def check_history_item_v2(body: bytes) -> None:
    item = parse_payment_item(load_json(body))
    assert item.txn_id == 11233344692 and item.person_id == 79161122331
    assert item.date == datetime(2017, 8, 30, 14, 38, 9, tzinfo=MSK)
    assert (item.status, item.type, item.trm_txn_id) == ("WAITING", "OUT", "11233344691")
    assert item.sum == Money(Decimal(1), "RUB")
    assert item.commission == Money(Decimal(0), "RUB")
    assert item.provider_name == "MTS"
    assert item.error_code == 0 and item.error is None and item.comment == ""


def check_history_v2(body: bytes) -> None:
    page = parse_history(body)
    [item] = page.payments
    assert item == parse_payment_item(load_json(fixture("history-item-v2.json")))
    assert item.total == Money(Decimal(1), "RUB") and item.status_text == "Запрос обрабатывается"
    assert page.next_txn_id == 9001
    assert page.next_txn_date == datetime(2017, 1, 31, 15, 24, 10, tzinfo=MSK)


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
    assert item.txn_id == 9309 and item.person_id == 79112223344 and item.trm_txn_id == "1489826461807"
    assert item.date == datetime(2017, 1, 21, 11, 41, 7, tzinfo=MSK)
    assert (item.status, item.type, item.account) == ("SUCCESS", "OUT", "0003***")
    assert item.sum == Money(Decimal(70), "RUB") and item.total == Money(Decimal(70), "RUB")
    assert item.commission == Money(Decimal(0), "RUB")
    assert item.provider_name == "Yandex.Money"
    assert item.comment is None and item.status_text == "Успешно"
    assert page.next_txn_id == 9001
    assert page.next_txn_date == datetime(2017, 1, 31, 15, 24, 10, tzinfo=MSK)


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


def check_envelope_without_transaction(body: bytes) -> None:
    # A NORMAL envelope around a body with no transaction must never be taken for a payment.
    with pytest.raises(QiwiMalformedResponse):
        parse_payment(body)
    with pytest.raises(QiwiPaymentOutcomeUnknown):
        QiwiClient._payment_outcome(httpx.Response(200, content=body), "11111111111111")


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


def check_totals_two_currencies(body: bytes) -> None:
    totals = parse_totals(body)
    assert totals.incoming == [Money(Decimal("3.33"), "USD"), Money(Decimal(3481), "RUB")]
    assert totals.outgoing == [Money(Decimal("3989.98"), "RUB"), Money(Decimal("3.33"), "USD")]
    assert [str(m.amount) for m in totals.outgoing] == ["3989.98", "3.33"]


# ----- the fixtures in the repository ----------------------------------------------------------------

FIXTURE_CHECKS: dict[str, Callable[[bytes], None]] = {
    "balance-v1.json": check_balance_v1,
    "cas-st.json": check_st,
    "cas-tgt.json": check_tgt,
    "envelope-payment.json": check_payment_v1,
    "envelope-refused-542.json": check_envelope_refusal("QWPRC-542", RefusalReason.OTHER),
    "envelope-validation-ok.json": check_envelope_without_transaction,
    "error-blocked.json": check_blocked,
    "history-item-v2.json": check_history_item_v2,
    "history-v1.json": check_history_v1,
    "history-v2.json": check_history_v2,
    "payment-refused-220.json": check_refused("QWPRC-220", RefusalReason.INSUFFICIENT_FUNDS),
    "payment-v1.json": check_payment_v1,
    "totals-v1.json": check_totals,
    "totals-v2-two-currencies.json": check_totals_two_currencies,
    "totals-v2.json": check_totals,
}

# Fixtures copied word for word from the 2017 protocol document.
FROM_SPEC_2017 = (
    "balance-v1.json",
    "cas-st.json",
    "cas-tgt.json",
    "history-v1.json",
    "payment-v1.json",
    "totals-v1.json",
)

# Fixtures that are also among the shared samples (QIWI's documentation examples): the copies must agree.
SHARED_COPY = {
    "balance-v1.json": "balance-qiwidocs-v1-1.json",
    "cas-st.json": "cas-st-qiwidocs-1.json",
    "cas-tgt.json": "cas-tgt-qiwidocs-1.json",
    "envelope-refused-542.json": "proxy-envelope-error-qiwidocs-1.json",
    "history-item-v2.json": "history-item-qiwidocs-v2-1.json",
    "history-v1.json": "history-qiwidocs-v1-1.json",
    "payment-v1.json": "payment-qiwidocs-v1-1.json",
    "totals-v1.json": "total-qiwidocs-v1-1.json",
    "totals-v2.json": "total-qiwidocs-v2-1.json",
}


def test_every_fixture_has_a_check() -> None:
    on_disk = {path.name for path in FIXTURES.iterdir() if path.suffix == ".json"}
    assert on_disk == set(FIXTURE_CHECKS), "a fixture was added or removed: give it a check"
    sources = (FIXTURES / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in sources for name in on_disk), "say where each fixture comes from in SOURCES.md"


@pytest.mark.parametrize("name", sorted(FIXTURE_CHECKS))
def test_fixture(name: str) -> None:
    FIXTURE_CHECKS[name](fixture(name))


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@pytest.mark.skipif(not SPEC_2017.is_file(), reason="the 2017 protocol document is kept outside the repository")
@pytest.mark.parametrize("name", FROM_SPEC_2017)
def test_spec_fixture_is_word_for_word_the_document(name: str) -> None:
    assert _lines(fixture(name).decode()) in _lines(SPEC_2017.read_text(encoding="utf-8"))


@needs_shared_samples
@pytest.mark.parametrize(("name", "shared_name"), sorted(SHARED_COPY.items()))
def test_fixture_agrees_with_the_shared_copy(name: str, shared_name: str) -> None:
    assert load_json(fixture(name)) == load_json(shared_sample(shared_name))


def test_composed_envelope_wraps_the_documented_payment_answer() -> None:
    envelope = load_json(fixture("envelope-payment.json"))
    assert envelope["data"]["body"] == load_json(fixture("payment-v1.json"))
    assert parse_payment(fixture("envelope-payment.json")) == parse_payment(fixture("payment-v1.json"))


def test_history_last_page_has_no_cursor() -> None:
    # qiwi-api.md: on the last page nextTxnId and nextTxnDate are null.
    page = parse_history(b'{"data": [], "nextTxnId": null, "nextTxnDate": null}')
    assert page.payments == [] and page.next_txn_id is None and page.next_txn_date is None


def test_empty_401_body_is_an_auth_error() -> None:
    # qiwi-api.md: "a 401 body may be empty".
    error = error_from_response(401, b"")
    assert isinstance(error, QiwiAuthError) and error.status == 401


@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("payment-v1.json", 200, "11111111111111"),
        ("envelope-payment.json", 200, "11111111111111"),
        ("envelope-refused-542.json", 200, RefusalReason.OTHER),
        ("envelope-refused-542.json", 400, RefusalReason.OTHER),
        ("payment-refused-220.json", 400, RefusalReason.INSUFFICIENT_FUNDS),
        ("envelope-validation-ok.json", 200, QiwiPaymentOutcomeUnknown),
    ],
)
def test_fixtures_through_the_clients_payment_answer_path(name: str, status: int, expected: object) -> None:
    check_payment_answer(fixture(name), status, expected)


def check_payment_answer(body: bytes, status: int, expected: object) -> None:
    response = httpx.Response(status, content=body)
    if isinstance(expected, RefusalReason):  # before `str`: a StrEnum is a str
        with pytest.raises(QiwiPaymentRefused) as caught:
            QiwiClient._payment_outcome(response, "1")
        assert caught.value.reason == expected
    elif isinstance(expected, str):
        assert QiwiClient._payment_outcome(response, expected).client_id == expected
    else:
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            QiwiClient._payment_outcome(response, "1")


# ----- the captured samples beside the repository ---------------------------------------------------

SHARED_CHECKS: dict[str, Callable[[bytes], None]] = {
    "balance-qiwidocs-v1-1.json": check_balance_v1,
    "balance-sega21rus7-v2-1.json": check_balance_v2,
    "cas-st-qiwidocs-1.json": check_st,
    "cas-tgt-qiwidocs-1.json": check_tgt,
    "error-simpleqiwi-issue3-1.json": check_blocked,  # the file's name cites the SimpleQIWI report it came from
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


@needs_shared_samples
def test_every_shared_sample_has_a_check() -> None:
    on_disk = {path.name for path in SHARED_SAMPLES.iterdir() if path.suffix == ".json"}
    assert on_disk == set(SHARED_CHECKS), "a sample was added or removed: give it a check"


@needs_shared_samples
@pytest.mark.parametrize("name", sorted(SHARED_CHECKS))
def test_shared_sample(name: str) -> None:
    SHARED_CHECKS[name](shared_sample(name))


@needs_shared_samples
@pytest.mark.parametrize(
    ("name", "status", "expected"),
    [
        ("proxy-payment-unidentified-1.json", 200, "1506065852518"),
        ("proxy-payment-unidentified-2.json", 200, RefusalReason.INSUFFICIENT_FUNDS),
        ("payment-error-sega21rus7-1.json", 400, RefusalReason.RECIPIENT_NOT_IDENTIFIED),
        ("payment-error-sega21rus7-2.json", 400, RefusalReason.OTHER),
        ("proxy-error-unidentified-3.json", 200, QiwiPaymentOutcomeUnknown),
        ("proxy-error-unidentified-3.json", 500, QiwiPaymentOutcomeUnknown),
    ],
)
def test_shared_samples_through_the_clients_payment_answer_path(name: str, status: int, expected: object) -> None:
    check_payment_answer(shared_sample(name), status, expected)


# ----- shapes the documents allow: nulls, unknown fields, garbage ------------------------------------


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


def test_garbage_payment_answer_is_an_unknown_outcome() -> None:
    for response in (httpx.Response(200, content=b"<html>"), httpx.Response(200, content=b'{"id": "1"}')):
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            QiwiClient._payment_outcome(response, "1")
