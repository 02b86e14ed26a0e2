"""The server itself: no ticket reaches a server log line; URLs before start are an error."""

from __future__ import annotations

import logging

import pytest

from bot.sandbox import PAYMENTS_SERVICE, EmulatorServer

from .conftest import Qiwi


async def test_no_ticket_in_any_log_line(qiwi: Qiwi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tgt = await qiwi.tgt()
    st = await qiwi.st(tgt, PAYMENTS_SERVICE)
    response = await qiwi.http.get(f"{qiwi.server.web_url}/j_spring_cas_security_check", params={"ticket": st})
    assert response.status_code == 200
    await qiwi.history(tgt, rows=1)
    # httpx (the test's own client) logs request URLs; the server side must not.
    server_side = [record for record in caplog.records if record.name.startswith(("aiohttp", "bot."))]
    text = "\n".join(record.getMessage() for record in server_side)
    assert st not in text and tgt not in text
    assert "ticket=" not in text


def test_urls_need_a_started_server() -> None:
    with pytest.raises(RuntimeError):
        _ = EmulatorServer().auth_url


async def test_three_distinct_ports(qiwi: Qiwi) -> None:
    urls = {qiwi.server.auth_url, qiwi.server.web_url, qiwi.server.edge_url}
    assert len(urls) == 3
    assert all(url.startswith("http://127.0.0.1:") for url in urls)
