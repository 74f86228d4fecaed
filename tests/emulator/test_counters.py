"""Point 8 (counters): requests, batches, commands, rejections by reason, token refreshes."""

from __future__ import annotations

from bitrix_bizproc.emulator import EmulatedPortal, Plan

from .conftest import Post


async def test_counters_follow_what_was_served(stub: EmulatedPortal, post: Post) -> None:
    await post(stub.webhook_url + "test.echo", json={})
    await post(stub.webhook_url + "batch", json={"cmd": ["test.echo", "test.list", "test.fail?CODE=E"]})
    await post(stub.rest_url + "test.echo", json={})
    stub.config.plan = Plan.custom(0.0, 0)
    await post(stub.webhook_url + "test.echo", json={})
    await post(stub.webhook_url + "test.echo", json={})
    counters = stub.counters
    assert (counters.requests, counters.batches, counters.commands) == (5, 1, 5)
    assert counters.methods["test.echo"] == 3 and counters.methods["test.list"] == 1
    assert dict(counters.rejections) == {"NO_AUTH_FOUND": 1, "QUERY_LIMIT_EXCEEDED": 1}
    assert dict(counters.command_errors) == {"E": 1}
    snapshot = counters.snapshot()
    assert (
        snapshot["rejections"] == {"NO_AUTH_FOUND": 1, "QUERY_LIMIT_EXCEEDED": 1}
        and snapshot["requests"] == 5
    )
    counters.reset()
    assert counters.snapshot()["requests"] == 0 and not counters.rejections
