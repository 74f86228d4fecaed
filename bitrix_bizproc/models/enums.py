"""Enumerations of the bizproc API: task and user statuses, completion answers, auto-execute flags, types."""

from __future__ import annotations

import enum

__all__ = [
    "AutoExecute",
    "CommentRequired",
    "PropertyType",
    "TaskActivity",
    "TaskCompletion",
    "TaskStatus",
    "TaskUserStatus",
]


class TaskStatus(enum.IntEnum):
    """A task's ``STATUS``."""

    IN_PROGRESS = 0
    APPROVED = 1
    REJECTED = 2
    COMPLETED = 3
    OVERDUE = 4


class TaskUserStatus(enum.IntEnum):
    """A task participant's answer (``USER_STATUS``)."""

    WAITING = 0
    APPROVED = 1
    REJECTED = 2
    COMPLETED = 3


class TaskCompletion(enum.IntEnum):
    """The answer sent by ``bizproc.task.complete`` (``STATUS``: 1/yes, 2/no, 3/ok, 4/cancel)."""

    APPROVE = 1
    REJECT = 2
    OK = 3
    CANCEL = 4

    @property
    def word(self) -> str:
        """The word form the portal also accepts (``yes``, ``no``, ``ok``, ``cancel``)."""
        return _COMPLETION_WORDS[self]

    @classmethod
    def parse(cls, value: TaskCompletion | int | str) -> TaskCompletion:
        """Read a completion from its enum, number, digit string or word; raises ``ValueError`` otherwise."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            text = value.strip().lower()
            for member, word in _COMPLETION_WORDS.items():
                if text == word:
                    return member
            if text.isdigit():
                return cls(int(text))
            raise ValueError(f"unknown task completion {value!r}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"unknown task completion {value!r}")
        return cls(value)


_COMPLETION_WORDS = {
    TaskCompletion.APPROVE: "yes",
    TaskCompletion.REJECT: "no",
    TaskCompletion.OK: "ok",
    TaskCompletion.CANCEL: "cancel",
}


class TaskActivity(enum.StrEnum):
    """The kind of task (``ACTIVITY``), which decides the completions it accepts."""

    APPROVE = "ApproveActivity"
    REVIEW = "ReviewActivity"
    REQUEST_INFORMATION = "RequestInformationActivity"
    REQUEST_INFORMATION_OPTIONAL = "RequestInformationOptionalActivity"

    @property
    def completions(self) -> frozenset[TaskCompletion]:
        """The completion answers a task of this kind accepts."""
        return _ACTIVITY_COMPLETIONS[self]

    @classmethod
    def lookup(cls, value: str | None) -> TaskActivity | None:
        """The member for a wire value, or ``None`` for an unknown or missing kind."""
        try:
            return cls(value) if value else None
        except ValueError:
            return None


_ACTIVITY_COMPLETIONS = {
    TaskActivity.APPROVE: frozenset({TaskCompletion.APPROVE, TaskCompletion.REJECT}),
    TaskActivity.REVIEW: frozenset({TaskCompletion.OK}),
    TaskActivity.REQUEST_INFORMATION: frozenset({TaskCompletion.OK}),
    TaskActivity.REQUEST_INFORMATION_OPTIONAL: frozenset({TaskCompletion.OK, TaskCompletion.CANCEL}),
}


class AutoExecute(enum.IntFlag):
    """When a template starts by itself (``AUTO_EXECUTE``); flags combine: ``CREATE | MODIFY`` == 3."""

    NONE = 0
    CREATE = 1
    MODIFY = 2
    BOTH = 3


class CommentRequired(enum.StrEnum):
    """Whether a task asks for a comment (``PARAMETERS.CommentRequired``)."""

    NO = "N"
    YES = "Y"
    ON_APPROVE = "YA"
    ON_REJECT = "YR"


class PropertyType(enum.StrEnum):
    """Base types of properties and task fields (documents add their own, e.g. ``UF:address``)."""

    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    DOUBLE = "double"
    FILE = "file"
    INT = "int"
    SELECT = "select"
    STRING = "string"
    TEXT = "text"
    USER = "user"
