"""Find dismissed employees and the workflows still waiting on them: ``python examples/users.py``."""

from __future__ import annotations

import asyncio

from _demo import DEAL, demo

from bitrix_bizproc.models import DocumentId, F


async def main() -> None:
    async with demo() as d:
        gone = d.portal.state.add_user("John", "Smith")
        tpl = d.portal.state.add_template(
            "T", DEAL, tasks=[{"activity": "ReviewActivity", "users": [gone.id]}]
        )
        await d.client.workflows.start(tpl.id, DocumentId.deal(1))
        d.portal.state.users.update(gone.id, active=False)  # John leaves the company

        async for user in d.client.users.list({"ACTIVE": False, "%LAST_NAME": "Smith"}, admin_mode=True):
            waiting = {
                t.workflow_id
                async for t in d.client.tasks.list(
                    (F.user_id == user.id) & (F.status == 0), select=["WORKFLOW_ID"]
                )
            }
            print(
                f"{user.full_name} (#{user.id}) blocks {len(waiting)} workflow(s):", sorted(map(str, waiting))
            )


if __name__ == "__main__":
    asyncio.run(main())
