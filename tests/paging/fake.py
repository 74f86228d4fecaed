"""A small in-memory list portal for paging tests, used until/unless the emulated portal is available.

It implements what paging relies on: FILTER operators, ORDER, SELECT, ``start`` (``-1`` where the method
supports it), ``total``/``next``, and ``batch`` with ``$result[...]`` references (the emulator's own
substitution code).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from bitrix_bizproc.emulator.batch import php_section, substitute, upper_keys
from bitrix_bizproc.protocol.encoding import parse_query
from bitrix_bizproc.protocol.envelope import ApiResponse
from bitrix_bizproc.protocol.paging import split_filter_key

KEYSET_METHODS = {"bizproc.task.list", "bizproc.workflow.template.list"}


def _cmp(op: str, have: Any, want: Any) -> bool:
    if isinstance(want, list | dict):
        return False
    if isinstance(have, int):
        want = int(want)
    return bool({
        "": have == want, "=": have == want, "!": have != want, "!=": have != want,
        "<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want,
    }[op])  # fmt: skip


class FakeSession:
    """``call(method, params)`` over in-memory tables; ``hook`` runs before every list command."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.tables = tables
        self.requests = 0
        self.commands: Counter[str] = Counter()
        self.sent: list[dict[str, Any]] = []
        self.hook: Callable[[str, dict[str, Any]], None] | None = None
        self.gate: asyncio.Event | None = None

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, *, idempotent: bool | None = None
    ) -> ApiResponse:
        self.requests += 1
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()
        if method == "batch":
            return ApiResponse(result=self._batch(dict(params or {})))
        result, total, next_ = self._list(method, upper_keys(dict(params or {})))
        return ApiResponse(result=result, total=total, next=next_)

    def _batch(self, params: dict[str, Any]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        totals: dict[str, Any] = {}
        nexts: dict[str, Any] = {}
        errors: dict[str, Any] = {}
        sources = {"result": results, "error": errors, "total": totals, "next": nexts}
        for key, command in params["cmd"].items():
            method, _, query = command.partition("?")
            try:
                result, total, next_ = self._list(method, upper_keys(substitute(parse_query(query), sources)))
            except ValueError as exc:
                errors[key] = {"error": "BAD", "error_description": str(exc)}
                continue
            results[key] = result
            if total is not None:
                totals[key] = total
            if next_ is not None:
                nexts[key] = next_
        return {
            "result": php_section(results),
            "result_error": php_section(errors),
            "result_total": php_section(totals),
            "result_next": php_section(nexts),
            "result_time": [],
        }

    def _list(self, method: str, params: dict[str, Any]) -> tuple[list[Any], int | None, int | None]:
        self.commands[method] += 1
        self.sent.append(params)
        if self.hook is not None:
            self.hook(method, params)
        rows = self.tables[method]
        for key, want in (params.get("FILTER") or {}).items():
            op, field = split_filter_key(key)
            rows = [r for r in rows if _cmp(op, r[field.upper()], want)]
        for field, direction in reversed(list((params.get("ORDER") or {}).items())):
            rows = sorted(rows, key=lambda r: r[field.upper()], reverse=direction.upper() == "DESC")
        select = [s.upper() for s in params.get("SELECT") or []] or (list(rows[0]) if rows else [])
        start = int(params.get("START") or 0)
        if start == -1 and method in KEYSET_METHODS:
            return [_wire(r, select) for r in rows[:50]], None, None
        start = max(start, 0)
        page = [_wire(r, select) for r in rows[start : start + 50]]
        total = len(rows)
        return page, total, start + len(page) if start + len(page) < total else None


def _wire(row: dict[str, Any], select: list[str]) -> dict[str, Any]:
    """A row as PHP sends it: selected fields only, numbers as strings."""
    return {k: str(row[k]) if isinstance(row[k], int) else row[k] for k in select}


class FakeClient:
    """What the paginator needs of a client: a ``session``."""

    def __init__(self, session: FakeSession) -> None:
        self.session = session


def instances(n: int, *, first: int = 0) -> list[dict[str, Any]]:
    """Workflow instances with uniqid-like string IDs, ascending with ``i``."""
    return [
        {
            "ID": f"{0x66E412FDC9BD44 + i:014x}.{36306599 + i:08d}",
            "STARTED": f"2024-01-{1 + i % 28:02d}",
            "N": i,
        }
        for i in range(first, first + n)
    ]


def numbered(n: int, *, first: int = 1) -> list[dict[str, Any]]:
    """Tasks or templates with numeric IDs (sent as strings, as PHP does)."""
    return [{"ID": i, "USER_ID": 1 + i % 3, "STATUS": i % 2, "N": i} for i in range(first, first + n)]
