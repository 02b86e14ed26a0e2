"""SQLite storage: the only code in the bot that writes SQL."""

from .connection import DatabaseClosed
from .database import Database
from .fsm import SQLiteStorage
from .migrations import LATEST_VERSION, SchemaTooNew
from .models import Invite, Role, Transfer, TransferStatus, User

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
