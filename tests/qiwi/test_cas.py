"""CAS over loopback: login, check, logout, service tickets, TGT expiry on the emulator's clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.qiwi import EDGE_SERVICE, PAYMENTS_SERVICE, QiwiAuthError, QiwiClient, QiwiUnavailable
from bot.sandbox import Emulator

from .conftest import MAIN, PASSWORD


async def test_create_and_check_tgt(qiwi: QiwiClient, emulator: Emulator) -> None:
    tgt = await qiwi.create_tgt(MAIN, PASSWORD)
    assert tgt.startswith("TGT-")
    assert emulator.live_tgt(tgt) is not None
    assert await qiwi.check_tgt(tgt) is True
    assert await qiwi.check_tgt("TGT-0000000-nonsense") is False


async def test_wrong_password_is_auth_error(qiwi: QiwiClient) -> None:
    with pytest.raises(QiwiAuthError) as caught:
        await qiwi.create_tgt(MAIN, "not-the-password")
    assert caught.value.status == 401


async def test_logout_kills_the_tgt(qiwi: QiwiClient, tgt: str) -> None:
    await qiwi.delete_tgt(tgt)
    assert await qiwi.check_tgt(tgt) is False
    with pytest.raises(QiwiAuthError):
        await qiwi.balance(tgt, MAIN)
    with pytest.raises(QiwiAuthError):
        await qiwi.issue_st(tgt, EDGE_SERVICE)
    await qiwi.delete_tgt(tgt)  # logging out twice is not an error


async def test_service_tickets_are_issued_for_the_constant_services(
    qiwi: QiwiClient, tgt: str, emulator: Emulator
) -> None:
    edge = await qiwi.issue_st(tgt, EDGE_SERVICE)
    web = await qiwi.issue_st(tgt, PAYMENTS_SERVICE)
    assert edge.startswith("ST-") and web.startswith("ST-") and edge != web
    services = {record.ticket: record.service for record in emulator.issued_tickets}
    assert services[edge] == "http://t.qiwi.com/j_spring_cas_security_check"
    assert services[web] == "https://qiwi.com/j_spring_cas_security_check"


async def test_tgt_dies_after_two_idle_hours(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.clock.advance(timedelta(hours=1, minutes=50))
    assert await qiwi.check_tgt(tgt) is True
    await qiwi.balance(tgt, MAIN)  # an ST request resets the idle timer
    emulator.clock.advance(timedelta(hours=1, minutes=50))
    await qiwi.balance(tgt, MAIN)
    emulator.clock.advance(timedelta(hours=2, minutes=1))
    assert await qiwi.check_tgt(tgt) is False
    with pytest.raises(QiwiAuthError):
        await qiwi.balance(tgt, MAIN)


async def test_tgt_dies_after_eight_hours_even_when_used(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    for _ in range(7):
        emulator.clock.advance(timedelta(hours=1))
        await qiwi.balance(tgt, MAIN)
    emulator.clock.advance(timedelta(hours=1, minutes=1))
    with pytest.raises(QiwiAuthError):
        await qiwi.balance(tgt, MAIN)


async def test_expired_and_revoked_tgt(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.expire_tgt(tgt)
    with pytest.raises(QiwiAuthError):
        await qiwi.history(tgt, MAIN)
    second = await qiwi.create_tgt(MAIN, PASSWORD)
    emulator.revoke_tgts(MAIN)
    assert await qiwi.check_tgt(second) is False


async def test_cas_faults(qiwi: QiwiClient, tgt: str, emulator: Emulator) -> None:
    emulator.faults.inject("tgts", "status", status=503)
    with pytest.raises(QiwiUnavailable):
        await qiwi.create_tgt(MAIN, PASSWORD)
    emulator.faults.inject("sts", "status", status=401)
    with pytest.raises(QiwiAuthError):
        await qiwi.issue_st(tgt, EDGE_SERVICE)
