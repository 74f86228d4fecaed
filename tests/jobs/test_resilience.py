"""Both jobs through an OAuth client while the portal fails: 5xx, dropped connections, expired tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from bitrix_bizproc import BizprocClient, RetryPolicy
from bitrix_bizproc.emulator import EmulatedPortal, FaultKind
from bitrix_bizproc.jobs import (
    JobReport,
    Progress,
    ReportOutcome,
    instance_filter,
    offboard_employee,
    terminate_workflows,
)

from ._seed import CUTOFF, seed_dismissed_employee, seed_instances


@pytest.fixture
async def oauth_client(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    """An OAuth client whose tokens the portal can expire at will (it refreshes on ``expired_token``)."""
    tokens = portal.issue_tokens()
    app = portal.oauth_app
    async with BizprocClient.from_oauth(
        client_id=app.client_id,
        client_secret=app.client_secret,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        client_endpoint=portal.rest_url,
        token_url=portal.token_url,
        limiter=None,
        retry=RetryPolicy(backoff=0.01),
    ) as client:
        yield client


def troublemaker(portal: EmulatedPortal, action: str) -> Callable[[Progress], None]:
    """A progress callback that, as the work advances, expires tokens and scripts faults for later batches."""

    def on_progress(progress: Progress) -> None:
        if progress.phase != action:
            return
        if progress.done == 50:
            portal.auth.expire_access_tokens()
            portal.faults.inject(FaultKind.HTTP_500, method="batch")
            portal.faults.inject(FaultKind.DROP, method="batch")
        if progress.done == 150:
            portal.auth.expire_access_tokens()
            portal.faults.inject(FaultKind.HTTP_502, method="batch")
            portal.faults.inject(FaultKind.DROP, method="batch")

    return on_progress


def assert_survived(portal: EmulatedPortal, report: JobReport, expected: int) -> None:
    assert report.ok and report.remaining == 0
    assert report.count(ReportOutcome.DONE) + report.count(ReportOutcome.ALREADY_GONE) == expected
    assert portal.counters.token_refreshes == 2
    assert portal.counters.faults["drop"] == 2
    assert portal.counters.faults["http_500"] + portal.counters.faults["http_502"] == 2


async def test_terminate_survives_faults_and_token_expiry(
    portal: EmulatedPortal, oauth_client: BizprocClient
) -> None:
    seeded = seed_instances(portal, old=300, new=10)
    report = await terminate_workflows(
        oauth_client,
        filter=instance_filter(started_before=CUTOFF),
        progress=troublemaker(portal, "terminate"),
        concurrency=1,
    )
    assert_survived(portal, report, 300)
    assert set(portal.state.finished) == seeded.old


async def test_offboard_survives_faults_and_token_expiry(
    portal: EmulatedPortal, oauth_client: BizprocClient
) -> None:
    anna = seed_dismissed_employee(portal, workflows=220)
    report = await offboard_employee(
        oauth_client, user="Anna Petrova", progress=troublemaker(portal, "terminate"), concurrency=1
    )
    assert_survived(portal, report, 220)
    assert set(portal.state.finished) == anna.workflows
