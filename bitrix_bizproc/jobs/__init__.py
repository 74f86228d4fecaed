"""Bulk jobs: mass termination of workflows and employee offboarding, with dry runs, journals and resume."""

from ._runner import JobAbortedError
from .journal import Journal, JournalEntry, Outcome
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
    "Outcome",
    "Progress",
    "ProgressCallback",
    "ReportOutcome",
    "instance_filter",
    "offboard_employee",
    "terminate_workflows",
]
