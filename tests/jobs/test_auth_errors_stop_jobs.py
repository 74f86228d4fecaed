"""Issue 12 finding 1: an auth refusal is never "already gone"; it stops the job and leaves no trace as done.

The body is the real answer of a portal whose application was removed: HTTP 401
``{"error": "APPLICATION_NOT_FOUND", "error_description": "Application not found"}`` (issue 12, finding 1,
measured against a live portal). Before the fix "not found" in the text won over the status: 60 workflows,
0 terminated, ``already_gone: 60``, and a rerun with the same journal skipped all 60.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bitrix_bizproc import BizprocClient, InvalidCredentialsError
from bitrix_bizproc._transport import AiohttpTransport, HttpRequest, HttpResponse
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import JobAbortedError, Journal, Outcome, ReportOutcome, terminate_workflows

from ._seed import PortalFactory, seed_instances
from .test_terminate import BEFORE

APPLICATION_NOT_FOUND = (
    401,
    b'{"error":"APPLICATION_NOT_FOUND","error_description":"Application not found"}',
)


class _AppRemovedWhileTerminating(AiohttpTransport):
    """The portal's own transport, except that batches of terminations get the real 401 answer."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        if request.url.endswith("/batch") and b"bizproc.workflow.terminate" in (request.body or b""):
            self.refused += 1
            status, body = APPLICATION_NOT_FOUND
            return HttpResponse(status, body, {"Content-Type": "application/json"})
        return await super().send(request)


async def test_application_not_found_stops_the_job_and_a_rerun_skips_nothing(
    portal: EmulatedPortal, tmp_path: Path
) -> None:
    seeded = seed_instances(portal, old=60)
    journal = tmp_path / "j.jsonl"
    transport = _AppRemovedWhileTerminating()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None, transport=transport) as client:
        with pytest.raises(JobAbortedError) as caught:
            await terminate_workflows(client, filter=BEFORE, journal=journal, concurrency=1)
    report = caught.value.report
    assert isinstance(caught.value.cause, InvalidCredentialsError)
    assert report.count(ReportOutcome.ALREADY_GONE) == 0 and report.count(ReportOutcome.DONE) == 0
    assert "APPLICATION_NOT_FOUND" in (report.aborted or "")
    assert transport.refused == 1  # stopped at the first refused chunk
    entries = Journal(journal).entries("terminate")
    assert not [e for e in entries if e.outcome in (Outcome.DONE, Outcome.ALREADY_GONE)]
    assert portal.state.running_count == 60
    # the same journal, the application back: every one of the 60 is terminated now
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        again = await terminate_workflows(client, filter=BEFORE, journal=journal)
    assert again.count(ReportOutcome.DONE) == 60 and again.remaining == 0
    assert set(portal.state.finished) == seeded.old


def _refusing_every_command(code: str, description: str, status: int) -> object:
    from bitrix_bizproc.emulator.context import PortalError
    from bitrix_bizproc.emulator.handlers import dispatch

    def dispatcher(state: object, ctx: object, name: str, params: dict[str, object]) -> object:
        if name == "bizproc.workflow.terminate":
            raise PortalError(code, description, status)
        return dispatch(state, ctx, name, params)  # type: ignore[arg-type]

    return dispatcher


@pytest.mark.parametrize(
    ("code", "description", "status"),
    [
        ("APPLICATION_NOT_FOUND", "Application not found", 401),
        ("ERROR_METHOD_NOT_FOUND", "Method not found!", 404),  # _includes/system-errors.md-style 404
        ("", "Not found", 404),  # a 404 page without a code: nothing says the workflow is gone
    ],
)
async def test_only_workflow_not_found_counts_as_already_gone(
    portal_factory: PortalFactory, code: str, description: str, status: int
) -> None:
    portal = await portal_factory(dispatcher=_refusing_every_command(code, description, status))
    seed_instances(portal, old=10)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        try:
            report = await terminate_workflows(client, filter=BEFORE)
        except JobAbortedError as exc:
            report = exc.report
    assert report.count(ReportOutcome.ALREADY_GONE) == 0
    assert report.count(ReportOutcome.DONE) == 0


def test_the_real_body_is_an_auth_error() -> None:
    from bitrix_bizproc.protocol.envelope import parse_response

    status, body = APPLICATION_NOT_FOUND
    with pytest.raises(InvalidCredentialsError) as caught:
        parse_response(status, body, method="batch")
    assert caught.value.code == json.loads(body)["error"]
