"""Bulk jobs: mass termination of workflows and employee offboarding, with dry runs, journals and resume.

::

    report = await terminate_workflows(
        client, filter=instance_filter(started_before="2025-01-01"), journal="cleanup.jsonl"
    )
    report = await offboard_employee(client, user="Anna Petrova", action="delegate", to_user=12)
    print(report)  # counts by outcome, elapsed, rate, failures with the portal's codes

Both list first (a snapshot: never paging while terminating), then send batches of 50 under the client's
limiter. Rerun with the same journal after a crash or a kill: what is done is skipped, what was in flight
or failed transiently is sent again, and an item the portal no longer knows counts as ``already_gone``.
"""

from ._runner import JobAbortedError
from .journal import Journal, JournalEntry, JournalOutcome, Outcome
from .offboard import offboard_employee
from .progress import Progress, ProgressCallback
from .report import ItemFailure, JobReport, ReportOutcome
from .terminate import instance_filter, terminate_workflows

__all__ = [
    "ItemFailure",
    "JobAbortedError",
    "JobReport",
    "Journal",
    "JournalEntry",
    "JournalOutcome",
    "Outcome",
    "Progress",
    "ProgressCallback",
    "ReportOutcome",
    "instance_filter",
    "offboard_employee",
    "terminate_workflows",
]
