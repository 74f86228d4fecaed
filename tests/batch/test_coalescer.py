"""Automatic coalescing: concurrent awaited calls share batches, and each caller keeps its own answer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable

import pytest

from bitrix_bizproc._batch import Coalescer
from bitrix_bizproc._call import Call, ResultParser
from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.faults import FaultKind
from bitrix_bizproc.protocol.batch import Ref
from bitrix_bizproc.protocol.envelope import ApiResponse
from bitrix_bizproc.protocol.errors import NotFoundError, ServerError, ValidationError
from bitrix_bizproc.protocol.retry import RetryPolicy

Instances = Callable[[int], list[str]]
UNKNOWN = "66e412fdc9bd44.00000000"
TERMINATE = "bizproc.workflow.terminate"


@pytest.fixture
async def auto(portal: EmulatedPortal) -> AsyncIterator[BizprocClient]:
    """A client with ``auto_batch=True``, limiter off, no retries."""
    client = BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", retry=RetryPolicy.never(), auto_batch=True
    )
    async with client:
        yield client


async def test_a_thousand_concurrent_calls_make_about_twenty_batches(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(1000)
    results = await asyncio.gather(*(auto.workflows.terminate(wf) for wf in ids))
    assert results == [True] * 1000
    assert 20 <= portal.counters.requests <= 22
    assert portal.counters.commands == 1000
    assert portal.state.running_count == 0


async def test_each_caller_gets_its_own_error(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(30)
    ids[7] = ids[21] = UNKNOWN
    outcomes = await asyncio.gather(*(auto.workflows.terminate(wf) for wf in ids), return_exceptions=True)
    assert [i for i, o in enumerate(outcomes) if o is not True] == [7, 21]
    assert all(isinstance(outcomes[i], NotFoundError) for i in (7, 21))
    assert portal.counters.batches == 1


async def test_a_lone_call_goes_direct(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    (wf,) = instances(1)
    assert await auto.workflows.terminate(wf) is True
    assert (portal.counters.requests, portal.counters.batches) == (1, 0)
    with pytest.raises(NotFoundError):
        await auto.workflows.terminate(UNKNOWN)


async def test_whole_request_error_reaches_every_caller(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(10)
    portal.faults.inject(FaultKind.HTTP_500, method="batch")
    outcomes = await asyncio.gather(*(auto.workflows.terminate(wf) for wf in ids), return_exceptions=True)
    assert all(isinstance(o, ServerError) and o.status == 500 for o in outcomes)
    assert portal.state.running_count == 10


async def test_text_that_looks_like_a_reference_goes_direct(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(3)
    statuses = ["a", "$result[c0]", "b"]
    await asyncio.gather(
        *(auto.workflows.terminate(wf, status=s) for wf, s in zip(ids, statuses, strict=True))
    )
    assert [portal.state.instance(wf).status_text for wf in ids] == statuses
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)


async def test_references_are_refused_outside_a_composer(auto: BizprocClient) -> None:
    with pytest.raises(ValidationError, match="only inside"):
        await auto.workflows.terminate(Ref("c0")[0]["ID"])


async def test_a_caller_who_gives_up_is_not_sent(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(3)
    coalescer = Coalescer(client.session, window=0.05)
    tasks = [asyncio.ensure_future(coalescer.submit("bizproc.workflow.terminate", {"ID": wf})) for wf in ids]
    await asyncio.sleep(0)  # all three queued
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[1], asyncio.CancelledError)
    assert [d.result for d in (done[0], done[2])] == [True, True]  # type: ignore[union-attr]
    assert portal.counters.commands == 2
    assert portal.state.instance(ids[1]).state == "Running"
    await coalescer.aclose()


async def test_aclose_sends_what_is_queued_and_refuses_more(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(2)
    coalescer = Coalescer(client.session, window=1.0)
    tasks = [asyncio.ensure_future(coalescer.submit("bizproc.workflow.terminate", {"ID": wf})) for wf in ids]
    await asyncio.sleep(0)
    await coalescer.aclose()  # does not wait for the 1 s window
    assert all(t.done() and t.result().result is True for t in tasks)
    with pytest.raises(RuntimeError, match="closed"):
        await coalescer.submit("user.get", {})


async def test_a_full_queue_is_sent_at_once(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(50)
    coalescer = Coalescer(client.session, window=1.0, max_size=50)
    tasks = [asyncio.ensure_future(coalescer.submit("bizproc.workflow.terminate", {"ID": wf})) for wf in ids]
    await asyncio.sleep(0)
    assert coalescer.pending == 0  # the 50th call sent the batch without waiting for the window
    assert all(r.result is True for r in await asyncio.gather(*tasks))
    assert portal.counters.batches == 1
    await coalescer.aclose()


@pytest.mark.parametrize("kwargs", [{"window": -1}, {"window": 2}, {"max_size": 0}, {"max_size": 51}])
async def test_bad_settings_are_refused(client: BizprocClient, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        Coalescer(client.session, **kwargs)  # type: ignore[arg-type]


async def test_a_bad_value_fails_only_its_caller(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(2)
    coalescer = Coalescer(client.session)
    naive = dt.datetime(2024, 1, 1)  # no timezone: refused before sending
    outcomes = await asyncio.gather(
        coalescer.submit("bizproc.workflow.terminate", {"ID": ids[0]}),
        coalescer.submit("bizproc.workflow.terminate", {"ID": ids[1], "STATUS": naive}),
        return_exceptions=True,
    )
    assert outcomes[0].result is True  # type: ignore[union-attr]
    assert isinstance(outcomes[1], ValidationError)
    await coalescer.aclose()


def _broken(response: ApiResponse) -> bool:
    raise KeyError("ID")


@ResultParser
def _broken_result(result: object) -> bool:
    raise KeyError("ID")


@pytest.mark.parametrize("parse", [_broken, _broken_result], ids=["response", "result"])
async def test_a_parser_that_fails_inside_a_shared_batch_fails_only_its_caller(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances, parse: Callable[[ApiResponse], bool]
) -> None:
    ids = instances(3)
    calls = [auto.workflows.terminate(ids[0]), auto._executor.submit(Call(TERMINATE, {"ID": ids[1]}, parse))]
    calls.append(auto.workflows.terminate(ids[2]))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert outcomes[0] is True and outcomes[2] is True
    assert isinstance(outcomes[1], ServerError) and "could not read the answer" in str(outcomes[1])
    assert calls[1].error is outcomes[1]
    assert portal.counters.batches == 1 and portal.counters.commands == 3


async def test_an_unbatchable_call_goes_alone_while_others_share_a_batch(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(3)
    alone = auto._executor.submit(Call(TERMINATE, {"ID": ids[0]}, batchable=False))
    outcomes = await asyncio.gather(alone, *(auto.workflows.terminate(wf) for wf in ids[1:]))
    assert outcomes == [True] * 3
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)  # the lone call, one batch of two


async def test_a_queued_call_awaited_by_several_tasks_is_sent_once(
    auto: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(2)
    shared, other = (auto.workflows.terminate(wf) for wf in ids)

    async def wait() -> bool:
        return await shared

    assert await asyncio.gather(wait(), wait(), other, wait()) == [True] * 4
    assert await shared is True  # awaiting it again: the same outcome, nothing sent
    assert (portal.counters.batches, portal.counters.commands) == (1, 2)
    assert portal.state.instance(ids[0]).state != "Running"
