"""The aiohttp transport under the QIWI client: failures keep their meaning, the wire stays the client's.

"Never sent" (QiwiUnavailable) may only come from a failure before the request was written; anything after
(a reset, a closed connection, a timeout) is "sent, answer lost", which for a payment is outcome unknown.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal

import aiohttp
import httpx
import pytest

from bot.qiwi import QiwiClient
from bot.qiwi.client import _NOT_SENT, AiohttpTransport, _httpx_error, history_query
from bot.qiwi.errors import QiwiPaymentOutcomeUnknown, QiwiUnavailable
from bot.sandbox import Emulator, EmulatorServer

from .conftest import MAIN, PASSWORD, RECEIVER

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


class RawServer:
    """A loopback HTTP/1.1 server that records each request's head and answers as `reply` says."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                if length:
                    await reader.readexactly(length)
                self.requests.append(head)
                await self.reply(reader, writer, head)
                if writer.is_closing():
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b"{}", extra: bytes = b"") -> Reply:
    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + extra
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    return reply


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    """Reads the request, then an RST instead of an answer (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    """Reads the request, then closes the connection without a word."""
    writer.close()


async def half_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"entity":')
    await writer.drain()
    writer.close()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[Callable[[Reply], Awaitable[RawServer]]]:
    servers: list[RawServer] = []

    async def make(reply: Reply) -> RawServer:
        server = RawServer(reply)
        await server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


def _client(url: str, timeout: float = 1.0) -> QiwiClient:
    return QiwiClient.create(url, url, url, timeout=timeout, read_retries=0)


async def _pay(client: QiwiClient) -> None:
    await client.pay("TGT-1-x", MAIN, client_id="900", amount=Decimal(1), account=RECEIVER[1:], comment="")


@pytest.mark.parametrize("reply", [reset, close, half_answer, garbage], ids=lambda r: r.__name__)
async def test_a_payment_lost_after_it_was_written_is_outcome_unknown(
    raw: Callable[[Reply], Awaitable[RawServer]], reply: Reply
) -> None:
    # The CAS ticket and the web session are answered; the payment itself is read by the server, then lost.
    session = b'{"entity": {"ticket": "ST-1-x"}}'

    async def web(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        if b"proxy.action" in head:
            await reply(reader, writer, head)
        else:
            await ok(session, b"Set-Cookie: JSESSIONID=abc; Path=/\r\n")(reader, writer, head)

    server = await raw(web)
    client = _client(server.url)
    try:
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            await _pay(client)
    finally:
        await client.aclose()
    assert sum(b"proxy.action" in head for head in server.requests) == 1  # sent once, never silently again


async def test_a_payment_timing_out_after_it_was_written_is_outcome_unknown(
    raw: Callable[[Reply], Awaitable[RawServer]],
) -> None:
    async def web(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        if b"proxy.action" in head:
            await asyncio.sleep(5)
        else:
            await ok(b'{"entity": {"ticket": "ST-1-x"}}', b"Set-Cookie: JSESSIONID=abc\r\n")(reader, writer, head)

    server = await raw(web)
    client = _client(server.url, timeout=0.3)
    try:
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            await _pay(client)
    finally:
        await client.aclose()


async def test_a_refused_connection_is_unavailable_and_nothing_was_sent() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = _client(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(QiwiUnavailable) as caught:
            await client.balance("TGT-1-x", MAIN)
        assert not isinstance(caught.value, QiwiPaymentOutcomeUnknown)
    finally:
        await client.aclose()


async def test_a_connect_timeout_is_unavailable_and_nothing_was_sent() -> None:
    # A listening socket whose backlog is full never completes another handshake: the connect times out.
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            transport = AiohttpTransport()
            request = httpx.Request(
                "GET",
                f"http://127.0.0.1:{port}/",
                extensions={"timeout": {"connect": 0.2, "read": 1.0, "write": 1.0, "pool": 1.0}},
            )
            try:
                with pytest.raises(httpx.TransportError) as caught:
                    await transport.handle_async_request(request)
            finally:
                await transport.aclose()
        finally:
            for filler in fillers:
                filler.close()
    assert isinstance(caught.value, _NOT_SENT)


@pytest.mark.parametrize(
    ("error", "expected", "sent"),
    [
        (aiohttp.ConnectionTimeoutError("t"), httpx.ConnectTimeout, False),
        # Built without their (version-dependent) connection key: only the class decides.
        (aiohttp.ClientConnectorError.__new__(aiohttp.ClientConnectorError), httpx.ConnectError, False),
        (aiohttp.ClientConnectorDNSError.__new__(aiohttp.ClientConnectorDNSError), httpx.ConnectError, False),
        (aiohttp.ClientSSLError.__new__(aiohttp.ClientSSLError), httpx.ConnectError, False),
        (aiohttp.InvalidUrlClientError("x"), httpx.UnsupportedProtocol, False),
        (aiohttp.SocketTimeoutError("t"), httpx.ReadTimeout, True),
        (aiohttp.ServerTimeoutError("t"), httpx.ReadTimeout, True),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError, True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), httpx.ReadError, True),
        (aiohttp.ClientConnectionResetError("reset"), httpx.ReadError, True),
        (aiohttp.ClientPayloadError("cut"), httpx.ReadError, True),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_error_mapping(error: aiohttp.ClientError, expected: type[httpx.TransportError], sent: bool) -> None:
    mapped = _httpx_error(error, httpx.Request("GET", "http://qiwi.test/?ticket=ST-1-secret"))
    assert type(mapped) is expected
    assert isinstance(mapped, _NOT_SENT) is not sent
    assert "ST-1-secret" not in str(mapped)


async def test_the_wire_is_the_clients(raw: Callable[[Reply], Awaitable[RawServer]]) -> None:
    server = await raw(ok(b'{"entity": {"ticket": "ST-1-x"}}', b"Set-Cookie: CASTGC=TGT-should-not-stick\r\n"))
    client = _client(server.url)
    try:
        await client.issue_st("TGT-1-x", "http://t.qiwi.com/j_spring_cas_security_check")
        await client.issue_st("TGT-1-x", "http://t.qiwi.com/j_spring_cas_security_check")
        await client._send("GET", f"{server.url}/p?{history_query(rows=5, sources=['QW_RUB'])}", headers={})
        await client._send("GET", f"{server.url}/p?a=%2B%3A+", headers={})
    finally:
        await client.aclose()
    first, second, third, fourth = server.requests
    assert first.startswith(b"POST /cas/sts HTTP/1.1\r\n")
    assert b"cookie" not in second.lower()  # the first answer's Set-Cookie was not kept
    assert first.lower().count(b"\r\nhost:") == 1 and first.lower().count(b"\r\ncontent-length:") == 1
    assert b"User-Agent: qiwi-family-bot/" in first and first.lower().count(b"\r\nuser-agent:") == 1
    assert b"\r\nAccept-Encoding: gzip, deflate" in first  # httpx's defaults, as its client sends them
    assert third.startswith(b"GET /p?rows=5&operation=ALL&sources[0]=QW_RUB HTTP/1.1\r\n")
    assert fourth.startswith(b"GET /p?a=%2B%3A+ HTTP/1.1")  # sent as encoded, not re-quoted
    assert server.connections == 1  # one kept-alive connection for all four


async def test_dates_keep_their_encoding_on_the_wire(raw: Callable[[Reply], Awaitable[RawServer]]) -> None:
    from datetime import UTC, datetime

    ticket, page = ok(b'{"entity": {"ticket": "ST-1-x"}}'), ok(b'{"data": [], "nextTxnId": null, "nextTxnDate": null}')

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        await (ticket if head.startswith(b"POST /cas/sts ") else page)(reader, writer, head)

    server = await raw(reply)
    client = _client(server.url)
    try:
        start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
        await client.history("TGT-1-x", MAIN, rows=5, start=start, end=end)
    finally:
        await client.aclose()
    line = server.requests[-1].split(b"\r\n", 1)[0]
    assert b"%2B" in line and b"%3A" in line and b"+" not in line.split(b" ")[1]


async def test_a_broken_kept_alive_connection_is_not_silently_resent(
    raw: Callable[[Reply], Awaitable[RawServer]],
) -> None:
    # The second GET on the kept-alive connection is read, then the connection drops: aiohttp would resend an
    # idempotent request on its own; an edge GET's ticket is single-use, so that is the client's retry to do.
    answered = 0

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> None:
        nonlocal answered
        if answered:
            writer.close()
            return
        answered += 1
        await ok()(reader, writer, head)

    server = await raw(reply)
    client = _client(server.url)
    try:
        await client._send("GET", f"{server.url}/one", headers={})
        with pytest.raises(QiwiUnavailable):
            await client._send("GET", f"{server.url}/two", headers={})
    finally:
        await client.aclose()
    assert [head.split(b" ", 2)[1] for head in server.requests] == [b"/one", b"/two"]


async def test_over_the_emulator_resets_and_lost_answers(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    client = QiwiClient.create(
        qiwi_server.auth_url, qiwi_server.web_url, qiwi_server.edge_url, timeout=2.0, read_retries=1, backoff=0.01
    )
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        emulator.faults.inject("balance", "reset")
        assert await client.balance(tgt, MAIN)  # a reset read is retried with a new ticket
        emulator.faults.inject("payment", "reset")
        with pytest.raises(QiwiPaymentOutcomeUnknown):  # it could not know that nothing was served
            await client.pay(tgt, MAIN, client_id="700", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert emulator.ledger == []
        emulator.faults.inject("payment", "lost_answer")
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            await client.pay(tgt, MAIN, client_id="701", amount=Decimal(1), account=RECEIVER[1:], comment="")
        [entry] = emulator.ledger
        result = await client.pay(tgt, MAIN, client_id="701", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert result.transaction_id == str(entry.txn_id)
    finally:
        await client.aclose()


async def test_no_ticket_in_the_transport_logs(
    raw: Callable[[Reply], Awaitable[RawServer]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = await raw(close)
    client = _client(server.url)
    try:
        with pytest.raises(QiwiUnavailable) as caught:
            await client._send("GET", f"{server.url}/j_spring_cas_security_check?ticket=ST-9-secret", headers={})
    finally:
        await client.aclose()
    assert "ST-9-secret" not in caplog.text
    assert "ST-9-secret" not in str(caught.value) and "ST-9-secret" not in repr(caught.value)


async def test_an_httpx_client_over_the_transport_works_too(qiwi_server: EmulatorServer, emulator: Emulator) -> None:
    # `QiwiClient.create` calls the transport directly; any httpx.AsyncClient built on it goes the httpx way.
    http = httpx.AsyncClient(transport=AiohttpTransport(), timeout=httpx.Timeout(2.0))
    client = QiwiClient(http, auth_url=qiwi_server.auth_url, web_url=qiwi_server.web_url, edge_url=qiwi_server.edge_url)
    try:
        tgt = await client.create_tgt(MAIN, PASSWORD)
        assert await client.balance(tgt, MAIN)
        emulator.faults.inject("payment", "lost_answer")
        with pytest.raises(QiwiPaymentOutcomeUnknown):
            await client.pay(tgt, MAIN, client_id="702", amount=Decimal(1), account=RECEIVER[1:], comment="")
        result = await client.pay(tgt, MAIN, client_id="702", amount=Decimal(1), account=RECEIVER[1:], comment="")
        assert [entry.client_id for entry in emulator.ledger] == ["702"] and result.transaction_id
    finally:
        await client.aclose()


async def test_a_gzipped_answer_is_decoded(raw: Callable[[Reply], Awaitable[RawServer]]) -> None:
    import gzip

    body = gzip.compress(b'{"entity": {"ticket": "ST-7-x"}}')
    server = await raw(ok(body, b"Content-Encoding: gzip\r\n"))
    client = _client(server.url)
    try:
        assert await client.issue_st("TGT-1-x", "http://t.qiwi.com/j_spring_cas_security_check") == "ST-7-x"
    finally:
        await client.aclose()


async def test_an_undecodable_answer_is_malformed_not_lost(raw: Callable[[Reply], Awaitable[RawServer]]) -> None:
    from bot.qiwi.errors import QiwiMalformedResponse

    server = await raw(ok(b"certainly not gzip", b"Content-Encoding: gzip\r\n"))
    client = _client(server.url)
    try:
        with pytest.raises(QiwiMalformedResponse):
            await client.issue_st("TGT-1-x", "http://t.qiwi.com/j_spring_cas_security_check")
    finally:
        await client.aclose()
