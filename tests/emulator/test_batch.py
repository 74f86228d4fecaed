"""Point 4: server-side batch: cmd as map or list, parse_str, 50 max, halt, references, PHP JSON quirks."""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.batch import php_section, php_truthy, substitute

from .conftest import PortalFactory, Post, calls


async def batch(post: Post, portal: EmulatedPortal, cmd: Any, halt: Any = 0) -> dict[str, Any]:
    status, body = await post(portal.webhook_url + "batch", json={"halt": halt, "cmd": cmd})
    assert status == 200
    assert set(body) == {"result", "time"}
    result: dict[str, Any] = body["result"]
    return result


async def test_map_commands_with_nested_query_strings(stub: EmulatedPortal, post: Post) -> None:
    cmd = {
        "q": "test.echo?filter[>STARTED]=2026-01-01T00%3A00%3A00%2B03%3A00&select[0]=ID&order[ID]=ASC&x=a%26b"
    }
    result = await batch(post, stub, cmd)
    assert result["result"]["q"]["params"] == {
        "FILTER": {">STARTED": "2026-01-01T00:00:00+03:00"},
        "SELECT": ["ID"],
        "ORDER": {"ID": "ASC"},
        "X": "a&b",  # an encoded & stays inside the value
    }
    assert result["result_error"] == [] and result["result_next"] == [] and result["result_total"] == []
    assert set(result["result_time"]["q"]) >= {"start", "finish", "duration", "processing", "date_start"}


async def test_list_commands_give_lists_for_keys_0_to_n(stub: EmulatedPortal, post: Post) -> None:
    result = await batch(post, stub, ["test.echo?a=1", "test.list", "test.echo?b=2"])
    assert isinstance(result["result"], list) and len(result["result"]) == 3
    assert result["result"][2]["params"] == {"B": "2"}
    assert result["result_total"] == {"1": 120} and result["result_next"] == {"1": 50}
    assert isinstance(result["result_time"], list)


async def test_failed_commands_have_errors_and_no_result_time(stub: EmulatedPortal, post: Post) -> None:
    cmd = ["test.echo", "test.fail?CODE=&DESC=WorkflowNotFound", "test.echo"]
    result = await batch(post, stub, cmd)
    assert result["result_error"] == {"1": {"error": "", "error_description": "WorkflowNotFound"}}
    assert set(result["result"]) == {"0", "2"}  # no longer 0..n-1: an object
    assert set(result["result_time"]) == {"0", "2"}


async def test_halt_stops_at_the_first_error(stub: EmulatedPortal, post: Post) -> None:
    cmd = {"a": "test.echo", "b": "test.fail?CODE=ERROR_X", "c": "test.echo"}
    result = await batch(post, stub, cmd, halt=1)
    assert list(result["result"]) == ["a"] and list(result["result_error"]) == ["b"]
    assert [m for m, _ in calls(stub)] == ["test.echo", "test.fail"]
    result = await batch(post, stub, cmd, halt="0")
    assert list(result["result"]) == ["a", "c"]


@pytest.mark.parametrize(("halt", "extra_errors"), [(0, 3), (1, 1)])
async def test_commands_past_50_get_batch_length_exceeded(
    stub: EmulatedPortal, post: Post, halt: int, extra_errors: int
) -> None:
    cmd = {f"k{i}": "test.echo" for i in range(53)}
    result = await batch(post, stub, cmd, halt=halt)
    assert len(result["result"]) == 50
    errors = result["result_error"]
    assert len(errors) == extra_errors and errors["k50"]["error"] == "ERROR_BATCH_LENGTH_EXCEEDED"
    assert len(calls(stub)) == 50


async def test_nested_batch_is_not_allowed(stub: EmulatedPortal, post: Post) -> None:
    result = await batch(post, stub, {"inner": "batch?cmd[a]=test.echo", "ok": "test.echo"})
    assert result["result_error"]["inner"]["error"] == "ERROR_BATCH_METHOD_NOT_ALLOWED"
    assert "ok" in result["result"]


async def test_references_to_earlier_results(stub: EmulatedPortal, post: Post) -> None:
    cmd = {
        "list": "test.list",
        "one": "test.echo?id=$result[list][3][ID]&total=$total[list]&next=$next[list]",
        "raw": "test.echo?rows=$result[list][1]",
        "deep": "test.echo?v=$result[one][params][ID]",
        "missing": "test.echo?v=$result[list][0][NOPE]&w=$result[later][ID]",
        "two": "test.echo?v=$result[list][0][ID] $result[list][1][ID]"
        "&glued=$result[list][0][ID]$result[list][1][ID]",
        "bad": "test.fail?CODE=E1&DESC=boom",
        "err": "test.echo?e=$error[bad][error]",
        "later": "test.echo?ID=9",
    }
    result = (await batch(post, stub, cmd))["result"]
    assert result["one"]["params"] == {"ID": "3", "TOTAL": 120, "NEXT": 50}  # raw values
    assert result["raw"]["params"] == {"ROWS": {"ID": "1"}}  # a whole-value macro keeps the array
    assert result["deep"]["params"] == {"V": "3"}
    # a missing segment keeps the last value reached; a later command is not set yet, so the walk stops at
    # the whole result section (CRestUtil::processBatchElement; more cases in test_batch_substitution.py)
    missing = result["missing"]["params"]
    assert missing["V"] == {"ID": "0"} and list(missing["W"]) == ["list", "one", "raw", "deep"]
    assert result["two"]["params"] == {"V": "0 1", "GLUED": "0"}  # glued macros walk one path
    assert result["err"]["params"] == {"E": "E1"}


async def test_batch_parameter_names_are_case_insensitive(stub: EmulatedPortal, post: Post) -> None:
    status, body = await post(stub.webhook_url + "batch", json={"HALT": 1, "CMD": ["test.fail", "test.echo"]})
    assert status == 200 and body["result"]["result"] == []


async def test_missing_cmd_and_non_string_commands(stub: EmulatedPortal, post: Post) -> None:
    result = await batch(post, stub, None)
    assert result == {
        "result": [],
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [],
    }
    result = await batch(post, stub, {"a": 5, "b": "test.echo"})
    assert list(result["result"]) == ["b"]


async def test_batch_via_form_encoded_body(stub: EmulatedPortal, post: Post) -> None:
    status, body = await post(stub.webhook_url + "batch", data={"halt": "0", "cmd[a]": "test.echo?x=1"})
    assert status == 200 and body["result"]["result"]["a"]["params"] == {"X": "1"}


async def test_batch_over_oauth_reaches_handlers_with_app_context(
    stub_factory: PortalFactory, post: Post
) -> None:
    portal = await stub_factory()
    token = portal.issue_tokens()["access_token"]
    status, body = await post(portal.rest_url + "batch", json={"auth": token, "cmd": {"a": "test.echo"}})
    assert status == 200 and body["result"]["result"]["a"]["app"] == portal.oauth_app.client_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, False),
        ("0", False),
        ("", False),
        (None, False),
        ([], False),
        (1, True),
        ("false", True),
        (True, True),
    ],
)
def test_halt_is_cast_like_php(value: Any, expected: bool) -> None:
    assert php_truthy(value) is expected


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({}, []),
        ({"0": "a", "1": "b"}, ["a", "b"]),
        ({"1": "b", "0": "a"}, {"1": "b", "0": "a"}),
        ({"x": 1}, {"x": 1}),
    ],
)
def test_sections_are_encoded_like_php(section: dict[str, Any], expected: Any) -> None:
    assert php_section(section) == expected


def test_substitute_leaves_text_without_macros_alone() -> None:
    sources: dict[str, dict[str, Any]] = {
        "result": {"a": {"ID": 7, "ok": True}},
        "next": {},
        "total": {},
        "error": {},
    }
    assert substitute("price $5", sources) == "price $5"
    assert substitute({"x": ["$result[a][ID]"]}, sources) == {"x": [7]}
    assert substitute("flag=$result[a][ok]", sources) == "flag=1"  # text before a macro is kept
    assert substitute("flag: $RESULT[a][ok]", sources) == "flag: "  # looked up as written: nothing
