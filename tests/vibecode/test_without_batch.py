"""A gateway without ``POST /v1/batch``: walks and jobs fall back to the single routes, and remember it.

Nothing in the gateway's docs (protocol-facts §8) says its batch carries workflow calls; a gateway that
answers ``/v1/batch`` with a plain 404 (no such route) must still list, terminate and kill.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc._vibecode import VibecodeSession
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.jobs import ReportOutcome, instance_filter, terminate_workflows
from bitrix_bizproc.protocol.errors import UnsupportedOperationError

from .conftest import DEAL_TYPE

DAY = 86_400.0


@pytest.fixture
def no_batch(gateway: VibecodeGateway) -> VibecodeGateway:
    """The emulated gateway with its ``/v1/batch`` route switched off."""
    gateway.batch = False
    return gateway


async def test_the_walk_falls_back_to_the_list_route_and_remembers(
    portal: EmulatedPortal, no_batch: VibecodeGateway, client: BizprocClient
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    made = {w.id for w in portal.state.add_instances(170)}  # four pages: the walk batches pages 2-4

    first = {w.id for w in await client.workflows.instances().collect()}
    again = {w.id for w in await client.workflows.instances().collect()}

    assert first == again == made
    assert no_batch.batches == 0
    assert no_batch.rejections["NO_BATCH_ROUTE"] == 1  # asked once; the second walk did not ask again
    assert isinstance(client.session, VibecodeSession) and client.session.batch_refused


@pytest.mark.parametrize("mode", ["terminate", "kill"])
async def test_mass_termination_without_the_batch_route(
    portal: EmulatedPortal,
    no_batch: VibecodeGateway,
    client: BizprocClient,
    mode: Literal["terminate", "kill"],
) -> None:
    template = portal.state.add_template("T", DEAL_TYPE)
    doomed = {w.id for w in portal.state.add_instances(120, template_id=template.id)}

    report = await terminate_workflows(client, filter={"TEMPLATE_ID": template.id}, mode=mode)

    assert report.count(ReportOutcome.DONE) == 120 and report.remaining == 0
    gone = portal.state.killed if mode == "kill" else portal.state.finished
    assert set(gone) == doomed and portal.state.running_count == 0
    assert no_batch.batches == 0


@pytest.mark.parametrize("batch_route", [True, False])
async def test_started_before_is_applied_on_the_client_before_anything_is_terminated(
    portal: EmulatedPortal, gateway: VibecodeGateway, client: BizprocClient, batch_route: bool
) -> None:
    gateway.batch = batch_route
    template = portal.state.add_template("T", DEAL_TYPE)
    now = portal.clock()
    old = {w.id for w in portal.state.add_instances(60, template_id=template.id, started=now - 40 * DAY)}
    young = {w.id for w in portal.state.add_instances(70, template_id=template.id, started=now - DAY)}
    cutoff = dt.datetime.fromtimestamp(now - 10 * DAY, tz=dt.UTC)

    dry = await terminate_workflows(client, filter=instance_filter(started_before=cutoff), dry_run=True)
    assert set(dry.planned) == old and portal.state.running_count == 130

    report = await terminate_workflows(client, filter=instance_filter(started_before=cutoff))

    assert report.matched == 60 and report.count(ReportOutcome.DONE) == 60
    assert report.excluded == [] and report.warnings == []  # not sent, so not "ignored by the portal"
    assert report.remaining == 0  # verified with the same client-side filter
    assert set(portal.state.finished) == old
    assert {w.id for w in await client.workflows.instances().collect()} == young


async def test_a_filter_the_gateway_lacks_still_stops_the_job_before_any_change(
    portal: EmulatedPortal, gateway: VibecodeGateway, client: BizprocClient
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    portal.state.add_instances(5)
    with pytest.raises(UnsupportedOperationError, match="MODULE_ID"):
        await terminate_workflows(client, filter={"MODULE_ID": "crm", "TEMPLATE_ID": 1})
    assert gateway.requests == 0 and portal.state.running_count == 5
