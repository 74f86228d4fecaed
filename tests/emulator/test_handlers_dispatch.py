"""dispatch(): method lookup, scope / app-context / admin checks, and no Python exception for any input."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bitrix_bizproc.emulator.context import PortalError
from bitrix_bizproc.emulator.handlers import HANDLERS, dispatch
from bitrix_bizproc.emulator.seed import seed
from bitrix_bizproc.protocol.methods import METHODS

from ._handler_support import ADMIN, APP, call, context, error_of, fail, make_state


def test_every_registered_method_has_a_handler() -> None:
    assert set(HANDLERS) == {name for name in METHODS if name != "batch"}


@pytest.mark.parametrize("name", ["bizproc.nope", "batch", "crm.deal.list", ""])
def test_unknown_methods(name: str) -> None:
    err = fail(make_state(), ADMIN, name)
    assert (err.code, err.description, err.status) == ("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)


def test_method_names_are_case_insensitive() -> None:
    state = make_state()
    assert dispatch(state, ADMIN, "BizProc.Workflow.Instances.json", {}).total == 0


def test_scope_is_checked_first() -> None:
    state = make_state()
    err = fail(state, context(scopes="user"), "bizproc.task.list")
    assert (err.code, err.status) == ("insufficient_scope", 401)  # as live portals (b24pysdk errors)


@pytest.mark.parametrize(
    "method", sorted(name for name, info in METHODS.items() if info.admin_only and not info.app_context)
)
def test_admin_only_methods(method: str) -> None:
    err = fail(make_state(), context(3, admin=False), method)
    assert (err.code, err.description, err.status) == ("ACCESS_DENIED", "Access denied!", 403)


@pytest.mark.parametrize("method", sorted(name for name, info in METHODS.items() if info.app_context))
def test_app_context_methods_refuse_webhooks(method: str) -> None:
    # Bitrix\Rest\AccessException writes "Access denied! " before the detail and answers 403
    # (avshatalov48/bitrix-core-business modules/rest/lib/accessexception.php); the docs' tables drop it
    expected = ("ACCESS_DENIED", "Access denied! Application context required")
    assert error_of(make_state(), ADMIN, method) == expected


def test_users_may_call_task_and_event_methods() -> None:
    state = make_state()
    user = context(3, admin=False)
    assert call(state, user, "bizproc.task.list").total == 0
    assert error_of(state, user, "bizproc.event.send", event_token="x")[0] == "ACCESS_DENIED"


_SEEDED = make_state()
seed(_SEEDED, users=5, templates=4, instances=30, seed=1)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["", "0", "-1", "Y", "N", "DESC", "user_2", "DEAL_1", "2024-01-01", ">ID", "ID"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=6)
            | st.sampled_from(["ID", ">ID", "!STATUS", "NAME", "0", "1", "fileData", "INCLUDE"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "ID",
        "FILTER",
        "SELECT",
        "ORDER",
        "START",
        "TEMPLATE_ID",
        "DOCUMENT_ID",
        "DOCUMENT_TYPE",
        "PARAMETERS",
        "NAME",
        "TEMPLATE_DATA",
        "AUTO_EXECUTE",
        "FIELDS",
        "TASK_ID",
        "STATUS",
        "TASK_IDS",
        "FROM_USER_ID",
        "TO_USER_ID",
        "CODE",
        "HANDLER",
        "PROPERTIES",
        "RETURN_PROPERTIES",
        "EVENT_TOKEN",
        "LOG_MESSAGE",
        "RETURN_VALUES",
        "SORT",
        "ACTIVE",
        "COMMENT",
        "USE_PLACEMENT",
        "PLACEMENT_HANDLER",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(sorted(HANDLERS)),
    params=st.dictionaries(_keys, _values, max_size=5),
    as_app=st.booleans(),
)
def test_any_input_gets_a_result_or_a_portal_error(method: str, params: dict[str, Any], as_app: bool) -> None:
    try:
        result = dispatch(_SEEDED, APP if as_app else ADMIN, method, params)
    except PortalError as err:
        assert isinstance(err.code, str) and err.description and 400 <= err.status < 500
    else:
        assert result.total is None or result.total >= 0
