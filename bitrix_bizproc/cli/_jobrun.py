"""The parts of ``terminate`` and ``offboard`` that are the same: dry run or confirm, progress, the report."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import enum
import json
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO, TypedDict

from .._client import BizprocClient
from ..jobs import JobReport, ReportOutcome
from ..jobs._runner import Confirm
from ._common import (
    EXIT_FAILED,
    EXIT_NOT_CONFIRMED,
    EXIT_OK,
    ask,
    client_from_args,
    ctrl_c_raises,
    non_negative_int,
)
from ._progress import ProgressDisplay

__all__ = [
    "JobRunArgs",
    "RunMode",
    "add_job_options",
    "confirmer",
    "describe_workflows",
    "finish",
    "run_job_command",
    "run_mode",
]

Details = Mapping[str, str]  # item -> what it is ("started ..., template 12, crm:CCrmDocumentDeal:DEAL_7")
Describe = Callable[[BizprocClient, Sequence[str]], Awaitable[Details]]
_DETAIL_FIELDS = ["ID", "STARTED", "TEMPLATE_ID", "MODULE_ID", "ENTITY", "DOCUMENT_ID"]

EPILOG = (
    "exit codes: 0 all done (or a --dry-run), 1 some items failed, 2 bad input or no credentials, "
    "3 connection or authentication error, 4 not confirmed (no terminal and no --yes: only listed), "
    "5 the connection (the Vibecode gateway) cannot do this at all, "
    "6 the journal failed mid-run (disk full: rerun with the same --journal once it is writable), "
    "130 interrupted (rerun with the same --journal to resume)"
)


class RunMode(enum.Enum):
    """Whether a destructive command lists only, asks first, or acts."""

    DRY_RUN = "dry_run"
    ASK = "ask"
    YES = "yes"
    UNCONFIRMED = "unconfirmed"  # no terminal to ask on and no --yes: lists only, exits EXIT_NOT_CONFIRMED


def add_job_options(parser: argparse.ArgumentParser) -> None:
    """``--dry-run | --yes``, ``--journal``, ``--json``, ``--show``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="list what would be done; change nothing")
    mode.add_argument("-y", "--yes", action="store_true", help="act without asking for confirmation")
    parser.add_argument(
        "--journal",
        type=_journal_file,
        metavar="FILE",
        help="record every item's outcome in FILE (JSON lines); rerun with the same FILE to resume",
    )
    parser.add_argument("--json", action="store_true", help="print the final report as JSON")
    parser.add_argument(
        "--show",
        type=non_negative_int,
        default=20,
        metavar="N",
        help="items listed by a dry run or a prompt (default 20)",
    )


def _journal_file(text: str) -> str:
    """An argparse type: a file that is or can be created (checked before anything is listed or sent)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give a file name, e.g. {text}/run.jsonl")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {str(path.parent)!r}")
    return text


def run_mode(args: argparse.Namespace, stdin: TextIO | None = None, err: TextIO | None = None) -> RunMode:
    """--dry-run, --yes, or ask on a terminal; without a terminal and without --yes: a dry run."""
    if args.dry_run:
        return RunMode.DRY_RUN
    if args.yes:
        return RunMode.YES
    if (stdin or sys.stdin).isatty():
        return RunMode.ASK
    (err or sys.stderr).write("stdin is not a terminal: dry run only (pass --yes to act)\n")
    return RunMode.UNCONFIRMED


async def describe_workflows(client: BizprocClient, ids: Sequence[str]) -> Details:
    """Start date (the portal's time zone), template and document of each running workflow in ``ids``."""
    if not ids:
        return {}
    walk = client.workflows.instances({"ID": list(ids)}, select=_DETAIL_FIELDS)
    out: dict[str, str] = {}
    for row in await walk.collect():
        started = row.started.isoformat() if row.started is not None else "?"
        document = ":".join(str(p) for p in (row.module_id, row.entity, row.document_id) if p is not None)
        out[str(row.id)] = f"started {started}  template {row.template_id}  {document or '?'}"
    return out


def _describe_now(args: argparse.Namespace, describe: Describe, ids: Sequence[str]) -> Details:
    """``describe`` from inside a synchronous callback: its own client and event loop, in a worker thread."""

    async def fetch() -> Details:
        async with client_from_args(args) as client:
            return await describe(client, ids)

    with concurrent.futures.ThreadPoolExecutor(1) as pool, ctrl_c_raises():
        try:
            return pool.submit(asyncio.run, fetch()).result()
        except Exception:  # details are a courtesy: the IDs alone still say what will be done
            return {}


def _preview(items: Sequence[str], show: int, out: TextIO, details: Details | None = None) -> None:
    for item in items[: max(0, show)]:
        about = (details or {}).get(item)
        out.write(f"  {item}  {about}\n" if about else f"  {item}\n")
    if len(items) > show:
        out.write(f"  ... and {len(items) - max(0, show)} more\n")


def confirmer(
    display: ProgressDisplay,
    question: Callable[[int], str],
    show: int,
    out: TextIO | None = None,
    details: Callable[[Sequence[str]], Details] | None = None,
) -> Confirm:
    """A ``confirm`` callback: stops the progress bar, previews the items (with ``details``), asks."""

    def confirm(items: Sequence[str]) -> bool:
        display.close()  # first: while rich draws, sys.stderr is its proxy, which would eat "[y/N]" as markup
        stream = out or sys.stderr
        about = details(items[: max(0, show)]) if details is not None and show else None
        stream.write(f"{len(items)} to do:\n")
        _preview(items, show, stream, about)
        return ask(question(len(items)), out=stream)

    return confirm


def finish(
    report: JobReport,
    args: argparse.Namespace,
    out: TextIO | None = None,
    *,
    details: Details | None = None,
    unconfirmed: bool = False,
) -> int:
    """Print the report (text or JSON) and return the exit code (``unconfirmed``: not asked, not --yes)."""
    out = out or sys.stdout
    if args.json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    else:
        if report.dry_run and report.planned and not report.declined:  # a prompt has just listed them
            out.write(f"would {report.action} {len(report.planned)}:\n")
            _preview(report.planned, args.show, out, details)
        out.write("\n".join(report.lines()) + "\n")
        if report.declined:
            out.write("declined: nothing was changed\n")
        elif report.dry_run:
            out.write("dry run: nothing was changed\n")
        elif report.remaining:
            out.write(f"note: {report.remaining} still match (new since the listing, or failed)\n")
    if (
        report.count(ReportOutcome.FAILED)
        or report.count(ReportOutcome.NOT_ATTEMPTED)
        or report.count(ReportOutcome.UNKNOWN)
    ):
        return EXIT_FAILED
    if unconfirmed and report.planned:
        sys.stderr.write(
            f"bizproc: not confirmed: {len(report.planned)} listed, nothing changed "
            f"(no terminal to ask on; pass --yes to act) (exit {EXIT_NOT_CONFIRMED})\n"
        )
        return EXIT_NOT_CONFIRMED
    return EXIT_OK


class JobRunArgs(TypedDict):
    """The job keyword arguments every job command takes from the shared options."""

    dry_run: bool
    confirm: Confirm | None
    journal: str | None
    progress: ProgressDisplay


async def run_job_command(
    args: argparse.Namespace,
    question: Callable[[int], str],
    job: Callable[[BizprocClient, JobRunArgs], Awaitable[JobReport]],
    describe: Describe | None = None,
) -> int:
    """Run ``job`` with a progress display, dry run or confirmation (asking ``question``), then report.

    ``describe`` says what the listed items are (date, template, document) in the prompt and the dry run.
    """
    client = client_from_args(args)
    mode = run_mode(args)
    details: Details | None = None
    with ProgressDisplay(sys.stderr) as display:
        ask_details = None if describe is None else (lambda ids: _describe_now(args, describe, ids))
        confirm = confirmer(display, question, args.show, details=ask_details)
        run = JobRunArgs(
            dry_run=mode in (RunMode.DRY_RUN, RunMode.UNCONFIRMED),
            confirm=confirm if mode is RunMode.ASK else None,
            journal=args.journal,
            progress=display,
        )
        async with client:
            report = await job(client, run)
            listed = report.dry_run and not report.declined and not args.json
            if describe is not None and listed and args.show:
                details = await describe(client, report.planned[: args.show])
    return finish(report, args, details=details, unconfirmed=mode is RunMode.UNCONFIRMED)
