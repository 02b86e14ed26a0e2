"""Dialog states and each dialog's typed data. Stored in SQLite, so an open dialog survives a restart.

FSM data is JSON: a dialog reads it only through its model (`await TransferData.load(state)`), so an
amount is a Decimal on both sides and a field that is missing or malformed (an old row, a forged write)
reads as absent instead of as a wrong type.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, ValidationError


class LoginDialog(StatesGroup):
    phone = State()
    password = State()


class TransferDialog(StatesGroup):
    recipient = State()
    amount = State()
    comment = State()
    confirm = State()


class RequestDialog(StatesGroup):
    member = State()
    amount = State()
    comment = State()


class DialogData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    async def load(cls, state: FSMContext) -> Self:
        raw: dict[str, Any] = await state.get_data()
        try:
            return cls.model_validate(raw)
        except ValidationError:
            # Keep what is valid: each field on its own, the rest as absent.
            valid = {}
            for name in cls.model_fields:
                try:
                    cls.model_validate({name: raw.get(name)})
                except ValidationError:
                    continue
                valid[name] = raw.get(name)
            return cls.model_validate(valid)

    async def save(self, state: FSMContext) -> None:
        """Replaces the dialog's data with this."""
        await state.set_data(self.model_dump(mode="json", exclude_none=True))


class LoginData(DialogData):
    wallet: str | None = None


class TransferData(DialogData):
    recipient: str | None = None
    amount: Decimal | None = None
    transfer_id: int | None = None


class RequestData(DialogData):
    payer: int | None = None
    amount: Decimal | None = None
