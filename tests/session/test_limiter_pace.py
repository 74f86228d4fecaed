"""What a walk reads of the limiter to size its window: the drain rate and the slots free now."""

from __future__ import annotations

from bitrix_bizproc._limiter import Limiter
from bitrix_bizproc.protocol.limits import BucketSpec


def test_pace_counts_down_free_slots_and_refills_with_the_drain() -> None:
    now = [100.0]
    limiter = Limiter(BucketSpec(rate=10.0, burst=5, headroom=1), clock=lambda: now[0])
    assert limiter.pace() == (10.0, 5)  # nothing sent yet: the portal holds nothing, the whole burst is free
    for _ in range(3):
        assert limiter.try_acquire("user.get")  # sent, no answer yet
    assert limiter.pace() == (10.0, 2)  # by answer: 5 - 3 on their way (by send time: 4 - 3)
    now[0] += 0.2  # two drained
    assert limiter.pace() == (10.0, 3)  # by send time: 4 - 1; by answer still 2 (none back)
    for _ in range(3):
        limiter.answered()
    now[0] += 0.1
    assert limiter.pace() == (10.0, 4)  # by send time 4 - 0 (the headroom stays); by answer 5 - 2
    now[0] += 0.5
    assert limiter.pace() == (10.0, 5)  # all drained by answer too


def test_pace_without_limits() -> None:
    assert Limiter(None, clock=lambda: 0.0).pace() == (None, None)
