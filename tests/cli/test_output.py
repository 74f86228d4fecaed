"""Pure pieces of the command line: row formats, argument types, progress lines, the rich fallback."""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import json
import sys
from typing import Any

import pytest

from bitrix_bizproc.cli._common import iso_date, key_value
from bitrix_bizproc.cli._output import RowWriter, write_rows
from bitrix_bizproc.cli._progress import ProgressDisplay, format_eta
from bitrix_bizproc.jobs import Progress
from bitrix_bizproc.models.enums import TaskStatus

ROWS: list[dict[str, Any]] = [
    {
        "ID": "66e4.1",
        "STARTED": _dt.datetime(2024, 5, 1, 9, 30, tzinfo=_dt.UTC),
        "STATUS": TaskStatus.COMPLETED,
    },
    {"ID": "66e4.2", "TAGS": ["a", "b"], "EXTRA": {"k": "v,w"}},
]


def test_table_aligns_columns_in_preferred_order() -> None:
    out = io.StringIO()
    assert write_rows(ROWS, out, fmt="table", columns=["STATUS", "ID"]) == 2
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["STATUS", "ID", "STARTED", "TAGS", "EXTRA"]
    assert lines[2].split()[:3] == ["3", "66e4.1", "2024-05-01T09:30:00+00:00"]
    assert lines[3].split() == ["66e4.2", "a,b", '{"k":', '"v,w"}']


def test_json_lines_and_csv_keep_values_intact() -> None:
    out = io.StringIO()
    write_rows(ROWS, out, fmt="jsonl")
    assert out.getvalue().splitlines()[1] == '{"ID": "66e4.2", "TAGS": ["a", "b"], "EXTRA": {"k": "v,w"}}'
    out = io.StringIO()  # streamed: the header is the columns asked for, known before the first row
    write_rows(ROWS, out, fmt="csv", columns=["ID", "STARTED", "STATUS", "TAGS", "EXTRA"])
    assert out.getvalue().splitlines() == [
        "ID,STARTED,STATUS,TAGS,EXTRA",
        "66e4.1,2024-05-01T09:30:00+00:00,3,,",
        '66e4.2,,,"a,b","{""k"": ""v,w""}"',
    ]


def test_json_is_one_array_even_when_empty() -> None:
    out = io.StringIO()
    assert write_rows(ROWS, out, fmt="json", columns=["ID"]) == 2
    assert json.loads(out.getvalue())[1] == {"ID": "66e4.2", "TAGS": ["a", "b"], "EXTRA": {"k": "v,w"}}
    out = io.StringIO()
    assert write_rows([], out, fmt="json") == 0 and json.loads(out.getvalue()) == []


def test_csv_prints_its_header_when_there_are_no_rows() -> None:
    out = io.StringIO()
    assert write_rows([], out, fmt="csv", columns=["ID", "NAME"]) == 0
    assert out.getvalue() == "ID,NAME\n"


def test_rows_are_written_as_they_come_not_held() -> None:
    out = io.StringIO()
    writer = RowWriter(out, "jsonl", ["ID"])
    writer.begin()
    writer.write({"ID": "a"})
    assert out.getvalue() == '{"ID": "a"}\n'  # before the next row exists


def test_an_empty_table_says_so() -> None:
    out = io.StringIO()
    assert write_rows([], out) == 0 and out.getvalue() == "(no rows)\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01", _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)),
        ("01.02.2025", _dt.datetime(2025, 2, 1, tzinfo=_dt.UTC)),
        ("2025-01-01T09:00:00+03:00", _dt.datetime(2025, 1, 1, 6, tzinfo=_dt.UTC)),
        ("2025-01-01T09:00:00Z", _dt.datetime(2025, 1, 1, 9, tzinfo=_dt.UTC)),
    ],
)
def test_dates(text: str, expected: _dt.datetime) -> None:
    assert iso_date(text) == expected


@pytest.mark.parametrize("text", ["2025-13-01", "31.02.2025", "soon", ""])
def test_bad_dates(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a date"):
        iso_date(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TEMPLATE_ID=12", ("TEMPLATE_ID", 12)),
        ("<STARTED=2025-01-01", ("<STARTED", "2025-01-01T00:00:00+00:00")),
        ("<=STARTED=2025-01-01", ("<=STARTED", "2025-01-01T00:00:00+00:00")),
        (">modified=31.12.2024", (">modified", "2024-12-31T00:00:00+00:00")),
        ("WORKFLOW_STARTED=2025-01-01T09:00:00+03:00", ("WORKFLOW_STARTED", "2025-01-01T09:00:00+03:00")),
        ("!=ID=66e4.1", ("!=ID", "66e4.1")),
        ("DOCUMENT_ID=DEAL_5=x", ("DOCUMENT_ID", "DEAL_5=x")),
    ],
)
def test_filter_pairs(text: str, expected: tuple[str, object]) -> None:
    assert key_value(text) == expected


@pytest.mark.parametrize("text", ["TEMPLATE_ID", "=5", "<=5"])
def test_bad_filter_pairs(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
        key_value(text)


@pytest.mark.parametrize("text", ["<STARTED=yesterday", "MODIFIED=2025-13-01", "!OVERDUE_DATE="])
def test_a_date_field_needs_a_date(text: str) -> None:
    """The portal matches nothing, silently, for a date it cannot read: refuse it here."""
    with pytest.raises(argparse.ArgumentTypeError, match=r"^[!<]?\w+: not a date: "):
        key_value(text)


def test_json_lines_keep_the_column_order() -> None:
    out = io.StringIO()
    write_rows([{"MODIFIED": "m", "ID": "1", "EXTRA": 2}], out, fmt="jsonl", columns=["ID", "MODIFIED"])
    assert out.getvalue() == '{"ID": "1", "MODIFIED": "m", "EXTRA": 2}\n'


@pytest.mark.parametrize(("seconds", "text"), [(None, "?"), (5, "0:05"), (65.4, "1:05"), (3725, "1:02:05")])
def test_eta(seconds: float | None, text: str) -> None:
    assert format_eta(seconds) == text


def _progress(done: int, total: int | None, phase: str = "terminate") -> Progress:
    return Progress(phase=phase, done=done, total=total, failed=1 if done else 0, elapsed=2.0, rate=done / 2)


def test_plain_lines_print_every_tenth_and_each_phase_end() -> None:
    out = io.StringIO()
    display = ProgressDisplay(out, rich=False)
    display(_progress(40, None, "listing"))  # total unknown: nothing yet
    display(_progress(40, 40, "listing"))
    for done in range(0, 101, 5):
        display(_progress(done, 100))
    lines = out.getvalue().splitlines()
    assert lines[0] == "listing: 40/40 (20/s, 1 failed, ETA 0:00)"
    assert len(lines) == 1 + 11 and lines[-1] == "terminate: 100/100 (50/s, 1 failed, ETA 0:00)"
    assert lines[1] == "terminate: 0/100 (0/s, ETA ?)"


def test_without_rich_a_terminal_gets_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # as if the optional extra were not installed
    monkeypatch.setitem(sys.modules, "rich.console", None)
    out = io.StringIO()
    with ProgressDisplay(out, rich=True) as display:
        display(_progress(10, 10))
    assert out.getvalue() == "terminate: 10/10 (5/s, 1 failed, ETA 0:00)\n"
