"""Closing waits for background tasks without spinning, on every Python the package supports.

On Python 3.12+ ``asyncio.gather`` of tasks that are all finished completes eagerly: awaiting it does not
yield to the event loop. A close that looped ``while tasks: await gather(*tasks)`` over a set emptied by
done-callbacks then spun for ever (seen on 3.13: ``async with client`` never left after an ``auto_batch``
call failed). These tests make ``gather`` eager on any version, as 3.12+ is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc._tasks import wait_for_all
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.protocol.errors import NotFoundError

_real_gather = asyncio.gather
_eager_in_a_row = [0]


def _eager_gather(*futures: Any, return_exceptions: bool = False) -> Any:
    """``gather`` as on Python 3.12+: when every future is already done, the result is done at once.

    A caller that keeps gathering finished futures without the loop running in between is spinning: after
    a hundred in a row this fails instead of hanging the test run.
    """
    if futures and all(isinstance(f, asyncio.Future) and f.done() for f in futures):
        _eager_in_a_row[0] += 1
        if _eager_in_a_row[0] > 100:
            raise AssertionError("spinning: gather of finished tasks, again and again")
        done: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        results = []
        for f in futures:
            if f.cancelled() or f.exception() is not None:
                if not return_exceptions:
                    raise AssertionError("the tests here gather with return_exceptions")
                results.append(asyncio.CancelledError() if f.cancelled() else f.exception())
            else:
                results.append(f.result())
        done.set_result(results)
        return done
    _eager_in_a_row[0] = 0
    return _real_gather(*futures, return_exceptions=return_exceptions)


@pytest.fixture
def eager_gather(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    _eager_in_a_row[0] = 0
    monkeypatch.setattr(asyncio, "gather", _eager_gather)
    yield


async def test_waiting_for_finished_tasks_whose_callbacks_have_not_run_returns(eager_gather: None) -> None:
    tasks: set[asyncio.Task[None]] = set()
    task = asyncio.get_running_loop().create_task(asyncio.sleep(0))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    tasks.add(task)  # finished, still in the set: as right after it ends, its discard not run yet
    await wait_for_all(tasks)  # not wrapped in a task of its own: the loop must not get a turn first


async def test_a_client_closes_after_a_failed_auto_batch_call(
    portal: EmulatedPortal, eager_gather: None
) -> None:
    made = portal.state.add_instances(3)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", auto_batch=True) as client:
        assert await _real_gather(*(client.workflows.terminate(w.id) for w in made)) == [True] * 3
        with pytest.raises(NotFoundError):
            await client.workflows.terminate(made[0].id, status="again")
        await client.aclose()  # spun for ever before (Python 3.12+)
