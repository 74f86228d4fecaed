"""Property values by declared type, both ways (the table in bitrix_bizproc/apps/values.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bitrix_bizproc.apps import MalformedRequestError, Property, from_portal, to_portal
from bitrix_bizproc.apps.values import properties_from_portal, return_values_to_wire
from bitrix_bizproc.protocol.errors import ValidationError

MSK = dt.timezone(dt.timedelta(hours=3))


def prop(kind: str, **extra: Any) -> Property:
    return Property(name="P", type=kind, **extra)


@pytest.mark.parametrize(
    ("kind", "sent", "expected"),
    [
        ("string", "hello", "hello"),
        ("text", "a\nb", "a\nb"),
        ("int", "42", 42),
        ("int", "-7", -7),
        ("double", "3.5", 3.5),
        ("double", "3,5", 3.5),
        ("double", "333", 333.0),
        ("bool", "Y", True),
        ("bool", "N", False),
        ("bool", "1", True),
        ("date", "2026-11-27", dt.date(2026, 11, 27)),
        ("date", "27.11.2026", dt.date(2026, 11, 27)),
        ("datetime", "2026-11-27T10:30:00+03:00", dt.datetime(2026, 11, 27, 10, 30, tzinfo=MSK)),
        ("datetime", "27.11.2026 10:30:00", dt.datetime(2026, 11, 27, 10, 30)),
        ("user", "user_1", 1),
        ("user", "16", 16),
        ("select", "pdf", "pdf"),
        ("file", "12", "12"),
        ("UF:address", "Moscow|1;2", "Moscow|1;2"),
        ("int", "", None),
    ],
)
def test_from_portal(kind: str, sent: str, expected: Any) -> None:
    assert from_portal(prop(kind, options={"pdf": "PDF", "docx": "DOCX"}), sent) == expected


@pytest.mark.parametrize(
    ("kind", "sent"),
    [
        ("int", "4.2"),
        ("int", "forty"),
        ("double", "x"),
        ("bool", "maybe"),
        ("date", "31.02.2026"),
        ("datetime", "yesterday"),
        ("user", "group_5"),
        ("select", "xls"),
        ("string", ["a", "b"]),
    ],
)
def test_from_portal_refuses(kind: str, sent: Any) -> None:
    with pytest.raises(ValueError):
        from_portal(prop(kind, options={"pdf": "PDF"}), sent)


def test_multiple_values_are_lists() -> None:
    users = prop("user", multiple=True)
    assert from_portal(users, ["user_1", "user_5"]) == [1, 5]
    assert from_portal(users, {"0": "user_1"}) == [1]
    assert from_portal(users, "user_3") == [3]
    assert from_portal(users, "") == []


def test_properties_by_declaration() -> None:
    declared = {"amount": prop("int"), "when": prop("date", default="01.01.2026"), "flag": prop("bool")}
    got = properties_from_portal(declared, {"amount": "333", "extra": "as sent"})
    assert got == {"amount": 333, "when": dt.date(2026, 1, 1), "flag": None, "extra": "as sent"}
    with pytest.raises(MalformedRequestError, match="'amount'"):
        properties_from_portal(declared, {"amount": "many"})


@pytest.mark.parametrize(
    ("kind", "value", "wire"),
    [
        ("string", "x", "x"),
        ("int", 5, 5),
        ("double", 2, 2.0),
        ("bool", True, "Y"),
        ("bool", False, "N"),
        ("bool", "N", "N"),
        ("date", dt.date(2026, 11, 27), "2026-11-27"),
        ("datetime", dt.datetime(2026, 11, 27, 10, 0, tzinfo=MSK), "2026-11-27T10:00:00+03:00"),
        ("user", 7, "user_7"),
        ("user", "user_7", "user_7"),
        ("select", "pdf", "pdf"),
        ("int", None, None),
    ],
)
def test_to_portal(kind: str, value: Any, wire: Any) -> None:
    assert to_portal(prop(kind, options={"pdf": "PDF"}), value) == wire


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("int", "5"),
        ("int", True),
        ("double", "2.0"),
        ("bool", 1),
        ("date", dt.datetime(2026, 1, 1, tzinfo=MSK)),
        ("datetime", dt.datetime(2026, 1, 1)),
        ("user", 0),
        ("select", "xls"),
        ("string", 5),
    ],
)
def test_to_portal_refuses(kind: str, value: Any) -> None:
    with pytest.raises(ValueError):
        to_portal(prop(kind, options={"pdf": "PDF"}), value)


def test_return_values_are_checked_against_the_declaration() -> None:
    declared = {"hash": prop("string"), "ok": prop("bool"), "users": prop("user", multiple=True)}
    assert return_values_to_wire(declared, {"ok": True, "users": [1, 2]}, what="robot 'x'") == {
        "ok": "Y",
        "users": ["user_1", "user_2"],
    }
    with pytest.raises(ValidationError, match="declares no return properties"):
        return_values_to_wire(declared, {"hsah": "typo"}, what="robot 'x'")
    with pytest.raises(ValidationError, match="'ok'"):
        return_values_to_wire(declared, {"ok": "yes"}, what="robot 'x'")
    with pytest.raises(ValidationError, match="Multiple"):
        return_values_to_wire(declared, {"users": 1}, what="robot 'x'")
