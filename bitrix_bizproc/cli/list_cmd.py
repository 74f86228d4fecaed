"""``bizproc instances|templates|tasks|users list``: read-only listings, streamed as the pages come."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ..models.converter import unstructure
from ._common import (
    EXIT_OK,
    UsageError,
    add_connection_options,
    client_from_args,
    key_value,
    non_negative_int,
    run_async,
)
from ._output import FORMATS, RowWriter

__all__ = ["register"]


@attrs.frozen
class _Listing:
    noun: str  # the command: "instances"
    namespace: str  # the client attribute: "workflows"
    method: str  # the namespace's paginator: "instances"
    columns: tuple[str, ...]  # the default SELECT, in display order
    what: str
    example: str  # a --filter that works on this listing, for --help


LISTINGS = (
    _Listing(
        "instances",
        "workflows",
        "instances",
        ("ID", "STARTED", "STARTED_BY", "TEMPLATE_ID", "MODULE_ID", "ENTITY", "DOCUMENT_ID", "MODIFIED"),
        "running workflow instances (bizproc.workflow.instances)",
        "'<STARTED=2025-01-01'",
    ),
    _Listing(
        "templates",
        "templates",
        "list",
        ("ID", "NAME", "MODULE_ID", "ENTITY", "DOCUMENT_TYPE", "AUTO_EXECUTE", "USER_ID", "MODIFIED"),
        "workflow templates (bizproc.workflow.template.list)",
        "MODULE_ID=crm",
    ),
    _Listing(
        "tasks",
        "tasks",
        "list",
        ("ID", "WORKFLOW_ID", "NAME", "USER_ID", "STATUS", "DOCUMENT_NAME", "MODIFIED"),
        "workflow tasks (bizproc.task.list)",
        "USER_ID=57",
    ),
    _Listing(
        "users",
        "users",
        "list",
        ("ID", "ACTIVE", "NAME", "LAST_NAME", "EMAIL", "WORK_POSITION", "LAST_LOGIN"),
        "users, dismissed employees first (user.get)",
        "ACTIVE=N",
    ),
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``instances``, ``templates``, ``tasks`` and ``users``, each with a ``list`` action."""
    for listing in LISTINGS:
        noun = subparsers.add_parser(listing.noun, help=f"list {listing.what}")
        actions = noun.add_subparsers(dest="action", metavar="ACTION", required=True)
        parser = actions.add_parser("list", help=f"list {listing.what}", description=f"List {listing.what}.")
        add_connection_options(parser)
        parser.add_argument(
            "--filter",
            action="append",
            type=key_value,
            default=[],
            metavar="KEY=VALUE",
            help=f"a filter condition, repeatable; operators go before the key, e.g. {listing.example}",
        )
        parser.add_argument(
            "--select", metavar="FIELDS", help=f"comma-separated fields (default {','.join(listing.columns)})"
        )
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="table",
            help="table (default), json (one array), jsonl (one object per line) or csv; "
            "all but table are written as the pages arrive",
        )
        parser.add_argument(
            "--limit",
            type=non_negative_int,
            default=100,
            metavar="N",
            help="at most N rows (default 100; 0 = all)",
        )
        parser.set_defaults(run=_runner(listing))


def _runner(listing: _Listing) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        return run_async(lambda: _list(listing, args))

    return run


def _select(args: argparse.Namespace, listing: _Listing) -> list[str]:
    if not args.select:
        return list(listing.columns)
    fields = [f.strip().upper() for f in args.select.split(",") if f.strip()]
    if not fields:
        raise UsageError("--select needs at least one field name")
    return fields


def _filter(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise UsageError(f"--filter {key} given twice")
        out[key] = value
    return out or None


def _walks(listing: _Listing, namespace: Any, args: argparse.Namespace, select: list[str]) -> list[Any]:
    """The paginators to read, in order: for users without an ACTIVE filter, the dismissed ones first."""
    base = _filter(args.filter)
    method = getattr(namespace, listing.method)
    if listing.noun == "users" and not any(k.lstrip("!<>=@").upper() == "ACTIVE" for k in base or {}):
        return [method({**(base or {}), "ACTIVE": active}, select=select) for active in (False, True)]
    return [method(base, select=select)]


async def _list(listing: _Listing, args: argparse.Namespace) -> int:
    select = _select(args, listing)
    client = client_from_args(args)
    writer = RowWriter(sys.stdout, args.format, select)
    writer.begin()
    limit = args.limit or None
    async with client:
        for walk in _walks(listing, getattr(client, listing.namespace), args, select):
            async for row in walk:
                if limit is not None and writer.count >= limit:
                    break
                writer.write(unstructure(row))
            await walk.aclose()
    shown = writer.end()
    if args.limit and shown == args.limit:
        print(f"(first {shown} rows; --limit N for more, --limit 0 for all)", file=sys.stderr)
    return EXIT_OK
