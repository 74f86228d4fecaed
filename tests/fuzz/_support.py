"""Shared pieces of the fuzz suite: the hypothesis profiles, the input strategies, the input counter.

Profiles (applied per test, so the rest of the suite keeps hypothesis' defaults):

* ``ci`` (the default): a few hundred inputs a parser, derandomized, the suite in well under a minute.
* ``fuzz`` (``HYPOTHESIS_PROFILE=fuzz``): 10,000 inputs a test, well over 100,000 in all; the count is
  printed at the end of the run.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bitrix_bizproc.protocol.errors import BitrixError

settings.register_profile(
    "bitrix-fuzz-ci",
    max_examples=int(os.environ.get("FUZZ_CI_EXAMPLES", "100")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
settings.register_profile(
    "bitrix-fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "10000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
PROFILE = "fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "ci"
FUZZ = settings(settings.get_profile("bitrix-fuzz" if PROFILE == "fuzz" else "bitrix-fuzz-ci"))

INPUTS: Counter[str] = Counter()  # inputs run, per parser (printed by conftest.py)
MAX_MESSAGE = 3000  # an error message keeps an excerpt, never a whole body


def count(parser: str) -> None:
    """Count one input run against ``parser``."""
    INPUTS[parser] += 1


def check_error(exc: BaseException, *, short: bool = True) -> None:
    """Only the library's typed errors may escape a parser, with a short message (when ``short``)."""
    assert isinstance(exc, BitrixError), f"untyped {type(exc).__name__}: {exc!r}"[:500]
    if short:
        assert len(str(exc)) <= MAX_MESSAGE, f"message of {len(str(exc))} characters"
    if exc.retry_after is not None:
        assert math.isfinite(exc.retry_after) and 0 <= exc.retry_after <= 660.0


# -- numbers the way broken portals send them --------------------------------------------------------

EXTREME_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63, -(2**63) - 1, 10**30, -(10**30), 10**400]
EXTREME_FLOATS = [math.inf, -math.inf, math.nan, -0.0, 1e308, -1e308, 5e-324, 1e12, 0.5, 2.5]
NUMBER_TEXT = [
    "1e400", "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "-0", "0.0", "00012", " 12 ", "1_000",
    "0x10", "12abc", "", "1" * 5000, "9" * 30, "-5", "2.5", "1e12", "１２",
]  # fmt: skip

numbers = st.one_of(
    st.integers(),
    st.sampled_from(EXTREME_INTS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EXTREME_FLOATS),
)
numberish = st.one_of(numbers, st.sampled_from(NUMBER_TEXT), st.none(), st.booleans())

KEYS = [
    "result", "total", "next", "time", "error", "error_description", "result_error", "result_total",
    "result_next", "result_time", "start", "finish", "duration", "processing", "operating",
    "operating_reset_at", "date_start", "date_finish", "ID", "id", "access_token", "refresh_token",
    "expires", "expires_in", "client_endpoint", "member_id", "user_id", "scope", "success", "data", "meta",
    "code", "message", "hint", "retryAfter", "results", "status", "workflowId", "item", "action", "outcome",
    "description", "transient", "event",
]  # fmt: skip
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=12))
leaves = st.one_of(
    numberish,
    st.text(max_size=30),
    st.sampled_from(["<html><body>502 Bad Gateway</body></html>", "Y", "N", "2024-01-02T03:04:05+03:00"]),
)
json_values = st.recursive(
    leaves,
    lambda children: st.one_of(st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)),
    max_leaves=15,
)


def deep(depth: int, *, obj: bool) -> Any:
    """A value nested ``depth`` levels (built without recursion)."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value} if obj else [value]
    return value


def deep_bytes(depth: int, *, obj: bool) -> bytes:
    """A JSON text nested ``depth`` levels."""
    return (b'{"a":' * depth + b"1" + b"}" * depth) if obj else (b"[" * depth + b"]" * depth)


def dumps(value: Any) -> bytes:
    """JSON text as a broken server might write it: NaN and Infinity allowed, huge ints kept."""
    try:
        return json.dumps(value, allow_nan=True).encode()
    except ValueError:  # an int over the text limit
        return b'{"result": 1' + b"0" * 5000 + b"}"


@st.composite
def shaped(draw: st.DrawFn, required: list[str], optional: list[str]) -> dict[str, Any]:
    """A mapping with the keys a parser reads, each holding any kind of value (or a plausible one)."""
    out: dict[str, Any] = {}
    for key in required:
        out[key] = draw(json_values)
    for key in optional:
        if draw(st.booleans()):
            out[key] = draw(json_values)
    return out


@st.composite
def bodies(draw: st.DrawFn, shape: st.SearchStrategy[Any] = json_values) -> bytes:
    """A response body: JSON of ``shape``, with 1e400 spliced in, truncated, deep, non-UTF-8, or HTML."""
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return dumps(draw(shape))
    if kind == 1:  # a number token no json.dumps writes: 1e400, a 5,000-digit int, ...
        token = draw(st.sampled_from(["1e400", "-1e400", "1" + "0" * 400, "1" * 5000, "NaN", "-0", "1e-400"]))
        key = draw(st.sampled_from(["total", "next", "result", "expires_in", "user_id", "operating"]))
        body = dumps(draw(shape))
        if body.startswith(b"{") and len(body) > 2:
            return b'{"' + key.encode() + b'": ' + token.encode() + b", " + body[1:]
        return b'{"' + key.encode() + b'": ' + token.encode() + b"}"
    if kind == 2:
        body = dumps(draw(shape))
        return body[: draw(st.integers(0, max(0, len(body) - 1)))]
    if kind == 3:
        depth = draw(st.one_of(st.integers(1, 3000), st.sampled_from([10_000, 100_000])))
        inner = deep_bytes(depth, obj=draw(st.booleans()))
        return draw(st.sampled_from([inner, b'{"result": ' + inner + b"}", b'{"error": ' + inner + b"}"]))
    if kind == 4:
        return draw(st.binary(max_size=200))
    if kind == 5:
        body = dumps(draw(shape))
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + body[at:]
    if kind == 6:
        return draw(
            st.sampled_from(
                [
                    b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                    b"",
                    b"null",
                    b"[]",
                    b'"text"',
                    b"\xef\xbb\xbf{}",
                ]
            )
        )
    return dumps(draw(json_values))


statuses = st.one_of(
    st.sampled_from([200, 201, 204, 400, 401, 403, 404, 429, 500, 502, 503]), st.integers(100, 599)
)
retry_after_headers = st.one_of(st.none(), st.sampled_from(NUMBER_TEXT), st.text(max_size=10))
