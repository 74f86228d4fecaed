"""Typed filters, and the per-method checks that stop a typo from widening a result."""

from __future__ import annotations

import datetime as dt

import pytest

from bitrix_bizproc.models import AutoExecute, F, Filter, FilterLike, TaskActivity, TaskStatus
from bitrix_bizproc.models.filters import TASK_SPEC, TEMPLATE_SPEC, USER_SPEC, WORKFLOW_SPEC, ListSpec
from bitrix_bizproc.protocol.batch import Ref
from bitrix_bizproc.protocol.encoding import encode_query, normalize
from bitrix_bizproc.protocol.errors import ValidationError

CUTOFF = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_operators_build_wire_keys() -> None:
    conditions = Filter(
        F.STARTED < CUTOFF,
        F.MODIFIED <= CUTOFF,
        F.TEMPLATE_ID > 1,
        F.STARTED_BY >= 2,
        F.ID != "x",
        F.ENTITY == "E",
    )
    assert WORKFLOW_SPEC.check_filter(conditions) == {
        "<STARTED": CUTOFF,
        "<=MODIFIED": CUTOFF,
        ">TEMPLATE_ID": 1,
        ">=STARTED_BY": 2,
        "!ID": "x",
        "ENTITY": "E",
    }


def test_and_keywords_and_single_conditions() -> None:
    combined = (F.status == 0) & (F.USER_ID == 15) & Filter(ACTIVITY="ApproveActivity")
    assert TASK_SPEC.check_filter(combined) == {"STATUS": 0, "USER_ID": 15, "ACTIVITY": "ApproveActivity"}
    assert TASK_SPEC.check_filter(F.USER_ID == 15) == {"USER_ID": 15}


def test_datetimes_go_out_as_iso_with_offset() -> None:
    wire = normalize({"FILTER": WORKFLOW_SPEC.check_filter(F.STARTED < CUTOFF)})
    assert wire == {"FILTER": {"<STARTED": "2024-01-01T00:00:00+00:00"}}
    assert encode_query(wire) == "FILTER[%3CSTARTED]=2024-01-01T00%3A00%3A00%2B00%3A00"


def test_plain_dicts_are_checked_and_upper_cased() -> None:
    # "!=" is sent as "!", the spelling the portal reads (see test_filter_operators)
    assert WORKFLOW_SPEC.check_filter({"<started": CUTOFF, "!=ID": "a"}) == {"<STARTED": CUTOFF, "!ID": "a"}


@pytest.mark.parametrize(
    ("spec", "bad"),
    [
        (WORKFLOW_SPEC, {"<STARTD": CUTOFF}),  # typo in the field
        (WORKFLOW_SPEC, {"%DOCUMENT_ID": "DEAL"}),  # operator the method lacks
        (WORKFLOW_SPEC, {"~ID": 1}),  # no such operator at all
        (WORKFLOW_SPEC, {"<STARTED": 1, "<started": 2}),  # the same key twice
        (WORKFLOW_SPEC, ["ID"]),
        (TASK_SPEC, {"USERID": 5}),
        (TEMPLATE_SPEC, {"@ID": [1, 2]}),
        (USER_SPEC, {"><ID": [1, 2]}),
    ],
)
def test_unknown_fields_and_operators_are_refused(spec: object, bad: object) -> None:
    with pytest.raises(ValidationError):
        spec.check_filter(bad)  # type: ignore[attr-defined]


def test_the_same_condition_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="only one"):
        Filter(F.ID > 1, F.ID > 5).to_wire()


def test_user_get_has_more_operators_and_open_custom_fields() -> None:
    checked = USER_SPEC.check_filter(
        Filter(F.ID.isin([1, 2]), F.NAME.contains("Jo"), F.LAST_NAME.like("%son"), F.UF_DEPARTMENT == 5)
    )
    assert checked == {"@ID": [1, 2], "%NAME": "Jo", "=%LAST_NAME": "%son", "UF_DEPARTMENT": 5}
    assert USER_SPEC.check_filter({"!@ID": [3], "ACTIVE": False}) == {"!@ID": [3], "ACTIVE": False}


def test_select_and_order() -> None:
    assert TASK_SPEC.check_select(["id", "WORKFLOW_ID"]) == ["ID", "WORKFLOW_ID"]
    assert TASK_SPEC.check_order({"id": "desc"}) == {"ID": "DESC"}
    assert USER_SPEC.check_select(["*", "UF_*", "UF_PHONE_INNER"]) == ["*", "UF_*", "UF_PHONE_INNER"]
    for bad in (lambda: TASK_SPEC.check_select(["WORKFLOWID"]), lambda: TASK_SPEC.check_select("ID")):
        with pytest.raises(ValidationError):
            bad()
    for order in ({"ID": "up"}, {"NOPE": "ASC"}):
        with pytest.raises(ValidationError):
            WORKFLOW_SPEC.check_order(order)


def test_filter_refuses_non_conditions() -> None:
    with pytest.raises(ValidationError):
        Filter({"ID": 1})  # type: ignore[arg-type]


UTC3 = dt.timezone(dt.timedelta(hours=3))


@pytest.mark.parametrize(
    ("spec", "wire"),
    [
        (TASK_SPEC, {"STATUS": TaskStatus.IN_PROGRESS, "USER_ID": "15", "!USER_STATUS": 0}),
        (TASK_SPEC, {"STATUS": [0, 4], "!ID": [1, "2"]}),  # the IN form on equality operators
        (TASK_SPEC, {"ACTIVITY": TaskActivity.APPROVE, "DOCUMENT_ID": 7, "WORKFLOW_ID": None}),
        (WORKFLOW_SPEC, {"<STARTED": CUTOFF, ">=MODIFIED": dt.date(2024, 1, 1), "!OWNED_UNTIL": None}),
        (WORKFLOW_SPEC, {"<STARTED": "2024-01-01", ">STARTED": "2023-12-31T09:00:00+03:00"}),
        (WORKFLOW_SPEC, {"<MODIFIED": "2024-01-01T00:00:00Z", "TEMPLATE_ID": -1, "ID": ["a.1", "b.2"]}),
        (WORKFLOW_SPEC, {"STARTED_BY": Ref("u")[0]["ID"]}),  # a batch reference is resolved by the portal
        (
            TEMPLATE_SPEC,
            {"AUTO_EXECUTE": AutoExecute.CREATE, "IS_MODIFIED": "Y", "DOCUMENT_TYPE": ["crm", "X", "Y"]},
        ),
        (
            USER_SPEC,
            {"ACTIVE": False, "@ID": [1, "2"], ">LAST_LOGIN": CUTOFF.astimezone(UTC3), "UF_X": {"a": 1}},
        ),
    ],
)
def test_values_that_fit_their_field_pass_unchanged(spec: ListSpec, wire: dict[str, object]) -> None:
    assert spec.check_filter(wire) == wire


@pytest.mark.parametrize(
    ("spec", "wire", "complaint"),
    [
        (TASK_SPEC, {"STATUS": "open"}, r"STATUS with operator '=' takes an integer.*not str 'open'"),
        (TASK_SPEC, F.user_id == 1.5, r"USER_ID with operator '=' takes an integer.*not float"),
        (TASK_SPEC, F.status == True, r"STATUS .* not bool"),  # noqa: E712
        (
            WORKFLOW_SPEC,
            F.started < "yesterday",
            r"STARTED with operator '<' takes a timezone-aware.*str 'yes",
        ),
        (WORKFLOW_SPEC, F.started < dt.datetime(2024, 1, 1), r"STARTED .*naive|UTC offset"),
        (WORKFLOW_SPEC, {"<STARTED": "2024-01-01T10:00:00"}, r"without a UTC offset"),
        (WORKFLOW_SPEC, {"<STARTED": "01.01.2024"}, r"ISO 8601.*not str '01.01.2024'"),
        (WORKFLOW_SPEC, {"<STARTED": 1704067200}, r"STARTED .* not int"),
        (
            WORKFLOW_SPEC,
            {"<TEMPLATE_ID": [1, 2]},
            r"TEMPLATE_ID with operator '<' takes one value, not a list",
        ),
        (WORKFLOW_SPEC, {"TEMPLATE_ID": []}, r"non-empty list"),
        (WORKFLOW_SPEC, {"TEMPLATE_ID": [1, "x"]}, r"TEMPLATE_ID .* not str 'x'"),
        (WORKFLOW_SPEC, {"TEMPLATE_ID": {"a": 1}}, r"not dict"),
        (WORKFLOW_SPEC, {">STARTED": None}, r"cannot compare with None"),
        (WORKFLOW_SPEC, {"ENTITY": True}, r"ENTITY .* takes a string, not bool"),
        (TEMPLATE_SPEC, {"IS_MODIFIED": "yes"}, r"IS_MODIFIED .* True/False or 'Y'/'N'"),
        (USER_SPEC, {"ID": [1, 2]}, r"ID with operator '=' takes one value"),  # user.get: IN is '@'
    ],
)
def test_values_of_the_wrong_kind_are_refused(spec: ListSpec, wire: FilterLike, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint) as info:
        spec.check_filter(wire)
    assert info.value.code == "CLIENT_VALIDATION" and info.value.description.startswith(spec.method)
