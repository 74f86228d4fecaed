"""``bizproc offboard``: clear out the workflows (or hand over the tasks) of a dismissed employee."""

from __future__ import annotations

import argparse
from typing import Any

from ..jobs import offboard_employee
from ..jobs.offboard import OffboardAction
from ..protocol.encoding import digits
from ._common import UsageError, add_connection_options, positive_int, run_async
from ._jobrun import EPILOG, add_job_options, describe_workflows, run_job_command

__all__ = ["register"]


def _user(text: str) -> int | str:
    value = text.strip()
    if not value:
        raise argparse.ArgumentTypeError("--user takes an ID (57) or a name ('Anna Petrova')")
    return int(value) if digits(value) else value


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``offboard`` subcommand."""
    parser = subparsers.add_parser(
        "offboard",
        help="terminate the workflows of a dismissed employee's open tasks, or delegate the tasks",
        description=(
            "Find a dismissed (inactive) employee by ID or name, walk all of their open tasks, and terminate "
            "(or --kill) the workflows behind them, or --delegate-to another employee."
        ),
        epilog=EPILOG,
    )
    add_connection_options(parser)
    parser.add_argument("--user", required=True, type=_user, metavar="ID|NAME", help="57 or 'Anna Petrova'")
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--delegate-to", type=positive_int, metavar="USER_ID", help="hand the open tasks to this user"
    )
    how.add_argument("--kill", action="store_true", help="delete the workflows (default: terminate them)")
    parser.add_argument("--status", metavar="TEXT", help="status text shown for terminated workflows")
    add_job_options(parser)
    parser.set_defaults(run=lambda args: run_async(lambda: _offboard(args), journal=args.journal))


async def _offboard(args: argparse.Namespace) -> int:
    action: OffboardAction = "delegate" if args.delegate_to else "kill" if args.kill else "terminate"
    if args.status is not None and action != "terminate":
        raise UsageError("--status applies to terminate only")
    if action == "delegate":
        question = f"Delegate {{n}} open tasks to user {args.delegate_to}?"
    else:
        question = f"{action.capitalize()} the {{n}} workflows behind the open tasks?"
    return await run_job_command(
        args,
        lambda n: question.format(n=n),
        lambda client, run: offboard_employee(
            client, user=args.user, action=action, to_user=args.delegate_to, status=args.status, **run
        ),
        None if action == "delegate" else describe_workflows,  # delegation lists task IDs
    )
