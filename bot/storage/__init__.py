"""SQLite storage: the only code in the bot that writes SQL."""

from .connection import DatabaseClosed
from .database import Database
from .migrations import LATEST_VERSION, SchemaTooNew
from .models import Invite, Role, Transfer, TransferStatus, User


def __getattr__(name: str) -> object:
    # SQLiteStorage pulls in aiogram; only the bot itself needs it, not the operator commands.
    if name == "SQLiteStorage":
        from .fsm import SQLiteStorage

        return SQLiteStorage
    raise AttributeError(name)


__all__ = [
    "LATEST_VERSION",
    "Database",
    "DatabaseClosed",
    "Invite",
    "Role",
    "SQLiteStorage",
    "SchemaTooNew",
    "Transfer",
    "TransferStatus",
    "User",
]
