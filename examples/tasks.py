"""List a user's open tasks, answer one, delegate the rest: ``python examples/tasks.py``."""

from __future__ import annotations

import asyncio

from _demo import DEAL, demo

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.models import DocumentId, F, TaskCompletion, TaskStatus


async def main() -> None:
    async with demo() as d:
        ann = d.portal.state.add_user("Ann", "Lee")
        bob = d.portal.state.add_user("Bob", "Ray")
        tpl = d.portal.state.add_template(
            "Approval", DEAL, tasks=[{"activity": "ApproveActivity", "users": [ann.id]}]
        )
        for deal in (1, 2, 3):
            await d.client.workflows.start(tpl.id, DocumentId.deal(deal))

        open_tasks = [
            t
            async for t in d.client.tasks.list(
                (F.user_id == ann.id) & (F.status == TaskStatus.IN_PROGRESS),
                select=["ID", "WORKFLOW_ID", "ACTIVITY", "PARAMETERS"],
            )
        ]
        print("Ann has", len(open_tasks), "open tasks")

        async with BizprocClient.from_webhook(d.portal.add_webhook(ann.id, admin=False)) as as_ann:
            # Passing the Task lets the client check the answer suits its kind before sending.
            await as_ann.tasks.complete(open_tasks[0], TaskCompletion.APPROVE, comment="ok")
        await d.client.tasks.delegate(open_tasks[1:], from_user=ann.id, to_user=bob.id)
        print("Bob now has", (await d.client.tasks.list_page(F.user_id == bob.id)).total, "tasks")


if __name__ == "__main__":
    asyncio.run(main())
