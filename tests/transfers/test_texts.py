"""Parsing the draft, and every transfer text in both languages (including keys built at run time)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot import PROJECT_ROOT
from bot.i18n import LANGUAGES, CatalogI18n, read_catalogs
from bot.qiwi.errors import RefusalReason
from bot.qiwi.models import Money
from bot.services.transfer_texts import DOUBT_KEYS, REFUSAL_KEYS, final_notice, outcome_text, problem_text, summary_text
from bot.services.transfers import (
    COMMENT_MAX_LENGTH,
    NOT_FOUND_CODE,
    ConfirmResult,
    Doubt,
    DraftProblem,
    Outcome,
    TransferDraft,
    parse_command,
    parse_comment,
    parse_recipient,
    parse_transfer_amount,
)
from bot.storage import Transfer, TransferStatus

LIMIT = Decimal("99999")
SENDER = "79001112233"
FILES = ("bot/handlers/transfer.py", "bot/services/transfer_texts.py", "bot/services/transfer_reconcile.py")
_KEY = re.compile(r"""\b(?:_|tr|text)\(\s*["'](transfer\.[a-z0-9_.]+)["']""")
PROBLEMS = [
    ("recipient", "invalid"),
    ("recipient", "self"),
    ("comment", "too_long"),
    ("usage", "missing"),
    ("amount", "not_a_number"),
    ("amount", "not_positive"),
    ("amount", "too_precise"),
    ("amount", "too_large"),
]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("+7 912 111-22-33 150", TransferDraft("79121112233", Decimal("150.00"), "")),
        ("89121112233 150,5 за обед", TransferDraft("79121112233", Decimal("150.50"), "за обед")),
        ("9121112233 0.01   два   пробела ", TransferDraft("79121112233", Decimal("0.01"), "два пробела")),
        ("+7 (912) 111 22 33 99999 x", TransferDraft("79121112233", Decimal("99999.00"), "x")),
        ("77011234567 10", TransferDraft("77011234567", Decimal("10.00"), "")),
    ],
)
def test_one_liner(args: str, expected: TransferDraft) -> None:
    assert parse_command(args, limit=LIMIT, sender=SENDER) == expected
    assert expected.account == expected.recipient[1:]


@pytest.mark.parametrize(
    ("args", "step", "reason"),
    [
        ("", "usage", "missing"),
        ("9121112233", "usage", "missing"),
        ("555 10", "recipient", "invalid"),
        ("+1 212 555 0123 10", "recipient", "invalid"),
        ("+7 900 111-22-33 10", "recipient", "self"),
        ("9121112233 ten", "amount", "not_a_number"),
        ("9121112233 0", "amount", "not_positive"),
        ("9121112233 -5", "amount", "not_positive"),
        ("9121112233 1.001", "amount", "too_precise"),
        ("9121112233 100000", "amount", "too_large"),
        ("9121112233 10 " + "y" * (COMMENT_MAX_LENGTH + 1), "comment", "too_long"),
    ],
)
def test_one_liner_refused(args: str, step: str, reason: str) -> None:
    with pytest.raises(DraftProblem) as caught:
        parse_command(args, limit=LIMIT, sender=SENDER)
    assert (caught.value.step, caught.value.reason) == (step, reason)


def test_single_steps() -> None:
    assert parse_recipient("8 (912) 111-22-33") == "79121112233"
    assert parse_transfer_amount("1 000", limit=LIMIT) == Decimal("1000.00")
    assert parse_comment("x" * COMMENT_MAX_LENGTH) == "x" * COMMENT_MAX_LENGTH
    with pytest.raises(DraftProblem):
        parse_transfer_amount("10", limit=Decimal("5"))


def test_every_key_exists_in_both_languages() -> None:
    catalogs = read_catalogs()
    used = set()
    for name in FILES:
        used |= set(_KEY.findall((PROJECT_ROOT / name).read_text(encoding="utf-8")))
    used |= {f"transfer.bad.{step}.{reason}" for step, reason in PROBLEMS}
    used |= set(REFUSAL_KEYS.values())
    used |= set(DOUBT_KEYS.values())
    assert len(used) > 30, "the scan found too few keys"
    for language in LANGUAGES:
        missing = sorted(key for key in used if not catalogs[language].get(key))
        assert not missing, f"missing in {language}: {missing}"


def _transfer(status: TransferStatus, **fields: str | None) -> Transfer:
    moment = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    values: dict[str, str | None] = {"qiwi_txn_id": None, "failure_code": None, "failure_message": None}
    values.update(fields)
    return Transfer(
        id=1,
        client_id="1795819164621",
        tg_id=1,
        wallet=SENDER,
        recipient="79121112233",
        amount=Decimal("1500.5"),
        comment="<script>",
        status=status,
        created_at=moment,
        updated_at=moment,
        chat_id=None,
        message_id=None,
        **values,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_outcome_renders(language: str) -> None:
    i18n = CatalogI18n()

    def tr(key: str) -> str:
        return i18n.text(key, language)

    summary = summary_text(
        tr,
        language,
        _transfer(TransferStatus.AWAITING_CONFIRMATION),
        ttl_end=datetime(2026, 11, 27, 12, 10, tzinfo=UTC),
    )
    assert "&lt;script&gt;" in summary and "<script>" not in summary
    # The member's own private chat: the recipient's whole number, never masked.
    assert "15:10" in summary and "+7 912 111-22-33" in summary and "***" not in summary
    for step, reason in PROBLEMS:
        assert problem_text(tr, DraftProblem(step, reason), limit=LIMIT, language=language)
    accepted = ConfirmResult(Outcome.ACCEPTED, _transfer(TransferStatus.ACCEPTED, qiwi_txn_id="19000000001"))
    text = outcome_text(tr, language, accepted, balance=Money(Decimal("3.15"), "RUB"))
    assert "19000000001" in text and ("3,15" in text if language == "ru" else "3.15" in text)
    for reason in RefusalReason:
        failed = ConfirmResult(
            Outcome.FAILED,
            _transfer(TransferStatus.FAILED, failure_code="QWPRC-1"),
            reason=reason,
            qiwi_message="Текст QIWI",
        )
        rendered = outcome_text(tr, language, failed)
        assert rendered and ("Текст QIWI" in rendered) == (reason not in REFUSAL_KEYS)
    not_sent = ConfirmResult(Outcome.FAILED, _transfer(TransferStatus.FAILED, failure_code=NOT_FOUND_CODE))
    assert outcome_text(tr, language, not_sent) != outcome_text(tr, language, failed)
    for outcome in Outcome:
        result = ConfirmResult(outcome, _transfer(TransferStatus.UNKNOWN))
        assert outcome_text(tr, language, result, ttl_end=datetime.now(UTC))


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_doubt_says_what_happened_with_the_whole_number(language: str) -> None:
    i18n = CatalogI18n()

    def tr(key: str) -> str:
        return i18n.text(key, language)

    rendered = {
        doubt: outcome_text(
            tr, language, ConfirmResult(Outcome.UNKNOWN, _transfer(TransferStatus.UNKNOWN), doubt=doubt)
        )
        for doubt in Doubt
    }
    assert len(set(rendered.values())) == len(Doubt)  # each kind of doubt has its own text
    for text in rendered.values():
        assert "+7 912 111-22-33" in text and "***" not in text
    if language == "en":
        assert "did not answer in time" in rendered[Doubt.TIMEOUT]
        assert "answered with an error" in rendered[Doubt.ERROR]
        assert "connection to QIWI broke" in rendered[Doubt.RESET]
        assert all("did not answer in time" not in text for doubt, text in rendered.items() if doubt != Doubt.TIMEOUT)
    # The stored doubt is used when the result carries none (a row read back after a restart).
    stored = _transfer(TransferStatus.UNKNOWN, failure_message="doubt:reset")
    assert outcome_text(tr, language, ConfirmResult(Outcome.UNKNOWN, stored)) == rendered[Doubt.RESET]
    # A background update names the recipient whole too.
    accepted = ConfirmResult(Outcome.ACCEPTED, _transfer(TransferStatus.ACCEPTED, qiwi_txn_id="19000000001"))
    notice = final_notice(tr, language, accepted, balance=None)
    assert notice.count("+7 912 111-22-33") == 2 and "***" not in notice


@pytest.mark.parametrize("language", LANGUAGES)
def test_over_limit_at_confirm_shows_the_limit(language: str) -> None:
    i18n = CatalogI18n()

    def tr(key: str) -> str:
        return i18n.text(key, language)

    result = ConfirmResult(Outcome.OVER_LIMIT, _transfer(TransferStatus.CANCELLED), limit=Decimal("5000"))
    text = outcome_text(tr, language, result)
    assert ("5 000,00" in text.replace("\xa0", " ")) if language == "ru" else ("RUB 5,000.00" in text)
    assert tr("transfer.cancelled") in text
