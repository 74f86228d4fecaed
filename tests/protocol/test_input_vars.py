"""Issue 12 finding 7: PHP's ``max_input_vars`` (1000 by default) silently cuts what ``parse_str`` reads.

PHP counts one variable per ``name=value`` pair it parses (php_variables.c: ``if (++count > max_input_vars)``
warns "Input variables exceeded 1000" and stops). The portal parses each batch command's query string
with ``parse_str`` (settings/how-to-call-rest-api/batch.md), so 1,200 ``TASK_IDS`` there become 1,000.
"""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient, ValidationError
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.batch import encode_command
from bitrix_bizproc.protocol.encoding import MAX_INPUT_VARS, check_input_vars, count_input_vars


def _delegate(n: int) -> dict[str, object]:
    return {"TASK_IDS": list(range(1, n + 1)), "FROM_USER_ID": 2, "TO_USER_ID": 3}


def test_variables_are_counted_as_php_counts_them() -> None:
    assert MAX_INPUT_VARS == 1000
    assert count_input_vars(_delegate(1200)) == 1202
    assert count_input_vars({"FILTER": {">ID": 5, "@ID": [1, 2, 3]}, "SELECT": ["ID"], "start": 0}) == 6
    assert count_input_vars({"FILTER": {}, "SELECT": []}) == 2  # "FILTER=&SELECT=": two pairs
    assert count_input_vars({}) == 0


def test_a_batch_command_at_the_limit_goes_and_one_over_it_is_refused() -> None:
    assert encode_command("bizproc.task.delegate", _delegate(998)).count("&") == 999
    with pytest.raises(ValidationError, match="1001") as caught:
        encode_command("bizproc.task.delegate", _delegate(999))
    assert caught.value.code == "MAX_INPUT_VARS"


async def test_the_client_refuses_before_sending_in_a_call_and_in_a_batch(portal: EmulatedPortal) -> None:
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        with pytest.raises(ValidationError, match="TASK_IDS"):
            await client.tasks.delegate(range(1, 1201), from_user=2, to_user=3)
        with pytest.raises(ValidationError, match="TASK_IDS"):
            async with client.batch() as batch:
                batch.tasks.delegate(range(1, 1201), from_user=2, to_user=3)
        with pytest.raises(ValidationError, match="1202"):
            await client.call("bizproc.task.delegate", _delegate(1200))
    assert portal.counters.requests == 0


@pytest.mark.parametrize(
    "params",
    [
        {"FILTER": {">ID": 5, "@ID": [1, 2, 3], "X": {}}, "SELECT": [], "start": None},
        {"PARAMETERS": {"a": [{"b": 1, "c": [1, 2]}, []]}, "ID": "x"},
        _delegate(3),
    ],
)
def test_the_count_is_the_pairs_the_query_string_carries(params: dict[str, object]) -> None:
    from bitrix_bizproc.protocol.encoding import encode_query

    assert count_input_vars(params) == len(encode_query(params).split("&"))


@pytest.mark.parametrize("value", ["x", 1, 1.5, True, None])
def test_a_flat_map_of_plain_values_is_refused_only_past_the_limit(value: object) -> None:
    """The fast way for flat maps: 1,000 plain values go, 1,001 are refused (PHP counts one var each)."""
    check_input_vars({f"K{i}": value for i in range(1000)}, what="m")
    with pytest.raises(ValidationError):
        check_input_vars({f"K{i}": "x" for i in range(1001)}, what="m")
