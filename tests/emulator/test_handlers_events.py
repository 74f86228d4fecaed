"""bizproc.event.send and bizproc.activity.log with event tokens, called directly."""

from __future__ import annotations

import pytest

from bitrix_bizproc.emulator.state import PortalState

from ._handler_support import ADMIN, APP, DEAL, call, context, error_of, make_state

USER = context(3, admin=False, app="app.one")


@pytest.fixture
def state() -> PortalState:
    state = make_state()
    state.start_workflow(state.add_template("t", DEAL), "DEAL_1", 1)
    return state


def _wid(state: PortalState) -> str:
    return next(iter(state.instances)).id


def test_send_delivers_return_values_once(state: PortalState) -> None:
    token = state.make_event_token(_wid(state), app_id="app.one", code="md5")
    assert (
        call(
            state,
            USER,
            "bizproc.event.send",
            event_token=token,
            return_values={"hash": "abc"},
            log_message="done",
        ).result
        is True
    )
    assert state.event_tokens[token].return_values == {"hash": "abc"}
    assert [e.message for e in state.activity_log] == ["done"]
    assert error_of(state, USER, "bizproc.event.send", event_token=token) == (
        "ACCESS_DENIED",
        "Access denied!",
    )


@pytest.mark.parametrize("case", ["missing", "unknown", "other_app", "no_subscription", "terminated"])
def test_send_refuses_bad_tokens(state: PortalState, case: str) -> None:
    token = state.make_event_token(_wid(state), app_id="app.one", use_subscription=case != "no_subscription")
    if case == "terminated":
        state.terminate(_wid(state))
    params = {
        "missing": {},
        "unknown": {"event_token": token + "x"},
        "other_app": {"event_token": token},
    }.get(case, {"event_token": token})
    ctx = context(app="app.two") if case == "other_app" else USER
    err = error_of(state, ctx, "bizproc.event.send", **params)
    assert (err, state.event_tokens[token].return_values) == (("ACCESS_DENIED", "Access denied!"), None)


def test_log_writes_to_the_workflow_log(state: PortalState) -> None:
    token = state.make_event_token(_wid(state), app_id="app.one")
    assert call(state, APP, "bizproc.activity.log", event_token=token, log_message="step 1").result is True
    assert [(e.workflow_id, e.message) for e in state.activity_log] == [(_wid(state), "step 1")]
    assert error_of(state, APP, "bizproc.activity.log", event_token=token, log_message=" ") == (
        "ERROR_EMPTY_LOG_MESSAGE",
        "Empty log message!",
    )
    assert error_of(state, APP, "bizproc.activity.log", event_token="forged", log_message="x") == (
        "ACCESS_DENIED",
        "Access denied!",
    )


def test_a_workflow_reaching_an_app_activity_issues_a_token() -> None:
    state = make_state()
    call(state, APP, "bizproc.robot.add", code="md5", handler="https://a.example.com/h", name="MD5")
    call(
        state,
        APP,
        "bizproc.activity.add",
        code="quiet",
        handler="https://a.example.com/h",
        name="Q",
        use_subscription="N",
    )
    template = state.add_template(
        "t",
        DEAL,
        tasks=[{"activity": "RestActivity", "code": "md5"}, {"activity": "RestActivity", "code": "quiet"}],
    )
    wid = call(
        state,
        ADMIN,
        "bizproc.workflow.start",
        template_id=template.id,
        document_id=["crm", "CCrmDocumentDeal", "DEAL_2"],
    ).result
    waiting, quiet = state.tokens_of(wid)
    assert (
        call(state, APP, "bizproc.event.send", event_token=waiting, return_values={"md5": "x"}).result is True
    )
    assert error_of(state, APP, "bizproc.event.send", event_token=quiet)[0] == "ACCESS_DENIED"
