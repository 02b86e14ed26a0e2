"""`bot.keyboards.layout.keyboard` lays buttons out as aiogram's `InlineKeyboardBuilder.adjust` does."""

from __future__ import annotations

import pytest
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import HistoryOp, HistoryPage
from bot.keyboards.layout import Button, keyboard


@pytest.mark.parametrize(
    ("count", "widths"),
    [(1, ()), (5, (2, 3)), (7, (3,)), (8, (3, 3, 2, 1)), (4, (2, 2, 1)), (6, (1,)), (3, (0, 3))],
)
def test_rows_as_the_builder_lays_them_out(count: int, widths: tuple[int, ...]) -> None:
    buttons: list[Button] = [(f"b{i}", HistoryPage(op=HistoryOp.ALL, next_id=i)) for i in range(count)]
    builder = InlineKeyboardBuilder()
    for text, data in buttons:
        builder.button(text=text, callback_data=data)
    builder.adjust(*([w for w in widths if w] or [1]))
    assert keyboard(buttons, *widths) == builder.as_markup()


def test_callback_data_is_packed() -> None:
    markup = keyboard([("Older", HistoryPage(op=HistoryOp.IN, next_id=5))])
    [[button]] = markup.inline_keyboard
    assert button.text == "Older"
    assert HistoryPage.unpack(button.callback_data or "") == HistoryPage(op=HistoryOp.IN, next_id=5)
