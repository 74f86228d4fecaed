"""Point 2: the success envelope, the ``time`` block, list paging fields, error bodies and statuses."""

from __future__ import annotations

import datetime as dt
import json

from bitrix_bizproc.emulator import EmulatedPortal, ManualClock, PortalConfig
from bitrix_bizproc.protocol.envelope import parse_response

from .conftest import PortalFactory, Post

TIME_FIELDS = {"start", "finish", "duration", "processing", "date_start", "date_finish"}


async def test_time_block_has_all_eight_fields(stub: EmulatedPortal, post: Post) -> None:
    status, body = await post(stub.webhook_url + "test.echo", json={})
    assert status == 200
    assert set(body) == {"result", "time"}
    assert set(body["time"]) == TIME_FIELDS | {"operating", "operating_reset_at"}
    started = dt.datetime.fromisoformat(body["time"]["date_start"])
    assert started.utcoffset() is not None
    assert abs(started.timestamp() - body["time"]["start"]) < 1
    assert body["time"]["finish"] >= body["time"]["start"]


async def test_operating_is_real_and_reset_at_points_ten_minutes_after_the_first_call(
    stub_factory: PortalFactory, post: Post
) -> None:
    clock = ManualClock()
    portal = await stub_factory(PortalConfig(method_processing={"test.echo": 2.5}), clock=clock)
    first_call = clock()
    _, body = await post(portal.webhook_url + "test.echo", json={})
    assert body["time"]["operating"] == 2.5  # charged; the block's times are measured (test_time_block.py)
    assert body["time"]["operating_reset_at"] == int(first_call + 600)
    clock.advance(30)
    _, body = await post(portal.webhook_url + "test.echo", json={})
    assert body["time"]["operating"] == 5.0
    _, other = await post(portal.webhook_url + "test.list", json={})
    assert other["time"]["operating"] == 0  # operating is per method


async def test_lists_carry_total_and_next_while_more_rows_exist(stub: EmulatedPortal, post: Post) -> None:
    _, first = await post(stub.webhook_url + "test.list", json={})
    assert (first["total"], first["next"], len(first["result"])) == (120, 50, 50)
    _, last = await post(stub.webhook_url + "test.list", json={"start": 100})
    assert last["total"] == 120 and "next" not in last and len(last["result"]) == 20


async def test_errors_are_code_and_description_with_the_handler_status(
    stub: EmulatedPortal, post: Post
) -> None:
    status, body = await post(stub.webhook_url + "test.fail", json={"code": "", "desc": "WorkflowNotFound"})
    assert (status, body) == (400, {"error": "", "error_description": "WorkflowNotFound"})
    status, body = await post(stub.webhook_url + "test.fail", json={"code": "ACCESS_DENIED", "status": 403})
    assert (status, body["error"]) == (403, "ACCESS_DENIED")


async def test_unknown_method_is_error_method_not_found(stub: EmulatedPortal, post: Post) -> None:
    status, body = await post(stub.webhook_url + "no.such.method", json={})
    assert (status, body["error"]) == (404, "ERROR_METHOD_NOT_FOUND")
    status, body = await post(stub.webhook_url, json={})
    assert body["error"] == "ERROR_METHOD_NOT_FOUND"


async def test_parameter_names_are_case_insensitive_and_the_later_spelling_wins(
    stub: EmulatedPortal, post: Post
) -> None:
    _, body = await post(stub.webhook_url + "test.echo", json={"filter": {"a": 1}, "FILTER": {"b": 2}})
    assert body["result"]["params"] == {"FILTER": {"b": 2}}
    _, body = await post(stub.webhook_url + "test.echo?Select[0]=ID", json={"select": ["NAME"]})
    assert body["result"]["params"] == {"SELECT": ["NAME"]}  # the body wins over the query string


async def test_the_library_envelope_parser_reads_every_answer(stub: EmulatedPortal, post: Post) -> None:
    _, body = await post(stub.webhook_url + "test.list", json={})
    parsed = parse_response(200, json.dumps(body).encode())
    assert parsed.total == 120 and parsed.next == 50
    assert parsed.time is not None and parsed.time.operating == 0 and parsed.time.operating_reset_at
