"""Rows as a table, a JSON array, JSON Lines or CSV, for the ``list`` commands (streamed but the table)."""

from __future__ import annotations

import csv
import datetime as _dt
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["FORMATS", "RowWriter", "cell", "write_rows"]

FORMATS = ("table", "json", "jsonl", "csv")
_MAX_CELL = 48


def cell(value: Any) -> str:
    """One value as text: ISO datetimes, enum values, lists joined with commas, maps as JSON."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join(cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _json_ready(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, _dt.datetime | _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value


def _columns(rows: Sequence[Mapping[str, Any]], preferred: Sequence[str]) -> list[str]:
    present: dict[str, None] = {}
    for row in rows:
        present.update(dict.fromkeys(row))
    ordered = [c for c in preferred if c in present]
    return ordered + [c for c in present if c not in ordered]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


class RowWriter:
    """Writes rows as they come (``json`` array, ``jsonl``, ``csv``), or all at once at the end (``table``).

    ``columns`` is the order of the fields (and the CSV header, printed even when no row follows); without
    it the first row's keys are used.
    """

    def __init__(self, out: TextIO, fmt: str = "table", columns: Sequence[str] = ()) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        self.out, self.fmt, self.count = out, fmt, 0
        self._columns = list(columns)
        self._held: list[Mapping[str, Any]] = []  # the table needs every row for its widths
        self._csv = csv.writer(out, lineterminator="\n") if fmt == "csv" else None

    def _ordered(self, row: Mapping[str, Any]) -> dict[str, Any]:
        cols = self._columns or list(row)
        return {c: row[c] for c in [*cols, *(k for k in row if k not in cols)] if c in row}

    def write(self, row: Mapping[str, Any]) -> None:
        """One row."""
        if self.count == 0 and not self._columns and self.fmt == "csv":
            self._columns = list(row)
            self._header()
        if self.fmt == "json":
            self.out.write(("[\n" if self.count == 0 else ",\n") + _json_line(self._ordered(row)))
        elif self.fmt == "jsonl":
            self.out.write(_json_line(self._ordered(row)) + "\n")
        elif self._csv is not None:
            self._csv.writerow([cell(row.get(c)) for c in self._columns])
        else:
            self._held.append(row)
        self.count += 1

    def begin(self) -> None:
        """Before the first row: the CSV header, when the columns are known."""
        if self.fmt == "csv" and self._columns:
            self._header()

    def _header(self) -> None:
        assert self._csv is not None
        self._csv.writerow(self._columns)

    def end(self) -> int:
        """After the last row: close the JSON array, draw the table; returns the row count."""
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "[]\n")
        elif self.fmt == "table":
            _table(self._held, self.out, self._columns)
        return self.count


def _json_line(row: Mapping[str, Any]) -> str:
    return json.dumps(_json_ready(row), ensure_ascii=False)


def _table(rows: Sequence[Mapping[str, Any]], out: TextIO, preferred: Sequence[str]) -> None:
    if not rows:
        out.write("(no rows)\n")
        return
    cols = _columns(rows, preferred)
    grid = [[_clip(cell(row.get(c))) for c in cols] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in grid)) for i, c in enumerate(cols)]
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for line in grid:
        out.write("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n")


def write_rows(
    rows: Iterable[Mapping[str, Any]], out: TextIO, *, fmt: str = "table", columns: Sequence[str] = ()
) -> int:
    """Write ``rows`` as ``table``, ``json`` (an array), ``jsonl`` (one object per line) or ``csv``."""
    writer = RowWriter(out, fmt, columns)
    writer.begin()
    for row in rows:
        writer.write(row)
    return writer.end()
