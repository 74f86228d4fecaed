"""The per-command work of a batch (issue 17): each command's ``time`` block read once, still delivered."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc import _batch, _coalescer, _session
from bitrix_bizproc._call import Call, Pending, result_of
from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc._coalescer import fits_batch
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.batch import CommandOutcome, Survey, encode_command, parse_batch_result, survey
from bitrix_bizproc.protocol.envelope import ApiResponse, TimeInfo, by_command_key, opt_float, parse_response
from bitrix_bizproc.protocol.errors import ClientValidationError, NotFoundError, ServerError
from bitrix_bizproc.protocol.limits import OperatingBudget
from bitrix_bizproc.services import WorkflowCommands, _checks, templates, workflows
from bitrix_bizproc.services.base import string_list, true_result
from tests.compat._corpus import ENTRIES, wire

Instances = Callable[[int], list[str]]


def _time_of(response: ApiResponse) -> TimeInfo | None:
    return response.time


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every time block :meth:`TimeInfo.from_wire` parses, in order."""
    seen: list[object] = []
    original = TimeInfo.from_wire.__func__  # type: ignore[attr-defined]

    def counting(cls: type[TimeInfo], data: Any) -> TimeInfo | None:
        seen.append(data)
        result: TimeInfo | None = original(cls, data)
        return result

    monkeypatch.setattr(TimeInfo, "from_wire", classmethod(counting))
    return seen


async def test_a_composer_reads_each_commands_time_block_at_most_once(
    client: BizprocClient, instances: Instances, parses: list[object]
) -> None:
    ids = instances(120)
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert [c.result() for c in commands] == [True] * 120
    # 3 batch answers' own blocks, and at most one parse of each command's block
    assert len(parses) <= 3 + 120
    assert len({id(block) for block in parses}) == len(parses)


async def test_a_commands_time_block_still_reaches_its_answer(
    client: BizprocClient, instances: Instances
) -> None:
    ids = instances(2)
    async with client.batch() as batch:
        times = [
            batch.executor.submit(Call("bizproc.workflow.terminate", {"ID": wf}, parse=_time_of))
            for wf in ids
        ]
    for command in times:
        time = command.result()
        assert isinstance(time, TimeInfo)
        assert time.start is not None and time.finish is not None and time.date_start is not None
        assert time.operating is not None


def _eager(block: object) -> TimeInfo | None:
    """The time block read field by field, as ``from_wire`` did before it deferred the reading."""
    if not isinstance(block, dict):
        return None
    return TimeInfo(
        start=opt_float(block.get("start")),
        finish=opt_float(block.get("finish")),
        duration=opt_float(block.get("duration")),
        processing=opt_float(block.get("processing")),
        date_start=_date(block.get("date_start")),
        date_finish=_date(block.get("date_finish")),
        operating=opt_float(block.get("operating")),
        operating_reset_at=opt_float(block.get("operating_reset_at")),
    )


def _date(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


BATCHES = [e for e in ENTRIES if e["expect"]["kind"] == "batch"]


@pytest.mark.parametrize("entry", BATCHES, ids=[e["id"] for e in BATCHES])
def test_real_batch_answers_give_each_command_its_time_and_the_budget_its_figures(
    entry: dict[str, Any],
) -> None:
    # the recorded answers of tests/compat/corpus (fast_bitrix24, b24phpsdk and the docs' batch examples)
    response = parse_response(entry["http_status"], wire(entry), method="batch")
    expect = entry["expect"]
    keys = expect.get("keys") or [*expect["ok"], *expect["errors"]]
    outcomes = parse_batch_result(keys, response.result, halt=expect["halt"])
    blocks = by_command_key(response.result.get("result_time"))
    for key in keys:
        if outcomes[key].executed:
            assert outcomes[key].time == _eager(blocks.get(key)), key
    methods = {key: f"method.{n % 2}" for n, key in enumerate(keys)}
    batch, each = OperatingBudget(), OperatingBudget()
    batch.observe_batch(methods, response.result.get("result_time"), 1000.0)
    for key, block in blocks.items():
        if key in methods:
            each.observe(methods[key], _eager(block), 1000.0)
    assert [batch.get(m) for m in ("method.0", "method.1")] == [each.get(m) for m in ("method.0", "method.1")]
    assert all(outcomes[k].time is not None for k in expect["ok"])


async def test_a_composer_surveys_no_command_its_service_checked(
    client: BizprocClient, instances: Instances, monkeypatch: pytest.MonkeyPatch
) -> None:
    surveyed = _count_surveys(monkeypatch, _batch)
    ids = instances(120)
    async with client.batch() as batch:
        stopped = [batch.workflows.terminate(wf) for wf in ids[:60]]
        killed = [batch.workflows.kill(wf) for wf in ids[60:]]
        user = batch.call("user.get", {"ID": 1})  # built by name: surveyed, as before
    assert [c.result() for c in stopped + killed] == [True] * 120 and user.ok
    assert surveyed == ["user.get"]


async def test_an_id_that_looks_like_a_reference_goes_on_its_own(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(2)
    async with client.batch() as batch:
        odd = batch.workflows.terminate("$result[c0][ID]")  # in a batch the portal would substitute it
        together = [batch.workflows.terminate(wf) for wf in ids]
    assert isinstance(odd.error, NotFoundError) and all(c.ok for c in together)
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)


class _Recorder:
    """An executor that keeps what it is handed."""

    def __init__(self) -> None:
        self.calls: list[Call[Any]] = []

    def submit(self, call: Call[Any]) -> Pending[Any]:
        self.calls.append(call)
        return None  # type: ignore[return-value]


_IDS = st.one_of(
    st.text(max_size=30),
    st.builds(
        "{}{}{}".format,
        st.text(max_size=5),
        st.sampled_from(["$result[", "$RESULT[c0][ID]", "$next[", "$x[", "$", "$error_description[a]"]),
        st.text(max_size=5),
    ),
)


@given(_IDS, st.sampled_from(["terminate", "kill"]))
def test_the_fast_way_of_an_id_is_the_general_way(text: str, action: str) -> None:
    """A termination by ID skips the general encoding and the batch survey: same call, same verdict."""
    method = "bizproc.workflow." + action
    fast, general = _Recorder(), _Recorder()
    try:
        checked = _checks.workflow_id(text)
    except ClientValidationError as exc:  # refused at the line that adds it, with the same error
        with pytest.raises(ClientValidationError, match=re.escape(str(exc))):
            getattr(WorkflowCommands(fast), action)(text)
        return
    getattr(WorkflowCommands(fast), action)(text)
    WorkflowCommands(general)._submit(method, {"ID": checked, "STATUS": None}, true_result)
    made, expected = fast.calls[0], general.calls[0]
    assert (made.method, made.params, made.parse, made.idempotent, made.batchable) == (
        expected.method,
        expected.params,
        expected.parse,
        expected.idempotent,
        expected.batchable,
    )
    found = survey(method, expected.params)
    assert made.plain is (not found.refs and fits_batch(method, found.fits, expected.batchable))
    assert encode_command(made.method, made.params) == encode_command(method, expected.params)


def _count_surveys(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[str]:
    """The methods ``module`` surveys from now on (it still surveys them)."""
    surveyed: list[str] = []

    def counting(method: str, params: Any) -> Survey:
        surveyed.append(method)
        return survey(method, params)

    monkeypatch.setattr(module, "survey", counting)
    return surveyed


@pytest.fixture
def responses_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The key of every batch command whose outcome became an :class:`ApiResponse`."""
    built: list[str] = []
    original = CommandOutcome.as_response

    def counting(self: CommandOutcome, method: str | None = None) -> ApiResponse:
        built.append(self.key)
        return original(self, method)

    monkeypatch.setattr(CommandOutcome, "as_response", counting)
    return built


async def test_a_composer_reads_a_result_without_building_a_response_for_it(
    client: BizprocClient, instances: Instances, responses_built: list[str]
) -> None:
    ids = instances(120)
    async with client.batch() as batch:
        stopped = [batch.workflows.terminate(wf) for wf in ids[:119]]
        timed = batch.executor.submit(Call("bizproc.workflow.terminate", {"ID": ids[119]}, parse=_time_of))
    assert [c.result() for c in stopped] == [True] * 119
    assert isinstance(timed.result(), TimeInfo)  # a parser of the whole answer still gets it
    assert responses_built == [timed.key]


async def test_auto_batch_neither_surveys_nor_builds_a_response_for_a_termination(
    portal: EmulatedPortal, instances: Instances, responses_built: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    surveyed = _count_surveys(monkeypatch, _coalescer)
    ids = instances(120)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", auto_batch=True) as auto:
        assert await asyncio.gather(*(auto.workflows.terminate(wf) for wf in ids)) == [True] * 120
        with pytest.raises(NotFoundError):  # with a status: the general way, surveyed
            await auto.workflows.terminate(ids[0], status="again")
    assert surveyed == ["bizproc.workflow.terminate"] and responses_built == []


async def test_a_batch_request_is_not_normalized_again(
    client: BizprocClient, instances: Instances, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[object] = []
    original = _session.check_input_vars

    def counting(params: Any, *, what: str) -> None:
        checked.append(what)
        original(params, what=what)

    monkeypatch.setattr(_session, "check_input_vars", counting)
    ids = instances(120)
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert all(c.ok for c in commands) and checked == []


_RESULTS = st.one_of(
    st.sampled_from([True, False, 1, 0, "1", "Y", "N", None, "", [], {}, "42", 42, "x"]),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=3),
)
_PARSERS = [
    true_result,
    string_list,
    result_of,
    workflows._workflow_id,
    templates._template_id,
    templates._nothing,
]


@given(_RESULTS, st.sampled_from(_PARSERS))
def test_a_result_read_from_the_outcome_is_the_result_read_from_a_response(
    result: Any, parse: Callable[[ApiResponse], Any]
) -> None:
    call: Call[Any] = Call("bizproc.workflow.terminate", {"ID": "w1"}, parse)
    outcome = CommandOutcome("c0", result)
    try:
        expected = call.read(outcome.as_response(call.method))
    except ServerError as exc:
        with pytest.raises(ServerError, match=re.escape(str(exc))):
            call.read_outcome(outcome)
        return
    assert call.read_outcome(outcome) == expected
