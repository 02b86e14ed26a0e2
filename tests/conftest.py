"""Shared fixtures: a fresh seeded QIWI emulator, and the same emulator served over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.sandbox import Emulator, EmulatorServer


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()


@pytest.fixture
async def qiwi_server(emulator: Emulator) -> AsyncIterator[EmulatorServer]:
    server = EmulatorServer(emulator)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
