"""The parts of ``terminate`` and ``offboard`` that are the same: dry run or confirm, progress, the report."""

from __future__ import annotations

import argparse
import enum
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO, TypedDict

from .._client import BizprocClient
from ..jobs import JobReport, ReportOutcome
from ..jobs._runner import Confirm
from ._common import EXIT_FAILED, EXIT_OK, ask, client_from_args, non_negative_int
from ._progress import ProgressDisplay

__all__ = ["JobRunArgs", "RunMode", "add_job_options", "confirmer", "finish", "run_job_command", "run_mode"]

EPILOG = (
    "exit codes: 0 all done (or a dry run), 1 some items failed, 2 bad input or no credentials, "
    "3 connection or authentication error, 130 interrupted (rerun with the same --journal to resume)"
)


class RunMode(enum.Enum):
    """Whether a destructive command lists only, asks first, or acts."""

    DRY_RUN = "dry_run"
    ASK = "ask"
    YES = "yes"


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
    return RunMode.DRY_RUN


def _preview(items: Sequence[str], show: int, out: TextIO) -> None:
    for item in items[: max(0, show)]:
        out.write(f"  {item}\n")
    if len(items) > show:
        out.write(f"  ... and {len(items) - max(0, show)} more\n")


def confirmer(
    display: ProgressDisplay, question: Callable[[int], str], show: int, out: TextIO | None = None
) -> Confirm:
    """A ``confirm`` callback: stops the progress bar, previews the items, asks on the terminal."""

    def confirm(items: Sequence[str]) -> bool:
        display.close()  # first: while rich draws, sys.stderr is its proxy, which would eat "[y/N]" as markup
        stream = out or sys.stderr
        stream.write(f"{len(items)} to do:\n")
        _preview(items, show, stream)
        return ask(question(len(items)), out=stream)

    return confirm


def finish(report: JobReport, args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the report (text or JSON) and return the exit code."""
    out = out or sys.stdout
    if args.json:
        out.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
    else:
        if report.dry_run and report.planned and not report.declined:  # a prompt has just listed them
            out.write(f"would {report.action} {len(report.planned)}:\n")
            _preview(report.planned, args.show, out)
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
) -> int:
    """Run ``job`` with a progress display, dry run or confirmation (asking ``question``), then report."""
    client = client_from_args(args)
    mode = run_mode(args)
    with ProgressDisplay(sys.stderr) as display:
        run = JobRunArgs(
            dry_run=mode is RunMode.DRY_RUN,
            confirm=confirmer(display, question, args.show) if mode is RunMode.ASK else None,
            journal=args.journal,
            progress=display,
        )
        async with client:
            report = await job(client, run)
    return finish(report, args)
