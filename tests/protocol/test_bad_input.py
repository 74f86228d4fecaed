"""Bad answers end in typed errors; every wait or plan they drive is bounded (issue 13, item 7).

Each case is one of the untyped escapes or unbounded waits the issue lists: ``RecursionError`` on deep JSON,
``OverflowError`` on ``1e400``/``Infinity`` in ``total``/``next``/IDs/token fields, ``ValueError`` from
``models.structure`` on a non-object, a ``time`` block that made the next call sleep for ever, a ``total``
of 10**30 that planned pages without limit.
"""

from __future__ import annotations

import json
import math
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from bitrix_bizproc.jobs.journal import Journal
from bitrix_bizproc.models import Task, Template, User, WorkflowInstance, structure
from bitrix_bizproc.protocol import paging as pg
from bitrix_bizproc.protocol.auth import OAuthTokens, parse_token_response
from bitrix_bizproc.protocol.batch import parse_batch_result
from bitrix_bizproc.protocol.envelope import TimeInfo, decode_json, parse_response
from bitrix_bizproc.protocol.errors import BitrixError, ConfigurationError, MalformedResponseError
from bitrix_bizproc.protocol.limits import MAX_WAIT, OperatingBudget
from bitrix_bizproc.protocol.vibecode import build_request
from bitrix_bizproc.protocol.vibecode_answers import answer_to_response, retry_after_seconds

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, b'{"result": ' + DEEP + b"}"])
def test_deeply_nested_json_is_a_malformed_answer(body: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="nested"):
        decode_json(body, status=200, method="x")
    with pytest.raises(MalformedResponseError):
        parse_response(200, body, method="x")


@pytest.mark.parametrize("field", ["total", "next"])
@pytest.mark.parametrize(
    "raw",
    ["1e400", "-1e400", "Infinity", "-Infinity", "NaN", str(10**30), str(2**31), "-5", "2.5", '"abc"', "[1]"],
)
def test_a_count_out_of_range_is_a_malformed_answer(field: str, raw: str) -> None:
    body = f'{{"result": [], "{field}": {raw}}}'.encode()
    with pytest.raises(MalformedResponseError, match=field):
        parse_response(200, body, method="bizproc.task.list")


@pytest.mark.parametrize(
    ("raw", "expected"), [("120", 120), ('"120"', 120), ("120.0", 120), ("null", None), ('""', None)]
)
def test_counts_that_are_fine(raw: str, expected: int | None) -> None:
    body = f'{{"result": [], "total": {raw}}}'.encode()
    assert parse_response(200, body).total == expected


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**30, -1, "1e400", [1], {"a": 1}])
def test_a_batch_command_count_out_of_range_is_that_commands_malformed_answer(value: Any) -> None:
    result = {"result": {"a": [], "b": [1]}, "result_total": {"a": value, "b": 1}, "result_next": {}}
    outcomes = parse_batch_result(["a", "b"], result, halt=False)
    assert isinstance(outcomes["a"].error, MalformedResponseError) and "total" in str(outcomes["a"].error)
    assert outcomes["b"].result == [1] and outcomes["b"].total == 1  # the other commands' answers stand


def test_a_batch_command_error_that_is_deep_or_huge_stays_short() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    result = {"result_error": {"a": {"error": deep, "error_description": "y" * 1_000_000}}}
    error = parse_batch_result(["a"], result, halt=False)["a"].error
    assert isinstance(error, BitrixError) and len(str(error)) < 2_000


@pytest.mark.parametrize(
    "time",
    [
        {"operating": 500, "operating_reset_at": 1e12, "start": 0},
        {"operating": 500, "operating_reset_at": 100, "start": -1e308},
        {"operating": 500, "operating_reset_at": 1e308, "start": -1e308},
        {"operating": "NaN", "operating_reset_at": 100, "start": 0},
        {"operating": 500, "operating_reset_at": "Infinity", "start": 0},
        {"operating": 1e300, "operating_reset_at": "nan", "start": 0},
    ],
)
def test_a_time_block_never_makes_a_wait_longer_than_the_maximum(time: dict[str, Any]) -> None:
    budget = OperatingBudget()
    info = TimeInfo.from_wire(time)
    budget.observe("m", info, now=10.0)
    assert 0 <= budget.delay("m", 10.0) <= MAX_WAIT
    assert 0 <= budget.on_blocked("m", 10.0, time=info) <= MAX_WAIT
    assert 0 <= budget.delay("m", 10.0) <= MAX_WAIT


@pytest.mark.parametrize("retry_after", [math.inf, math.nan, 1e308, -math.inf, 10**30])
def test_a_retry_after_out_of_range_is_clamped_or_ignored(retry_after: float) -> None:
    budget = OperatingBudget()
    wait = budget.on_blocked("m", 10.0, retry_after=retry_after)
    assert 0 < wait <= MAX_WAIT
    assert budget.delay("m", 10.0) <= MAX_WAIT


@pytest.mark.parametrize("header", ["inf", "1e400", "nan", "1e308", "-1"])
def test_the_gateways_retry_after_is_bounded(header: str) -> None:
    seconds = retry_after_seconds(header, None)
    assert seconds is None or 0 <= seconds <= MAX_WAIT
    seconds = retry_after_seconds(None, float(header))
    assert seconds is None or 0 <= seconds <= MAX_WAIT


@pytest.mark.parametrize("total", [10**30, math.inf, -3, "many"])
def test_a_gateway_total_out_of_range_is_a_malformed_answer(total: Any) -> None:
    request = build_request("bizproc.workflow.template.list", {})
    with pytest.raises(MalformedResponseError, match="total"):
        answer_to_response(request, [{"id": 1}], {"total": total})


def test_an_offset_plan_for_the_largest_total_is_made_lazily() -> None:
    plan = pg.OffsetPlan(limit=None)
    tracemalloc.start()
    try:
        plan.extend(50, 2**31 - 1, rows=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000  # an eager plan of 859,000 batches took tens of megabytes
    first = plan.take()
    assert first is not None and list(first)[:2] == [50, 100] and len(first) == pg.MAX_BATCH_COMMANDS
    second = plan.take()
    assert second is not None and second.start == 50 + pg.MAX_BATCH_COMMANDS * pg.PAGE_SIZE
    assert not plan.exhausted


@pytest.mark.parametrize("value", [[1, 2], "text", 5, None, True, 1.5])
@pytest.mark.parametrize("model", [WorkflowInstance, Task, Template, User])
def test_structure_of_a_non_object_is_a_malformed_answer(value: Any, model: type[Any]) -> None:
    with pytest.raises(MalformedResponseError, match=model.__name__):
        structure(value, model)


def _token_body(**fields: Any) -> bytes:
    data = {
        "access_token": "a" * 10,
        "refresh_token": "r" * 10,
        "client_endpoint": "https://portal.bitrix24.com/rest/",
        **fields,
    }
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "body",
    [
        _token_body(expires_in=10**400),
        _token_body(expires=10**400),
        _token_body(user_id=10**400),
        _token_body(user_id=1e300),
        _token_body(expires_in=-5),
        _token_body(expires="1e400"),
        _token_body(expires_in="nan"),
        _token_body(expires_in=1e300),
    ],
)
def test_token_answer_numbers_out_of_range_are_ignored(body: bytes) -> None:
    tokens = parse_token_response(200, body, now=1000.0)
    assert tokens.expires_at is None or 1000.0 <= tokens.expires_at <= 1000.0 + 10 * 365 * 86400
    assert tokens.user_id is None or abs(tokens.user_id) < 2**63


@pytest.mark.parametrize("body", [DEEP, b'{"access_token": ' + DEEP + b"}"])
def test_a_deep_token_answer_is_a_typed_error(body: bytes) -> None:
    with pytest.raises(BitrixError):
        parse_token_response(200, body, now=0.0)


@pytest.mark.parametrize("field", [{"user_id": math.inf}, {"expires_at": "1e400"}, {"user_id": 10**400}])
def test_stored_tokens_with_numbers_out_of_range_are_refused(field: dict[str, Any]) -> None:
    endpoint = "https://p.bitrix24.com/rest/"
    data = {"access_token": "a", "refresh_token": "r", "client_endpoint": endpoint, **field}
    with pytest.raises(ConfigurationError):
        OAuthTokens.from_json(data)


def test_the_journal_reader_skips_a_deeply_nested_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    good = {"ts": "t", "item": "a", "action": "terminate", "outcome": "done"}
    path.write_bytes(json.dumps(good).encode() + b"\n" + DEEP + b"\n" + b'{"item": ' + DEEP + b"}\n")
    journal = Journal(path)
    assert [e.item for e in journal.entries()] == ["a"]
