"""bizproc.activity.* and bizproc.robot.*: per-application actions and automation rules, called directly."""

from __future__ import annotations

from typing import Any

import pytest

from ._handler_support import APP, call, context, error_of, make_state

# the server's one text for both kinds (avshatalov48/bitrix-core-business modules/bizproc/lib/restservice.php;
# some English docs tables say "Automation rule" for "Robot")
MISSING = "Activity or Robot not found!"
KINDS = [("bizproc.activity", MISSING), ("bizproc.robot", MISSING)]
PROPS = {"docType": {"Name": {"en": "Document type"}, "Type": "select", "Options": {"pdf": "PDF"}}}


def _params(**overrides: Any) -> dict[str, Any]:
    return {
        "code": "md5_action",
        "handler": "https://app.example.com/handler",
        "name": "MD5",
        "properties": PROPS,
        **overrides,
    }


@pytest.mark.parametrize(("prefix", "_missing"), KINDS)
def test_add_list_update_delete(prefix: str, _missing: str) -> None:
    state = make_state()
    assert call(state, APP, f"{prefix}.add", **_params()).result is True
    assert call(state, APP, f"{prefix}.add", **_params(code="doc.action-2")).result is True
    assert call(state, APP, f"{prefix}.list").result == ["md5_action", "doc.action-2"]
    assert call(state, context(app="app.two"), f"{prefix}.list").result == []
    assert call(state, APP, f"{prefix}.update", code="md5_action", fields={"name": "Renamed"}).result is True
    assert state.activities[("app.one", "md5_action")].fields["NAME"] == "Renamed"
    assert call(state, APP, f"{prefix}.delete", code="md5_action").result is True
    assert call(state, APP, f"{prefix}.list").result == ["doc.action-2"]


def test_activities_and_robots_are_listed_apart_but_share_codes() -> None:
    state = make_state()
    call(state, APP, "bizproc.robot.add", **_params(code="shared"))
    assert call(state, APP, "bizproc.activity.list").result == []
    assert error_of(state, APP, "bizproc.activity.add", **_params(code="shared")) == (
        "ERROR_ACTIVITY_ALREADY_INSTALLED",
        "Activity or Robot already installed!",
    )
    assert error_of(state, APP, "bizproc.activity.delete", code="shared")[0] == "ERROR_ACTIVITY_NOT_FOUND"


def test_robot_already_installed_wording() -> None:
    state = make_state()
    call(state, APP, "bizproc.robot.add", **_params())
    assert error_of(state, APP, "bizproc.robot.add", **_params()) == (
        "ERROR_ACTIVITY_ALREADY_INSTALLED",
        "Activity or Robot already installed!",  # restservice.php addActivityInternal, robots and activities
    )


V = "ERROR_ACTIVITY_VALIDATION_FAILURE"


@pytest.mark.parametrize("prefix", ["bizproc.activity", "bizproc.robot"])
@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"code": ""}, (V, "Empty activity code!")),
        ({"code": "bad code!"}, (V, "Wrong activity code!")),
        (
            {"handler": "ftp://app.example.com/h"},
            ("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol"),
        ),
        ({"handler": "not a url"}, ("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")),
        ({"handler": "https://elsewhere.test/h"}, ("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")),
        ({"handler": ""}, ("ERROR_WRONG_HANDLER_URL", "Wrong handler URL")),
        ({"name": ""}, (V, "Empty activity NAME!")),
        ({"name": {"en": ""}}, (V, "Empty activity NAME!")),
        ({"properties": ["a"]}, (V, "Wrong properties array!")),
        ({"properties": {"1st": {"Name": "x"}}}, (V, "Wrong property key 1st!")),
        ({"properties": {"bad-key": {"Name": "x"}}}, (V, "Wrong property key bad-key!")),
        ({"return_properties": {"ok": {"Type": "string"}}}, (V, "Empty property NAME ok!")),
        ({"return_properties": {"ok": "string"}}, (V, "Wrong properties array!")),
        ({"document_type": ["crm", "CCrmDocumentDeal"]}, (V, "Wrong activity DOCUMENT_TYPE!")),
        ({"filter": {"SOMETIMES": ["box"]}}, (V, "Wrong activity FILTER!")),
        ({"filter": {"INCLUDE": [["crm", 5]]}}, (V, "Wrong activity FILTER!")),
        (
            {"use_placement": "Y", "placement_handler": "gopher://x.example.com"},
            ("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported handler protocol"),
        ),
    ],
)
def test_add_validation(prefix: str, overrides: dict[str, Any], expected: tuple[str, str]) -> None:
    state = make_state()
    state.register_app("app.one", "app.example.com")
    assert error_of(state, APP, f"{prefix}.add", **_params(**overrides)) == expected
    assert not state.activities


def test_add_accepts_filters_document_types_and_subdomains() -> None:
    state = make_state()
    state.register_app("app.one", "example.com")
    params = _params(
        handler="https://app.example.com/h",
        document_type=["crm", "CCrmDocumentDeal", "DEAL"],
        filter={"INCLUDE": [["lists"], ["crm", "CCrmDocumentDeal"]], "EXCLUDE": ["box"]},
        use_placement="Y",
    )
    assert call(state, APP, "bizproc.activity.add", **params).result is True
    stored = state.activities[("app.one", "md5_action")].fields
    assert stored["PLACEMENT_HANDLER"] == "https://app.example.com/h"


def test_add_with_no_parameters() -> None:
    state = make_state()
    assert error_of(state, APP, "bizproc.robot.add") == (V, "Empty data!")


@pytest.mark.parametrize(("prefix", "missing"), KINDS)
def test_update_and_delete_errors(prefix: str, missing: str) -> None:
    state = make_state()
    call(state, APP, f"{prefix}.add", **_params())
    assert error_of(state, APP, f"{prefix}.update", fields={"NAME": "x"}) == (V, "Empty activity code!")
    assert error_of(state, APP, f"{prefix}.update", code="a b", fields={"NAME": "x"}) == (
        V,
        "Wrong activity code!",
    )
    assert error_of(state, APP, f"{prefix}.update", code="nope", fields={"NAME": "x"}) == (
        "ERROR_ACTIVITY_NOT_FOUND",
        missing,
    )
    assert error_of(state, APP, f"{prefix}.update", code="md5_action") == (V, "No fields to update")
    assert error_of(state, APP, f"{prefix}.update", code="md5_action", fields={"HANDLER": "mailto:x"})[0] == (
        "ERROR_WRONG_HANDLER_URL"
    )
    # an empty NAME is skipped on update (restservice.php: `if (!empty($fields['NAME']))`), so nothing is left
    assert error_of(state, APP, f"{prefix}.update", code="md5_action", fields={"NAME": ""}) == (
        V,
        "No fields to update",
    )
    assert error_of(state, context(app="app.two"), f"{prefix}.delete", code="md5_action") == (
        "ERROR_ACTIVITY_NOT_FOUND",
        missing,
    )
    assert error_of(state, APP, f"{prefix}.delete") == (V, "Empty activity code!")
    assert error_of(state, APP, f"{prefix}.delete", code="x/y") == (V, "Wrong activity code!")
    assert state.activities[("app.one", "md5_action")].fields["NAME"] == "MD5"


@pytest.mark.parametrize("method", ["add", "update", "delete", "list"])
@pytest.mark.parametrize("prefix", ["bizproc.activity", "bizproc.robot"])
def test_app_context_and_admin_required(prefix: str, method: str) -> None:
    state = make_state()
    assert error_of(state, context(), f"{prefix}.{method}") == (
        "ACCESS_DENIED",
        "Access denied! Application context required",  # AccessException: rest/lib/accessexception.php
    )
    assert error_of(state, context(2, admin=False, app="app.one"), f"{prefix}.{method}") == (
        "ACCESS_DENIED",
        "Access denied!",
    )
