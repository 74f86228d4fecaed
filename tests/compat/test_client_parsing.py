"""Real answers a client used to misread (issue 12, findings 1, 4 and 5), end to end through the client.

The corpus entries themselves run in ``test_corpus.py``; this module drives the emulated portal, which
answers as the live one, through the whole client.
"""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.errors import AccessDeniedError


async def test_another_apps_template_is_an_access_refusal_end_to_end(
    portal: EmulatedPortal, app: BizprocClient
) -> None:
    # the emulated portal answers as the live one: HTTP 400, code "", "You can update ONLY templates ..."
    # (server source: avshatalov48/bitrix-core-business modules/bizproc/lib/restservice.php)
    foreign = portal.state.add_template("UI made", ("crm", "CCrmDocumentDeal", "DEAL"))
    with pytest.raises(AccessDeniedError) as info:
        await app.templates.update(foreign.id, name="mine now")
    assert info.value.code == "" and "ONLY templates" in info.value.description
