"""The converter: wire quirks in, models out, and back (round trips, with hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitrix_bizproc.models import (
    ActivityDefinition,
    AutoExecute,
    CommentRequired,
    DocumentId,
    DocumentType,
    Page,
    Property,
    PropertyType,
    Task,
    TaskActivity,
    TaskStatus,
    TaskUserStatus,
    Template,
    User,
    WorkflowInstance,
    structure,
    unstructure,
)
from bitrix_bizproc.models.converter import converter, wire
from bitrix_bizproc.protocol.envelope import ApiResponse

# Rows as the docs show them.
INSTANCE_ROW = {
    "DOCUMENT_ID": "DEAL_1633",
    "ENTITY": "CCrmDocumentDeal",
    "ID": "658c4d3d6a2906.51542462",
    "STARTED": "2023-12-27T19:13:49+02:00",
    "MODULE_ID": "crm",
    "OWNED_UNTIL": None,
    "TEMPLATE_ID": "212",
    "STARTED_BY": "57",
}
TASK_ROW: dict[str, Any] = {
    "ENTITY": "BizprocDocument",
    "DOCUMENT_ID": "2249",
    "ID": "1477",
    "WORKFLOW_ID": "67a2ffdb2c57a3.35276854",
    "MODIFIED": "2025-02-05T09:06:19+02:00",
    "OVERDUE_DATE": None,
    "WORKFLOW_TEMPLATE_ID": "565",
    "STATUS": "0",
    "USER_ID": "1",
    "USER_STATUS": "0",
    "MODULE_ID": "lists",
    "ACTIVITY": "RequestInformationActivity",
    "PARAMETERS": {
        "CommentLabel": "Comment",
        "CommentRequired": "Y",
        "ShowComment": "Y",
        "StatusOkLabel": "Save Result",
        "Fields": [
            {
                "Id": "contractor",
                "Type": "E:ECrm",
                "Name": "Contractor",
                "Multiple": False,
                "Required": True,
                "Options": {"LEAD": "N", "CONTACT": "Y"},
                "Settings": None,
                "Default": ["C_607"],
            }
        ],
    },
}


def test_workflow_instance_from_the_docs() -> None:
    wf = structure(INSTANCE_ROW, WorkflowInstance)
    assert wf.id == "658c4d3d6a2906.51542462"
    assert wf.template_id == 212 and wf.started_by == 57
    assert wf.started == dt.datetime(2023, 12, 27, 19, 13, 49, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert wf.owned_until is None and wf.modified is None  # null, and not selected
    assert wf.document == DocumentId.deal(1633)
    assert wf.extra == {}


def test_workflow_ids_stay_strings_even_when_numeric_looking() -> None:
    assert structure({"ID": "0012"}, WorkflowInstance).id == "0012"


def test_task_from_the_docs() -> None:
    task = structure(TASK_ROW, Task)
    assert task.id == 1477 and task.status is TaskStatus.IN_PROGRESS
    assert task.user_status is TaskUserStatus.WAITING
    assert task.kind is TaskActivity.REQUEST_INFORMATION
    assert task.parameters is not None
    assert task.parameters.comment_required is CommentRequired.YES and task.parameters.show_comment is True
    field = (task.parameters.fields or [])[0]
    assert (field.id, field.required, field.multiple, field.default) == ("contractor", True, False, ["C_607"])
    assert task.document == DocumentId.list_element(2249, news_feed=True)


def test_unknown_fields_and_bad_values_are_kept_not_fatal() -> None:
    task = structure({"ID": "5", "STATUS": "9", "NEW_FIELD": {"a": 1}}, Task)
    assert task.id == 5 and task.status is None
    assert task.extra == {"STATUS": "9", "NEW_FIELD": {"a": 1}}


def test_user_quirks() -> None:
    user = structure(
        {
            "ID": "3",
            "ACTIVE": True,
            "IS_ONLINE": "N",
            "TIMESTAMP_X": {},
            "UF_EMPLOYMENT_DATE": "",
            "PERSONAL_BIRTHDAY": "2018-07-14T00:00:00+00:00",
            "UF_DEPARTMENT": [1],
            "UF_CUSTOM": "x",
        },
        User,
    )
    assert (user.id, user.active, user.is_online) == (3, True, False)
    assert user.timestamp_x is None and user.employment_date is None
    assert user.personal_birthday == dt.datetime(2018, 7, 14, tzinfo=dt.UTC)
    assert user.departments == [1] and user.extra == {"UF_CUSTOM": "x"}


def test_template_with_parameters_and_php_empty_arrays() -> None:
    tpl = structure(
        {
            "ID": "525",
            "AUTO_EXECUTE": "3",
            "IS_MODIFIED": "N",
            "MODULE_ID": "crm",
            "ENTITY": "CCrmDocumentDeal",
            "DOCUMENT_TYPE": "DEAL",
            "PARAMETERS": {"resp": {"Name": "Responsible", "Type": "user", "Required": "1", "Multiple": "0"}},
            "VARIABLES": [],
            "CONSTANTS": [],
        },
        Template,
    )
    assert tpl.id == 525 and tpl.auto_execute is AutoExecute.BOTH and tpl.is_modified is False
    assert tpl.document == DocumentType.deal()
    assert tpl.parameters is not None and tpl.parameters["resp"].required is True
    assert tpl.variables == {} and tpl.constants == {}


@pytest.mark.parametrize("name", ["Send SMS", {"en": "Send SMS", "de": "SMS senden"}])
def test_localized_names(name: Any) -> None:
    prop = structure({"Name": name, "Type": "select", "Required": "Y", "Options": []}, Property)
    assert prop.name == name and prop.type is PropertyType.SELECT
    assert prop.required is True and prop.options == {}


def test_document_specific_property_types_stay_strings() -> None:
    assert structure({"Type": "UF:address"}, Property).type == "UF:address"


def test_activity_definition_wire_form() -> None:
    definition = ActivityDefinition(
        code="sms",
        name={"en": "SMS"},
        use_subscription=True,
        properties={"phone": Property(name="Phone", type=PropertyType.STRING, required=True)},
        document_type=DocumentType.deal(),
    )
    assert definition.to_wire() == {
        "CODE": "sms",
        "NAME": {"en": "SMS"},
        "USE_SUBSCRIPTION": "Y",
        "PROPERTIES": {"phone": {"Name": "Phone", "Type": "string", "Required": "Y"}},
        "DOCUMENT_TYPE": ["crm", "CCrmDocumentDeal", "DEAL"],
    }


def test_page_from_a_response() -> None:
    response = ApiResponse(result=[INSTANCE_ROW], total=51, next=50)
    page = Page.from_response(response, lambda row: structure(row, WorkflowInstance))
    assert [wf.id for wf in page] == ["658c4d3d6a2906.51542462"]
    assert (page.total, page.next, page.has_more, len(page)) == (51, 50, True, 1)


# -- round trips --------------------------------------------------------------------------------------

# The wire carries fixed offsets ("+02:00"), so generate those (a zone's DST fold has no wire form).
offsets = st.integers(-12 * 4, 14 * 4).map(lambda q: dt.timezone(dt.timedelta(minutes=15 * q)))
aware = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=offsets
).map(lambda d: d.replace(microsecond=0))
text = st.text(min_size=1, max_size=20)
ids = st.integers(1, 2**31)
localized = st.one_of(text, st.dictionaries(st.sampled_from(["en", "de", "ru"]), text, min_size=1))


@given(
    wf_id=st.from_regex(r"[0-9a-f]{14}\.[0-9]{8}", fullmatch=True),
    started=aware,
    template_id=ids,
    started_by=st.none() | ids,
    extra=st.dictionaries(st.sampled_from(["X_NEW", "OTHER"]), st.integers()),
)
def test_instance_round_trip(
    wf_id: str, started: dt.datetime, template_id: int, started_by: int | None, extra: dict[str, int]
) -> None:
    wf = WorkflowInstance(
        id=wf_id, started=started, template_id=template_id, started_by=started_by, extra=extra
    )
    assert structure(unstructure(wf), WorkflowInstance) == wf


@given(started=aware, number_as_string=ids.map(str))
def test_wire_quirks_survive_a_round_trip(started: dt.datetime, number_as_string: str) -> None:
    row = {
        "ID": number_as_string,
        "MODIFIED": started.isoformat(),
        "STATUS": "3",
        "ACTIVITY": "ReviewActivity",
    }
    task = structure(row, Task)
    assert task.modified == started and task.modified.utcoffset() == started.utcoffset()
    assert structure(unstructure(task), Task) == task
    assert unstructure(task)["ID"] == int(number_as_string)


@given(
    name=localized,
    required=st.booleans(),
    multiple=st.booleans(),
    kind=st.sampled_from(list(PropertyType)),
    options=st.none() | st.dictionaries(text, text),
)
def test_property_round_trip(
    name: Any, required: bool, multiple: bool, kind: PropertyType, options: dict[str, str] | None
) -> None:
    prop = Property(name=name, type=kind, required=required, multiple=multiple, options=options)
    wire = unstructure(prop)
    assert wire["Required"] in ("Y", "N") and wire["Multiple"] in ("Y", "N")
    back = structure(wire, Property)
    assert back.name == name and back.required == required and back.type is kind
    assert back.options == (options or None) or back.options == options


@given(flags=st.integers(0, 3), modified=aware, is_modified=st.booleans(), tpl_id=ids)
def test_template_round_trip(flags: int, modified: dt.datetime, is_modified: bool, tpl_id: int) -> None:
    tpl = Template(id=tpl_id, auto_execute=AutoExecute(flags), modified=modified, is_modified=is_modified)
    assert structure(unstructure(tpl), Template) == tpl


class _Celsius(float):
    """A type of this test's own, so registering its hooks changes nothing else."""


@attrs.frozen
class _Reading:
    temperature: _Celsius | None = attrs.field(default=None, metadata=wire("TEMPERATURE"))
    place: str | None = attrs.field(default=None, metadata=wire("PLACE"))
    extra: dict[str, Any] = attrs.field(factory=dict)


def test_a_hook_registered_after_a_model_was_read_is_used_from_then_on() -> None:
    """Model and optional hooks are built once per type (issue 17), never kept past a new registration."""
    converter.register_structure_hook(_Celsius, lambda v, _: _Celsius(float(v)))
    assert structure({"TEMPERATURE": "21.5", "place": "hall"}, _Reading) == _Reading(_Celsius(21.5), "hall")
    converter.register_structure_hook(_Celsius, lambda v, _: _Celsius(float(v) - 273.15))
    assert structure({"TEMPERATURE": "300"}, _Reading).temperature == pytest.approx(26.85)
    assert structure({"TEMPERATURE": "", "PLACE": ""}, _Reading) == _Reading(None, "")  # empties as before
    assert structure({"TEMPERATURE": "hot"}, _Reading) == _Reading(extra={"TEMPERATURE": "hot"})


def test_reading_many_users_gives_the_same_models_each_time() -> None:
    row = {"ID": "7", "ACTIVE": "Y", "NAME": "Ann", "UF_DEPARTMENT": ["1", 2], "LAST_LOGIN": "", "X": []}
    first = structure(row, User)
    assert first == User(id=7, active=True, name="Ann", departments=[1, 2], extra={"X": []})
    assert all(structure(dict(row), User) == first for _ in range(3))


@attrs.frozen
class _Probe:
    """A wire model of this test's own: fields in upper and mixed case, hooks that can fail."""

    id: int | None = attrs.field(default=None, metadata=wire("ID"))
    title: str | None = attrs.field(default=None, metadata=wire("Title"))
    when: dt.datetime | None = attrs.field(default=None, metadata=wire("WHEN"))
    extra: dict[str, Any] = attrs.field(factory=dict)


_PROBE_FIELDS = {"ID": "id", "TITLE": "title", "WHEN": "when"}


def _probe_by_the_rule(row: dict[Any, Any]) -> _Probe:
    """The rule: a key finds its field in any case, else goes to ``extra``; so does a value that fails."""
    kwargs: dict[str, Any] = {}
    extra: dict[Any, Any] = {}
    for key, raw in row.items():
        name = _PROBE_FIELDS.get(str(key).upper())
        if name is None:
            extra[key] = raw
            continue
        try:
            kwargs[name] = converter.structure(raw, attrs.fields_dict(_Probe)[name].type)
        except (ValueError, TypeError):
            extra[key] = raw
    return _Probe(**kwargs, extra=extra)


_probe_keys = st.sampled_from(
    ["ID", "id", "Id", "Title", "TITLE", "title", "WHEN", "when", "OTHER", "x", 1, 0]
)
_probe_values = st.sampled_from(
    ["7", 7, "x", "", None, [], {}, "2024-08-29T10:29:54+03:00", "24.08.2023", 1.5]
)


@given(rows=st.lists(st.dictionaries(_probe_keys, _probe_values, max_size=8), min_size=1, max_size=4))
def test_every_key_is_read_by_the_model_rule_however_often_a_model_is_read(
    rows: list[dict[Any, Any]],
) -> None:
    """The steps a model remembers per wire key (issue 17) read every row as the rule does, in order."""
    for row in rows:
        assert structure(row, _Probe) == _probe_by_the_rule(row)


def test_a_row_with_more_keys_than_a_model_remembers_is_read_whole() -> None:
    row = {f"UF_{n}": n for n in range(2000)} | {"id": "5", "TITLE": "t"}
    for _ in range(2):
        probe = structure(row, _Probe)
        assert probe.id == 5 and probe.title == "t" and len(probe.extra) == 2000


@attrs.frozen
class _Readings:
    """Lists and maps of this test's own type: their item hooks are kept too (issue 17)."""

    series: list[_Celsius] | None = attrs.field(default=None, metadata=wire("SERIES"))
    by_room: dict[str, _Celsius] | None = attrs.field(default=None, metadata=wire("BY_ROOM"))
    extra: dict[str, Any] = attrs.field(factory=dict)


def test_a_hook_registered_later_is_used_for_list_items_and_map_values_too() -> None:
    converter.register_structure_hook(_Celsius, lambda v, _: _Celsius(float(v)))
    row = {"SERIES": ["1", 2], "BY_ROOM": {"hall": "3"}}
    assert structure(row, _Readings) == _Readings([_Celsius(1.0), _Celsius(2.0)], {"hall": _Celsius(3.0)})
    assert structure(["5"], list[_Celsius]) == [_Celsius(5.0)]
    converter.register_structure_hook(_Celsius, lambda v, _: _Celsius(float(v) * 10))
    assert structure(row, _Readings) == _Readings([_Celsius(10.0), _Celsius(20.0)], {"hall": _Celsius(30.0)})
    assert structure(["5"], list[_Celsius]) == [_Celsius(50.0)]
    assert structure({"SERIES": [], "BY_ROOM": []}, _Readings) == _Readings([], {})  # PHP's empty array
