"""Point 3: the leaky bucket, the operating-time budget, OVERLOAD_LIMIT, and crossing windows by clock."""

from __future__ import annotations

import pytest

from bitrix_bizproc.emulator import (
    ENTERPRISE,
    STANDARD,
    UNLIMITED,
    BatchBilling,
    EmulatedPortal,
    ManualClock,
    Plan,
    PortalConfig,
    ScaledClock,
)
from bitrix_bizproc.emulator.limits import LeakyBucket, OperatingBudget

from .conftest import PortalFactory, Post, calls


def test_presets_match_the_documented_plans() -> None:
    assert (STANDARD.rate, STANDARD.burst, STANDARD.operating_limit) == (2.0, 50, 480.0)
    assert (ENTERPRISE.rate, ENTERPRISE.burst) == (5.0, 250)
    assert UNLIMITED.rate is None and UNLIMITED.operating_limit is None
    assert Plan.named("enterprise") is ENTERPRISE
    assert Plan.custom(10, 20, None).operating_limit is None
    with pytest.raises(ValueError, match="unknown plan"):
        Plan.named("gold")


def test_bucket_refuses_over_burst_without_counting_the_refusal_and_drains_at_rate() -> None:
    bucket = LeakyBucket()
    admitted = [bucket.admit(100.0, 2.0, 50) for _ in range(60)]
    assert admitted.count(True) == 51  # refuses once the count is OVER 50
    assert bucket.level(100.0, 2.0) == 51  # refusals did not add
    assert not bucket.admit(100.4, 2.0, 50)  # 51 - 0.8 = 50.2 > 50
    assert bucket.admit(100.5, 2.0, 50)  # 51 - 1.0 = 50
    assert bucket.level(200.0, 2.0) == 0


@pytest.mark.parametrize(
    ("calls", "expected_operating"),
    [
        ([(0.0, 0.1)], 0.0),  # only calls longer than 0.1 s are recorded
        ([(0.0, 0.2), (10.0, 0.3)], 0.5),
        ([(0.0, 20.0), (599.0, 20.0)], 40.0),
        ([(0.0, 20.0), (600.0, 20.0)], 20.0),  # the first basket expired after 10 minutes
    ],
)
def test_operating_budget_sums_live_baskets(
    calls: list[tuple[float, float]], expected_operating: float
) -> None:
    budget = OperatingBudget()
    for at, seconds in calls:
        budget.record("app", "m", at, seconds)
    assert budget.operating("app", "m", calls[-1][0]) == pytest.approx(expected_operating)
    assert budget.operating("other-app", "m", calls[-1][0]) == 0


def test_baskets_start_at_their_first_call_and_reset_at_follows_the_oldest() -> None:
    budget = OperatingBudget()
    budget.record("app", "m", 1000.0, 5.0)
    budget.record("app", "m", 1059.0, 5.0)  # same basket (within its minute)
    budget.record("app", "m", 1060.0, 5.0)  # a new basket
    assert budget.reset_at("app", "m", 1100.0) == 1600
    assert budget.operating("app", "m", 1600.0) == 5.0
    assert budget.reset_at("app", "m", 1600.0) == 1660


async def test_query_limit_exceeded_over_burst_then_drains_on_the_clock(
    stub_factory: PortalFactory, post: Post
) -> None:
    clock = ManualClock()
    portal = await stub_factory(PortalConfig(plan=Plan.custom(2.0, 5)), clock=clock)
    statuses = [(await post(portal.webhook_url + "test.echo", json={}))[0] for _ in range(8)]
    assert statuses == [200] * 6 + [503] * 2
    status, body = await post(portal.webhook_url + "test.echo", json={})
    assert (status, body["error"]) == (503, "QUERY_LIMIT_EXCEEDED")
    assert len(calls(portal)) == 6
    clock.advance(0.5)  # 6 - 1 = 5: not over the burst any more
    assert (await post(portal.webhook_url + "test.echo", json={}))[0] == 200
    assert portal.counters.rejections["QUERY_LIMIT_EXCEEDED"] == 3


async def test_a_batch_counts_once_in_the_bucket(stub_factory: PortalFactory, post: Post) -> None:
    portal = await stub_factory(PortalConfig(plan=Plan.custom(1.0, 1)), clock=ManualClock())
    cmd = {str(i): "test.echo" for i in range(50)}
    for _ in range(2):
        status, body = await post(portal.webhook_url + "batch", json={"cmd": cmd})
        assert status == 200 and len(body["result"]["result"]) == 50
    assert (await post(portal.webhook_url + "batch", json={"cmd": cmd}))[0] == 503
    assert portal.counters.commands == 100


async def test_operating_time_limit_blocks_the_next_call_and_frees_after_ten_minutes(
    stub_factory: PortalFactory, post: Post
) -> None:
    clock = ManualClock()
    config = PortalConfig(plan=Plan.custom(None, 0, 480.0), method_processing={"test.list": 20.0})
    portal = await stub_factory(config, clock=clock)
    url = portal.webhook_url + "test.list"
    for _ in range(24):
        assert (await post(url, json={}))[0] == 200
        clock.advance(20)
    _, body = await post(url, json={})  # 480 is not over the limit: the call that crosses it still runs
    assert body["time"]["operating"] == 500.0
    reset_at = body["time"]["operating_reset_at"]
    status, body = await post(url, json={})
    assert (status, body["error"]) == (429, "OPERATION_TIME_LIMIT")
    assert (await post(portal.webhook_url + "test.echo", json={}))[0] == 200  # other methods keep working
    other_hook = portal.add_webhook(1)
    assert (await post(other_hook + "test.list", json={}))[0] == 200  # and other webhooks
    clock.set(reset_at)  # the oldest basket (60 s of calls) expires
    status, body = await post(url, json={})
    assert status == 200 and body["time"]["operating"] <= 480


async def test_batch_bills_nested_methods_by_default_and_batch_when_configured(
    stub_factory: PortalFactory, post: Post
) -> None:
    config = PortalConfig(plan=Plan.custom(None, 0, 25.0), method_processing={"test.echo": 10.0})
    portal = await stub_factory(config, clock=ManualClock())
    cmd = {"a": "test.echo", "b": "test.echo", "c": "test.echo", "d": "test.echo", "e": "test.list"}
    _, body = await post(portal.webhook_url + "batch", json={"cmd": cmd})
    assert body["result"]["result_error"]["d"]["error"] == "OPERATION_TIME_LIMIT"
    assert body["result"]["result_time"]["c"]["operating"] == 30.0
    assert "e" in body["result"]["result"] and body["time"]["operating"] == 0  # batch itself is not billed
    portal.config.batch_billing = BatchBilling.BATCH
    portal.reset_limits()
    _, body = await post(portal.webhook_url + "batch", json={"cmd": cmd})
    assert body["result"]["result_error"] == [] and body["time"]["operating"] == 40.0
    status, body = await post(portal.webhook_url + "batch", json={"cmd": cmd})
    assert (status, body["error"]) == (429, "OPERATION_TIME_LIMIT")
    assert (await post(portal.webhook_url + "test.echo", json={}))[0] == 200


async def test_overload_switch_blocks_every_call(stub: EmulatedPortal, post: Post) -> None:
    stub.config.overload = True
    status, body = await post(stub.webhook_url + "test.echo", json={})
    assert (status, body["error"]) == (503, "OVERLOAD_LIMIT")
    stub.config.overload = False
    assert (await post(stub.webhook_url + "test.echo", json={}))[0] == 200


async def test_limits_can_be_switched_on_a_running_portal(stub: EmulatedPortal, post: Post) -> None:
    stub.config.plan = Plan.custom(0.0, 0)
    assert (await post(stub.webhook_url + "test.echo", json={}))[0] == 200
    assert (await post(stub.webhook_url + "test.echo", json={}))[0] == 503


def test_scaled_clock_runs_faster_than_real_time() -> None:
    clock = ScaledClock(1000.0, start=0.0)
    first = clock()
    assert 0.0 <= first < 600.0
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(0)


def test_manual_clock_never_goes_back() -> None:
    clock = ManualClock(10.0)
    clock.advance(5)
    assert clock() == 15.0
    with pytest.raises(ValueError, match="backwards"):
        clock.set(0)


async def test_a_new_config_can_replace_the_old_one(stub: EmulatedPortal, post: Post) -> None:
    stub.config = PortalConfig(overload=True)
    assert (await post(stub.webhook_url + "test.echo", json={}))[1]["error"] == "OVERLOAD_LIMIT"
    assert stub.runner.config is stub.config


class TickingClock:
    """A clock that moves a whole second at every reading: a call visibly takes time on it."""

    def __init__(self, start: float = 1778747192.910734) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


async def test_a_basket_counts_down_from_the_start_of_its_first_call(
    stub_factory: PortalFactory, post: Post
) -> None:
    """settings/performance/limits.md: "if the first call in the basket started at 10:05:20 ...,
    operating_reset_at will correspond to 10:15:20"; its example block has ``operating_reset_at`` =
    ``start`` + 600 (1778747192.910734 -> 1778747792), whenever the call finished."""
    config = PortalConfig(plan=Plan.custom(None, 0, 480.0), method_processing={"test.echo": 3.3})
    portal = await stub_factory(config, clock=TickingClock())
    _, body = await post(portal.webhook_url + "test.echo", json={})
    block = body["time"]
    assert block["finish"] > block["start"] + 1  # the call took time on this clock
    assert block["operating_reset_at"] == int(block["start"] + 600)
    _, batch = await post(portal.webhook_url + "batch", json={"cmd": {"a": "test.list"}})
    assert batch["result"]["result_time"]["a"]["operating_reset_at"] == int(
        batch["result"]["result_time"]["a"]["start"] + 600
    )
