"""Enumerations: values from the docs, completion parsing, and which answers suit which task kind."""

from __future__ import annotations

import pytest

from bitrix_bizproc.models import AutoExecute, TaskActivity, TaskCompletion, TaskStatus, TaskUserStatus


def test_values_follow_the_docs() -> None:
    assert [s.value for s in TaskStatus] == [0, 1, 2, 3, 4]
    assert [s.value for s in TaskUserStatus] == [0, 1, 2, 3]
    assert AutoExecute.CREATE | AutoExecute.MODIFY == AutoExecute.BOTH == 3


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("yes", TaskCompletion.APPROVE),
        ("NO", TaskCompletion.REJECT),
        ("ok", TaskCompletion.OK),
        ("cancel", TaskCompletion.CANCEL),
        (3, TaskCompletion.OK),
        ("4", TaskCompletion.CANCEL),
        (TaskCompletion.APPROVE, TaskCompletion.APPROVE),
    ],
)
def test_completion_parse(given: object, expected: TaskCompletion) -> None:
    assert TaskCompletion.parse(given) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["maybe", 0, 5, True, None, 1.0])
def test_completion_parse_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        TaskCompletion.parse(bad)  # type: ignore[arg-type]


def test_completion_words() -> None:
    assert [c.word for c in TaskCompletion] == ["yes", "no", "ok", "cancel"]


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        (TaskActivity.APPROVE, {1, 2}),
        (TaskActivity.REVIEW, {3}),
        (TaskActivity.REQUEST_INFORMATION, {3}),
        (TaskActivity.REQUEST_INFORMATION_OPTIONAL, {3, 4}),
    ],
)
def test_completions_per_kind(kind: TaskActivity, allowed: set[int]) -> None:
    assert {int(c) for c in kind.completions} == allowed


def test_activity_lookup_tolerates_unknown_kinds() -> None:
    assert TaskActivity.lookup("ReviewActivity") is TaskActivity.REVIEW
    assert TaskActivity.lookup("SomeNewActivity") is None
    assert TaskActivity.lookup(None) is None
