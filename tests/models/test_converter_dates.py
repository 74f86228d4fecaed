"""Dates as real portals send them: ISO with an offset, and the offset-less forms user.get still uses.

Source of the forms: ``settings/how-to-call-rest-api/batch.md`` (a real ``user.current`` answer inside a
batch): ``"TIMESTAMP_X": "24.08.2023 13:19:39"``, ``"LAST_ACTIVITY_DATE": "2024-08-29 10:30:11"`` next to
``"LAST_LOGIN": "2024-08-29T10:29:54+03:00"``. The offset-less ones carry no zone: the converter reads them
in UTC unless the caller names the portal's zone with :func:`assume_time_zone`; never a naive datetime.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bitrix_bizproc.models.converter import assume_time_zone, structure
from bitrix_bizproc.models.user import User

MSK = dt.timezone(dt.timedelta(hours=3))

ROW = {
    "ID": "1",
    "LAST_LOGIN": "2024-08-29T10:29:54+03:00",
    "DATE_REGISTER": "2023-08-24T03:00:00+03:00",
    "TIMESTAMP_X": "24.08.2023 13:19:39",
    "LAST_ACTIVITY_DATE": "2024-08-29 10:30:11",
    "PERSONAL_BIRTHDAY": "",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24.08.2023 13:19:39", dt.datetime(2023, 8, 24, 13, 19, 39, tzinfo=dt.UTC)),
        ("24.08.2023", dt.datetime(2023, 8, 24, tzinfo=dt.UTC)),
        ("2024-08-29 10:30:11", dt.datetime(2024, 8, 29, 10, 30, 11, tzinfo=dt.UTC)),
        ("2024-08-29T10:30:11", dt.datetime(2024, 8, 29, 10, 30, 11, tzinfo=dt.UTC)),
        ("2024-08-29T10:29:54+03:00", dt.datetime(2024, 8, 29, 10, 29, 54, tzinfo=MSK)),
    ],
)
def test_every_real_form_becomes_an_aware_datetime(text: str, expected: dt.datetime) -> None:
    value = structure(text, dt.datetime)
    assert value == expected and value.tzinfo is not None and value.utcoffset() == expected.utcoffset()


def test_user_dates_are_all_aware_and_comparable() -> None:
    user = structure(ROW, User)
    assert "TIMESTAMP_X" not in user.extra and "LAST_ACTIVITY_DATE" not in user.extra
    dates = [user.last_login, user.date_register, user.timestamp_x, user.last_activity_date]
    assert all(d is not None and d.tzinfo is not None for d in dates)
    assert max(d for d in dates if d is not None) == user.last_activity_date  # no TypeError: all aware
    assert user.timestamp_x == dt.datetime(2023, 8, 24, 13, 19, 39, tzinfo=dt.UTC)


def test_the_portal_zone_can_be_named_for_offset_less_dates() -> None:
    with assume_time_zone(MSK):
        user = structure(ROW, User)
    assert user.last_activity_date == dt.datetime(2024, 8, 29, 10, 30, 11, tzinfo=MSK)
    assert user.last_login is not None and user.last_activity_date > user.last_login  # 17 s later, same zone
    assert structure("24.08.2023 13:19:39", dt.datetime).tzinfo == dt.UTC  # the default is back


def test_the_portal_date_form_reads_as_a_date() -> None:
    assert structure("24.08.2023", dt.date) == dt.date(2023, 8, 24)


def test_a_naive_datetime_object_is_made_aware_too() -> None:
    assert structure(dt.datetime(2024, 1, 1), dt.datetime) == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_assume_time_zone_refuses_a_naive_zone() -> None:
    with pytest.raises(TypeError), assume_time_zone("+03:00"):  # type: ignore[arg-type]
        pass


@pytest.mark.parametrize("text", ["31.02.2023 10:00:00", "2024-13-01", "yesterday", "24.08.23"])
def test_unreadable_dates_stay_in_extra(text: str) -> None:
    user = structure({"ID": "1", "TIMESTAMP_X": text}, User)
    assert user.timestamp_x is None and user.extra == {"TIMESTAMP_X": text}
