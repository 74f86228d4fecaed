"""The REST batch over the gateway's ``POST /v1/batch``: composer, coalescing, what cannot be expressed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.vibecode import VibecodeGateway
from bitrix_bizproc.models.documents import DocumentId
from bitrix_bizproc.protocol.envelope import ApiResponse
from bitrix_bizproc.protocol.errors import NotFoundError, QueryLimitError, UnsupportedOperationError
from bitrix_bizproc.protocol.vibecode_batch import combine, plan_batch

from .conftest import DEAL_TYPE, Connect


@pytest.fixture
def running(portal: EmulatedPortal) -> list[str]:
    """Ten running workflows of template 1."""
    portal.state.add_template("T", DEAL_TYPE)
    return [w.id for w in portal.state.add_instances(10)]


async def test_composer_commands_travel_in_one_gateway_batch(
    portal: EmulatedPortal, gateway: VibecodeGateway, client: BizprocClient, running: list[str]
) -> None:
    async with client.batch() as batch:
        soft = batch.workflows.terminate(running[0], status="done")
        hard = batch.workflows.kill(running[1])
        missing = batch.workflows.kill("66e412fdc9bd44.36306599")
        page = batch.workflows.instances_page(select=["ID"])
    assert (soft.result(), hard.result()) == (True, True)
    assert isinstance(missing.error, NotFoundError) and missing.error.code == "ENTITY_NOT_FOUND"
    assert page.result().total == 8
    assert (gateway.batches, gateway.requests) == (1, 1)
    assert portal.state.counts()["terminated"] == 1 and portal.state.counts()["killed"] == 1


async def test_calls_the_gateway_batch_lacks_go_alone(
    portal: EmulatedPortal, gateway: VibecodeGateway, client: BizprocClient, running: list[str]
) -> None:
    async with client.batch() as batch:
        started = batch.workflows.start(1, DocumentId.deal(77))
        killed = batch.workflows.kill(running[0])
    assert portal.state.instance(started.result()) is not None
    assert killed.result() is True
    assert (gateway.batches, gateway.requests) == (1, 2)


async def test_sixty_commands_make_two_gateway_batches(
    portal: EmulatedPortal, gateway: VibecodeGateway, client: BizprocClient
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    ids = [w.id for w in portal.state.add_instances(60)]
    async with client.batch() as batch:
        commands = [batch.workflows.kill(i) for i in ids]
    assert all(c.result() for c in commands)
    assert gateway.batches == 2 and portal.state.counts()["killed"] == 60


async def test_coalescing_uses_the_gateway_batch(
    portal: EmulatedPortal, gateway: VibecodeGateway, connect: Connect, key: str
) -> None:
    portal.state.add_template("T", DEAL_TYPE)
    ids = [w.id for w in portal.state.add_instances(120)]
    client = connect(key, auto_batch=True)
    results = await asyncio.gather(*(client.workflows.terminate(i) for i in ids))
    assert all(results) and portal.state.counts()["terminated"] == 120
    assert gateway.batches == gateway.requests <= 4


async def test_references_and_halt_are_refused_before_sending(
    gateway: VibecodeGateway, client: BizprocClient, running: list[str]
) -> None:
    async with client.batch() as batch:
        page = batch.call("bizproc.workflow.instances", {"SELECT": ["ID"]})
        kill = batch.workflows.kill(page.ref["0"]["ID"])
    for command in (page, kill):
        assert isinstance(command.error, UnsupportedOperationError)
    async with client.batch(halt=True) as halted:
        one = halted.workflows.kill(running[0])
    assert isinstance(one.error, UnsupportedOperationError) and "halt" in str(one.error)
    assert gateway.requests == 0


@pytest.mark.parametrize(
    ("cmd", "grouped", "alone"),
    [
        ({"a": "bizproc.workflow.kill?ID=x", "b": "bizproc.workflow.instances?start=50"}, ["a", "b"], []),
        (
            {
                "s": "bizproc.workflow.start?TEMPLATE_ID=1&DOCUMENT_ID[0]=crm&DOCUMENT_ID[1]=CCrmDocumentDeal"
                "&DOCUMENT_ID[2]=DEAL_1",
                "e": "bizproc.event.send?EVENT_TOKEN=t",
                "t": "bizproc.workflow.terminate?ID=y",
            },
            ["t"],
            ["s", "e"],
        ),
    ],
)
def test_plan_sorts_commands(cmd: dict[str, str], grouped: list[str], alone: list[str]) -> None:
    plan = plan_batch({"halt": 0, "cmd": cmd})
    assert [c.key for c in plan.grouped] == grouped and [c.key for c in plan.alone] == alone
    calls: Any = (plan.gateway_request().body or {})["calls"]
    assert [c["id"] for c in calls] == grouped


def test_plan_writes_gateway_calls() -> None:
    plan = plan_batch(
        {"cmd": ["bizproc.workflow.kill?ID=a.1", "bizproc.workflow.terminate?ID=b.2&STATUS=x%26y"]}
    )
    assert plan.gateway_request().body == {
        "calls": [
            {
                "id": "0",
                "entity": "workflows",
                "action": "delete",
                "entityId": "a.1",
                "params": {"force": True},
            },
            {
                "id": "1",
                "entity": "workflows",
                "action": "delete",
                "entityId": "b.2",
                "params": {"status": "x&y"},
            },
        ]
    }


@pytest.mark.parametrize(
    "cmd",
    [
        {"a": "bizproc.workflow.instances", "b": "bizproc.workflow.kill?ID=$result[a][0][ID]"},
        {"a": "bizproc.task.list"},
    ],
)
def test_plan_refuses_what_cannot_be_expressed(cmd: dict[str, str]) -> None:
    with pytest.raises(UnsupportedOperationError, match="Vibecode gateway"):
        plan_batch({"halt": 0, "cmd": cmd})


def test_a_failed_gateway_batch_fails_only_its_own_commands() -> None:
    cmd = {
        "t": "bizproc.workflow.terminate?ID=y",
        "s": "bizproc.workflow.start?TEMPLATE_ID=1&DOCUMENT_ID[0]=crm&DOCUMENT_ID[1]=CCrmDocumentDeal"
        "&DOCUMENT_ID[2]=DEAL_1",
    }
    plan = plan_batch({"cmd": cmd})
    refused = QueryLimitError("slow down", code="RATE_LIMITED", status=429)
    merged = combine(plan, refused, {"s": ApiResponse("66e4.1")})
    assert merged["result"] == {"s": "66e4.1"}
    assert merged["result_error"] == {"t": {"error": "RATE_LIMITED", "error_description": "slow down"}}
