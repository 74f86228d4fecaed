"""The limiter: FIFO without a herd, the bucket under concurrency, 503 slow-down, the operating budget."""

from __future__ import annotations

import asyncio

import pytest

from bitrix_bizproc import BizprocClient, BucketSpec
from bitrix_bizproc._limiter import Limiter
from bitrix_bizproc._stats import Stats
from bitrix_bizproc.emulator import ManualClock, Plan, PortalConfig

from .conftest import EmuFactory, Gate


class FakeTime:
    """A clock and a sleep that moves it: the pacer's sleeps are recorded, not waited."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


async def test_waiters_are_released_one_by_one_in_fifo_order() -> None:
    fake = FakeTime()
    stats = Stats()
    limiter = Limiter(
        BucketSpec(rate=10.0, burst=50, headroom=0), clock=fake.clock, sleep=fake.sleep, stats=stats
    )
    order: list[int] = []

    async def caller(i: int) -> None:
        await limiter.acquire("user.get")
        order.append(i)

    await asyncio.gather(*(caller(i) for i in range(1000)))
    assert order == list(range(1000))
    # One timer per paced request, never one wake-up per waiter per slot.
    assert len(fake.sleeps) == 1000 - 50
    assert fake.now == pytest.approx((1000 - 50) / 10.0)
    assert stats.throttled_seconds > 0
    await limiter.aclose()


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    fake = FakeTime()
    limiter = Limiter(BucketSpec(rate=1.0, burst=1, headroom=0), clock=fake.clock, sleep=fake.sleep)
    await limiter.acquire("m")
    first = asyncio.create_task(limiter.acquire("m"))
    second = asyncio.create_task(limiter.acquire("m"))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.wait_for(second, timeout=5)
    assert first.cancelled() and limiter.waiting == 0
    await limiter.aclose()


async def test_a_rejection_replans_the_queue() -> None:
    fake = FakeTime()
    limiter = Limiter(BucketSpec(rate=10.0, burst=5, headroom=0), clock=fake.clock, sleep=fake.sleep)
    for _ in range(5):
        await limiter.acquire("m")
    limiter.on_rejected()
    assert limiter.bucket is not None and limiter.bucket.rate < 10.0
    before = fake.now
    await limiter.acquire("m")
    assert fake.now - before >= 1 / 10.0  # the bucket is assumed full: the next request waits


async def test_concurrent_callers_never_trip_the_portal_bucket(emu: EmuFactory) -> None:
    portal = await emu(PortalConfig(plan=Plan.custom(rate=200.0, burst=40)))
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter=BucketSpec(rate=200.0, burst=40)
    ) as client:
        await asyncio.gather(*(client.call("user.get", {"ID": i}) for i in range(120)))
        assert client.stats.retries == {}
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0
    assert portal.counters.requests == 120


async def test_query_limit_is_retried_and_slows_down(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.query_limit_burst(3)
    gate = Gate()
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="standard", sleep=gate) as client:
        response = await client.call("user.get")
        assert response.result["method"] == "user.get"
        assert client.stats.retries == {"query_limit": 3}
        bucket = client.session.limiter.bucket
        assert bucket is not None and bucket.epoch == 3 and bucket.rate < 2.0
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 3


async def test_operation_time_limit_waits_until_the_reset_and_other_methods_go_on(emu: EmuFactory) -> None:
    clock = ManualClock()
    config = PortalConfig(plan=Plan.custom(None, 0, operating_limit=1.0), method_processing={"user.get": 2.0})
    portal = await emu(config, clock=clock)
    released, waiting = asyncio.Event(), asyncio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # a wait on the portal's clock, held until the test says so
        waits.append(seconds)
        waiting.set()
        await released.wait()
        clock.advance(seconds)

    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", operating_limit=None, clock=clock, sleep=sleep
    ) as client:
        await client.call("user.get")  # charged 2 s: over the 1 s limit from now on
        blocked = asyncio.create_task(client.call("user.get"))
        await asyncio.wait_for(waiting.wait(), timeout=5)
        other = await client.call("bizproc.task.list")  # another method is not held up
        assert other.result["method"] == "bizproc.task.list" and not blocked.done()
        released.set()
        assert (await blocked).result["method"] == "user.get"
        assert client.stats.retries == {"operation_time_limit": 1}
    assert portal.counters.rejections["OPERATION_TIME_LIMIT"] == 1
    assert waits == [pytest.approx(600.0, abs=1.0)]  # the first basket expires 10 minutes after it opened


async def test_near_the_operating_limit_the_method_waits_without_a_429(emu: EmuFactory) -> None:
    clock = ManualClock()
    config = PortalConfig(
        plan=Plan.custom(None, 0, operating_limit=480.0), method_processing={"user.get": 470.0}
    )
    portal = await emu(config, clock=clock)
    gate = Gate(advance=clock.advance)
    async with BizprocClient.from_webhook(
        portal.webhook_url, limiter="off", clock=clock, sleep=gate
    ) as client:
        await client.call("user.get")
        await client.call("user.get")
        assert client.stats.throttled_seconds == pytest.approx(600.0, abs=1.0)
    assert portal.counters.rejections["OPERATION_TIME_LIMIT"] == 0
    assert gate.waits == [pytest.approx(600.0, abs=1.0)]


async def test_batch_result_time_feeds_the_operating_budget(emu: EmuFactory) -> None:
    clock = ManualClock()
    config = PortalConfig(
        plan=Plan.custom(None, 0, operating_limit=480.0), method_processing={"user.get": 470.0}
    )
    portal = await emu(config, clock=clock)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", clock=clock) as client:
        await client.call("batch", {"halt": 0, "cmd": {"a": "user.get?ID=1", "b": "bizproc.task.list"}})
        budget = client.session.limiter.budget
        state = budget.get("user.get")
        assert state is not None and state.operating == pytest.approx(470.0)
        assert budget.delay("user.get", clock()) > 0
        assert budget.delay("bizproc.task.list", clock()) == 0


class VirtualTime:
    """A clock the test moves; each sleep ends when the clock reaches its end (a cancelled one never)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        timer: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.timers.append((self.now + seconds, timer))
        await timer

    async def advance(self, to: float) -> None:
        self.now = to
        for end, timer in self.timers:
            if end <= to and not timer.done():
                timer.set_result(None)
        for _ in range(10):
            await asyncio.sleep(0)


async def test_answers_back_let_a_waiter_go_before_the_send_time_count_would() -> None:
    """The pacer plans a waiter by send time while every place is on its way; answers must re-plan it."""
    time = VirtualTime()
    limiter = Limiter(BucketSpec(rate=2.0, burst=50), clock=time.clock, sleep=time.sleep)  # headroom 3
    for _ in range(50):
        assert limiter.try_acquire("user.get")  # a first burst: the whole bucket, all 50 on their way
    waiter = asyncio.create_task(limiter.acquire("user.get"))
    await time.advance(0.1)  # the pacer waits: by send time until 2.0 s (50 + 1 - 47 slots at 2/s)
    for _ in range(50):
        limiter.answered()  # all back at 0.1: the portal counted them by then
    await time.advance(0.6)  # by answer: 49 pending at 0.6, one place free
    assert waiter.done()
    await limiter.aclose()


async def test_wall_clock_steps_neither_stall_nor_free_the_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default clock is wall time (the operating budget compares it with the portal's reset times);
    the bucket paces by elapsed time: an NTP step back of an hour does not hold the next request an hour,
    and a step forward does not drain the bucket."""
    import time

    wall = [time.time()]
    monkeypatch.setattr(time, "time", lambda: wall[0])
    slow = Limiter(BucketSpec(rate=1.0, burst=2, headroom=0), clock=time.time)
    fast = Limiter(BucketSpec(rate=50.0, burst=2, headroom=0), clock=time.time)
    for _ in range(2):
        await slow.acquire("user.get")
        await fast.acquire("user.get")  # both buckets full
    wall[0] += 7200.0  # stepped forward two hours: nothing has drained for real
    assert slow.try_acquire("user.get") is False
    wall[0] -= 10800.0  # then back three: the next slot still frees in 20 ms
    await asyncio.wait_for(fast.acquire("user.get"), timeout=5)
    await slow.aclose()
    await fast.aclose()
