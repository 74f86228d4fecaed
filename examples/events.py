"""Answer a waiting robot with its return values: ``python examples/events.py``."""

from __future__ import annotations

import asyncio

from _demo import DEAL, demo

from bitrix_bizproc.models import DocumentId


async def main() -> None:
    async with demo() as d:
        tpl = d.portal.state.add_template("T", DEAL)
        wf_id = await d.client.workflows.start(tpl.id, DocumentId.deal(1))
        # Your handler receives this token in the robot's request (``event_token``).
        token = d.portal.state.make_event_token(wf_id, app_id=d.portal.oauth_app.client_id, code="sms_robot")
        await d.app.events.send(token, {"delivered": "Y"}, log_message="SMS delivered")
        print("sent return values for", wf_id)


if __name__ == "__main__":
    asyncio.run(main())
