"""Dates as real portals send them: ISO with an offset, and the offset-less forms user.get still uses.

Source of the forms: ``settings/how-to-call-rest-api/batch.md`` (a real ``user.current`` answer inside a
batch): ``"TIMESTAMP_X": "24.08.2023 13:19:39"``, ``"LAST_ACTIVITY_DATE": "2024-08-29 10:30:11"`` next to
``"LAST_LOGIN": "2024-08-29T10:29:54+03:00"``. The offset-less ones carry no zone: the converter reads them
in UTC unless the caller names the portal's zone with :func:`assume_time_zone`; never a naive datetime.
"""

from __future__ import annotations

import _strptime
import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.models.converter import assume_time_zone, structure
from bitrix_bizproc.models.user import User
from bitrix_bizproc.protocol.errors import MalformedResponseError

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


# -- the portal's site form read exactly, without strptime (issue 17) ----------------------------------------


def _by_strptime(value: str) -> dt.datetime:
    """The rule the converter follows: ISO first, then the portal's two site forms by ``strptime`` (UTC)."""
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y"):
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(value) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _date_by_strptime(value: str) -> dt.date:
    text = value.strip()
    if "." in text[:3]:
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
    return dt.datetime.fromisoformat(text).date() if "T" in text else dt.date.fromisoformat(text)


def _outcome(read: Callable[[str], object], text: str) -> object:
    try:
        value = read(text)
    except (ValueError, MalformedResponseError):
        return ValueError
    return value, getattr(value, "tzinfo", None)


_digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=5)
_odd_digits = st.text(st.sampled_from("0123456789٠١٢٣٤٥٦٧٨٩²"), min_size=1, max_size=3)  # Unicode digits too
_part = st.one_of(
    _digits, _odd_digits, st.sampled_from(["00", "01", "1", " 1", "29", "30", "31", "32", "60"])
)
_sep = st.sampled_from([".", ":", " ", "  ", "\t", "-", "T", ""])
_portal_like = st.builds(
    lambda d, m, y, h, mi, s, seps, edge: (
        edge + f"{d}{seps[0]}{m}{seps[1]}{y}{seps[2]}{h}{seps[3]}{mi}{seps[4]}{s}" + edge
    ),
    _part,
    _part,
    st.one_of(st.sampled_from(["2026", "2024", "1900", "0000", "9999", "10000"]), _digits),
    _part,
    _part,
    _part,
    st.lists(_sep, min_size=5, max_size=5).map(
        lambda seps: [".", ".", " ", ":", ":"] if not seps[0] else seps
    ),
    st.sampled_from(["", " ", "\n"]),
)
_exact = st.builds(
    lambda day, month, year, h, m, s, time: (
        f"{day:02}.{month:02}.{year:04}" + (f" {h:02}:{m:02}:{s:02}" if time else "")
    ),
    st.integers(0, 32),
    st.integers(0, 13),
    st.integers(0, 9999),
    st.integers(0, 25),
    st.integers(0, 61),
    st.integers(0, 61),
    st.booleans(),
)
_iso = st.builds(
    lambda moment, sep, zone: moment.replace(microsecond=0, tzinfo=zone).isoformat(sep),
    st.datetimes(),
    st.sampled_from(["T", " "]),
    st.sampled_from([None, dt.UTC, MSK]),
)
_any_date_text = st.one_of(_exact, _portal_like, _iso, st.text(max_size=25))


@given(text=_any_date_text)
@settings(max_examples=600)
def test_datetimes_are_read_as_the_strptime_rule_reads_them(text: str) -> None:
    """Same values, same zone, same refusals (31.02.2026 included) as ``fromisoformat`` then ``strptime``."""
    assert _outcome(lambda t: structure(t, dt.datetime), text) == _outcome(_by_strptime, text)


@given(text=_any_date_text)
@settings(max_examples=600)
def test_dates_are_read_as_the_strptime_rule_reads_them(text: str) -> None:
    assert _outcome(lambda t: structure(t, dt.date), text) == _outcome(_date_by_strptime, text)


@pytest.mark.parametrize(
    "text", ["31.02.2026", "29.02.2026 10:00:00", "00.01.2026", "01.13.2026", "01.01.2026 24:00:00"]
)
def test_impossible_site_form_dates_are_refused(text: str) -> None:
    with pytest.raises(MalformedResponseError):
        structure(text, dt.datetime)
    if len(text) == 10:
        with pytest.raises(MalformedResponseError):
            structure(text, dt.date)


def test_the_portal_site_form_is_read_without_strptime(monkeypatch: pytest.MonkeyPatch) -> None:
    """``"28.11.2026 00:15:38"`` is on every user.get row: read exactly, not by ``strptime`` (issue 17)."""

    def no_strptime(*args: object) -> None:
        raise AssertionError("strptime was used")

    monkeypatch.setattr(_strptime, "_strptime_datetime", no_strptime)
    assert structure("28.11.2026 00:15:38", dt.datetime) == dt.datetime(
        2026, 11, 28, 0, 15, 38, tzinfo=dt.UTC
    )
    assert structure("28.11.2026", dt.datetime) == dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
    assert structure("28.11.2026", dt.date) == dt.date(2026, 11, 28)
    with assume_time_zone(MSK):
        assert structure("28.11.2026 00:15:38", dt.datetime).tzinfo == MSK
