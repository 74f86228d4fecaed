"""Response bodies to ApiResponse or typed errors, with the envelope quirks."""

from __future__ import annotations

import datetime as dt
import json
import math

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.protocol.envelope import TimeInfo, by_command_key, decode_json, parse_response
from bitrix_bizproc.protocol.errors import (
    BitrixError,
    ExpiredTokenError,
    MalformedResponseError,
    OperationTimeLimitError,
    QueryLimitError,
    ServerError,
    ValidationError,
)

TIME = {
    "start": 1.5,
    "finish": 2.5,
    "duration": 1.0,
    "processing": 0.5,
    "date_start": "2026-01-01T00:00:00+03:00",
    "date_finish": "2026-01-01T00:00:01+03:00",
    "operating": 0.25,
    "operating_reset_at": 1700000000,
}


def test_list_answer() -> None:
    body = json.dumps({"result": [{"ID": "66e4.1"}], "total": 120, "next": 50, "time": TIME}).encode()
    resp = parse_response(200, body, method="bizproc.workflow.instances")
    assert resp.result == [{"ID": "66e4.1"}] and (resp.total, resp.next) == (120, 50)
    assert resp.time is not None and resp.time.operating == 0.25 and resp.time.operating_reset_at == 1.7e9


@pytest.mark.parametrize("time", [None, {}, {"operating": "x"}, [], {"start": 1}])
def test_time_tolerates_missing_fields(time: object) -> None:
    body = json.dumps({"result": True, "time": time}).encode()
    info = parse_response(200, body).time
    assert info is None or isinstance(info, TimeInfo)
    assert info is None or info.operating is None


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (
            401,
            b'{"error":"expired_token","error_description":"The access token provided has expired."}',
            ExpiredTokenError,
            "expired_token",
        ),
        (
            503,
            b'{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}',
            QueryLimitError,
            "QUERY_LIMIT_EXCEEDED",
        ),
        (
            429,
            b'{"error":"OPERATION_TIME_LIMIT","error_description":"Method is blocked"}',
            OperationTimeLimitError,
            "OPERATION_TIME_LIMIT",
        ),
        # an empty code is read by the method's documented answers only (see test_errors): "m" has none
        (400, b'{"error":"","error_description":"WorkflowNotFound"}', ValidationError, ""),
        (502, b"<html><body>502 Bad Gateway</body></html>", ServerError, ""),
        (500, b"", ServerError, ""),
        (200, b'{"no_result": 1}', ServerError, ""),
    ],
)
def test_errors(status: int, body: bytes, cls: type[BitrixError], code: str) -> None:
    with pytest.raises(cls) as info:
        parse_response(status, body, method="m", retry_after=3.0)
    assert info.value.code == code and info.value.method == "m"


def test_html_page_gives_a_short_excerpt() -> None:
    page = b"<html>" + b"x" * 5000 + b"</html>"
    with pytest.raises(ServerError) as info:
        parse_response(502, page)
    assert len(str(info.value)) < 400


# -- decode_json: a float out of a double's range is refused wherever it stands, in any encoding JSON allows
@pytest.mark.parametrize(
    "body",
    [
        b"1e400",
        b" -1E+400",
        b'{"result": 1e400}',
        b'{"result":[1, 2,\n -1.5e400]}',
        b'{"result": {"a": 0, "b":\t1E309}}',
        b'{"result": ' + b"1" * 400 + b".5}",  # no exponent: 401 digits are past a double's range
        b'{"result": [' + b"9" * 309 + b".0]}",
        b'{"result": [' + b"1" * 330 + b"e-10]}",  # a negative exponent, too many digits before it
        b'{"result": [1.5E-5, 2e+308]}',
        '{"result": 1e400}'.encode("utf-16"),  # json.loads reads UTF-16 and UTF-32 too
        '{"result": 1e400}'.encode("utf-32-le"),
    ],
)
def test_a_float_out_of_range_is_refused_wherever_it_stands(body: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="not JSON"):
        decode_json(body, status=200, method="m")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"result": "1e400"}', {"result": "1e400"}),  # text, not a number
        (b'{"result": ["x:1e5", 1e-400, 2.5e3]}', {"result": ["x:1e5", 0.0, 2500.0]}),
        (b'{"result": [1.0967254638671875E-5, -2e-3]}', {"result": [1.0967254638671875e-5, -0.002]}),
        (b'{"result": ' + b"1" * 400 + b"}", {"result": int("1" * 400)}),  # a whole number is exact
        (
            b'{"time": {"start": 1700000000.25, "operating": 0}}',
            {"time": {"start": 1700000000.25, "operating": 0}},
        ),
    ],
)
def test_numbers_in_range_and_look_alike_text_decode_as_json_does(body: bytes, expected: object) -> None:
    assert decode_json(body) == expected == json.loads(body)


# -- a time block is read when a field of it is: a batch answer carries one per command, mostly unread ----
class _CountingBlock(dict[str, object]):
    reads = 0

    def get(self, key: str, default: object = None) -> object:
        type(self).reads += 1
        return super().get(key, default)


def test_a_time_block_is_read_when_first_used_and_then_equals_the_eager_one() -> None:
    _CountingBlock.reads = 0
    info = TimeInfo.from_wire(_CountingBlock(TIME))
    assert info is not None and _CountingBlock.reads == 0
    eager = TimeInfo(
        start=1.5,
        finish=2.5,
        duration=1.0,
        processing=0.5,
        date_start=dt.datetime.fromisoformat(TIME["date_start"]),  # type: ignore[arg-type]
        date_finish=dt.datetime.fromisoformat(TIME["date_finish"]),  # type: ignore[arg-type]
        operating=0.25,
        operating_reset_at=1.7e9,
    )
    assert info.operating == 0.25 and _CountingBlock.reads > 0
    assert info == eager and hash(info) == hash(eager) and repr(info) == repr(eager)
    assert attrs.asdict(info) == attrs.asdict(eager) and attrs.evolve(info, operating=1.0).operating == 1.0
    assert TimeInfo.from_wire(TIME) == eager == TimeInfo.from_wire(TIME)  # either side unread
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        info.start = 3.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _ = info.no_such_field  # type: ignore[attr-defined]


@pytest.mark.parametrize("block", [None, [], "x", 5])
def test_a_time_block_that_is_no_object_is_none_at_once(block: object) -> None:
    assert TimeInfo.from_wire(block) is None


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"c0": 1, "c1": 2}, {"c0": 1, "c1": 2}),
        ({0: "a", 1: "b"}, {"0": "a", "1": "b"}),  # a mapping built by hand
        (["a", "b"], {"0": "a", "1": "b"}),  # PHP's keys 0..n-1 arrive as a list
        ([], {}),
        (None, {}),
        ("x", {}),
    ],
)
def test_a_batch_section_by_command_key(section: object, expected: dict[str, object]) -> None:
    got = by_command_key(section)
    assert got == expected and list(got) == list(expected)
    assert got is not section  # a copy: the answer stays as it came


def _reference_loads(body: bytes) -> object:
    """What decode_json refused or returned before its decoders were built once (issue 17)."""

    def finite(text: str) -> float:
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(text)
        return number

    def constant(text: str) -> float:
        raise ValueError(text)

    return json.loads(body, parse_constant=constant, parse_float=finite)


_DIGITS = st.text("0123456789", min_size=1, max_size=320)


@st.composite
def _number_literals(draw: st.DrawFn) -> str:
    whole = draw(_DIGITS).lstrip("0") or "0"
    fraction = draw(st.none() | _DIGITS)
    exponent = draw(st.none() | st.tuples(st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), _DIGITS))
    text = draw(st.sampled_from(["", "-"])) + whole
    if fraction is not None:
        text += "." + fraction
    if exponent is not None:
        text += "".join(exponent)
    return text


@settings(max_examples=400)
@given(_number_literals(), st.sampled_from(['{"result": %s}', '{"result": [1, {"a": %s}], "x": "e999"}']))
def test_numbers_decode_as_before_overflow_refused(literal: str, shape: str) -> None:
    body = (shape % literal).encode()
    try:
        expected = _reference_loads(body)
    except ValueError:
        with pytest.raises(MalformedResponseError, match="not JSON"):
            decode_json(body, status=200)
        return
    assert decode_json(body, status=200) == expected


@pytest.mark.parametrize(
    "literal",
    [
        "1e400",
        "1E+400",
        "-1e0400",
        "1" + "0" * 210 + "e99",
        "9" * 210 + "e99",
        "1" + "0" * 320 + ".5",
        "1.8e308",
    ],
)
def test_a_number_out_of_a_doubles_range_is_refused(literal: str) -> None:
    with pytest.raises(MalformedResponseError, match="not JSON"):
        decode_json(b'{"result": %s}' % literal.encode())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_bodies_in_any_json_encoding_decode_as_json_loads_does(encoding: str) -> None:
    body = '{"result": "Привет", "time": {"start": 1.5}}'.encode(encoding)
    assert decode_json(body) == json.loads(body)


def test_the_usual_time_block_reads_whole() -> None:
    time = parse_response(200, json.dumps({"result": True, "time": TIME}).encode()).time
    assert time == TimeInfo.from_wire(TIME)
    assert time is not None and time.date_start is not None and time.date_start.utcoffset() is not None
    assert (time.start, time.operating_reset_at) == (1.5, 1.7e9) and type(time.operating_reset_at) is float


def test_a_time_block_is_the_block_as_it_was_parsed_not_as_it_was_later_edited() -> None:
    """A frozen TimeInfo read lazily (issue 17) must not follow later edits of the answer it came from.

    A batch answer's ``result_time`` blocks stay reachable from ``ApiResponse.result``; a caller that edits
    that dict (or code that reuses it) must not change a time block already handed out.
    """
    block: dict[str, object] = {"start": 1.5, "finish": 2.0, "operating": 3.0, "operating_reset_at": 1.7e9}
    time = TimeInfo.from_wire(block)
    block["operating"] = 470.0
    block.pop("start")
    assert time == TimeInfo(start=1.5, finish=2.0, operating=3.0, operating_reset_at=1.7e9)
