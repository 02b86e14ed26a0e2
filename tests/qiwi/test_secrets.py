"""No ticket, cookie or password in any log line or exception text, whatever way the client fails."""

from __future__ import annotations

import logging
import traceback
from decimal import Decimal

import pytest

from bot.qiwi import QiwiClient, QiwiError
from bot.sandbox import Emulator, EmulatorServer

from .conftest import MAIN, PASSWORD, RECEIVER


async def test_failures_leak_no_secret(
    qiwi_server: EmulatorServer, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything, httpx and httpcore included
    client = QiwiClient.create(
        qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=0.3, read_retries=1, backoff=0
    )
    errors: list[BaseException] = []

    async def fails(coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except (QiwiError, ValueError) as exc:
            errors.append(exc)
        else:
            raise AssertionError("expected a failure")

    try:
        await fails(client.create_tgt(MAIN, "wrong-" + PASSWORD))
        tgt = await client.create_tgt(MAIN, PASSWORD)
        await client.pay(tgt, MAIN, client_id="1", amount=Decimal(1), account=RECEIVER[1:], comment="")
        for endpoint, status in (("balance", 401), ("history", 423), ("total", 500), ("sts", 401)):
            emulator.faults.inject(endpoint, "status", status=status, times=None)
            call = client.history if endpoint == "history" else client.totals if endpoint == "total" else client.balance
            await fails(call(tgt, MAIN))
            emulator.faults.clear()
        emulator.faults.inject("balance", "hang", times=None)
        await fails(client.balance(tgt, MAIN))
        emulator.faults.clear()
        emulator.faults.inject("payment", "hang_after_commit")
        await fails(client.pay(tgt, MAIN, client_id="2", amount=Decimal(1), account=RECEIVER[1:], comment=""))
        emulator.faults.inject("payment", "status", status=401, times=2)
        await fails(client.pay(tgt, MAIN, client_id="3", amount=Decimal(1), account=RECEIVER[1:], comment=""))
        await fails(client.pay(tgt, MAIN, client_id="4", amount=Decimal(10**6), account=RECEIVER[1:], comment=""))
        cookies = [value for s in client._sessions.values() for value in s.cookies.values()]
        client.forget_web_session(MAIN)
        emulator.faults.inject("session", "status", status=500)
        await fails(client.pay(tgt, MAIN, client_id="5", amount=Decimal(1), account=RECEIVER[1:], comment=""))
        await client.delete_tgt(tgt)
        await fails(client.balance(tgt, MAIN))
        await fails(client.pay(tgt, MAIN, client_id="6", amount=Decimal(1), account=RECEIVER[1:], comment=""))
    finally:
        await client.aclose()
    unreachable = QiwiClient.create("http://127.0.0.1:9", "http://127.0.0.1:9", "http://127.0.0.1:9", timeout=0.3)
    try:
        await fails(unreachable.create_tgt(MAIN, PASSWORD))
        await fails(unreachable.balance("TGT-1-secretish", MAIN))
    finally:
        await unreachable.aclose()

    tickets = [record.ticket for record in emulator.issued_tickets]
    assert len(tickets) > 10 and cookies
    secrets = [*tickets, *cookies, PASSWORD, "TGT-1-secretish"]
    assert len(errors) == 14
    texts = [caplog.text]
    for error in errors:
        texts += [str(error), repr(error)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert "TGT-" not in text.replace("TGT-[redacted]", "")
        assert "ST-" not in text.replace("ST-[redacted]", "")
    # Tracebacks quote source lines (which mention "TGT-"), so only the secrets themselves are checked there.
    for error in errors:
        formatted = "".join(traceback.format_exception(error))
        assert not [secret for secret in secrets if secret in formatted]
    # The client's own lines are there, and say what is safe to say.
    own = [r.getMessage() for r in caplog.records if r.name == "bot.qiwi.client"]
    assert any(line.startswith("POST /cas/tgts -> 401") for line in own)
    assert any(line.startswith("GET /j_spring_cas_security_check -> 200") for line in own)
