"""Fuzz the REST envelope, the limits it feeds, and batch answers: only typed errors, bounded waits."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.protocol.batch import parse_batch_result
from bitrix_bizproc.protocol.envelope import MAX_ROWS, ApiResponse, TimeInfo, parse_response
from bitrix_bizproc.protocol.errors import BitrixError
from bitrix_bizproc.protocol.limits import MAX_WAIT, OperatingBudget

from ._support import FUZZ, bodies, check_error, count, json_values, numberish, shaped, statuses

TIME_KEYS = ["start", "finish", "duration", "processing", "date_start", "date_finish", "operating",
             "operating_reset_at"]  # fmt: skip
time_blocks = st.one_of(
    st.dictionaries(st.sampled_from(TIME_KEYS), numberish, max_size=8),
    json_values,
)
envelopes = st.one_of(
    st.fixed_dictionaries(
        {"result": json_values},
        optional={"total": numberish, "next": numberish, "time": time_blocks, "error": json_values},
    ),
    st.fixed_dictionaries(
        {"error": json_values}, optional={"error_description": json_values, "time": time_blocks}
    ),
    shaped(["result"], ["total", "next", "time"]),
)
nows = st.one_of(st.floats(0, 2e9), st.sampled_from([0.0, 1e9, 1.7e9]))


def check_counts(response: ApiResponse) -> None:
    for value in (response.total, response.next):
        assert value is None or (type(value) is int and 0 <= value <= MAX_ROWS)


def check_budget(method: str, time: TimeInfo | None, now: float, retry_after: float | None) -> None:
    """Whatever the answer said, the waits it drives are finite and at most MAX_WAIT."""
    budget = OperatingBudget()
    budget.observe(method, time, now)
    assert 0 <= budget.delay(method, now) <= MAX_WAIT
    wait = budget.on_blocked(method, now, time=time, retry_after=retry_after)
    assert math.isfinite(wait) and 0 <= wait <= MAX_WAIT
    for later in (now, now + 1, now + MAX_WAIT / 2):
        assert 0 <= budget.delay(method, later) <= MAX_WAIT


@FUZZ
@given(
    status=statuses,
    body=bodies(envelopes),
    retry_after=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    now=nows,
)
def test_parse_response(status: int, body: bytes, retry_after: float | None, now: float) -> None:
    count("envelope.parse_response")
    try:
        response = parse_response(status, body, method="bizproc.task.list", retry_after=retry_after)
    except BitrixError as exc:
        check_error(exc)
        check_budget("bizproc.task.list", None, now, exc.retry_after)
        return
    except Exception as exc:
        check_error(exc)
        return
    check_counts(response)
    check_budget("bizproc.task.list", response.time, now, retry_after)


@FUZZ
@given(
    time=time_blocks,
    now=nows,
    retry_after=st.one_of(st.none(), numberish.filter(lambda v: isinstance(v, float))),
)
def test_time_blocks_drive_bounded_waits(time: Any, now: float, retry_after: float | None) -> None:
    count("limits.time_block")
    check_budget("m", TimeInfo.from_wire(time), now, retry_after)


SECTIONS = ["result", "result_error", "result_total", "result_next", "result_time"]
command_keys = st.lists(st.sampled_from(["a", "b", "c", "0", "1", "s50", "k0"]), max_size=4, unique=True)
section = st.one_of(
    st.dictionaries(st.sampled_from(["a", "b", "c", "0", "1", "s50", "k0"]), json_values, max_size=4),
    st.dictionaries(st.sampled_from(["a", "b", "0"]), numberish, max_size=3),
    st.lists(json_values, max_size=3),
    json_values,
)
batch_results = st.one_of(
    st.fixed_dictionaries({}, optional=dict.fromkeys(SECTIONS, section)),
    json_values,
)


@FUZZ
@given(keys=command_keys, result=batch_results, halt=st.booleans(), now=nows)
def test_parse_batch_result(keys: list[str], result: Any, halt: bool, now: float) -> None:
    count("batch.parse_batch_result")
    methods = dict.fromkeys(keys, "bizproc.task.list")
    try:
        outcomes = parse_batch_result(keys, result, halt=halt, methods=methods)
    except Exception as exc:
        check_error(exc)
        return
    assert list(outcomes) == keys  # one outcome per command, none lost
    for outcome in outcomes.values():
        if outcome.error is not None:
            check_error(outcome.error)
        for value in (outcome.total, outcome.next):
            assert value is None or 0 <= value <= MAX_ROWS
    budget = OperatingBudget()
    budget.observe_batch(methods, result.get("result_time") if isinstance(result, dict) else None, now)
    for key in keys:
        assert 0 <= budget.delay(methods[key], now) <= MAX_WAIT
