"""Hooks (issue 18) where other branches' behaviour meets them: a batch waiting out a method's operating
block (issue 13) and a renamed portal (issue 12) are reported like any other wait and any other host."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bitrix_bizproc import BizprocClient, RetryPolicy
from bitrix_bizproc._observe import AnswerEvent, Event, RequestEvent, ThrottleEvent
from bitrix_bizproc.emulator import EmulatedPortal, ManualClock, Plan, PortalConfig
from bitrix_bizproc.jobs import ReportOutcome, instance_filter, terminate_workflows
from tests.jobs._seed import CUTOFF, PortalFactory, seed_instances
from tests.session.test_redirects import _OldHost, _on_old_host, old_host  # noqa: F401 - a fixture


async def test_a_batch_waiting_for_a_methods_operating_reset_is_a_throttle_event(
    portal_factory: PortalFactory,
) -> None:
    clock = ManualClock()
    config = PortalConfig(plan=Plan.custom(rate=None, burst=0, operating_limit=30.0))
    config.method_processing["bizproc.workflow.terminate"] = 0.5  # 61 terminations fit in the budget
    portal = await portal_factory(config, clock=clock)
    seed_instances(portal, old=100)
    events: list[Event] = []

    async def sleep(seconds: float) -> None:
        clock.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    async with BizprocClient.from_webhook(
        portal.webhook_url,
        limiter=None,
        retry=RetryPolicy(backoff=0.01),
        clock=clock,
        sleep=sleep,
        hooks=[events.append],
    ) as client:
        report = await terminate_workflows(
            client, filter=instance_filter(started_before=CUTOFF), concurrency=1, verify=False
        )
    assert report.count(ReportOutcome.DONE) == 100
    waits = [e for e in events if isinstance(e, ThrottleEvent)]
    # The third batch waited for bizproc.workflow.terminate's reset before it was sent: the wait is seen.
    assert [e.method for e in waits] == ["bizproc.workflow.terminate"]
    assert waits[0].waited > 0


async def test_after_a_portal_moved_events_name_the_new_host(
    portal: EmulatedPortal,
    old_host: Callable[[int, Callable[[str], str]], _OldHost],  # noqa: F811
) -> None:
    moved = old_host(301, lambda path: portal.base_url + path)
    webhook = _on_old_host(portal, await moved.start())
    events: list[Event] = []
    async with BizprocClient.from_webhook(webhook, limiter=None, hooks=[events.append]) as client:
        await client.call("user.get", {"ID": 1})  # moved on this one
        await client.call("user.get", {"ID": 1})  # sent to the new host directly
    new_host = portal.base_url.split("/")[2]
    sent = [e for e in events if isinstance(e, RequestEvent | AnswerEvent)]
    assert len(sent) == 4
    assert [e.host for e in sent[2:]] == [new_host, new_host]
