"""The pure batch protocol: command encoding, references, chunking, and reading answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.protocol.batch import (
    MAX_COMMANDS,
    CommandOutcome,
    Macro,
    Ref,
    build_batch_params,
    chunk,
    encode_command,
    parse_batch_result,
    references,
    survey,
)
from bitrix_bizproc.protocol.encoding import normalize, parse_query, php_arrays_to_lists
from bitrix_bizproc.protocol.errors import (
    NotExecutedError,
    NotFoundError,
    ServerError,
    ValidationError,
)

# ---------------------------------------------------------------- encoding round trip

AWKWARD = "&=[]%$?#+ ;/\\\"'ü日€\t\n"
awkward_text = st.text(
    alphabet=st.one_of(st.sampled_from(AWKWARD), st.characters(blacklist_categories=("Cs",))), max_size=12
)
top_key = st.text(alphabet="abcdefghijXYZ_", min_size=1, max_size=6)
nested_key = awkward_text.filter(lambda k: k != "" and "[" not in k and "]" not in k)
scalars = st.one_of(
    awkward_text,
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(timezones=st.just(dt.UTC)),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nested_key, inner, max_size=4)),
    max_leaves=12,
)


def php_view(wire: Any) -> Any:
    """What PHP's parse_str makes of a normalized value."""
    if isinstance(wire, dict):
        return {k: php_view(v) for k, v in wire.items()} if wire else ""
    if isinstance(wire, list):
        return [php_view(v) for v in wire] if wire else ""
    if wire is None:
        return ""
    if isinstance(wire, bool):
        return "1" if wire else "0"
    return str(wire)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(top_key, values, max_size=5))
def test_awkward_values_round_trip_through_parse_str(params: dict[str, Any]) -> None:
    command = encode_command("bizproc.workflow.start", params)
    method, _, query = command.partition("?")
    assert method == "bizproc.workflow.start"
    expected = {k: php_view(v) for k, v in normalize(params).items()}
    assert parse_query(query) == php_arrays_to_lists(expected)


@pytest.mark.parametrize("value", ["a&b=c", "x&ID=1", "$result[c0][ID]", "100%", "[0]", "Привет & 日本"])
def test_a_value_cannot_inject_a_parameter(value: str) -> None:
    query = encode_command("user.get", {"FILTER": {"NAME": value}}).partition("?")[2]
    assert parse_query(query) == {"FILTER": {"NAME": value}}


def test_command_without_params_is_the_bare_method() -> None:
    assert encode_command("user.get", {}) == "user.get"


@pytest.mark.parametrize("method", ["", "user.get?ID=1", "user get", "batch&x"])
def test_bad_method_names_are_refused(method: str) -> None:
    with pytest.raises(ValidationError):
        encode_command(method, {})


# ---------------------------------------------------------------- references


def test_ref_renders_every_form() -> None:
    ref = Ref("c0")
    assert str(ref["0"]["ID"]) == "$result[c0][0][ID]"
    assert str(ref[0]) == "$result[c0][0]"
    assert str(ref.next) == "$next[c0]"
    assert str(ref.total) == "$total[c0]"
    assert str(ref.error) == "$error[c0]"


def test_ref_is_written_unencoded_and_the_rest_encoded() -> None:
    command = encode_command("bizproc.workflow.terminate", {"ID": Ref("c0")[0]["ID"], "STATUS": "a&b"})
    assert command == "bizproc.workflow.terminate?ID=$result[c0][0][ID]&STATUS=a%26b"
    assert parse_query(command.partition("?")[2])["ID"] == "$result[c0][0][ID]"


@pytest.mark.parametrize("segment", ["a&b", "x=1", "", "[0]", "a b", True, 1.5])
def test_ref_refuses_segments_that_could_break_the_query(segment: Any) -> None:
    with pytest.raises(ValidationError):
        Ref("c0")[segment]


@pytest.mark.parametrize("key", ["", "a-b", "a[0]", "$x"])
def test_ref_refuses_bad_keys(key: str) -> None:
    with pytest.raises(ValidationError):
        Ref(key)


def test_next_and_total_have_no_fields() -> None:
    with pytest.raises(ValidationError):
        Ref("c0").total["x"]


def test_references_found_anywhere_in_params() -> None:
    params = {"A": Ref("c0"), "B": {"C": [1, Ref("c3").total]}, "D": "$result[c9]"}
    assert [r.key for r in references(params)] == ["c0", "c3"]
    assert isinstance(normalize(Ref("c1")), Macro)


@pytest.mark.parametrize(
    ("method", "params", "fits"),
    [
        ("user.get", {"A": "$result[x][ID]"}, False),  # the portal would substitute it
        ("user.get", {"A": {"B": ["price $TOTAL[x]"]}}, False),
        ("user.get", {"A": {"k]": "v"}}, False),  # a query string cannot carry the name
        ("user.get", {"A.B": 1}, False),  # PHP would rename it A_B
        ("user get", {}, False),
        ("user.get", {"A": "costs $5 [each]", "B": {"x y.z": "1"}}, True),
        ("user.get", {"A": Ref("x")["ID"]}, True),
    ],
)
def test_survey_tells_what_cannot_ride_in_a_batch(method: str, params: dict[str, Any], fits: bool) -> None:
    assert survey(method, normalize(params)).fits is fits


# ---------------------------------------------------------------- payload and chunking


def test_build_batch_params() -> None:
    assert build_batch_params({"c0": "user.get"}, halt=True) == {"halt": 1, "cmd": {"c0": "user.get"}}
    assert build_batch_params({"c0": "user.get"}, halt=False)["halt"] == 0


@pytest.mark.parametrize("commands", [{}, {f"c{i}": "user.get" for i in range(51)}, {"a b": "user.get"}])
def test_build_batch_params_refuses_bad_batches(commands: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        build_batch_params(commands, halt=False)


def _independent(n: int) -> dict[str, list[str]]:
    return {f"c{i}": [] for i in range(n)}


@pytest.mark.parametrize(
    ("n", "sizes"), [(1, [1]), (50, [50]), (51, [50, 1]), (100, [50, 50]), (101, [50, 50, 1])]
)
def test_chunk_sizes(n: int, sizes: list[int]) -> None:
    chunks = chunk(_independent(n))
    assert [len(c) for c in chunks] == sizes
    assert [k for c in chunks for k in c] == list(_independent(n))


def test_chunk_keeps_a_referencing_command_with_its_target() -> None:
    refs = _independent(50)
    refs["c50"] = ["c0"]
    chunks = chunk(refs)
    home = next(c for c in chunks if "c0" in c)
    assert "c50" in home
    assert all(len(c) <= MAX_COMMANDS for c in chunks)
    assert home.index("c0") < home.index("c50")


def test_chain_of_fifty_fits_and_fifty_one_is_refused() -> None:
    chain = {f"c{i}": ([f"c{i - 1}"] if i else []) for i in range(50)}
    assert chunk(chain) == [list(chain)]
    chain["c50"] = ["c49"]
    with pytest.raises(ValidationError, match="group of 51"):
        chunk(chain)


@pytest.mark.parametrize(
    "refs",
    [
        {"c0": ["zz"]},  # unknown
        {"c0": ["c1"], "c1": []},  # later
        {"c0": ["c0"]},  # itself
    ],
)
def test_bad_references_are_refused(refs: dict[str, list[str]]) -> None:
    with pytest.raises(ValidationError):
        chunk(refs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(1, 8), max_size=2), min_size=1, max_size=160))
def test_chunk_invariants(back_links: list[list[int]]) -> None:
    refs = {f"c{i}": sorted({f"c{i - d}" for d in links if i - d >= 0}) for i, links in enumerate(back_links)}
    try:
        chunks = chunk(refs)
    except ValidationError:
        return  # a linked group over 50: refusing is the contract
    where = {key: n for n, c in enumerate(chunks) for key in c}
    assert sorted(where) == sorted(refs)
    assert all(1 <= len(c) <= MAX_COMMANDS for c in chunks)
    order = list(refs)
    for c in chunks:
        assert c == sorted(c, key=order.index)
    for key, targets in refs.items():
        assert all(where[t] == where[key] for t in targets)


# ---------------------------------------------------------------- reading answers

TIME = {
    "start": 1.0,
    "finish": 1.5,
    "duration": 0.5,
    "processing": 0.4,
    "date_start": "2024-08-29T10:34:19+03:00",
}


def test_parse_mixed_answer_keeps_every_outcome_in_order() -> None:
    answer = {
        "result": {"c0": True, "c2": [{"ID": "1"}]},
        "result_error": {"c1": {"error": "", "error_description": "WorkflowNotFound"}},
        "result_total": {"c2": 120},
        "result_next": {"c2": 50},
        "result_time": {"c0": TIME, "c2": TIME},
    }
    methods = {"c0": "bizproc.workflow.terminate", "c1": "bizproc.workflow.terminate", "c2": "user.get"}
    out = parse_batch_result(["c0", "c1", "c2"], answer, halt=False, methods=methods)
    assert list(out) == ["c0", "c1", "c2"]
    assert out["c0"] == CommandOutcome("c0", result=True, time=out["c0"].time)
    assert out["c0"].time is not None and out["c0"].time.duration == 0.5
    err = out["c1"].error
    assert isinstance(err, NotFoundError)
    assert (err.code, err.description, err.method) == ("", "WorkflowNotFound", "bizproc.workflow.terminate")
    assert out["c1"].executed and out["c1"].time is None
    response = out["c2"].as_response("user.get")
    assert (response.result, response.total, response.next) == ([{"ID": "1"}], 120, 50)
    with pytest.raises(NotFoundError):
        out["c1"].as_response()


def test_parse_php_quirks_empty_sections_as_lists_and_list_sections() -> None:
    answer = {
        "result": [{"ID": "a"}, {"ID": "b"}],  # keys 0..1 arrive as a JSON list
        "result_error": [],
        "result_total": [],
        "result_next": [],
        "result_time": [TIME, TIME],
    }
    out = parse_batch_result(["0", "1"], answer, halt=False)
    assert [o.result for o in out.values()] == [{"ID": "a"}, {"ID": "b"}]
    assert all(o.ok and o.total is None and o.time is not None for o in out.values())


def test_parse_halt_marks_skipped_commands_not_executed() -> None:
    answer = {
        "result": {"c0": True},
        "result_error": {
            "c1": {"error": "ERROR_WRONG_WORKFLOW_ID", "error_description": "Empty workflow ID"}
        },
        "result_total": [],
        "result_next": [],
        "result_time": {"c0": TIME},
    }
    out = parse_batch_result(["c0", "c1", "c2", "c3"], answer, halt=True)
    assert out["c0"].ok
    assert isinstance(out["c1"].error, ValidationError) and out["c1"].executed
    for key in ("c2", "c3"):
        assert isinstance(out[key].error, NotExecutedError)
        assert not out[key].executed


def test_parse_length_exceeded_is_a_command_error() -> None:
    answer = {
        "result": [],
        "result_error": {"c50": {"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "x"}},
    }
    out = parse_batch_result(["c50"], answer, halt=False)
    assert isinstance(out["c50"].error, ValidationError)
    assert out["c50"].error.code == "ERROR_BATCH_LENGTH_EXCEEDED"


def test_parse_falsy_results_are_results() -> None:
    answer = {"result": {"c0": None, "c1": False, "c2": []}}
    out = parse_batch_result(["c0", "c1", "c2"], answer, halt=False)
    assert [(o.ok, o.result) for o in out.values()] == [(True, None), (True, False), (True, [])]


def test_parse_refuses_a_non_object_answer() -> None:
    with pytest.raises(ServerError):
        parse_batch_result(["c0"], "oops", halt=False)


def test_a_halt0_command_missing_from_the_answer_may_have_run() -> None:
    """halt=0 runs every command: one the answer says nothing about is NO_ANSWER, not a halt skip."""
    from bitrix_bizproc.jobs._runner import _lost
    from bitrix_bizproc.protocol.batch import NO_ANSWER, parse_batch_result

    answer = {"result": {"a": True}, "result_error": [], "result_total": [], "result_next": []}
    unanswered = parse_batch_result(["a", "b"], answer, halt=False)["b"].error
    assert unanswered is not None and unanswered.code == NO_ANSWER and _lost(unanswered)
    skipped = parse_batch_result(["a", "b"], answer, halt=True)["b"].error
    assert skipped is not None and skipped.code == "NOT_EXECUTED" and not _lost(skipped)
