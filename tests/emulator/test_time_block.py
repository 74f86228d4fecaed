"""The ``time`` block tells what happened: no simulated figure in it, no finish in the future.

A real portal measures its blocks on its own clock: ``start <= finish``, ``duration = finish - start``,
``processing`` (the method's own run) within ``duration``, ``finish`` the moment the answer was made, and a
batch's commands each inside the batch's block, one after another. The emulator's simulated costs
(``processing_time``, ``method_processing``) stand for a method that ran that long: they go to the
operating budget (``operating``), never into the block's times.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from bitrix_bizproc.emulator import ManualClock, PortalConfig

from .conftest import PortalFactory, Post

# settings/performance/limits.md ("Resource Intensity Limits"): a single call.
DOCS_LIMITS = {
    "start": 1778747192.910734,
    "finish": 1778747193.530359,
    "duration": 0.6196250915527344,
    "processing": 0.032338857650756836,
    "date_start": "2026-05-14T10:26:32+02:00",
    "date_finish": "2026-05-14T10:26:33+02:00",
    "operating_reset_at": 1778747792,
    "operating": 3.3076241016387939,
}
# api-reference/data-types.md ("Time Object").
DOCS_DATA_TYPES = {
    "start": 1757424671.509725,
    "finish": 1757424672.203906,
    "duration": 0.694180965423584,
    "processing": 0.6726489067077637,
    "date_start": "2025-09-09T16:31:11+03:00",
    "date_finish": "2025-09-09T16:31:12+03:00",
    "operating_reset_at": 1757425271,
    "operating": 0.6726338863372803,
}
# settings/how-to-call-rest-api/batch.md (the example with two commands): the batch's block, its commands'.
DOCS_BATCH = {
    "start": 1724916859.421475,
    "finish": 1724916859.471588,
    "duration": 0.05011296272277832,
    "processing": 0.010200977325439453,
    "date_start": "2024-08-29T10:34:19+03:00",
    "date_finish": "2024-08-29T10:34:19+03:00",
}
DOCS_BATCH_COMMANDS = [
    {
        "start": 1724916859.46156,
        "finish": 1724916859.464775,
        "duration": 0.0032150745391845703,
        "processing": 0.003075838088989258,
        "date_start": "2024-08-29T10:34:19+03:00",
        "date_finish": "2024-08-29T10:34:19+03:00",
    },
    {
        "start": 1724916859.464944,
        "finish": 1724916859.471518,
        "duration": 0.006574153900146484,
        "processing": 0.005941152572631836,
        "date_start": "2024-08-29T10:34:19+03:00",
        "date_finish": "2024-08-29T10:34:19+03:00",
    },
]


def check_block(block: dict[str, Any]) -> None:
    """What every real block in the docs shows."""
    start, finish = block["start"], block["finish"]
    assert start <= finish
    assert block["duration"] == pytest.approx(finish - start, abs=1e-6)
    assert 0 <= block["processing"] <= block["duration"] + 1e-6
    for key, moment in (("date_start", start), ("date_finish", finish)):
        stated = dt.datetime.fromisoformat(block[key])
        assert stated.utcoffset() is not None
        assert stated.timestamp() == int(moment)  # to the second, in the portal's zone


def check_batch(block: dict[str, Any], commands: list[dict[str, Any]]) -> None:
    """A batch's commands run one after another, inside the batch's own block and its processing."""
    check_block(block)
    previous = block["start"]
    for command in commands:
        check_block(command)
        assert previous <= command["start"]
        previous = command["finish"]
    assert previous <= block["finish"]
    assert sum(c["duration"] for c in commands) <= block["processing"] + 1e-6


@pytest.mark.parametrize("block", [DOCS_LIMITS, DOCS_DATA_TYPES], ids=["limits.md", "data-types.md"])
def test_the_rules_hold_for_the_docs_blocks(block: dict[str, Any]) -> None:
    check_block(block)


def test_the_rules_hold_for_the_docs_batch() -> None:
    check_batch(DOCS_BATCH, DOCS_BATCH_COMMANDS)


async def test_a_simulated_cost_is_charged_not_reported_as_time(
    stub_factory: PortalFactory, post: Post
) -> None:
    clock = ManualClock()
    portal = await stub_factory(PortalConfig(method_processing={"test.echo": 2.5}), clock=clock)
    _, body = await post(portal.webhook_url + "test.echo", json={})
    block = body["time"]
    check_block(block)
    assert block["finish"] <= clock()  # made by now, not 2.5 s from now
    assert block["operating"] == 2.5  # the simulated run still costs its budget


async def test_a_batch_block_holds_its_commands(stub_factory: PortalFactory, post: Post) -> None:
    clock = ManualClock()
    portal = await stub_factory(PortalConfig(method_processing={"test.echo": 2.0}), clock=clock)
    cmd = {"a": "test.echo", "b": "test.list", "c": "test.echo"}
    _, body = await post(portal.webhook_url + "batch", json={"cmd": cmd})
    times = body["result"]["result_time"]
    check_batch(body["time"], [times[k] for k in ("a", "b", "c")])
    assert body["time"]["finish"] <= clock()
    assert [times[k]["operating"] for k in ("a", "c")] == [2.0, 4.0]  # each command to its method


async def test_blocks_on_the_wall_clock_are_measured(stub_factory: PortalFactory, post: Post) -> None:
    portal = await stub_factory(PortalConfig(processing_time=30.0), clock=time.time)
    before = time.time()
    _, body = await post(portal.webhook_url + "test.echo", json={})
    _, batch = await post(portal.webhook_url + "batch", json={"cmd": ["test.echo", "test.echo"]})
    after = time.time()
    check_block(body["time"])
    check_batch(batch["time"], batch["result"]["result_time"])
    for block in (body["time"], batch["time"]):
        assert before <= block["start"] and block["finish"] <= after  # no finish 30 s ahead
