"""RedisBucket: processes sharing one portal stay under its bucket together; 503s slow every sharer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from .conftest import NO_REDIS_PY, free_port

pytest.importorskip("redis", reason=NO_REDIS_PY)

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bitrix_bizproc import BizprocClient, BucketSpec, TransportError
from bitrix_bizproc._limiter import Limiter
from bitrix_bizproc.emulator import EmulatedPortal, Plan, PortalConfig
from bitrix_bizproc.protocol.limits import LeakyBucket
from bitrix_bizproc.redis import RedisBucket

WORKER = Path(__file__).with_name("_worker.py")
RATE, BURST = 40.0, 20
WORKERS, CALLS = 3, 20


async def run_workers(portal: EmulatedPortal, redis_port: int, key: str) -> list[dict[str, Any]]:
    """Start the workers, release them together, return their summaries."""
    args = [portal.webhook_url, str(redis_port), key, str(CALLS), str(RATE), str(BURST)]
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        for _ in range(WORKERS)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert (await proc.stdout.readline()).strip() == b"ready"
        outputs = await asyncio.gather(*(proc.communicate(b"go\n") for proc in procs))
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    assert [proc.returncode for proc in procs] == [0] * WORKERS
    return [json.loads(out) for out, _ in outputs]


def limited_portal_config() -> PortalConfig:
    return PortalConfig(plan=Plan.custom(rate=RATE, burst=BURST, operating_limit=None))


async def test_workers_sharing_a_redis_bucket_are_never_rejected(
    portal_factory: Any, redis_port: int, key: str
) -> None:
    portal = await portal_factory(limited_portal_config())
    summaries = await run_workers(portal, redis_port, key)
    assert [s["ok"] for s in summaries] == [CALLS] * WORKERS
    assert portal.counters.methods["user.get"] == WORKERS * CALLS
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0
    assert sum(s["requests"] for s in summaries) == WORKERS * CALLS  # not one retry


async def test_the_same_workers_with_local_buckets_overfill_the_portal(
    portal_factory: Any, redis_port: int
) -> None:
    portal = await portal_factory(limited_portal_config())
    summaries = await run_workers(portal, redis_port, "-")
    # Each worker believes it has the whole bucket: together they are rejected and must retry.
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] > 0
    assert sum(s["requests"] for s in summaries) > WORKERS * CALLS


async def test_clients_in_one_process_share_one_bucket(
    portal_factory: Any, redis_client: Redis, key: str
) -> None:
    portal = await portal_factory(limited_portal_config())
    spec = BucketSpec(rate=RATE, burst=BURST)
    clients = [
        BizprocClient.from_webhook(portal.webhook_url, limiter=RedisBucket(redis_client, key, spec))
        for _ in range(2)
    ]
    try:
        await asyncio.gather(*(c.call("user.get", {"ID": i}) for c in clients for i in range(25)))
    finally:
        for client in clients:
            await client.aclose()
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0
    assert sum(c.stats.throttled_seconds for c in clients) > 0  # 50 calls > capacity: someone waited


async def test_reservations_fill_the_bucket_then_queue_in_order(redis_client: Redis, key: str) -> None:
    spec = BucketSpec(rate=0.1, burst=10, headroom=2)  # one slot per 10 s: the test's own pace is noise
    first, second = RedisBucket(redis_client, key, spec), RedisBucket(redis_client, key, spec)
    waits = [await (first if i % 2 else second).reserve() for i in range(spec.burst + 3)]
    assert waits[: spec.burst] == [0.0] * spec.burst  # a first burst: the whole burst (by answer)
    queued = waits[spec.burst :]
    assert 5 < queued[0] < queued[1] < queued[2]
    assert queued[2] > 25  # the third one in the queue waits three slots


async def test_a_rejection_fills_the_bucket_for_every_sharer(redis_client: Redis, key: str) -> None:
    spec = BucketSpec(rate=0.1, burst=50)  # one slot per 10 s: the test's own pace is noise
    rejected, other = RedisBucket(redis_client, key, spec), RedisBucket(redis_client, key, spec)
    rejected.on_rejected()
    assert rejected.epoch == 1
    await rejected.aclose()  # the report went out in the background; wait for it
    # An empty bucket as far as ``other`` knew, yet it must wait, and at the slowed-down rate.
    wait = await other.reserve()
    assert wait > 1 / spec.rate
    state = await redis_client.hgetall(key)
    assert float(state[b"factor"]) == pytest.approx(0.75)


async def test_accepted_requests_let_the_shared_rate_recover(redis_client: Redis, key: str) -> None:
    bucket = RedisBucket(redis_client, key, BucketSpec(rate=2.0, burst=50))
    bucket.on_rejected()
    await bucket.aclose()
    for _ in range(5):
        bucket.on_accepted()
    await bucket.reserve()  # the successes ride along with the next reservation
    assert float((await redis_client.hgetall(key))[b"factor"]) == pytest.approx(0.75 + 5 * 0.02)


async def test_an_unreachable_redis_fails_the_call_with_a_typed_error(portal: EmulatedPortal) -> None:
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    client = BizprocClient.from_webhook(portal.webhook_url, limiter=RedisBucket(dead, "k", "standard"))
    try:
        with pytest.raises(TransportError) as info:
            await client.call("user.get")
        assert info.value.code == "REDIS_UNAVAILABLE"
        assert portal.counters.requests == 0  # nothing was sent unpaced
    finally:
        await client.aclose()
        await dead.aclose()


async def test_bad_arguments_are_refused_early(redis_client: Redis) -> None:
    import redis as sync_redis

    with pytest.raises(ValueError, match="needs limits"):
        RedisBucket(redis_client, "k", "off")
    with pytest.raises(ValueError, match="key"):
        RedisBucket(redis_client, "", "standard")
    with pytest.raises(TypeError, match=r"redis\.asyncio\.Redis"):
        RedisBucket(sync_redis.Redis(), "k", "standard")  # type: ignore[arg-type]
    bucket = RedisBucket(redis_client, "portal:1", "enterprise")
    assert repr(bucket) == "RedisBucket(key='portal:1', rate=5/s, burst=250)"
    client = BizprocClient.from_webhook("https://example.bitrix24.com/rest/1/secretcode/", limiter=bucket)
    assert "5/s burst 250" in repr(client) and "secretcode" not in repr(client)
    await client.aclose()


def test_a_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "redis" or m.startswith(("redis.", "bitrix_bizproc.redis"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ImportError, match=r"bitrix_bizproc\[redis\]"):
        import bitrix_bizproc.redis  # noqa: F401


async def _now(redis_client: Redis) -> float:
    seconds, micro = await redis_client.time()
    return float(seconds) + micro / 1e6


async def test_a_first_burst_takes_the_whole_burst(redis_client: Redis, key: str) -> None:
    """As the in-process bucket: nothing the portal holds can be older than the first request."""
    spec = BucketSpec(rate=0.1, burst=10, headroom=2)  # one slot per 10 s: the test's own pace is noise
    first, second = RedisBucket(redis_client, key, spec), RedisBucket(redis_client, key, spec)
    waits = [await (first if i % 2 else second).reserve() for i in range(spec.burst)]
    assert waits == [0.0] * spec.burst


async def test_answers_reported_by_one_sharer_give_room_to_another(redis_client: Redis, key: str) -> None:
    """The answer bound is shared: 10 answers back at once leave the portal holding at most 10, draining
    from now: one slot frees in 10 s (by send time alone, 10 + 1 - 8 slots: 30 s)."""
    spec = BucketSpec(rate=0.1, burst=10, headroom=2)
    sender, other = RedisBucket(redis_client, key, spec), RedisBucket(redis_client, key, spec)
    for _ in range(10):
        assert await sender.reserve() == 0.0
    for _ in range(10):
        sender.on_answered()
    await sender.aclose()  # the report went out in the background; wait for it
    state = await redis_client.hgetall(key)
    assert int(state[b"in_flight"]) == 0
    wait = await other.reserve()
    assert 5.0 < wait < 15.0


async def test_a_lost_try_counts_as_arriving_one_allowance_later(redis_client: Redis, key: str) -> None:
    spec = BucketSpec(rate=0.1, burst=10, headroom=2)  # the allowance: 20 s
    bucket = RedisBucket(redis_client, key, spec)
    await bucket.reserve()
    bucket.on_answered(lost=True)
    await bucket.aclose()
    state = await redis_client.hgetall(key)
    assert int(state[b"in_flight"]) == 0
    assert float(state[b"answered_at"]) - await _now(redis_client) == pytest.approx(20.0, abs=2.0)


async def test_a_spec_whose_headroom_misses_the_allowance_lags(redis_client: Redis, key: str) -> None:
    """The send-time bound of a spec with ``rate x jitter_allowance`` over the burst: each request counts in
    full for the allowance (100 s here) before it drains, as in-process (protocol/limits.py)."""
    spec = BucketSpec(rate=0.1, burst=3, jitter_allowance=100.0)
    assert spec.lag == 100.0
    bucket = RedisBucket(redis_client, key, spec)
    assert [await bucket.reserve() for _ in range(3)] == [0.0] * 3
    assert await bucket.reserve() > 100.0  # not 10 s: the first three may all arrive 100 s late


async def test_the_client_reports_every_answer_to_the_shared_bucket(
    portal_factory: Any, redis_client: Redis, key: str
) -> None:
    portal = await portal_factory(limited_portal_config())
    spec = BucketSpec(rate=RATE, burst=BURST)
    bucket = RedisBucket(redis_client, key, spec)
    async with BizprocClient.from_webhook(portal.webhook_url, limiter=bucket) as client:
        await asyncio.gather(*(client.call("user.get", {"ID": i}) for i in range(30)))
    state = await redis_client.hgetall(key)
    assert int(state[b"in_flight"]) == 0  # reserved, sent, answered: none left counted as on its way
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 0


async def _in_flight(redis: Redis, key: str) -> int:
    return int((await redis.hgetall(key))[b"in_flight"])


async def _one_past_the_burst(
    redis_client: Redis, key: str
) -> tuple[RedisBucket, Limiter, asyncio.Task[None]]:
    """A limiter over a shared bucket whose burst was sent and answered; one more request waits for it."""
    bucket = RedisBucket(redis_client, key, BucketSpec(rate=5.0, burst=3, jitter_allowance=0.0))
    limiter = Limiter(bucket, clock=time.time)
    for _ in range(3):
        await limiter.acquire("user.get", hold=True)
        limiter.answered(sent=limiter.sent())
    waiting = asyncio.create_task(limiter.acquire("user.get", hold=True))
    await asyncio.sleep(0.05)  # the pacer has reserved and sleeps out the wait
    assert not waiting.done()
    return bucket, limiter, waiting


async def test_a_reservation_the_pacer_drops_on_a_rejection_is_given_back(
    redis_client: Redis, key: str
) -> None:
    """A rejection heard while the pacer sleeps out a reservation's wait ends that slot: its place in the
    shared count is given back, or it would stay counted as on its way for as long as the bucket is in use."""
    bucket, limiter, fourth = await _one_past_the_burst(redis_client, key)
    limiter.on_rejected()  # another process was refused meanwhile
    await fourth
    limiter.answered(sent=limiter.sent())
    await limiter.aclose()
    await bucket.aclose()
    assert await _in_flight(redis_client, key) == 0  # every request answered: none counted as on its way


async def test_a_reservation_of_a_closing_pacer_is_given_back(redis_client: Redis, key: str) -> None:
    bucket, limiter, waiting = await _one_past_the_burst(redis_client, key)
    await limiter.aclose()  # the client closes: the pacer is cancelled in its sleep
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await waiting
    await bucket.aclose()
    assert await _in_flight(redis_client, key) == 0


async def test_an_answer_counts_from_before_the_portal_ran_it(redis_client: Redis, key: str) -> None:
    """``time.processing`` moves an answer back, here no further than the bucket's last settling (the limiter
    itself passes on only a figure shorter than the time since the request left: ``Limiter.answered``)."""
    spec = BucketSpec(rate=0.1, burst=10, headroom=2)
    bucket = RedisBucket(redis_client, key, spec)
    await bucket.reserve()
    reserved = float((await redis_client.hgetall(key))[b"answered_at"])
    bucket.on_answered(processing=3600.0)  # an odd figure: the request cannot have arrived before it left
    await bucket.aclose()
    assert float((await redis_client.hgetall(key))[b"answered_at"]) == pytest.approx(reserved, abs=0.5)


OPS = st.sampled_from(["reserve", "reserve", "reserve", "answer", "lost", "reject", "accept"])


@st.composite
def _slow_specs(draw: st.DrawFn) -> BucketSpec:
    """Specs slow enough (100 s a slot and more) that the test's own pace is noise in every wait."""
    rate = draw(st.floats(0.001, 0.01))
    burst = draw(st.integers(1, 12))
    allowance = draw(st.floats(0.0, 3000.0))
    headroom = draw(st.none() | st.integers(0, burst - 1))
    if headroom is None:
        spec = BucketSpec(rate=rate, burst=burst, jitter_allowance=allowance)
    else:
        spec = BucketSpec(rate=rate, burst=burst, jitter_allowance=allowance, headroom=headroom)
    # A short lag (up to 10 s, against slots of 100 s and more): Redis's clock moves on between steps while
    # the local replay's stands still, so a request may stop lagging on one side only, a whole slot apart
    # (a difference of clocks, not of rule). Longer lags are replayed.
    assume(spec.lag == 0 or spec.lag > 10)
    return spec


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=_slow_specs(), ops=st.lists(OPS, min_size=1, max_size=30))
def test_redis_keeps_the_same_rule_as_the_local_bucket(
    redis_port: int, spec: BucketSpec, ops: list[str]
) -> None:
    """The same reservations, answers, lost tries, rejections and successes, in the same order: the shared
    bucket's waits are the in-process bucket's (protocol/limits.py), both bounds and the lag included."""

    async def replay() -> None:
        redis = Redis(host="127.0.0.1", port=redis_port)
        shared = RedisBucket(redis, f"test:{uuid.uuid4().hex}", spec)
        # The local bucket replays each step at the moment Redis's clock gives for it (the script reads the
        # same clock a few ms later): both see the same times, so their waits agree.
        local = LeakyBucket(spec, now=0.0)
        started = await _now(redis)
        try:
            for op in ops:
                now = await _now(redis) - started
                if op == "reserve":
                    expected = local.reserve(now)
                    assert await shared.reserve() == pytest.approx(expected, abs=0.05)
                    continue
                if op == "accept":
                    shared.on_accepted()
                    local.on_accepted()
                    continue
                if op == "reject":
                    shared.on_rejected()
                    local.on_rejected(now)
                else:
                    shared.on_answered(lost=op == "lost")
                    local.answered(now, lost=op == "lost")
                await shared.aclose()  # applied in this order before the next step
        finally:
            await redis.aclose()

    asyncio.run(replay())
