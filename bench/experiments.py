"""`python -m bench.experiments NAME[,NAME...]`: the bot with proposed fixes applied from outside.

Used by `python -m bench --experiment NAME` to measure a change before its owner makes it; the bot's own files
are not touched. Each fix below names the file it belongs in.

- `aiohttp-transport` (bot/qiwi/client.py): httpx + httpcore + anyio cost ~2 ms of CPU per request here,
  aiohttp ~0.2 ms. This keeps httpx's API and sends through aiohttp instead. Measurement only: a real
  transport must also map aiohttp's errors onto httpx's (connect vs. read failures decide whether a payment's
  outcome is unknown) and honour per-request timeouts.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable
from typing import Any


def aiohttp_transport() -> None:
    import aiohttp
    import httpx

    from bot.qiwi.client import QiwiClient

    class AiohttpTransport(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.session: aiohttp.ClientSession | None = None

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if self.session is None:
                self.session = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
            headers = [
                (k.decode(), v.decode())
                for k, v in request.headers.raw
                if k.lower() not in (b"host", b"content-length", b"transfer-encoding")
            ]
            body = await request.aread()
            try:
                async with self.session.request(
                    request.method, str(request.url), headers=headers, data=body or None, allow_redirects=False
                ) as answer:
                    content = await answer.read()
                    raw = [(k.encode(), v.encode()) for k, v in answer.headers.items()]
            except aiohttp.ClientConnectorError as error:
                raise httpx.ConnectError(str(error)) from None
            except aiohttp.ClientError as error:
                raise httpx.ReadError(str(error)) from None
            return httpx.Response(answer.status, headers=raw, content=content, request=request)

        async def aclose(self) -> None:
            if self.session is not None:
                await self.session.close()

    original = QiwiClient.create.__func__  # type: ignore[attr-defined]

    def create(cls: type[QiwiClient], *args: Any, **kwargs: Any) -> QiwiClient:
        client: QiwiClient = original(cls, *args, **kwargs)
        client._http._transport = AiohttpTransport()
        return client

    QiwiClient.create = classmethod(create)  # type: ignore[method-assign, assignment]


FIXES: dict[str, Callable[[], None]] = {
    "aiohttp-transport": aiohttp_transport,
}

if __name__ == "__main__":
    names = sys.argv.pop(1).split(",")
    for name in names:
        FIXES[name]()
    runpy.run_module("bot", run_name="__main__", alter_sys=True)
