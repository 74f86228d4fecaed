"""``PORTAL_DELETED`` is permanent: never retried, and it stops a job at the first refused chunk.

The official docs list it (``_includes/system-errors.md``: HTTP 500, "Portal was deleted", the public part
closed); reviewers report HTTP 410 Gone on the wire (not found in the stored b24pysdk sources). Either way
it is permanent. Before the fix it was a retryable ServerError: each chunk was retried against a portal
that no longer exists.
"""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient, RetryPolicy
from bitrix_bizproc._transport import AiohttpTransport, HttpRequest, HttpResponse
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.jobs import JobAbortedError, ReportOutcome, terminate_workflows
from bitrix_bizproc.protocol import errors as e
from bitrix_bizproc.protocol.retry import classify

from ._seed import seed_instances
from .test_terminate import BEFORE

GONE = (410, b'{"error":"PORTAL_DELETED","error_description":"Portal was deleted"}')


class _PortalDeletedWhileTerminating(AiohttpTransport):
    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def send(self, request: HttpRequest) -> HttpResponse:
        if request.url.endswith("/batch") and b"bizproc.workflow.terminate" in (request.body or b""):
            self.refused += 1
            return HttpResponse(GONE[0], GONE[1], {"Content-Type": "application/json"})
        return await super().send(request)


@pytest.mark.parametrize("status", [410, 500, None])  # 410 on the wire; the docs' table says 500
def test_portal_deleted_is_permanent(status: int | None) -> None:
    error = e.error_from_code("PORTAL_DELETED", "Portal was deleted", status=status)
    assert isinstance(error, e.PortalDeletedError) and not isinstance(error, e.ServerError)
    assert not error.retryable and classify(error) is None


def test_a_410_without_a_known_code_is_a_deleted_portal() -> None:
    assert isinstance(e.error_from_code("", "Gone", status=410), e.PortalDeletedError)


def test_uppercase_invalid_scope_is_insufficient_scope() -> None:
    """b24pysdk's error classes (bitrix24/b24pysdk, b24pysdk/error/__init__.py) name ``INVALID_SCOPE``."""
    assert isinstance(e.error_from_code("INVALID_SCOPE", "", status=403), e.InsufficientScopeError)


async def test_portal_deleted_stops_the_job_without_retrying(portal: EmulatedPortal) -> None:
    seed_instances(portal, old=120)
    transport = _PortalDeletedWhileTerminating()
    retry = RetryPolicy(backoff=0.01)
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter=None, transport=transport, retry=retry
    ) as client:
        with pytest.raises(JobAbortedError) as caught:
            await terminate_workflows(client, filter=BEFORE, concurrency=1)
    assert isinstance(caught.value.cause, e.PortalDeletedError)
    assert transport.refused == 1  # one send, no retry, no further chunk
    assert caught.value.report.count(ReportOutcome.DONE) == 0
    assert portal.state.running_count == 120
