"""The HTTP layer over the real bizproc handlers: scopes, rights, app context, lists, state integrity."""

from __future__ import annotations

from bitrix_bizproc.emulator import EmulatedPortal

from .conftest import Post


async def test_scopes_are_enforced_per_credential(portal: EmulatedPortal, post: Post) -> None:
    hook = portal.add_webhook(1, scopes=["user"])
    # HTTP 401 on a live portal (bitrix24/b24pysdk b24pysdk/errors/__init__.py: BitrixAPIInsufficientScope is
    # a 401 error, checked by tests/integration/errors/test_errors.py); the docs' table says 403
    status, body = await post(hook + "bizproc.workflow.instances", json={})
    assert (status, body["error"]) == (401, "insufficient_scope")
    assert body["error_description"].endswith("provided by the webhook token")
    assert (await post(hook + "user.get", json={}))[0] == 200
    token = portal.issue_tokens(scopes=["bizproc"])["access_token"]
    status, body = await post(portal.rest_url + "user.get", json={"auth": token})
    assert (status, body["error"]) == (401, "insufficient_scope")
    assert body["error_description"].endswith("provided by the access token")


async def test_non_admins_and_webhooks_are_refused_where_the_portal_refuses(
    portal: EmulatedPortal, post: Post
) -> None:
    portal.state.add_user("Ann", "Lee", id=1, is_admin=True)
    portal.state.add_user("Bob", "Ray", id=2)
    status, body = await post(portal.add_webhook(2) + "bizproc.workflow.instances", json={})
    assert (status, body["error"]) == (403, "ACCESS_DENIED")
    assert (await post(portal.add_webhook(2) + "bizproc.task.list", json={}))[0] == 200
    status, body = await post(portal.webhook_url + "bizproc.robot.list", json={})
    assert body["error"] == "ACCESS_DENIED" and "Application context" in body["error_description"]
    token = portal.issue_tokens(user_id=1)["access_token"]
    assert (await post(portal.rest_url + "bizproc.robot.list", json={"auth": token}))[0] == 200


async def test_lists_page_with_total_and_next(portal: EmulatedPortal, post: Post) -> None:
    portal.state.add_instances(120)
    status, first = await post(
        portal.webhook_url + "bizproc.workflow.instances", json={"order": {"ID": "ASC"}}
    )
    assert status == 200 and (first["total"], first["next"], len(first["result"])) == (120, 50, 50)
    _, last = await post(portal.webhook_url + "bizproc.workflow.instances", json={"start": 100})
    assert len(last["result"]) == 20 and "next" not in last


async def test_batch_over_real_methods_and_references(portal: EmulatedPortal, post: Post) -> None:
    portal.state.add_instances(3)
    cmd = {
        "list": "bizproc.workflow.instances?select[0]=ID&order[ID]=ASC",
        "kill": "bizproc.workflow.kill?ID=$result[list][0][ID]",
        "again": "bizproc.workflow.instances?select[0]=ID",
        "nope": "no.such.method",
    }
    status, body = await post(portal.webhook_url + "batch", json={"cmd": cmd})
    result = body["result"]
    assert status == 200 and result["result_total"] == {"list": 3, "again": 2}
    assert result["result_error"]["nope"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert len(portal.state.instances) == 2


async def test_bad_parameter_types_answer_4xx_and_leave_state_alone(
    portal: EmulatedPortal, post: Post
) -> None:
    portal.state.add_instances(2)
    before = portal.state.counts()
    bad_calls = [
        ("bizproc.workflow.kill", {"ID": {"a": 1}}),
        ("bizproc.workflow.terminate", {"ID": ["x"]}),
        ("bizproc.workflow.start", {"TEMPLATE_ID": {"x": 1}, "DOCUMENT_ID": "deal"}),
        ("bizproc.workflow.instances", {"FILTER": "nonsense", "START": "abc", "ORDER": 5}),
        ("bizproc.task.complete", {"TASK_ID": [1], "STATUS": {"a": "b"}}),
        ("user.get", {"FILTER": [1, 2], "start": {"x": 1}}),
    ]
    for method, params in bad_calls:
        status, body = await post(portal.webhook_url + method, json=params)
        assert status < 500, (method, body)
    assert portal.state.counts() == before
    assert portal.counters.internal_errors == 0
