"""Issue 12 finding 3, for the destructive job: it acts only on what the filter provably names.

On the portal ``{"DOCUMENT_ID": "DEAL_1"}`` is ``UPPER(DOCUMENT_ID) LIKE UPPER('DEAL_1')`` (CSQLWhere "E",
bitrix/main/classes/general/sqlwhere.php, public mirrors): ``_`` and ``%`` are wildcards. The job therefore
re-checks such a value against each listed row, and refuses patterns it cannot check.
"""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc import BizprocClient, ValidationError
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.handlers import dispatch
from bitrix_bizproc.jobs import ReportOutcome, terminate_workflows

from ._seed import PortalFactory, seed_instances


def _like_portal() -> Any:
    """Answers a DOCUMENT_ID condition the way a LIKE pattern may: wider than the value (here: ignored)."""

    def dispatcher(state: Any, ctx: Any, name: str, params: dict[str, Any]) -> Any:
        if name == "bizproc.workflow.instances":
            params = {k: v for k, v in params.items()}
            for key in ("FILTER", "filter"):
                if isinstance(params.get(key), dict):
                    params[key] = {k: v for k, v in params[key].items() if k.upper() != "DOCUMENT_ID"}
        return dispatch(state, ctx, name, params)

    return dispatcher


async def test_a_document_id_with_a_wildcard_terminates_that_document_only(
    portal_factory: PortalFactory,
) -> None:
    portal = await portal_factory(dispatcher=_like_portal())
    seeded = seed_instances(portal, old=12)
    target = next(w for w in portal.state.instances if w.id in seeded.old)
    assert "_" in target.document_id  # e.g. DEAL_1: "_" matches any one character on the portal
    same_doc = {w.id for w in portal.state.instances if w.document_id == target.document_id}
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=None) as client:
        report = await terminate_workflows(client, filter={"DOCUMENT_ID": target.document_id})
    assert report.count(ReportOutcome.DONE) == len(same_doc) and report.matched == len(same_doc)
    assert set(portal.state.finished) == same_doc
    assert portal.state.running_count == 12 - len(same_doc)


@pytest.mark.parametrize(
    "filter",
    [
        {"DOCUMENT_ID": "DEAL%"},  # a pattern: it names no document
        {"ENTITY": "CCrm%"},
        {"=TEMPLATE_ID": 1, "ID": "abc_%"},
    ],
)
async def test_patterns_are_refused_before_anything_is_sent(
    portal: EmulatedPortal, client: BizprocClient, filter: dict[str, Any]
) -> None:
    seed_instances(portal, old=5)
    with pytest.raises(ValidationError, match="pattern"):
        await terminate_workflows(client, filter=filter)
    assert portal.state.running_count == 5
    assert not portal.counters.methods.get("bizproc.workflow.terminate")
