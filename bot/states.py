"""Dialog states (aiogram FSM). Stored in SQLite, so an open dialog survives a restart."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class LoginDialog(StatesGroup):
    phone = State()
    password = State()


class TransferDialog(StatesGroup):
    """Owned jointly with the transfer feature (issue 4), which may extend it."""

    recipient = State()
    amount = State()
    comment = State()
    confirm = State()
