from datetime import UTC, datetime

import pytest

from bot.timeutil import parse_qiwi_datetime, qiwi_datetime


def test_qiwi_datetime_is_moscow_time_with_offset() -> None:
    assert qiwi_datetime(datetime(2017, 2, 28, 21, 0, 5, 123, tzinfo=UTC)) == "2017-03-01T00:00:05+03:00"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        qiwi_datetime(datetime(2017, 3, 1))


@pytest.mark.parametrize("text", ["2020-09-01T00:00:00+0300", "2020-09-01T00:00:00+03:00"])
def test_both_offset_forms_parse(text: str) -> None:
    assert parse_qiwi_datetime(text).utcoffset() is not None
