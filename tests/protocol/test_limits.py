"""The leaky bucket and the operating budget as pure state: the clock is an argument."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitrix_bizproc.protocol.envelope import TimeInfo
from bitrix_bizproc.protocol.limits import PRESETS, BucketSpec, LeakyBucket, OperatingBudget, bucket_spec


@pytest.mark.parametrize(
    ("option", "rate", "burst"),
    [("standard", 2.0, 50), ("enterprise", 5.0, 250), (BucketSpec(rate=10, burst=20), 10.0, 20)],
)
def test_presets_and_custom(option: object, rate: float, burst: int) -> None:
    spec = bucket_spec(option)
    assert spec is not None and (spec.rate, spec.burst) == (rate, burst)
    assert 0 < spec.capacity < spec.burst


def test_off_is_none() -> None:
    assert bucket_spec("off") is None and bucket_spec(None) is None and PRESETS["off"] is None


@pytest.mark.parametrize(("option", "error"), [("gold", ValueError), (3, TypeError), (2.5, TypeError)])
def test_bad_option_is_loud(option: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="limiter"):
        bucket_spec(option)


@pytest.mark.parametrize(
    ("spec", "headroom", "lag"),
    [
        (BucketSpec(rate=2.0, burst=50), 3, 0.0),  # standard: 1.5 s of jitter is 3 slots
        (BucketSpec(rate=5.0, burst=250), 8, 0.0),  # enterprise: 7.5 slots, rounded up
        (BucketSpec(rate=100.0, burst=50, jitter_allowance=1.5 / 50), 3, 0.0),  # standard sped up 50x
        # A fast bucket across the internet: 150 slots drain in the allowance, more than the burst. No
        # headroom can cover it: each request counts in full for the whole allowance (50 per 1.5 s at most:
        # keeping 49 free instead, the burst was one request, and 100/s left reached the portal bunched).
        (BucketSpec(rate=100.0, burst=50), 0, 1.5),
        (BucketSpec(rate=10.0, burst=10, jitter_allowance=1.0), 9, 0.1),  # 10 slots: 9 and 0.1 s as fast
        (BucketSpec(rate=2.0, burst=50, jitter_allowance=0), 0, 0.0),
        (BucketSpec(rate=2.0, burst=50, headroom=10), 10, 0.0),  # given directly: it covers 5 s
        (BucketSpec(rate=2.0, burst=50, headroom=2, jitter_allowance=1.5), 2, 0.5),  # both: it lags the rest
        (BucketSpec(rate=float("inf"), burst=5), 0, 1.5),
    ],
)
def test_headroom_covers_the_jitter_allowance(spec: BucketSpec, headroom: int, lag: float) -> None:
    assert spec.headroom == headroom and spec.capacity == spec.burst - headroom
    assert spec.lag == pytest.approx(lag)
    assert spec.headroom / spec.rate + spec.lag >= spec.jitter_allowance - 1e-9  # the whole allowance


def test_a_headroom_alone_sets_the_allowance_it_covers() -> None:
    spec = BucketSpec(rate=10.0, burst=5, headroom=2)
    assert spec.jitter_allowance == pytest.approx(0.2) and spec.lag == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0, "burst": 5},
        {"rate": 1, "burst": 0},
        {"rate": 1, "burst": 5, "headroom": 5},
        {"rate": 1, "burst": 5, "headroom": -1},
        {"rate": 1, "burst": 5, "headroom": 1.5},
        {"rate": 1, "burst": 5, "jitter_allowance": -0.1},
        {"rate": 1, "burst": 5, "jitter_allowance": float("nan")},
    ],
)
def test_bad_spec(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BucketSpec(**kwargs)  # type: ignore[arg-type]


def test_burst_goes_out_at_once_then_paced_by_the_drain() -> None:
    spec = BucketSpec(rate=2.0, burst=10, headroom=0)
    bucket = LeakyBucket(spec, now=100.0)
    delays = [bucket.reserve(100.0) for _ in range(14)]
    assert delays[:10] == [0.0] * 10
    assert delays[10:] == pytest.approx([0.5, 1.0, 1.5, 2.0])


def test_reservations_never_exceed_the_portal_bucket() -> None:
    """Replay the reserved send times against a model of the portal: nothing is ever refused."""
    spec = BucketSpec(rate=100.0, burst=50, jitter_allowance=1.5 / 50)  # headroom 3
    bucket = LeakyBucket(spec)
    sends = sorted(bucket.reserve(0.0) for _ in range(2000))
    level, last = 0.0, 0.0
    for t in sends:
        level = max(0.0, level - (t - last) * spec.rate)
        last = t
        assert level <= spec.burst  # the portal refuses only above burst
        level += 1
    ideal = (2000 - spec.burst) / spec.rate
    assert sends[-1] == pytest.approx(ideal + spec.headroom / spec.rate)


def test_rejection_assumes_full_and_slows_down_then_recovers() -> None:
    bucket = LeakyBucket(BucketSpec(rate=10.0, burst=20, headroom=0), now=0.0)
    assert bucket.reserve(0.0) == 0.0
    epoch = bucket.epoch
    bucket.on_rejected(1.0)
    assert bucket.epoch == epoch + 1
    assert bucket.rate < 10.0
    assert bucket.delay(1.0) > 0  # full: the next request has to wait
    for _ in range(100):
        bucket.on_accepted()
    assert bucket.rate == 10.0


def test_delay_does_not_reserve() -> None:
    bucket = LeakyBucket(BucketSpec(rate=1.0, burst=2, headroom=0))
    assert bucket.delay(0.0) == 0.0
    assert bucket.delay(0.0) == 0.0
    assert bucket.level(0.0) == 0.0


def _time(operating: float | None, reset_at: float | None, start: float | None = None) -> TimeInfo:
    return TimeInfo(operating=operating, operating_reset_at=reset_at, start=start)


@pytest.mark.parametrize(
    ("operating", "reset_at", "start", "now", "expected"),
    [
        (10.0, 1060.0, 1000.0, 1000.0, 0.0),  # far from the limit
        (470.0, 1060.0, 1000.0, 1000.0, 60.0),  # near: wait for the reset
        (470.0, 1060.0, 5000.0, 1000.0, 0.0),  # a reset before the call started: no wait
        (470.0, 9060.0, 9000.0, 1000.0, 60.0),  # portal clock 8000 s ahead: relative to start
        (470.0, None, None, 1000.0, 60.0),  # no reset time: one one-minute bucket
        (None, None, None, 1000.0, 0.0),  # a self-hosted portal without operating
    ],
)
def test_operating_delay(
    operating: float | None, reset_at: float | None, start: float | None, now: float, expected: float
) -> None:
    budget = OperatingBudget(480.0)
    budget.observe("bizproc.workflow.start", _time(operating, reset_at, start), now)
    assert budget.delay("bizproc.workflow.start", now) == pytest.approx(expected)
    assert budget.delay("bizproc.task.list", now) == 0.0  # other methods go on


def test_after_the_reset_one_call_goes_through() -> None:
    budget = OperatingBudget(480.0)
    budget.observe("m", _time(479.0, 1060.0, 1000.0), 1000.0)
    assert budget.delay("m", 1030.0) == pytest.approx(30.0)
    assert budget.delay("m", 1061.0) == 0.0


@pytest.mark.parametrize(
    ("time", "retry_after", "known_reset", "expected"),
    [
        (_time(481.0, 1100.0, 1000.0), None, None, 100.0),
        (None, 7.0, None, 7.0),
        (None, None, 1030.0, 30.0),
        (None, None, None, OperatingBudget.DEFAULT_WAIT),
    ],
)
def test_blocked_waits_until_the_reset(
    time: TimeInfo | None, retry_after: float | None, known_reset: float | None, expected: float
) -> None:
    budget = OperatingBudget(480.0)
    if known_reset is not None:
        budget.observe("m", _time(100.0, known_reset, 1000.0), 1000.0)
    assert budget.on_blocked("m", 1000.0, time=time, retry_after=retry_after) == pytest.approx(expected)
    assert budget.delay("m", 1000.0) == pytest.approx(expected)
    assert budget.delay("m", 1000.0 + expected) == 0.0


@pytest.mark.parametrize(
    "result_time",
    [
        {"a": {"operating": 470, "operating_reset_at": 1060, "start": 1000}, "b": {"operating": 1}},
        [{"operating": 470, "operating_reset_at": 1060, "start": 1000}, {"operating": 1}],
    ],
)
def test_batch_result_time_charges_each_method(result_time: object) -> None:
    budget = OperatingBudget(480.0)
    keys = {"a": "bizproc.workflow.start", "b": "bizproc.task.list"}
    if isinstance(result_time, list):
        keys = {"0": "bizproc.workflow.start", "1": "bizproc.task.list"}
    budget.observe_batch(keys, result_time, 1000.0)
    assert budget.delay("bizproc.workflow.start", 1000.0) == pytest.approx(60.0)
    assert budget.delay("bizproc.task.list", 1000.0) == 0.0


def test_batch_result_time_tolerates_php_empty_list() -> None:
    budget = OperatingBudget()
    budget.observe_batch({"a": "m"}, [], 0.0)
    budget.observe_batch({"a": "m"}, None, 0.0)
    assert budget.get("m") is None


def test_no_limit_never_delays_until_blocked() -> None:
    budget = OperatingBudget(None)
    budget.observe("m", _time(10_000.0, 1060.0, 1000.0), 1000.0)
    assert budget.delay("m", 1000.0) == 0.0


# -- observe_batch reads only what it needs, and ends where observing every command in turn would ---------
_FIGURES = st.one_of(
    st.none(),
    st.floats(allow_nan=True),
    st.integers(-(10**12), 10**12),
    st.sampled_from(["", "12.5", "x", "NaN"]),
)
_BLOCKS = st.one_of(
    st.none(),
    st.just([]),
    st.fixed_dictionaries(
        {},
        optional={
            "operating": _FIGURES,
            "operating_reset_at": _FIGURES,
            "start": _FIGURES,
            "finish": _FIGURES,
        },
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(st.tuples(st.sampled_from(["m", "M", "n", "other"]), _BLOCKS), max_size=8),
    as_list=st.booleans(),
    now=st.floats(0, 1e10),
)
def test_observe_batch_ends_where_observing_each_command_in_turn_does(
    blocks: list[tuple[str, object]], as_list: bool, now: float
) -> None:
    commands = {str(n) if as_list else f"c{n}": method for n, (method, _) in enumerate(blocks)}
    raw = [block for _, block in blocks]
    result_time: object = raw if as_list else dict(zip(commands, raw, strict=True))
    batch, each = OperatingBudget(), OperatingBudget()
    batch.observe_batch(commands, result_time, now)
    for method, block in zip(commands.values(), raw, strict=True):
        each.observe(method, TimeInfo.from_wire(block), now)
    for method in ("m", "n", "other"):
        assert batch.get(method) == each.get(method)


def _built(block: object) -> TimeInfo | None:
    """A time block built field by field (read in full), as the lazy one reads it."""
    lazy = TimeInfo.from_wire(block)
    return (
        None if lazy is None else TimeInfo(**{f.name: getattr(lazy, f.name) for f in attrs.fields(TimeInfo)})
    )


@settings(max_examples=300, deadline=None)
@given(block=st.one_of(_BLOCKS, st.dictionaries(st.sampled_from(["operating", "start", "finish"]), _FIGURES)))
def test_observing_an_unread_block_ends_where_observing_a_read_one_does(block: object) -> None:
    lazy, built = OperatingBudget(), OperatingBudget()
    lazy.observe("m", TimeInfo.from_wire(block), 1e9)
    built.observe("m", _built(block), 1e9)
    assert lazy.get("m") == built.get("m")
    waits = [
        b.on_blocked("m", 1e9, time=t) for b, t in ((lazy, TimeInfo.from_wire(block)), (built, _built(block)))
    ]
    assert waits[0] == waits[1]


def test_observing_an_answer_reads_only_the_figures_the_budget_uses() -> None:
    """Every single answer is observed: its dates (two ISO parses) stay unread until asked for (issue 17)."""
    stamp = "2026-11-28T00:20:54+03:00"
    block = {"start": 100.0, "finish": 100.5, "operating": 3.0, "operating_reset_at": 700.0,
             "date_start": stamp, "date_finish": stamp}  # fmt: skip
    time = TimeInfo.from_wire(block)
    assert time is not None
    budget = OperatingBudget()
    budget.observe("m", time, 1000.0)
    state = budget.get("m")
    assert state is not None and state.operating == 3.0 and state.reset_at == 1600.0
    assert "date_start" not in vars(time)  # not read yet
    assert time.date_start is not None and time == _built(block)  # read when asked, the same block
