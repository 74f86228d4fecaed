"""Real answers whose meaning the client learns on branch h1-trust (issue 12, findings 1, 4 and 5).

Each case asserts what the live portal means. They fail on this branch and pass once h1-trust is merged:
the strict xfail markers are there for the lead to remove at the merge, nothing else.
"""

from __future__ import annotations

from typing import Any

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.errors import AccessDeniedError

from ._corpus import PENDING, check


def _pending(entry: dict[str, Any]) -> Any:
    reason = f"fixed on branch {entry['expect']['fixed_on']}"
    return pytest.param(entry, id=entry["id"], marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize("entry", [_pending(e) for e in PENDING])
def test_real_payload_means_what_the_portal_means(entry: dict[str, Any]) -> None:
    check(entry)


def test_the_pending_cases_are_the_known_ones() -> None:
    pending = ["b24phpsdk-002", "b24pysdk-002", "b24pysdk-024", "server-001", "server-002"]
    assert sorted(e["id"] for e in PENDING) == pending


@pytest.mark.xfail(strict=True, reason="fixed on branch h1-trust: finding 5, empty-code access refusals")
async def test_another_apps_template_is_an_access_refusal_end_to_end(
    portal: EmulatedPortal, app: BizprocClient
) -> None:
    # the emulated portal answers as the live one: HTTP 400, code "", "You can update ONLY templates ..."
    foreign = portal.state.add_template("UI made", ("crm", "CCrmDocumentDeal", "DEAL"))
    with pytest.raises(AccessDeniedError) as info:
        await app.templates.update(foreign.id, name="mine now")
    assert info.value.code == "" and "ONLY templates" in info.value.description
