"""Start a workflow, list old ones, terminate and kill: ``python examples/workflows.py``."""

from __future__ import annotations

import asyncio
import datetime as dt

from _demo import DEAL, demo

from bitrix_bizproc.models import DocumentId, F, user_ref


async def main() -> None:
    async with demo() as d:
        template = d.portal.state.add_template("Approval", DEAL)
        d.portal.state.add_instances(3, started=dt.datetime(2023, 5, 1, tzinfo=dt.UTC).timestamp())

        wf_id = await d.client.workflows.start(
            template.id, DocumentId.deal(777), parameters={"resp": user_ref(1)}
        )
        print("started", wf_id)

        cutoff = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        page = await d.client.workflows.instances_page(F.started < cutoff, select=["ID", "STARTED"])
        print(f"{page.total} workflows started before {cutoff:%Y-%m-%d}")
        ids = [wf.id async for wf in d.client.workflows.instances(F.started < cutoff) if wf.id]
        for old_id in ids:
            await d.client.workflows.terminate(old_id, status="Stopped by cleanup")
        await d.client.workflows.kill(wf_id)
        print("left running:", (await d.client.workflows.instances_page()).total)


if __name__ == "__main__":
    asyncio.run(main())
