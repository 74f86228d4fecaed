"""``bizproc terminate``: stop (or ``--kill``) every running workflow matching the criteria."""

from __future__ import annotations

import argparse
from typing import Any

from ..jobs import instance_filter, terminate_workflows
from ..models.documents import DocumentType
from ..protocol.errors import ValidationError
from ._common import UsageError, add_connection_options, iso_date, key_value, positive_int, run_async
from ._jobrun import EPILOG, add_job_options, describe_workflows, run_job_command

__all__ = ["register"]


def _document_type(text: str) -> DocumentType:
    parts = text.split(":")
    try:
        return DocumentType.parse(parts)
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(
            f"{exc.description} (write MODULE:ENTITY:TYPE, e.g. crm:CCrmDocumentDeal:DEAL)"
        ) from None


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``terminate`` subcommand."""
    parser = subparsers.add_parser(
        "terminate",
        help="terminate or kill every running workflow matching a filter",
        description=(
            "Terminate (keep the record) or --kill (delete) every running workflow matching all the given "
            "criteria. Lists first, then asks; without a terminal it only lists unless --yes is given."
        ),
        epilog=EPILOG,
    )
    add_connection_options(parser)
    which = parser.add_argument_group("which workflows (all criteria must match)")
    which.add_argument(
        "--started-before",
        type=iso_date,
        metavar="DATE",
        help="started before DATE; midnight UTC unless DATE carries an offset (2025-01-01T00:00:00+03:00)",
    )
    which.add_argument(
        "--started-after",
        type=iso_date,
        metavar="DATE",
        help="started on/after DATE; UTC unless DATE carries an offset",
    )
    which.add_argument("--template", type=positive_int, metavar="ID", help="of the template with this ID")
    which.add_argument(
        "--document-type",
        type=_document_type,
        metavar="M:E:T",
        help="on this document type, e.g. crm:CCrmDocumentDeal:DEAL",
    )
    which.add_argument("--started-by", type=positive_int, metavar="USER_ID", help="started by this user")
    which.add_argument(
        "--filter",
        action="append",
        type=key_value,
        default=[],
        metavar="KEY=VALUE",
        help="any other condition",
    )
    how = parser.add_argument_group("what to do")
    how.add_argument(
        "--kill", action="store_true", help="delete the workflows with their data (default: terminate)"
    )
    how.add_argument("--status", metavar="TEXT", help="status text shown for terminated workflows")
    add_job_options(parser)
    parser.set_defaults(run=lambda args: run_async(lambda: _terminate(args), journal=args.journal))


def _filter(args: argparse.Namespace) -> dict[str, Any]:
    out = instance_filter(
        started_before=args.started_before,
        started_after=args.started_after,
        template_id=args.template,
        started_by=args.started_by,
    )
    for key, value in args.filter:
        if key in out:
            raise UsageError(f"condition {key} given twice")
        out[key] = value
    if not out and args.document_type is None:
        raise UsageError(
            "say which workflows: --started-before, --started-after, --template, --document-type, "
            "--started-by or --filter"
        )
    return out


async def _terminate(args: argparse.Namespace) -> int:
    if args.kill and args.status is not None:
        raise UsageError("--status applies to terminate only; --kill deletes the workflow and its record")
    filter = _filter(args)
    verb = "Kill" if args.kill else "Terminate"
    return await run_job_command(
        args,
        lambda n: f"{verb} {n} running workflows?",
        lambda client, run: terminate_workflows(
            client,
            filter=filter,
            mode="kill" if args.kill else "terminate",
            status=args.status,
            document_type=args.document_type,
            **run,
        ),
        describe_workflows,
    )
