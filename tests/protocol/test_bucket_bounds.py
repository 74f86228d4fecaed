"""The client's two bounds on the portal's bucket: by send time with headroom, and by answer.

The portal counts a request when it arrives, somewhere between the moment it left and the moment its
answer is back. A request may go when either bound leaves it room; these tests replay the client's
decisions against a model of the portal's bucket with arrival delays drawn at random.
"""

from __future__ import annotations

import heapq

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.protocol.limits import BucketSpec, LeakyBucket


def test_a_first_burst_takes_the_whole_burst() -> None:
    """Nothing the portal holds can be older than the first request: the headroom is not needed yet."""
    bucket = LeakyBucket(BucketSpec(rate=2.0, burst=50), now=0.0)  # headroom 3 by default
    assert bucket.spec.capacity == 47
    taken = 0
    while bucket.hold(0.0):
        bucket.sent(0.0)
        taken += 1
    assert taken == 50


def test_answers_give_the_headroom_back() -> None:
    bucket = LeakyBucket(BucketSpec(rate=2.0, burst=50), now=0.0)
    for _ in range(50):
        assert bucket.hold(0.0)
        bucket.sent(0.0)
    assert bucket.delay(0.0) == pytest.approx(2.0)  # by send time: 50 + 1 - 47 slots to drain
    for _ in range(50):
        bucket.answered(0.1)
    # By answer: 50 reached the portal by 0.1 and drain from then; one slot drains in 0.5 s.
    assert bucket.delay(0.1) == pytest.approx(0.5)
    assert bucket.free(0.6) == 1


def test_a_request_on_its_way_counts_in_full_in_the_answer_bound() -> None:
    bucket = LeakyBucket(BucketSpec(rate=2.0, burst=50), now=0.0)
    for _ in range(50):
        bucket.hold(0.0)
        bucket.sent(0.0)
    # A first burst held up on its way (a slow handshake): the send-time count has drained to nothing, but
    # the portal may yet receive all 50 at once. Only the headroom's 3 may go, as before.
    assert bucket.level(30.0) == 0.0
    assert bucket.free(30.0) == 47
    for _ in range(3):
        bucket.answered(30.0)
    assert bucket.free(30.0) == 47


def test_a_lost_try_counts_as_arriving_one_allowance_later() -> None:
    spec = BucketSpec(rate=10.0, burst=5, jitter_allowance=1.0, headroom=0)
    bucket = LeakyBucket(spec, now=0.0)
    for _ in range(5):
        bucket.hold(0.0)
        bucket.sent(0.0)
    bucket.answered(0.1, lost=True)
    assert bucket.in_flight == 4
    assert bucket._answered_level(0.5) == 1.0  # counted in full until 1.1, draining from then
    assert bucket._answered_level(1.2) == pytest.approx(0.0)


def test_a_rejection_fills_both_bounds() -> None:
    bucket = LeakyBucket(BucketSpec(rate=10.0, burst=10, headroom=2), now=0.0)
    bucket.on_rejected(0.0)
    # By send time: full at capacity 8, one slot in 0.1 s (at the slowed rate 7.5/s: 0.133 s).
    assert bucket.delay(0.0) == pytest.approx(1 / 7.5)
    assert bucket.free(0.0) == 0


def test_answers_without_sends_are_ignored() -> None:
    bucket = LeakyBucket(BucketSpec(rate=10.0, burst=10), now=0.0)
    bucket.answered(0.0)
    assert bucket.in_flight == 0
    assert bucket.free(0.0) == 10


def _replay(
    spec: BucketSpec,
    delays: list[tuple[float, float, bool]],
    rejected_at: tuple[float, ...] = (),
    ran: list[float] | None = None,
) -> tuple[float, float]:
    """Send ``len(delays)`` requests as soon as the bucket allows; return the portal's peak and the end.

    Each request reaches the portal ``arrive`` after it left (at most the allowance) and its answer is back
    ``answer`` after that; a ``lost`` one never answers: its try ends ``answer`` after it left, perhaps
    before the request has reached the portal. At each of ``rejected_at`` the client hears of a rejection
    it did not cause (another process of the same portal, say). ``ran``: the fraction of each answer's
    delay the portal says it spent running the request (``time.processing``; it runs after counting).
    """
    bucket = LeakyBucket(spec, now=0.0)
    events: list[tuple[float, int, str, float]] = [
        (t, -i, "rejected", 0.0) for i, t in enumerate(rejected_at)
    ]
    heapq.heapify(events)
    order = 0
    now, sent, peak = 0.0, 0, 0.0
    portal_level, portal_t = 0.0, 0.0
    while sent < len(delays) or events:
        wait = bucket.delay(now) if sent < len(delays) else float("inf")
        if events and events[0][0] <= now + wait:
            now, _, kind, processing = heapq.heappop(events)
            if kind == "arrive":
                portal_level = max(0.0, portal_level - (now - portal_t) * spec.rate) + 1.0
                portal_t = now
                peak = max(peak, portal_level)
            elif kind == "rejected":
                bucket.on_rejected(now)
            else:
                bucket.answered(now, lost=kind == "lost", processing=processing)
            continue
        now += wait
        assert bucket.hold(now, force=True)
        bucket.sent(now)
        arrive, answer, lost = delays[sent]
        sent += 1
        processing = answer * ran[sent - 1] if ran is not None else 0.0
        heapq.heappush(events, (now + arrive, order := order + 1, "arrive", 0.0))
        if lost:  # a timeout or a reset may end the try before the request has even reached the portal
            heapq.heappush(events, (now + answer, order := order + 1, "lost", 0.0))
        else:
            heapq.heappush(events, (now + arrive + answer, order := order + 1, "answer", processing))
    return peak, now


ARRIVAL = st.floats(0.0, 1.0)  # a request's arrival delay, a fraction of the allowance
ANSWER = st.floats(0.0, 0.5)  # its answer's delay after arrival, s
SHAPES = st.sampled_from(
    [(10.0, 10, 0.3), (2.0, 50, 1.5), (100.0, 50, 0.03), (5.0, 20, 0.0)]
)  # rate, burst, allowance


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ARRIVAL, ANSWER, st.booleans()), min_size=1, max_size=120), SHAPES)  # lost or not
def test_the_portal_never_overflows_while_delays_stay_within_the_allowance(
    draws: list[tuple[float, float, bool]], shape: tuple[float, int, float]
) -> None:
    rate, burst, allowance = shape
    spec = BucketSpec(rate=rate, burst=burst, jitter_allowance=allowance)
    delays = [(fraction * allowance, answer, lost) for fraction, answer, lost in draws]
    peak, _ = _replay(spec, delays)
    assert peak <= burst + 1e-6


@settings(max_examples=300, deadline=None)
@given(  # the last: the part of the answer's delay the portal spent running the request
    st.lists(st.tuples(ARRIVAL, ANSWER, st.floats(0.0, 1.0)), min_size=1, max_size=120), SHAPES
)
def test_counting_from_the_processing_start_never_overflows(
    draws: list[tuple[float, float, float]], shape: tuple[float, int, float]
) -> None:
    """The portal counts a request before it runs it: an answer ``processing`` seconds after its start
    counts from then, and the portal's bucket still never goes over."""
    rate, burst, allowance = shape
    spec = BucketSpec(rate=rate, burst=burst, jitter_allowance=allowance)
    delays = [(fraction * allowance, answer, False) for fraction, answer, _ in draws]
    peak, _ = _replay(spec, delays, ran=[part for _, _, part in draws])
    assert peak <= burst + 1e-6


def test_a_long_run_is_not_taken_for_a_late_arrival() -> None:
    """A first burst of batches that each ran 0.4 s: counted from their start, room comes back sooner."""
    spec = BucketSpec(rate=10.0, burst=10, jitter_allowance=1.0)  # headroom 9: the send bound is slow
    quick, slow = LeakyBucket(spec, now=0.0), LeakyBucket(spec, now=0.0)
    for bucket in (quick, slow):
        for _ in range(10):
            assert bucket.hold(0.0)
            bucket.sent(0.0)
    for _ in range(10):
        quick.answered(0.5, processing=0.4)  # each arrived by 0.1, ran 0.4 s
        slow.answered(0.5)
    assert slow.delay(0.5) == pytest.approx(0.1)  # 10 counted at 0.5: one slot drains in 0.1 s
    assert quick.delay(0.5) == 0.0  # 10 counted at 0.1 have drained 4 slots by 0.5
    assert quick.free(0.5) == 4  # the portal holds 6 of the 10 by now


def test_quick_answers_send_faster_than_the_headroom_alone() -> None:
    """200 requests answered within 2 ms on a bucket of 50 draining 100/s: the floor, not the headroom."""
    spec = BucketSpec(rate=100.0, burst=50, jitter_allowance=0.03)  # headroom 3
    peak, end = _replay(spec, [(0.001, 0.001, False)] * 200)
    assert peak <= 50 + 1e-6
    by_send_alone = (200 - spec.capacity) / spec.rate  # 1.53 s: what the send-time bound allows
    assert end < by_send_alone - 0.02


def test_tries_that_end_before_their_requests_arrive() -> None:
    """A first burst whose tries all time out at once while the requests still wait in a queue."""
    spec = BucketSpec(rate=10.0, burst=10, jitter_allowance=0.3)
    peak, _ = _replay(spec, [(0.3, 0.01, True)] * 10 + [(0.0, 0.01, False)] * 30)
    assert peak <= spec.burst + 1e-6


def test_a_rejection_never_makes_room() -> None:
    """A first burst takes the whole burst, above the send-time capacity: a rejection must not lower it."""
    bucket = LeakyBucket(BucketSpec(rate=2.0, burst=50), now=0.0)
    for _ in range(50):
        assert bucket.hold(0.0)
        bucket.sent(0.0)
    before = bucket.delay(0.0)  # 2.0 s: 50 + 1 - 47 slots to drain
    bucket.on_rejected(0.0)
    assert bucket.delay(0.0) >= before
    assert bucket.free(0.0) == 0


def test_a_rejection_does_not_forget_requests_still_on_their_way() -> None:
    """A first burst of 10 held up by the whole allowance; a rejection heard meanwhile (another process).

    Reset to its capacity (7), the send-time count forgot 3 of the 10 still on their way: two more went
    at 0.14 s and 0.28 s and reached the portal with the 10, at 0.3 s.
    """
    spec = BucketSpec(rate=10.0, burst=10, jitter_allowance=0.3)  # headroom 3
    first = [(0.3, 1.0, False)] * 10
    then = [(0.3 - (0.01 + 1 / 7.5), 1.0, False), (0.3 - (0.01 + 2 / 7.5), 1.0, False)]
    peak, _ = _replay(spec, first + then, rejected_at=(0.01,))
    assert peak <= spec.burst + 1e-6


def test_what_is_free_can_be_taken() -> None:
    """``free`` (what the paging read-ahead plans with) agrees with ``hold`` after a lost try."""
    bucket = LeakyBucket(BucketSpec(rate=10.0, burst=10, jitter_allowance=0.3), now=0.0)
    for _ in range(10):
        assert bucket.hold(0.0)
        bucket.sent(0.0)
    for _ in range(9):
        bucket.answered(0.0)
    bucket.answered(0.0, lost=True)  # reached the portal at 0 too: it holds 10 now
    assert bucket.free(0.0) == 0 or bucket.hold(0.0)


@st.composite
def _specs(draw: st.DrawFn) -> BucketSpec:
    """Any spec the client accepts: fast or slow, small or large, an allowance the burst cannot cover."""
    rate = draw(st.floats(0.2, 200.0))
    burst = draw(st.integers(1, 60))
    allowance = draw(st.floats(0.0, 3.0))
    headroom = draw(st.none() | st.integers(0, burst - 1))
    if headroom is None:
        return BucketSpec(rate=rate, burst=burst, jitter_allowance=allowance)
    return BucketSpec(rate=rate, burst=burst, jitter_allowance=allowance, headroom=headroom)


NEVER = 1e6  # an answer that never comes back while the test runs: the request stays on its way


@settings(max_examples=400, deadline=None)
@given(
    _specs(),
    st.lists(
        st.tuples(ARRIVAL, st.sampled_from([0.0, 0.01, 0.3, 2.0, NEVER]) | ANSWER, st.booleans()),
        min_size=1,
        max_size=80,
    ),
)
def test_no_spec_accepted_lets_the_portal_overflow(
    spec: BucketSpec, draws: list[tuple[float, float, bool]]
) -> None:
    """The portal's bucket as the docs state it (settings/performance/limits.md, "Request Rate Limits"):
    each request adds one, the count drains ``rate`` per second, a request arriving above ``burst`` is
    refused. Whatever the spec (a ``rate x jitter_allowance`` of ``burst`` or more, a headroom given apart
    from the allowance) and however late within the allowance each request arrives, answered or not, the
    portal never holds more than ``burst``."""
    delays = [(fraction * spec.jitter_allowance, answer, lost) for fraction, answer, lost in draws]
    peak, _ = _replay(spec, delays)
    assert peak <= spec.burst + 1e-6


def test_a_fast_bucket_across_the_internet_sends_as_fast_as_it_soundly_can() -> None:
    """100/s and a burst of 50 with the default 1.5 s allowance, no answers: the 150 requests of any 1.5 s
    may all arrive at once, so at most 50 may leave in any 1.5 s (33/s, not 100/s), but not one by one
    either (a burst of one request, 49 kept free, sent one per second)."""
    spec = BucketSpec(rate=100.0, burst=50)
    bucket = LeakyBucket(spec, now=0.0)
    sends = [bucket.reserve(0.0) for _ in range(500)]
    for i, t in enumerate(sends):
        assert sum(1 for u in sends[: i + 1] if u > t - spec.jitter_allowance) <= spec.burst
    assert sends[49] == 0.0  # the first burst goes at once
    assert sends[-1] == pytest.approx((500 - 50) / 50 * 1.5, abs=1.0)  # 33/s from then on
