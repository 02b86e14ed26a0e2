"""`python -m bot.sandbox`: run the emulator alone and print the URLs to point a bot at."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from bot.sandbox.emulator import Emulator
from bot.sandbox.seed import DEMO_WALLETS
from bot.sandbox.server import EmulatorServer


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port-base",
        "--port",
        dest="port_base",
        type=int,
        default=0,
        help="auth on N, web on N+1, edge on N+2 (default 0: any free ports)",
    )
    return parser.parse_args(argv)


async def serve(host: str, port_base: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with EmulatorServer(Emulator(), host=host, port_base=port_base) as server:
        print(f"QIWI_AUTH_URL={server.auth_url}")
        print(f"QIWI_WEB_URL={server.web_url}")
        print(f"QIWI_EDGE_URL={server.edge_url}")
        for demo in DEMO_WALLETS:
            print(f"demo login: {demo.phone} / {demo.password} — {demo.description}")
        print("Ctrl-C stops the emulator.", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        asyncio.run(serve(arguments.host, arguments.port_base))
    except OSError as error:
        print(f"cannot start the emulator: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
