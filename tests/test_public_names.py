"""What public methods hand back, and the error for refused input, are importable from the package."""

from __future__ import annotations

import pytest

import bitrix_bizproc
from bitrix_bizproc import (
    BatchCommand,
    BatchComposer,
    BizprocClient,
    ClientValidationError,
    Page,
    Paginator,
    Pending,
    ValidationError,
)
from bitrix_bizproc.jobs import JournalOutcome, Outcome


def test_the_types_public_methods_return_are_exported() -> None:
    for name in ("Paginator", "Page", "BatchComposer", "BatchCommand", "Pending", "DirectCall"):
        assert name in bitrix_bizproc.__all__ and hasattr(bitrix_bizproc, name)


async def test_returned_objects_are_instances_of_the_exported_types() -> None:
    async with BizprocClient.from_webhook("https://example.bitrix24.com/rest/1/abcdef/", limiter="off") as c:
        assert isinstance(c.workflows.instances(), Paginator)
        composer = c.batch()
        assert isinstance(composer, BatchComposer)
        command = composer.workflows.terminate("66e412fdc9bd44.36306599")
        assert isinstance(command, BatchCommand) and isinstance(command, Pending)
    assert Page.__module__.startswith("bitrix_bizproc")


async def test_client_side_refusals_are_one_exported_type() -> None:
    async with BizprocClient.from_webhook("https://example.bitrix24.com/rest/1/abcdef/", limiter="off") as c:
        with pytest.raises(ClientValidationError) as info:
            c.paginate("bizproc.workflow.instances", limit=-1)
    assert isinstance(info.value, ValidationError) and info.value.code == "CLIENT_VALIDATION"
    assert ClientValidationError("x", method="m").method == "m"


def test_the_journal_outcome_keeps_its_former_name() -> None:
    assert Outcome is JournalOutcome
