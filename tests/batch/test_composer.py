"""The batch composer against the emulated portal: chunking, partial failures, halt, references, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bitrix_bizproc._call import Call
from bitrix_bizproc._client import BizprocClient
from bitrix_bizproc.emulator import EmulatedPortal
from bitrix_bizproc.emulator.faults import FaultKind
from bitrix_bizproc.protocol.batch import Ref
from bitrix_bizproc.protocol.errors import (
    InvalidCredentialsError,
    NotExecutedError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    ValidationError,
)
from bitrix_bizproc.protocol.retry import RetryPolicy
from bitrix_bizproc.services import WorkflowCommands

from .conftest import DEAL

Instances = Callable[[int], list[str]]


@pytest.mark.parametrize(("n", "batches"), [(1, 1), (50, 1), (51, 2), (120, 3)])
async def test_commands_are_chunked_by_fifty(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances, n: int, batches: int
) -> None:
    ids = instances(n)
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf, status="cleanup") for wf in ids]
    assert portal.counters.batches == batches
    assert portal.counters.requests == batches
    assert [c.result() for c in commands] == [True] * n
    assert batch.results == commands
    assert all(portal.state.instance(wf).state == "Terminated" for wf in ids)
    assert {portal.state.instance(wf).status_text for wf in ids} == {"cleanup"}


async def test_one_failure_never_hides_the_others(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(60)
    ids[3] = ids[55] = "66e412fdc9bd44.00000000"  # unknown
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    failed = [i for i, c in enumerate(commands) if not c.ok]
    assert failed == [3, 55]
    for i in failed:
        error = commands[i].error
        assert isinstance(error, NotFoundError)
        assert error.method == "bizproc.workflow.terminate"
        assert commands[i].executed
        with pytest.raises(NotFoundError):
            commands[i].result()
    assert all(c.result() is True for i, c in enumerate(commands) if i not in failed)
    assert portal.state.running_count == 2  # the two replaced IDs were never terminated


async def test_halt_marks_skipped_commands_not_executed(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(5)
    ids[2] = "66e412fdc9bd44.00000000"
    async with client.batch(halt=True) as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert [c.ok for c in commands] == [True, True, False, False, False]
    assert isinstance(commands[2].error, NotFoundError) and commands[2].executed
    for skipped in commands[3:]:
        assert isinstance(skipped.error, NotExecutedError)
        assert not skipped.executed
    assert portal.state.running_count == 3  # the instance behind ids[2], ids[3] and ids[4] still run


async def test_halt_stops_later_chunks_too(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(120)
    ids[10] = "66e412fdc9bd44.00000000"
    async with client.batch(halt=True) as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert portal.counters.batches == 1  # the chunks after the failing one were never sent
    assert all(c.ok for c in commands[:10])
    assert all(isinstance(c.error, NotExecutedError) and not c.executed for c in commands[11:])
    assert portal.state.running_count == 110  # 10 terminated of 120


async def test_references_within_a_chunk(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    instances(7)
    async with client.batch() as batch:
        page = batch.workflows.instances_page(order={"ID": "ASC"})
        first = batch.workflows.terminate(page.ref[0]["ID"])
        second = batch.call("bizproc.workflow.terminate", {"ID": page.ref[1]["ID"], "STATUS": page.ref.total})
    rows = page.result()
    assert first.result() is True and second.ok
    assert portal.state.instance(rows.items[0].id).state == "Terminated"
    assert portal.state.instance(rows.items[1].id).status_text == "7"
    assert portal.counters.batches == 1


async def test_referencing_commands_stay_with_their_target(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    instances(60)
    async with client.batch() as batch:
        page = batch.workflows.instances_page(order={"ID": "ASC"})
        fillers = [batch.call("user.get", {"ID": 1}) for _ in range(55)]
        late = batch.call("bizproc.workflow.terminate", {"ID": page.ref[49]["ID"], "STATUS": "late"})
    assert portal.counters.batches == 2  # 57 commands; the late one travels with the page it reads
    assert late.ok and all(f.ok for f in fillers)
    last_row = page.result().items[49].id
    assert portal.state.instance(last_row).status_text == "late"


async def test_reference_chains_longer_than_a_chunk_are_refused_before_sending(
    client: BizprocClient, portal: EmulatedPortal
) -> None:
    with pytest.raises(ValidationError, match="group of 51"):
        async with client.batch() as batch:
            previous = batch.call("user.get", {"ID": 1})
            for _ in range(50):
                previous = batch.call("user.get", {"ID": previous.ref[0]["ID"]})
    assert portal.counters.requests == 0
    assert not any(c.done for c in batch.results)


async def test_a_reference_into_another_batch_is_refused(
    client: BizprocClient, portal: EmulatedPortal
) -> None:
    async with client.batch() as first:
        user = first.call("user.get", {"ID": 1})  # key c0 here, and c0 in the next batch too
    with pytest.raises(ValidationError, match="another batch"):
        async with client.batch() as second:
            second.call("user.get", {"ID": 2})
            second.call("user.get", {"ID": user.ref[0]["ID"]})
    assert portal.counters.requests == 1


async def test_a_reference_to_an_unknown_key_is_refused(
    client: BizprocClient, portal: EmulatedPortal
) -> None:
    with pytest.raises(ValidationError, match="not in this batch"):
        async with client.batch() as batch:
            batch.call("user.get", {"ID": Ref("c7")[0]["ID"]})
    assert portal.counters.requests == 0


async def test_a_reference_to_a_command_sent_alone_is_refused(
    client: BizprocClient, portal: EmulatedPortal
) -> None:
    with pytest.raises(ValidationError, match="on its own"):
        async with client.batch() as batch:
            alone = batch.executor.submit(Call("user.get", {"ID": 1}, batchable=False))
            batch.call("user.get", {"ID": alone.ref[0]["ID"]})
    assert portal.counters.requests == 0


async def test_unbatchable_calls_go_direct(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(3)
    async with client.batch() as batch:
        alone = batch.executor.submit(Call("bizproc.workflow.terminate", {"ID": ids[0]}, batchable=False))
        together = [batch.workflows.terminate(wf) for wf in ids[1:]]
    assert alone.result() is True and all(c.ok for c in together)
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)


async def test_a_batch_inside_a_batch_is_refused(client: BizprocClient) -> None:
    async with client.batch() as batch:
        with pytest.raises(ValidationError, match="another batch"):
            batch.call("batch", {"cmd": {"a": "user.get"}})
    assert batch.results == []


async def test_paging_is_refused_inside_a_batch(client: BizprocClient) -> None:
    async with client.batch() as batch:
        assert isinstance(batch.workflows, WorkflowCommands) and batch.workflows is batch.workflows
        with pytest.raises(AttributeError, match="instances"):  # the type checker refuses it first
            batch.workflows.instances()  # type: ignore[attr-defined]
        for namespace, walk in (("tasks", "list"), ("templates", "list"), ("users", "list")):
            assert not hasattr(getattr(batch, namespace), walk)


async def test_results_are_unavailable_until_the_batch_is_sent(
    client: BizprocClient, instances: Instances
) -> None:
    ids = instances(1)
    async with client.batch() as batch:
        command = batch.workflows.terminate(ids[0])
        assert not command.done
        with pytest.raises(RuntimeError, match="not been sent"):
            command.result()
    assert await command is True
    with pytest.raises(ValidationError, match="already been sent"):
        batch.workflows.terminate(ids[0])


async def test_nothing_is_sent_when_the_block_raises(client: BizprocClient, portal: EmulatedPortal) -> None:
    with pytest.raises(KeyError):
        async with client.batch() as batch:
            batch.call("user.get", {"ID": 1})
            raise KeyError("boom")
    assert portal.counters.requests == 0


async def test_whole_request_error_fails_every_command_of_its_chunk(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(100)
    portal.faults.inject(FaultKind.HTTP_502, method="batch")
    async with client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    failed = [c for c in commands if not c.ok]
    assert len(failed) == 50  # one chunk of two
    assert len({id(c.error) for c in failed}) == 1
    assert all(isinstance(c.error, ServerError) and c.error.status == 502 for c in failed)
    assert portal.state.running_count == 50


async def test_whole_request_errors_are_retried_by_the_session(
    portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(10)
    portal.faults.inject(FaultKind.HTTP_500, method="batch")
    retry = RetryPolicy(backoff=0.0)
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", retry=retry)
    async with client, client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert all(c.ok for c in commands)
    assert (portal.counters.requests, portal.counters.batches) == (2, 1)


async def test_auth_failure_fails_every_command(portal: EmulatedPortal) -> None:
    bad = portal.webhook_url.rstrip("/").rsplit("/", 1)[0] + "/wrongcode/"
    async with BizprocClient.from_webhook(bad, limiter="off") as client, client.batch() as batch:
        commands = [batch.call("user.get", {"ID": i}) for i in range(3)]
    assert all(isinstance(c.error, InvalidCredentialsError) for c in commands)


async def test_start_inside_a_batch_returns_the_typed_result(
    client: BizprocClient, portal: EmulatedPortal
) -> None:
    template = portal.state.add_template("Approval", DEAL, parameters={"who": {"Type": "string"}})
    portal.state.add_user("Admin", "Root", is_admin=True)  # user 1: the webhook's owner
    user = portal.state.add_user("Anna", "Petrova")
    async with client.batch() as batch:
        found = batch.call("user.get", {"FILTER": {"NAME": "Anna"}})
        started = batch.workflows.start(
            template.id, ["crm", "CCrmDocumentDeal", "DEAL_5"], parameters={"who": found.ref[0]["ID"]}
        )
    workflow_id = started.result()
    assert isinstance(workflow_id, str)
    assert portal.state.instance(workflow_id).parameters == {"who": str(user.id)}


async def test_a_batch_that_creates_things_is_not_resent_after_an_ambiguous_failure(
    portal: EmulatedPortal,
) -> None:
    template = portal.state.add_template("Approval", DEAL)
    portal.faults.inject(FaultKind.DROP, method="batch")
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", retry=RetryPolicy(backoff=0.0))
    async with client, client.batch() as batch:
        starts = [
            batch.workflows.start(template.id, ["crm", "CCrmDocumentDeal", f"DEAL_{i}"]) for i in range(1, 4)
        ]
    assert all(isinstance(s.error, OutcomeUnknownError) for s in starts)
    assert portal.counters.requests == 1  # a retry could have started every workflow twice


async def test_a_batch_of_idempotent_commands_is_resent_after_an_ambiguous_failure(
    portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(3)
    portal.faults.inject(FaultKind.DROP, method="batch")
    client = BizprocClient.from_webhook(portal.webhook_url, limiter="off", retry=RetryPolicy(backoff=0.0))
    async with client, client.batch() as batch:
        commands = [batch.workflows.terminate(wf) for wf in ids]
    assert all(c.ok for c in commands)
    assert portal.counters.requests == 2


async def test_halt_also_stops_a_later_command_sent_on_its_own(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(2)
    async with client.batch(halt=True) as batch:
        failing = batch.workflows.terminate("66e412fdc9bd44.00000000")
        batch.workflows.terminate(ids[0])
        alone = batch.workflows.terminate(ids[1], status="costs $result[x]")  # text like a macro: sent alone
    assert isinstance(failing.error, NotFoundError)
    assert isinstance(alone.error, NotExecutedError) and not alone.executed
    assert portal.state.instance(ids[1]).state != "Terminated"


async def test_halt_keeps_the_order_of_chunks_when_a_linked_group_does_not_fit(
    client: BizprocClient, portal: EmulatedPortal, instances: Instances
) -> None:
    ids = instances(2)
    async with client.batch(halt=True) as batch:
        batch.workflows.terminate(ids[0])
        failing = batch.call("bizproc.workflow.terminate", {"ID": "66e412fdc9bd44.00000000"})
        for _ in range(49):  # 50 commands linked by references: a chunk of their own
            batch.call("bizproc.workflow.terminate", {"ID": failing.ref["ID"]})
        later = batch.workflows.terminate(ids[1])  # added after the failure: must not run
    assert isinstance(failing.error, NotFoundError)
    assert isinstance(later.error, NotExecutedError) and not later.executed
    assert portal.state.instance(ids[1]).state != "Terminated"
