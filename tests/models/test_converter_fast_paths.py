"""The converter's fast paths read every row exactly as its rule does (issue 17: the typed call's CPU).

The rule, written out plainly below: a wire key finds its field by its wire name (in any case) and is read by
that field's hook; a key no field has, or a value its hook refuses, stays in ``extra``. The fast paths (a
text, a number or a boolean stored as it came, the portal's ``Y``/``N`` and digit strings read first) must
give the same model, value for value and type for type, on real answers and on generated rows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.models import (
    ActivityDefinition,
    Property,
    Task,
    TaskField,
    TaskParameters,
    Template,
    TemplateField,
    User,
    WorkflowInstance,
    structure,
)
from bitrix_bizproc.models.converter import (
    _UNCONVERTIBLE,
    LocalizedText,
    _bool,
    _inner,
    _int,
    _localized,
    _site_form,
    _str,
    _structure_model,
    converter,
    wire,
)
from bitrix_bizproc.protocol.envelope import parse_response
from bitrix_bizproc.protocol.errors import MalformedResponseError, ServerError

MODELS: list[type[Any]] = [User, Task, Template, WorkflowInstance]


@attrs.frozen
class _Plain:
    """A wire model of this test's own with fields that may not be empty (every wire model of ours may)."""

    number: int = attrs.field(default=0, metadata=wire("NUMBER"))
    text: str = attrs.field(default="", metadata=wire("TEXT"))
    flag: bool = attrs.field(default=False, metadata=wire("FLAG"))
    when: dt.datetime | None = attrs.field(default=None, metadata=wire("WHEN"))
    tags: list[str] = attrs.field(factory=list, metadata=wire("TAGS"))
    label: str = attrs.field(
        default=attrs.Factory(lambda self: f"#{self.number}", takes_self=True), metadata=wire("LABEL")
    )
    extra: dict[str, Any] = attrs.field(factory=dict)


EVERY_MODEL = [*MODELS, ActivityDefinition, Property, TaskField, TaskParameters, TemplateField, _Plain]
CORPUS = Path(__file__).parents[1] / "compat" / "corpus" / "docs.json"


def _by_the_rule(row: dict[Any, Any], cls: type[Any]) -> Any:
    """``row`` read key by key through each field's own hook, with no shortcut."""
    attrs.resolve_types(cls)
    fields = {str(f.metadata["bitrix_wire"]): f for f in attrs.fields(cls) if "bitrix_wire" in f.metadata}
    upper = {name.upper(): f for name, f in fields.items()}
    kwargs: dict[str, Any] = {}
    extra: dict[Any, Any] = {}
    for key, raw in row.items():
        field = fields.get(key) if isinstance(key, str) else None
        field = field or upper.get(str(key).upper())
        if field is None:
            extra[key] = raw
            continue
        try:
            kwargs[field.name] = converter.get_structure_hook(field.type)(raw, field.type)
        except _UNCONVERTIBLE:  # what may be refused: ValueError, TypeError... and our own errors
            extra[key] = raw
    return cls(**kwargs, extra=extra)


def _shape(obj: Any) -> Any:
    """A model's values with their exact types (``True == 1`` and ``1 == 1.0`` must not hide a change)."""
    if attrs.has(type(obj)):
        return (type(obj), [(f.name, _shape(getattr(obj, f.name))) for f in attrs.fields(type(obj))])
    if isinstance(obj, dict):
        return (dict, [(_shape(k), _shape(v)) for k, v in obj.items()])
    if isinstance(obj, list):
        return (list, [_shape(v) for v in obj])
    return (type(obj), obj)


def _same(row: dict[Any, Any], cls: type[Any]) -> None:
    """Every way of reading ``row`` gives the rule's model: its shape's reader, compiled now and kept, the
    key-by-key reading (a mapping that is not a dict), and the converter's shared hook."""
    expected = _shape(_by_the_rule(row, cls))
    fresh = _structure_model(cls)  # a hook of its own: no shape of this row compiled yet
    assert _shape(fresh(row, cls)) == expected
    assert _shape(fresh(row, cls)) == expected  # the compiled reader, kept
    assert _shape(fresh(MappingProxyType(row), cls)) == expected
    assert _shape(structure(row, cls)) == expected


def _corpus_rows() -> list[tuple[str, type[Any], dict[str, Any]]]:
    """The model rows of the docs' recorded answers (tests/compat/corpus/docs.json)."""
    by_name = {cls.__name__: cls for cls in MODELS}
    out: list[tuple[str, type[Any], dict[str, Any]]] = []
    for entry in json.loads(CORPUS.read_text(encoding="utf-8")):
        expect, body = entry["expect"], entry["body"]
        if "model" in expect:
            result = body["result"]
            rows = result if isinstance(result, list) else [result]
            out += [(entry["id"], by_name[expect["model"]], row) for row in rows]
        for key, model in expect.get("models", {}).items():
            out.append((entry["id"], by_name[model], body["result"]["result"][key]))
    return out


CORPUS_ROWS = _corpus_rows()


def test_the_corpus_has_rows_of_every_model() -> None:
    assert {cls for _, cls, _ in CORPUS_ROWS} == set(MODELS)


@pytest.mark.parametrize(
    ("source", "cls", "row"), CORPUS_ROWS, ids=[f"{s}-{c.__name__}" for s, c, _ in CORPUS_ROWS]
)
def test_recorded_rows_read_as_the_rule_reads_them(source: str, cls: type[Any], row: dict[str, Any]) -> None:
    """Source: tests/compat/corpus/docs.json (answers from the official docs pages)."""
    _same(row, cls)


# The bench portal's user 1 (benchmarks/bench_call_cpu.py): every kind of field the fast paths meet.
BENCH_USER = {
    "ID": "1", "ACTIVE": True, "NAME": "Anna", "LAST_NAME": "Petrova", "SECOND_NAME": "", "EMAIL": "",
    "LAST_LOGIN": None, "DATE_REGISTER": "2026-11-28T00:20:54+03:00", "TIME_ZONE": "",
    "IS_ONLINE": "N", "TIMESTAMP_X": "28.11.2026 00:20:54", "LAST_ACTIVITY_DATE": "", "PERSONAL_GENDER": "",
    "PERSONAL_WWW": "", "PERSONAL_BIRTHDAY": "", "PERSONAL_MOBILE": "", "PERSONAL_CITY": "", "WORK_PHONE": "",
    "WORK_POSITION": "", "UF_EMPLOYMENT_DATE": "", "UF_DEPARTMENT": [1], "USER_TYPE": "employee",
}  # fmt: skip


def test_the_bench_user_reads_as_the_rule_reads_it() -> None:
    _same(BENCH_USER, User)
    user = structure(BENCH_USER, User)
    read = (user.id, user.active, user.is_online, user.second_name, user.last_login)
    assert read == (1, True, False, "", None)
    assert user.timestamp_x == dt.datetime(2026, 11, 28, 0, 20, 54, tzinfo=dt.UTC)
    assert user.extra == {"PERSONAL_WWW": "", "PERSONAL_CITY": ""}


_values = st.one_of(
    st.sampled_from(["", "Y", "N", "y", " N ", "1", "0", "-3", " 7", "007", "²", "１２", "x", "true", "no"]),
    st.sampled_from(["2026-11-28T00:20:54+03:00", "28.11.2026 00:20:54", "28.11.2026", "31.02.2026"]),
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=6),
    st.lists(st.one_of(st.integers(-5, 5), st.sampled_from(["1", "", "a", True])), max_size=3),
    st.dictionaries(st.sampled_from(["0", "1", "en"]), st.sampled_from(["1", "a", 2]), max_size=2),
)


def _keys(cls: type[Any]) -> st.SearchStrategy[Any]:
    names = [str(f.metadata["bitrix_wire"]) for f in attrs.fields(cls) if "bitrix_wire" in f.metadata]
    return st.one_of(st.sampled_from(names), st.sampled_from(names).map(str.lower), st.sampled_from(["X", 1]))


@pytest.mark.parametrize("cls", EVERY_MODEL, ids=lambda c: c.__name__)
@settings(deadline=None)  # no timing assert: each example compiles a reader (slow under load)
@given(data=st.data())
def test_generated_rows_read_as_the_rule_reads_them(cls: type[Any], data: st.DataObject) -> None:
    row = data.draw(st.dictionaries(_keys(cls), _values, max_size=12))
    _same(row, cls)


# The scalar hooks as they were before their fast paths (issue 17): the reference they must still match.
def _bool_before(value: Any) -> bool:
    if value is True or value is False:
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("y", "yes", "true", "1"):
            return True
        if text in ("n", "no", "false", "0", ""):
            return False
    raise ValueError(f"not a boolean: {value!r}")


def _int_before(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"not an integer: {value!r}")


def _outcome(read: Any, value: Any) -> Any:
    try:
        result = read(value)
    except (ValueError, TypeError, OverflowError) as exc:
        return type(exc)
    return (type(result), result)


@settings(deadline=None)
@given(value=st.one_of(_values, st.text(alphabet="YyNn01-+ ²١\t", max_size=4)))
def test_booleans_and_integers_read_as_before(value: Any) -> None:
    assert _outcome(lambda v: _bool(v, bool), value) == _outcome(_bool_before, value)
    assert _outcome(lambda v: _int(v, int), value) == _outcome(_int_before, value)


def test_a_text_hook_registered_later_is_used_for_every_text_field() -> None:
    """The as-is shortcut belongs to the converter's own text hook: another one is called for every value."""
    converter.register_structure_hook(str, lambda v, _: str(v).upper())
    try:
        assert structure({"NAME": "anna", "LAST_NAME": ""}, User) == User(name="ANNA", last_name="")
        assert structure({"NAME": "anna"}, User).name == "ANNA"  # read again: the model's steps are rebuilt
    finally:
        converter.register_structure_hook(str, _str)
    assert structure({"NAME": "anna"}, User).name == "anna"


def test_a_single_user_reads_every_row_as_a_page_would() -> None:
    """``users.get`` builds no page, yet a malformed row after the first still fails (as it did)."""
    from bitrix_bizproc.services.users import _first_user

    good = parse_response(200, json.dumps({"result": [BENCH_USER], "total": 1}).encode())
    assert _first_user(good) == structure(BENCH_USER, User)
    assert _first_user(parse_response(200, b'{"result": [], "total": 0}')) is None
    assert _first_user(parse_response(200, b'{"result": {"3": {"ID": "3"}}}')) == User(id=3)  # PHP's map
    bad = parse_response(200, json.dumps({"result": [BENCH_USER, "not a row"]}).encode())
    with pytest.raises((MalformedResponseError, ServerError)):
        _first_user(bad)


@attrs.frozen
class _Required:
    """A wire model with a field every row must hold."""

    id: int = attrs.field(metadata=wire("ID"))
    name: str | None = attrs.field(default=None, metadata=wire("NAME"))
    extra: dict[str, Any] = attrs.field(factory=dict)


def test_a_field_without_a_default_is_still_required() -> None:
    """No reader is compiled for such a model: a row without the field (or with a value it refuses) fails."""
    assert structure({"ID": "4", "NAME": "x"}, _Required) == _Required(4, "x")
    for row in ({"NAME": "x"}, {"ID": "four"}):
        with pytest.raises(MalformedResponseError):
            structure(row, _Required)


def test_rows_of_many_shapes_all_read_as_the_rule_reads_them() -> None:
    """Past the shapes a model compiles a reader for, rows are read key by key, the same way."""
    hook = _structure_model(User)
    rows = [{f"UF_{n}": n, "ID": str(n), "NAME": "a" * n} for n in range(60)]
    rows += [{"NAME": "b", "ID": str(n), f"UF_{n}": ""} for n in range(60)]
    for row in rows * 2:
        assert _shape(hook(row, User)) == _shape(_by_the_rule(row, User))


def test_keys_never_reach_the_compiled_source() -> None:
    """Keys are data, not code: any text (quotes, newlines, names of fields) is only looked up."""
    row = {'x"); import os; ("': 1, "a\nb": 2, "ID": "5", "id = 9": 3, "extra": {"x": 1}, "": None}
    user = _structure_model(User)(row, User)
    assert user == _by_the_rule(row, User)
    assert user.id == 5 and set(user.extra) == set(row) - {"ID"}


class _Code(str):
    """A text type of this test's own, read by a hook of the user's."""


class _UpperHook:
    """A hook that is a callable object without ``__weakref__`` (a slotted class, like a builtin): allowed."""

    __slots__ = ()

    def __call__(self, value: Any, _: Any) -> _Code:
        return _Code(str(value).upper())


@attrs.frozen
class _Coded:
    code: _Code = attrs.field(default=_Code(""), metadata=wire("CODE"))
    name: str = attrs.field(default="", metadata=wire("NAME"))
    extra: dict[str, Any] = attrs.field(factory=dict)


def test_a_hook_that_cannot_be_weakly_referenced_still_reads_its_field() -> None:
    """The as-is table is weak: a hook it cannot refer to weakly (or hash) is only called, never an error."""
    converter.register_structure_hook(_Code, _UpperHook())
    for _ in range(2):  # the key-by-key read, then the compiled reader
        coded = structure({"CODE": "ab", "NAME": "n"}, _Coded)
        assert coded == _Coded(_Code("AB"), "n") and type(coded.code) is _Code


def _remembered_shapes(hook: Any) -> dict[tuple[str, ...], Any]:
    """The shapes a model's hook keeps (its closure's ``shapes``)."""
    cells = dict(zip(hook.__code__.co_freevars, hook.__closure__ or (), strict=True))
    shapes: dict[tuple[str, ...], Any] = cells["shapes"].cell_contents
    return shapes


def test_a_row_too_long_to_compile_keeps_none_of_its_keys() -> None:
    """A huge row (more keys than a reader is compiled for) is read key by key and not remembered: its keys
    (wire data of any length) would otherwise be held for the process's life, up to 32 such rows a model."""
    from bitrix_bizproc.models._shapes import MAX_KEYS

    hook = _structure_model(User)
    huge = {"ID": "1", **{f"UF_{n}_{'x' * 100}": n for n in range(MAX_KEYS + 1)}}
    assert hook(huge, User) == _by_the_rule(huge, User)
    assert all(len(keys) <= MAX_KEYS for keys in _remembered_shapes(hook))
    assert hook({"ID": "2"}, User) == User(id=2)
    assert ("ID",) in _remembered_shapes(hook)  # a usual shape is still compiled


@attrs.frozen
class _Optionals:
    """Optional fields of every kind, to meet each "no value": ``null``, ``""``, ``[]``, ``{}``."""

    number: int | None = attrs.field(default=None, metadata=wire("NUMBER"))
    text: str | None = attrs.field(default=None, metadata=wire("TEXT"))
    numbers: list[int] | None = attrs.field(default=None, metadata=wire("NUMBERS"))  # [] stays a list
    names: dict[str, str] | None = attrs.field(default=None, metadata=wire("NAMES"))  # [] is an empty map
    when: dt.datetime | None = attrs.field(default=None, metadata=wire("WHEN"))
    flag: bool | None = attrs.field(default=None, metadata=wire("FLAG"))
    title: LocalizedText | None = attrs.field(default=None, metadata=wire("TITLE"))  # keeps "", {} is a map
    extra: dict[str, Any] = attrs.field(factory=dict)


_NO_VALUES = st.sampled_from([None, "", [], {}, " ", 0, False, [0], {"0": ""}])


@settings(deadline=None)  # no timing assert: each example compiles a reader
@given(data=st.data())
def test_optional_fields_read_as_their_hooks_read_them(data: st.DataObject) -> None:
    """The compiled reader tests for "no value" itself and calls the inner hook only for a real value: the
    same model as the optional hook gives, whatever the value (empties above all)."""
    row = data.draw(st.dictionaries(_keys(_Optionals), st.one_of(_NO_VALUES, _values), max_size=10))
    _same(row, _Optionals)


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (int | None, (int, _int, True)),
        (str | None, (str, _str, True)),  # "" is stored as it is: [] and {} are None
        (bool | None, (bool, _bool, True)),
        (LocalizedText | None, (LocalizedText, _localized, False)),  # "" is a text, {} an empty map
        (list[int] | None, (list[int], None, False)),  # [] is an empty list
    ],
)
def test_an_optional_hook_names_its_inner_reading(tp: Any, expected: tuple[Any, Any, bool]) -> None:
    """What the compiled reader calls for an optional field's real value, and whether its empties are None."""
    target, hook, none = _inner(converter.get_structure_hook(tp))  # type: ignore[misc]
    assert (target, none) == (expected[0], expected[2])
    assert hook is (expected[1] or converter.get_structure_hook(target))
    assert _inner(_int) is None  # not an optional


@attrs.frozen
class _NoHookInside:
    """A user's model: ``str | int`` has no structure hook of its own (cattrs has none for that union)."""

    code: str | int | None = attrs.field(default=None, metadata=wire("CODE"))
    extra: dict[str, Any] = attrs.field(factory=dict)


@pytest.mark.parametrize("empty", [None, "", [], {}])
def test_an_optional_whose_inner_type_has_no_hook_still_reads_an_empty_value(empty: Any) -> None:
    """The optional hook looks its inner hook up only at a real value: an empty one reads as None, in the
    compiled reader too (it must not look the inner hook up before it is needed)."""
    expected = "" if empty == "" else None  # a text is in the union: "" is a value, as the optional hook says
    for _ in range(2):  # the first row compiles the reader, the second is read by it
        assert structure({"CODE": empty}, _NoHookInside) == _NoHookInside(code=expected)


@pytest.mark.parametrize(
    ("text", "tp"),
    [
        ("31.12.2024 24:00:00", dt.datetime),
        ("2024-12-31T24:00:00+03:00", dt.datetime),
        ("2024-12-31 24:00:00", dt.datetime),
        ("2024-12-31T24:00:00", dt.date),
    ],
)
def test_a_date_at_24_00_is_refused_on_every_python(text: str, tp: type) -> None:
    """``strptime`` refuses hour 24, and so did ``fromisoformat`` until 3.14 (now the next midnight): the
    portal never writes it, and reading it as another day would move a date by one."""
    with pytest.raises(MalformedResponseError):
        structure(text, tp)


def test_the_site_form_reader_refuses_24_00_itself() -> None:
    with pytest.raises(ValueError):
        _site_form("31.12.2024 24:00:00")
