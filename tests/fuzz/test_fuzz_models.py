"""Fuzz the models converter with every wire model: a model (odd fields in ``extra``) or a typed error."""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc import models
from bitrix_bizproc.models import structure, unstructure
from bitrix_bizproc.models.converter import _wire_fields
from bitrix_bizproc.protocol.envelope import MAX_DEPTH

from ._support import FUZZ, check_error, count, deep, json_values, numberish

WIRE_MODELS = sorted(
    (
        cls
        for name in models.__all__
        if isinstance(cls := getattr(models, name), type) and attrs.has(cls) and _wire_fields(cls)
    ),
    key=lambda c: c.__name__,
)
assert len(WIRE_MODELS) >= 8, WIRE_MODELS  # every row model: workflows, templates, tasks, users, activities


# decode_json refuses deeper answers (MAX_DEPTH), so no model ever holds a deeper value.
as_deep_as_an_answer_gets = st.integers(1, MAX_DEPTH - 2).map(lambda n: deep(n, obj=n % 2 == 0))


@st.composite
def wire_rows(draw: st.DrawFn, cls: type[Any]) -> Any:
    """A row for ``cls``: its own wire keys (any casing) holding any kind of value, or anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    names = list(_wire_fields(cls))
    row: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)):
        key = draw(st.sampled_from([name, name.lower(), name.upper()]))
        row[key] = draw(st.one_of(numberish, json_values, as_deep_as_an_answer_gets))
    return row


@FUZZ
@given(data=st.data(), cls=st.sampled_from(WIRE_MODELS))
def test_structure_every_model(data: st.DataObject, cls: type[Any]) -> None:
    count(f"models.structure[{cls.__name__}]")
    row = data.draw(wire_rows(cls))
    try:
        model = structure(row, cls)
    except Exception as exc:
        check_error(exc)
        return
    assert isinstance(model, cls)
    unstructure(model)  # what was read can be written back


@FUZZ
@given(data=st.data(), cls=st.sampled_from(WIRE_MODELS))
def test_wire_values_are_the_fields_structure_gives(data: st.DataObject, cls: type[Any]) -> None:
    """The model-free reader (wire_values) gives each selected field as the structured model holds it."""
    from bitrix_bizproc.models.converter import wire_values

    count(f"models.wire_values[{cls.__name__}]")
    fields = _wire_fields(cls)
    names = data.draw(st.lists(st.sampled_from(list(fields)), unique=True))
    row = data.draw(
        st.one_of(
            wire_rows(cls),
            st.fixed_dictionaries({n: st.one_of(numberish, json_values) for n in names}),
            st.fixed_dictionaries({}, optional={n: st.one_of(numberish, json_values) for n in names}),
        )
    )
    try:
        model = structure(row, cls)
        expected: Any = {n: getattr(model, fields[n].name) for n in names}
    except Exception as exc:
        expected = (type(exc), str(exc))
    try:
        got: Any = wire_values(cls, names)(row)
    except Exception as exc:
        got = (type(exc), str(exc))
    assert repr(got) == repr(expected)  # repr: a NaN read either way is the same NaN
