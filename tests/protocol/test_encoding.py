"""PHP http_build_query/parse_str compatibility: tables plus a hypothesis round trip."""

from __future__ import annotations

import datetime as dt
import enum
import re
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.protocol import encoding
from bitrix_bizproc.protocol.batch import encode_command
from bitrix_bizproc.protocol.encoding import (
    Verbatim,
    check_input_vars,
    encode_query,
    normalize,
    parse_query,
    wire_params,
)
from bitrix_bizproc.protocol.errors import ValidationError


class Status(enum.IntEnum):
    YES = 1


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"filter": {">ID": 5}}, "filter[%3EID]=5"),
        ({"select": ["ID", "NAME"]}, "select[0]=ID&select[1]=NAME"),
        ({"order": {"ID": "ASC"}}, "order[ID]=ASC"),
        ({"flag": True, "off": False, "none": None}, "flag=1&off=0&none="),
        ({"status": Status.YES}, "status=1"),
        ({"v": "a&b=c"}, "v=a%26b%3Dc"),  # no value can inject a parameter
        ({"empty": []}, "empty="),
    ],
)
def test_encode(params: dict[str, Any], query: str) -> None:
    assert encode_query(params) == query


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("filter[>STARTED]=2026-01-01", {"filter": {">STARTED": "2026-01-01"}}),
        ("select[]=ID&select[]=NAME", {"select": ["ID", "NAME"]}),
        ("a.b=1", {"a_b": "1"}),
        ("x=1+2", {"x": "1 2"}),
        ("?k=v&&", {"k": "v"}),
    ],
)
def test_parse(query: str, parsed: dict[str, Any]) -> None:
    assert parse_query(query) == parsed


@pytest.mark.parametrize("value", [dt.datetime(2026, 1, 1), b"bytes", object(), {("tuple",): 1}])
def test_normalize_refuses(value: object) -> None:
    with pytest.raises(ValidationError):
        normalize({"v": value})


def test_normalize_datetimes() -> None:
    aware = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert normalize({"d": aware, "day": dt.date(2026, 1, 2)}) == {
        "d": "2026-01-01T00:00:00+00:00",
        "day": "2026-01-02",
    }


_keys = st.text(st.characters(exclude_characters="[]", exclude_categories=["Cs"]), min_size=1, max_size=8)
_top_keys = _keys.filter(
    lambda k: k.replace(" ", "_").replace(".", "_") == k and not k.startswith("?") and not k.isdigit()
)
_scalars = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, min_size=1, max_size=4)
        | st.dictionaries(_keys.filter(lambda k: not k.isdigit()), children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(_top_keys, _values, min_size=1, max_size=5))
def test_round_trip(params: dict[str, Any]) -> None:
    assert parse_query(encode_query(params)) == params


# -- the common command, a flat map of plain values, takes a short way to the same text -------------------
_plain = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), _scalars
)
_any_keys = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=8)


@given(st.dictionaries(_any_keys, _plain, max_size=6))
def test_a_flat_map_encodes_as_the_general_way_does(params: dict[str, Any]) -> None:
    general = MappingProxyType(params)  # not a dict: the general way
    try:
        expected = encode_query(general)
    except ValidationError as exc:
        with pytest.raises(ValidationError, match=re.escape(str(exc))):
            encode_query(params)
        with pytest.raises(ValidationError, match=re.escape(str(exc))):
            encode_command("m", params)
        return
    assert encode_query(params) == expected
    assert (
        encode_command("m", params) == encode_command("m", general) == ("m?" + expected if expected else "m")
    )


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({"ID": Verbatim("$result[c0][ID]"), "STATUS": "a b"}, "ID=$result[c0][ID]&STATUS=a%20b"),
        ({"status": Status.YES, "x": 1.0}, "status=1&x=1.0"),
        ({"a": None, "b": True, "c": False, "d": -7}, "a=&b=1&c=0&d=-7"),
    ],
)
def test_values_of_their_own_kind_keep_their_form(params: dict[str, Any], query: str) -> None:
    assert encode_query(params) == query


def test_a_flat_command_is_encoded_without_normalizing_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = encoding.normalize

    def counting(value: Any) -> Any:
        calls.append(value)
        return original(value)

    monkeypatch.setattr(encoding, "normalize", counting)
    assert encode_command("bizproc.workflow.terminate", {"ID": "66e4.1", "STATUS": "done"}) == (
        "bizproc.workflow.terminate?ID=66e4.1&STATUS=done"
    )
    assert calls == []


# -- wire_params: a service call's parameters, None left out, normalized and checked in one pass ----------
@pytest.mark.parametrize(
    ("params", "wire"),
    [
        ({"ID": "w1", "STATUS": None}, {"ID": "w1"}),
        ({"STATUS": Status.YES, "D": dt.date(2026, 1, 2)}, {"STATUS": 1, "D": "2026-01-02"}),
        ({"FILTER": {"ID": None, "@ID": (1, 2)}, "SELECT": None}, {"FILTER": {"ID": None, "@ID": [1, 2]}}),
        ({}, {}),
    ],
)
def test_wire_params_drops_none_at_the_top_and_normalizes_the_rest(
    params: dict[str, Any], wire: dict[str, Any]
) -> None:
    got = wire_params(params, what="m")
    assert got == wire == normalize({k: v for k, v in params.items() if v is not None})
    assert list(got) == list(wire)


@pytest.mark.parametrize(
    "params",
    [
        {"TASK_IDS": list(range(1001))},
        dict.fromkeys((f"K{n}" for n in range(1001)), 1),
        {"A": list(range(600)), "B": {"x": list(range(401))}},
        {"FILTER": {"@ID": list(range(1001))}},  # one small map at the top, a long list inside it
        {"ID": 1, "FILTER": {"A": list(range(501)), "B": list(range(500))}},
    ],
)
def test_wire_params_refuses_what_php_would_cut(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="max_input_vars") as caught:
        wire_params(params, what="m")
    assert caught.value.code == "MAX_INPUT_VARS"


def _wire_params_by_the_rule(params: dict[str, Any]) -> dict[str, Any]:
    """What ``wire_params`` gives: ``None`` left out at the top, the rest normalized, then checked in full."""
    wire = normalize({k: v for k, v in params.items() if v is not None})
    check_input_vars(wire, what="m")
    return wire


_wire_leaf = st.one_of(st.none(), st.integers(-3, 3), st.text(max_size=2), st.sampled_from([Status.YES, 1.5]))
_wire_value = st.one_of(
    _wire_leaf,
    st.dictionaries(st.text(max_size=2), _wire_leaf, max_size=40),
    st.lists(_wire_leaf, max_size=3),
    st.dictionaries(st.text(max_size=1), st.lists(st.integers(), max_size=600), max_size=3),
)


@given(params=st.dictionaries(st.text(max_size=3), _wire_value, max_size=35))
def test_wire_params_checks_as_the_full_count_does(params: dict[str, Any]) -> None:
    """Small maps skip the count (issue 17: a typed call's CPU); the outcome is the full count's."""
    try:
        expected: Any = _wire_params_by_the_rule(params)
    except ValidationError as exc:
        expected = exc.code
    try:
        got: Any = wire_params(params, what="m")
    except ValidationError as exc:
        got = exc.code
    assert got == expected


@pytest.mark.parametrize("value", [dt.datetime(2026, 1, 1), b"bytes", object()])
def test_wire_params_refuses_values_it_cannot_send(value: object) -> None:
    with pytest.raises(ValidationError):
        wire_params({"ok": 1, "v": value}, what="m")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("57", True),
        ("007", True),
        ("", False),
        ("²", False),
        ("٣", False),
        ("5²", False),
        ("-1", False),
        (" 7", False),
    ],
)
def test_digits_are_what_int_reads_as_digits(text: str, expected: bool) -> None:
    """``str.isdigit`` takes "²" and other scripts' digits; an ID check must take only what ``int`` reads."""
    from bitrix_bizproc.protocol.encoding import digits

    assert digits(text) is expected
