"""Mass termination through the gateway: the same job, the same outcome report as through a webhook."""

from __future__ import annotations

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.jobs import JobReport, ReportOutcome, terminate_workflows

from .conftest import DEAL_TYPE, Connect


def _seed(portal: EmulatedPortal) -> tuple[int, set[str]]:
    """Two templates; 130 instances of the first (three pages and more) and 20 of the second."""
    first = portal.state.add_template("Approval", DEAL_TYPE)
    second = portal.state.add_template("Review", DEAL_TYPE)
    doomed = portal.state.add_instances(130, template_id=first.id)
    portal.state.add_instances(20, template_id=second.id)
    return first.id, {w.id for w in doomed}


def _summary(report: JobReport) -> tuple[object, ...]:
    outcomes = {o: report.count(o) for o in ReportOutcome}
    return report.action, report.matched, report.processed, report.remaining, report.ok, outcomes


@pytest.mark.parametrize("mode", ["terminate", "kill"])
async def test_mass_termination_reports_as_through_a_webhook(
    fake_time: object, gateway: VibecodeGateway, connect: Connect, key: str, mode: str
) -> None:
    reports: list[JobReport] = []
    for via_gateway in (False, True):
        portal = EmulatedPortal()
        template_id, doomed = _seed(portal)
        if via_gateway:
            from bitrix_bizproc.emulator.vibecode import add_vibecode_routes

            gw = add_vibecode_routes(portal.app, portal)
        async with portal:
            if via_gateway:
                client = connect(gw.add_key())
            else:
                client = BizprocClient.from_webhook(portal.webhook_url, limiter="off")
            report = await terminate_workflows(client, filter={"TEMPLATE_ID": template_id}, mode=mode, status=None)
            await client.aclose()
            gone = set(portal.state.killed) if mode == "kill" else set(portal.state.finished)
            assert gone == doomed and portal.state.running_count == 20
        reports.append(report)
    webhook, vibecode = reports
    assert _summary(vibecode) == _summary(webhook)
    assert vibecode.count(ReportOutcome.DONE) == 130
