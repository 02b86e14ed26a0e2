"""An HTTP emulator of the QIWI Wallet API, written from the spec alone; the strictest reader of it."""

from bot.sandbox.clock import Clock
from bot.sandbox.emulator import EDGE_SERVICE, PAYMENTS_SERVICE, Emulator, IssuedTicket, LedgerEntry
from bot.sandbox.faults import Fault, Faults
from bot.sandbox.seed import DEMO_WALLETS, UNIDENTIFIED_WALLET, DemoWallet
from bot.sandbox.server import EmulatorServer

__all__ = [
    "DEMO_WALLETS",
    "EDGE_SERVICE",
    "PAYMENTS_SERVICE",
    "UNIDENTIFIED_WALLET",
    "Clock",
    "DemoWallet",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "Faults",
    "IssuedTicket",
    "LedgerEntry",
]
