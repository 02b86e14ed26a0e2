"""A QIWI client pointed at the loopback emulator from tests/conftest.py, and a logged-in demo wallet."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.qiwi import QiwiClient
from bot.sandbox import EmulatorServer

MAIN = "79001112233"
RECEIVER = "79002223344"
EMPTY = "79003334455"
PASSWORD = "demo-password"


@pytest.fixture
async def qiwi(qiwi_server: EmulatorServer) -> AsyncIterator[QiwiClient]:
    client = QiwiClient.create(
        qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=2.0, backoff=0.01
    )
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def tgt(qiwi: QiwiClient) -> str:
    return await qiwi.create_tgt(MAIN, PASSWORD)
