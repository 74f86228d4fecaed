"""Waiting for background tasks a component started (senders, handlers, reports) before it closes."""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any

__all__ = ["wait_for_all"]


async def wait_for_all(tasks: Collection[asyncio.Future[Any]]) -> None:
    """Wait until every task in ``tasks`` is done, tasks added meanwhile included; their errors stay theirs.

    Only unfinished tasks are awaited. On Python 3.12+ ``gather`` of finished tasks completes without
    yielding to the event loop, so looping on a set that done-callbacks empty would spin for ever.
    """
    while pending := [task for task in tasks if not task.done()]:
        await asyncio.gather(*pending, return_exceptions=True)
