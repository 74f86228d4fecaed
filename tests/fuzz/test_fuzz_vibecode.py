"""Fuzz the Vibecode gateway's envelope, answers and batch answers: only typed errors, bounded waits."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.models import DocumentId
from bitrix_bizproc.protocol.envelope import MAX_ROWS
from bitrix_bizproc.protocol.limits import MAX_WAIT
from bitrix_bizproc.protocol.vibecode import build_request
from bitrix_bizproc.protocol.vibecode_answers import (
    parse_gateway_response,
    read_envelope,
    retry_after_seconds,
)
from bitrix_bizproc.protocol.vibecode_batch import combine, plan_batch, rest_batch_result

from ._support import FUZZ, bodies, check_error, count, json_values, numberish, retry_after_headers, statuses

REQUESTS = [
    build_request("bizproc.workflow.instances", {"SELECT": ["ID", "STARTED"], "start": 50}),
    build_request("bizproc.workflow.template.list", {}),
    build_request("bizproc.workflow.start", {"TEMPLATE_ID": 1, "DOCUMENT_ID": DocumentId.lead(3)}),
    build_request("bizproc.workflow.terminate", {"ID": "x.1"}),
    build_request("bizproc.workflow.kill", {"ID": "x"}),
]
envelopes = st.one_of(
    st.fixed_dictionaries(
        {"success": st.one_of(st.just(True), json_values)},
        optional={
            "data": st.one_of(
                st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=4)), json_values
            ),
            "meta": st.one_of(st.fixed_dictionaries({}, optional={"total": numberish}), json_values),
        },
    ),
    st.fixed_dictionaries(
        {"success": st.just(False)},
        optional={
            "error": st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "code": json_values,
                        "message": json_values,
                        "hint": json_values,
                        "retryAfter": numberish,
                    },
                ),
                json_values,
            )
        },
    ),
)


def check_response(response: Any) -> None:
    for value in (response.total, response.next):
        assert value is None or (type(value) is int and 0 <= value <= MAX_ROWS)


@FUZZ
@given(
    request=st.sampled_from(REQUESTS),
    status=statuses,
    body=bodies(envelopes),
    retry_after=retry_after_headers,
)
def test_gateway_answers(request: Any, status: int, body: bytes, retry_after: str | None) -> None:
    count("vibecode.parse_gateway_response")
    try:
        response = parse_gateway_response(request, status, body, retry_after=retry_after)
    except Exception as exc:
        check_error(exc)
        return
    check_response(response)


@FUZZ
@given(status=statuses, body=bodies(envelopes), retry_after=retry_after_headers)
def test_gateway_envelope(status: int, body: bytes, retry_after: str | None) -> None:
    count("vibecode.read_envelope")
    try:
        read_envelope(status, body, method="batch", retry_after=retry_after)
    except Exception as exc:
        check_error(exc)


@FUZZ
@given(header=retry_after_headers, body_value=numberish)
def test_retry_after(header: str | None, body_value: Any) -> None:
    count("vibecode.retry_after_seconds")
    seconds = retry_after_seconds(header, body_value)
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= MAX_WAIT)


PLAN = plan_batch(
    {
        "cmd": {
            "a": "bizproc.workflow.instances?start=0",
            "b": "bizproc.workflow.terminate?ID=x.1",
            "c": "bizproc.workflow.template.list",
        }
    }
)
item = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.sampled_from(["a", "b", "c", 0, 1]),
            "success": json_values,
            "status": numberish,
            "data": json_values,
            "meta": st.one_of(st.fixed_dictionaries({}, optional={"total": numberish}), json_values),
            "error": json_values,
        },
    ),
    json_values,
)
gateway_batches = st.one_of(
    st.lists(item, max_size=4),
    st.fixed_dictionaries(
        {"results": st.one_of(st.lists(item, max_size=4), st.dictionaries(st.sampled_from("abc"), item))}
    ),
    json_values,
)


@FUZZ
@given(data=gateway_batches, grouped=st.one_of(st.none(), json_values))
def test_gateway_batches(data: Any, grouped: Any) -> None:
    count("vibecode_batch.rest_batch_result")
    try:
        result = rest_batch_result(PLAN, data)
    except Exception as exc:
        check_error(exc)
        return
    assert set(result["result"]) | set(result["result_error"]) <= {"a", "b", "c"}
    try:
        combine(PLAN, result if grouped is None else grouped, {})
    except Exception as exc:
        check_error(exc)
