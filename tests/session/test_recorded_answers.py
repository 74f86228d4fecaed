"""A real portal's answer, replayed through the whole client (transport, session, limiter, envelope, batch).

Source of the payload: the public client fast_bitrix24 (github.com/leshchenko1979/fast_bitrix24),
``tests/real_responses/crm_get_batch_mix_success_and_errors.py``: a live ``batch`` answer to three
``crm.*.get`` commands, one found and two failing, with the PHP quirks protocol-facts.md section 4 lists
(``result_error`` whose keys were 0..n-1 arrives as a JSON list, empty sections are ``[]``, no
``result_time`` for failed commands, no ``operating_reset_at``). Kept verbatim.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from bitrix_bizproc import BizprocClient, Event, NotFoundError
from bitrix_bizproc.protocol.batch import parse_batch_result

HOOK = "https://portal.bitrix24.com/rest/1/abcdefgh12345678/"


class _Response(aiohttp.ClientResponse):
    """aioresponses 0.7.9 does not pass aiohttp 3.14's new ``stream_writer`` (pnuckowski/aioresponses#289)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


RECORDED = {
    "result": {
        "result": {"35943": {"ID": "35943"}},
        "result_error": [
            {"error": "", "error_description": "ID is not defined or invalid."},
            {"error": "", "error_description": "Not found"},
        ],
        "result_total": [],
        "result_next": [],
        "result_time": {
            "35943": {
                "start": 1653126089.336395,
                "finish": 1653126089.342316,
                "duration": 0.005920886993408203,
                "processing": 0.005886077880859375,
                "date_start": "2022-05-21T12:41:29+03:00",
                "date_finish": "2022-05-21T12:41:29+03:00",
                "operating": 1.831031084060669,
            }
        },
    },
    "time": {
        "start": 1653126089.306706,
        "finish": 1653126089.342333,
        "duration": 0.035627126693725586,
        "processing": 0.01570296287536621,
        "date_start": "2022-05-21T12:41:29+03:00",
        "date_finish": "2022-05-21T12:41:29+03:00",
        "operating": 1.831031084060669,
    },
}


async def test_a_recorded_batch_answer_reads_command_by_command() -> None:
    events: list[Event] = []
    cmd = {"0": "crm.lead.get?ID=0", "1": "crm.lead.get?ID=1", "35943": "crm.lead.get?ID=35943"}
    with aioresponses() as mocked:
        mocked.post(
            re.compile(r"^https://portal\.bitrix24\.com/rest/1/.*/batch"),
            payload=RECORDED,
            response_class=_Response,
        )
        async with BizprocClient.from_webhook(HOOK, hooks=[events.append]) as client:
            answer = await client.call("batch", {"halt": 0, "cmd": cmd})
            stats = client.stats
    assert answer.time is not None and answer.time.operating == pytest.approx(1.831031084060669)
    assert answer.time.operating_reset_at is None  # absent in this answer: tolerated
    outcomes = parse_batch_result(list(cmd), answer.result, halt=False)
    assert outcomes["35943"].ok and outcomes["35943"].result == {"ID": "35943"}
    assert outcomes["35943"].time is not None and outcomes["35943"].time.date_start is not None
    assert [outcomes[k].error.description for k in ("0", "1")] == [  # type: ignore[union-attr]
        "ID is not defined or invalid.",
        "Not found",
    ]
    assert not isinstance(outcomes["0"].error, NotFoundError)  # an empty code: branch on it, not the text
    assert stats.requests == 1 and not stats.retries and not stats.errors_by_class  # one answer, read as is
    assert [type(e).__name__ for e in events] == ["RequestEvent", "AnswerEvent"]
