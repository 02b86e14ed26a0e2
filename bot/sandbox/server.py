"""Three aiohttp sites on three loopback ports: auth (CAS + controls), web (payments), edge (reads)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from bot.sandbox.auth_site import add_cas_routes
from bot.sandbox.control import add_control_routes
from bot.sandbox.edge_site import add_edge_routes
from bot.sandbox.emulator import Emulator
from bot.sandbox.http_common import EMULATOR, STOPPING
from bot.sandbox.web_site import add_web_routes

SITES: tuple[tuple[str, tuple[Callable[[web.Application], None], ...]], ...] = (
    ("auth", (add_cas_routes, add_control_routes)),
    ("web", (add_web_routes,)),
    ("edge", (add_edge_routes,)),
)


class EmulatorServer:
    """`await start()`/`await stop()`, or `async with EmulatorServer(emulator) as server:`."""

    def __init__(self, emulator: Emulator | None = None, *, host: str = "127.0.0.1", port_base: int = 0) -> None:
        self.emulator = emulator or Emulator()
        self._host = host
        self._port_base = port_base
        self._runners: list[web.AppRunner] = []
        self._urls: dict[str, str] = {}
        self._stopping: asyncio.Event | None = None

    async def start(self, host: str | None = None, port_base: int | None = None) -> None:
        """Bind the three sites; `port_base` N gives auth N, web N+1, edge N+2 (0: any free ports)."""
        if self._runners:
            raise RuntimeError("already started")
        host = host or self._host
        port_base = self._port_base if port_base is None else port_base
        self._stopping = asyncio.Event()
        try:
            for offset, (name, route_adders) in enumerate(SITES):
                app = web.Application()
                app[EMULATOR] = self.emulator
                app[STOPPING] = self._stopping
                for add_routes in route_adders:
                    add_routes(app)
                # No access log: aiohttp would print `?ticket=ST-...` query strings.
                runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
                await runner.setup()
                self._runners.append(runner)
                sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port_base + offset if port_base else 0))
                site = web.SockSite(runner, sock)
                await site.start()
                port = sock.getsockname()[1]
                shown = f"[{host}]" if ":" in host else host
                self._urls[name] = f"http://{shown}:{port}"
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # hanging requests give up now instead of holding shutdown for an hour
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()
        self._urls = {}

    def _url(self, name: str) -> str:
        if name not in self._urls:
            raise RuntimeError("the emulator server is not started")
        return self._urls[name]

    @property
    def auth_url(self) -> str:
        return self._url("auth")

    @property
    def web_url(self) -> str:
        return self._url("web")

    @property
    def edge_url(self) -> str:
        return self._url("edge")

    async def __aenter__(self) -> EmulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
