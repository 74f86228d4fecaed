"""Register a workflow-designer action and write to a workflow's log: ``python examples/activities.py``."""

from __future__ import annotations

import asyncio

from _demo import DEAL, demo

from bitrix_bizproc.models import DocumentId


async def main() -> None:
    async with demo() as d:
        await d.app.activities.add(
            code="md5_action",
            handler="https://app.example.com/md5",
            name="MD5",
            properties={"input": {"Name": "Input", "Type": "string", "Required": "Y"}},
            filter={"INCLUDE": [["crm"]], "EXCLUDE": ["box"]},
        )
        print("actions:", await d.app.activities.list())

        # When the workflow reaches the action, the portal posts an event token to the handler.
        tpl = d.portal.state.add_template("T", DEAL)
        wf_id = await d.client.workflows.start(tpl.id, DocumentId.deal(1))
        token = d.portal.state.make_event_token(wf_id, app_id=d.portal.oauth_app.client_id, code="md5_action")
        await d.app.activities.log(token, "hashing started")
        await d.app.activities.delete("md5_action")


if __name__ == "__main__":
    asyncio.run(main())
