"""Rows as a table, JSON lines or CSV, for the ``list`` commands."""

from __future__ import annotations

import csv
import datetime as _dt
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["FORMATS", "cell", "write_rows"]

FORMATS = ("table", "json", "csv")
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


def write_rows(
    rows: Iterable[Mapping[str, Any]], out: TextIO, *, fmt: str = "table", columns: Sequence[str] = ()
) -> int:
    """Write ``rows`` as ``table``, ``json`` (one object per line) or ``csv``; returns the row count."""
    materialized = list(rows)
    cols = _columns(materialized, columns)
    if fmt == "json":  # keys in the same order as the table's columns
        for row in materialized:
            ordered = {c: row[c] for c in cols if c in row}
            out.write(json.dumps(_json_ready(ordered), ensure_ascii=False) + "\n")
        return len(materialized)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(cols)
        for row in materialized:
            writer.writerow([cell(row.get(c)) for c in cols])
        return len(materialized)
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if not materialized:
        out.write("(no rows)\n")
        return 0
    grid = [[_clip(cell(row.get(c))) for c in cols] for row in materialized]
    widths = [max(len(c), *(len(line[i]) for line in grid)) for i, c in enumerate(cols)]
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for line in grid:
        out.write("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() + "\n")
    return len(materialized)
