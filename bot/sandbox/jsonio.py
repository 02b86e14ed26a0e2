"""JSON in and out with money as Decimal: read numbers into Decimal, write Decimal as plain JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class BadJson(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise BadJson(f"{name} is not JSON")


def loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise BadJson(str(error)) from None


def dumps(value: Any) -> str:
    """Like `json.dumps(ensure_ascii=False)`, but a Decimal becomes a number (`3497.5`, `0.00`), never a
    string and never a float on the way."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite amount")
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def history_amount(amount: Decimal) -> Decimal:
    """History and totals print amounts the way QIWI does: `70`, `3497.5`, `0.01`."""
    amount = Decimal(amount)
    if amount == amount.to_integral_value():
        return amount.quantize(Decimal(1))
    return amount.normalize()


def balance_amount(amount: Decimal) -> Decimal:
    """Balances come with two places, as in the captured `0.00`."""
    return amount.quantize(Decimal("0.01"))
