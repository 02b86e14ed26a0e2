"""Transfers over loopback: web session per wallet, idempotent ids, refusals, lost answers, cookie isolation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest

from bot.qiwi import (
    PAYMENTS_SERVICE,
    QiwiAuthError,
    QiwiClient,
    QiwiPaymentOutcomeUnknown,
    QiwiPaymentRefused,
    QiwiUnavailable,
    RefusalReason,
)
from bot.sandbox import UNIDENTIFIED_WALLET, Emulator, EmulatorServer

from .conftest import MAIN, PASSWORD, RECEIVER


def web_tickets(emulator: Emulator) -> int:
    return sum(1 for r in emulator.issued_tickets if r.kind == "ST" and r.service == PAYMENTS_SERVICE)


async def test_payment_moves_money_once(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    sender_before = emulator.wallet(MAIN).balance("RUB")
    receiver_before = emulator.wallet(RECEIVER).balance("RUB")
    result = await qiwi.pay(
        tgt, MAIN, client_id="1700000000000001", amount=Decimal("100.50"), account=RECEIVER[1:], comment="обед"
    )
    assert result.client_id == "1700000000000001"  # the emulator echoes ":1700..." like QIWI's example
    assert result.state == "Accepted"
    assert result.amount is not None and result.amount.amount == Decimal("100.50")
    assert result.account == RECEIVER[1:]
    [entry] = emulator.ledger
    assert (entry.client_id, entry.sender, entry.recipient, entry.amount) == (
        "1700000000000001",
        MAIN,
        RECEIVER,
        Decimal("100.50"),
    )
    assert str(entry.txn_id) == result.transaction_id
    assert emulator.wallet(MAIN).balance("RUB") == sender_before - Decimal("100.50")
    assert emulator.wallet(RECEIVER).balance("RUB") == receiver_before + Decimal("100.50")


async def test_same_id_twice_is_one_payment(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    args = {"client_id": "1700000000000002", "amount": Decimal(250), "account": RECEIVER[1:], "comment": ""}
    first = await qiwi.pay(tgt, MAIN, **args)  # type: ignore[arg-type]
    second = await qiwi.pay(tgt, MAIN, **args)  # type: ignore[arg-type]
    assert first.transaction_id == second.transaction_id
    assert len(emulator.ledger) == 1


async def test_web_session_is_reused_then_reestablished_when_it_dies(
    qiwi: QiwiClient, tgt: str, emulator: Emulator
) -> None:
    await qiwi.pay(tgt, MAIN, client_id="1", amount=Decimal(10), account=RECEIVER[1:], comment="")
    await qiwi.pay(tgt, MAIN, client_id="2", amount=Decimal(10), account=RECEIVER[1:], comment="")
    assert web_tickets(emulator) == 1
    # The emulator ends idle web sessions after 30 minutes: the next payment gets 401 and must recover.
    from datetime import timedelta

    emulator.clock.advance(timedelta(minutes=45))
    result = await qiwi.pay(tgt, MAIN, client_id="3", amount=Decimal(10), account=RECEIVER[1:], comment="")
    assert result.client_id == "3"
    assert web_tickets(emulator) == 2
    assert [e.client_id for e in emulator.ledger] == ["1", "2", "3"]


async def test_a_401_resends_the_same_id_once(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.faults.inject("payment", "status", status=401)
    result = await qiwi.pay(tgt, MAIN, client_id="77", amount=Decimal(5), account=RECEIVER[1:], comment="")
    assert result.client_id == "77"
    assert [e.client_id for e in emulator.ledger] == ["77"]
    assert web_tickets(emulator) == 2


async def test_two_401s_give_up_without_a_new_id(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.faults.inject("payment", "status", status=401, times=2)
    with pytest.raises(QiwiAuthError):
        await qiwi.pay(tgt, MAIN, client_id="78", amount=Decimal(5), account=RECEIVER[1:], comment="")
    assert emulator.ledger == []
    assert not qiwi.has_web_session(MAIN)


async def test_dead_tgt_cannot_open_a_session(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.expire_tgt(tgt)
    with pytest.raises(QiwiAuthError):
        await qiwi.pay(tgt, MAIN, client_id="79", amount=Decimal(5), account=RECEIVER[1:], comment="")
    assert emulator.ledger == []


@pytest.mark.parametrize(
    ("amount", "account", "reason", "code"),
    [
        (Decimal("10000000"), RECEIVER[1:], RefusalReason.AMOUNT_TOO_LARGE, "QWPRC-242"),
        (Decimal("0.50"), RECEIVER[1:], RefusalReason.AMOUNT_TOO_SMALL, "QWPRC-241"),
        (Decimal(10), UNIDENTIFIED_WALLET[1:], RefusalReason.RECIPIENT_NOT_IDENTIFIED, "QWPRC-167"),
        (Decimal(10), MAIN[1:], RefusalReason.OTHER, "QWPRC-319"),
    ],
)
async def test_refusals(
    qiwi: QiwiClient,
    tgt: str,
    emulator: Emulator,
    amount: Decimal,
    account: str,
    reason: RefusalReason,
    code: str,
) -> None:
    with pytest.raises(QiwiPaymentRefused) as caught:
        await qiwi.pay(tgt, MAIN, client_id="90", amount=amount, account=account, comment="")
    assert (caught.value.reason, caught.value.code, caught.value.status) == (reason, code, 400)
    assert caught.value.qiwi_message
    assert emulator.ledger == []


async def test_insufficient_funds(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    balance = emulator.wallet(MAIN).balance("RUB")
    assert balance + 1 <= Decimal(99999), "the demo balance must be below the per-payment cap for this test"
    with pytest.raises(QiwiPaymentRefused) as caught:
        await qiwi.pay(tgt, MAIN, client_id="91", amount=balance + 1, account=RECEIVER[1:], comment="")
    assert caught.value.reason == RefusalReason.INSUFFICIENT_FUNDS
    assert caught.value.code == "QWPRC-220"
    assert emulator.ledger == []
    assert emulator.wallet(MAIN).balance("RUB") == balance


async def test_hang_after_commit_is_unknown_then_resolved_by_the_same_id(
    qiwi_server: EmulatorServer, emulator: Emulator
) -> None:
    client = QiwiClient.create(qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=0.5)
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        emulator.faults.inject("payment", "hang_after_commit")
        with pytest.raises(QiwiPaymentOutcomeUnknown) as caught:
            await client.pay(tgt, MAIN, client_id="555", amount=Decimal("42.00"), account=RECEIVER[1:], comment="")
        assert isinstance(caught.value, QiwiUnavailable)
        [entry] = emulator.ledger
        result = await client.pay(tgt, MAIN, client_id="555", amount=Decimal("42.00"), account=RECEIVER[1:], comment="")
        assert result.transaction_id == str(entry.txn_id)
        assert len(emulator.ledger) == 1
    finally:
        await client.aclose()


async def test_hang_before_commit_is_also_unknown(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    client = QiwiClient.create(qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=0.5)
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        emulator.faults.inject("payment", "hang")
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            await client.pay(tgt, MAIN, client_id="556", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert emulator.ledger == []
        await client.pay(tgt, MAIN, client_id="556", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert [e.client_id for e in emulator.ledger] == ["556"]
    finally:
        await client.aclose()


async def test_5xx_on_payment_is_unknown(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.faults.inject("payment", "status", status=502)
    with pytest.raises(QiwiPaymentOutcomeUnknown) as caught:
        await qiwi.pay(tgt, MAIN, client_id="557", amount=Decimal(1), account=RECEIVER[1:], comment="")
    assert caught.value.status == 502


class Relay:
    """A loopback TCP relay in front of the web site, which a test can take down and bring back."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def relay(qiwi_server: EmulatorServer) -> AsyncIterator[Relay]:
    relay = Relay(qiwi_server.web_url)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.stop()


async def test_connect_failure_is_unavailable_and_safe_to_retry(
    qiwi_server: EmulatorServer, emulator: Emulator, relay: Relay
) -> None:
    client = QiwiClient.create(qiwi_server.auth_url, relay.url, qiwi_server.edge_url, timeout=1.0)
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        await client.pay(tgt, MAIN, client_id="600", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert client.has_web_session(MAIN)
        await relay.stop()
        await asyncio.sleep(0.1)  # let the pooled connection see the relay's FIN, as it would after an idle close
        with pytest.raises(QiwiUnavailable) as caught:
            await client.pay(tgt, MAIN, client_id="601", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert not isinstance(caught.value, QiwiPaymentOutcomeUnknown)
        assert [e.client_id for e in emulator.ledger] == ["600"]
        await relay.start()
        await client.pay(tgt, MAIN, client_id="601", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert [e.client_id for e in emulator.ledger] == ["600", "601"]
    finally:
        await client.aclose()


async def test_cookies_stay_with_their_wallet(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    # An ordinary AsyncClient, whose default jar would keep Set-Cookie answers: the QIWI client must disarm it.
    http = httpx.AsyncClient(timeout=httpx.Timeout(2.0))
    sent_cookies: list[tuple[str, str | None]] = []

    async def record(request: httpx.Request) -> None:
        sent_cookies.append((request.url.path, request.headers.get("cookie")))

    http.event_hooks["request"].append(record)
    client = QiwiClient(http, auth_url=qiwi_server.auth_url, web_url=qiwi_server.web_url, edge_url=qiwi_server.edge_url)
    try:
        tgt_a = await client.create_tgt(MAIN, PASSWORD)
        tgt_b = await client.create_tgt(RECEIVER, PASSWORD)
        assert await client.check_tgt(tgt_a)  # its answer sets CASTGC: it must not be kept either
        await client.pay(tgt_a, MAIN, client_id="700", amount=Decimal(3), account=RECEIVER[1:], comment="")
        await client.pay(tgt_b, RECEIVER, client_id="701", amount=Decimal(2), account=MAIN[1:], comment="")
        await client.pay(tgt_a, MAIN, client_id="702", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert len(http.cookies.jar) == 0
    finally:
        await client.aclose()
    assert [(e.client_id, e.sender) for e in emulator.ledger] == [
        ("700", MAIN),
        ("701", RECEIVER),
        ("702", MAIN),
    ]
    payment_cookies = [cookie for path, cookie in sent_cookies if path.endswith("proxy.action")]
    assert len(payment_cookies) == 3
    assert payment_cookies[0] == payment_cookies[2] != payment_cookies[1]
    # Nothing but the CAS check carries a cookie other than the payment calls.
    others = [(path, c) for path, c in sent_cookies if c and not path.endswith("proxy.action")]
    assert [path for path, _ in others] == ["/cas/tgts"]
    assert others[0][1] == f"CASTGC={tgt_a}"


async def test_bad_arguments_fail_before_any_request(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    before = len(emulator.issued_tickets)
    for kwargs in (
        {"client_id": "x1", "amount": Decimal(1), "account": RECEIVER[1:]},
        {"client_id": "1", "amount": Decimal("1.005"), "account": RECEIVER[1:]},
        {"client_id": "1", "amount": Decimal(1), "account": RECEIVER},
    ):
        with pytest.raises(ValueError):
            await qiwi.pay(tgt, MAIN, comment="", **kwargs)  # type: ignore[arg-type]
    assert len(emulator.issued_tickets) == before


async def test_enveloped_answers_over_http(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.payment_envelope = True
    result = await qiwi.pay(tgt, MAIN, client_id="4200", amount=Decimal("7.25"), account=RECEIVER[1:], comment="")
    assert result.state == "Accepted"
    assert [entry.client_id for entry in emulator.ledger] == ["4200"]
    with pytest.raises(QiwiPaymentRefused) as refused:
        await qiwi.pay(tgt, MAIN, client_id="4201", amount=Decimal("10000000"), account=RECEIVER[1:], comment="")
    assert refused.value.code is not None and refused.value.code.startswith("QWPRC-")
    assert len(emulator.ledger) == 1
