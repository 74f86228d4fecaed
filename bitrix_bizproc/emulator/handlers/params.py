"""Reading parameters the way PHP does: JSON values or batch query strings ("5", "Y", "" for nothing)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["as_bool", "as_int", "as_list", "as_mapping", "as_str", "is_empty"]

_INT = re.compile(r"^\s*[+-]?\d+")


def is_empty(value: Any) -> bool:
    """PHP ``empty()``: None, "", "0", 0, False, [] and {}."""
    return value is None or value is False or value == "" or value == "0" or value == 0 or value in ([], {})


def as_int(value: Any) -> int | None:
    """PHP ``intval`` for scalars ("12abc" -> 12, "abc" -> 0); None for arrays and None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) < 1e18 else 0
    if isinstance(value, str):
        match = _INT.match(value)
        return int(match.group()) if match else 0
    return None


def as_str(value: Any) -> str | None:
    """A scalar as PHP would print it; None for arrays and None."""
    if value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)


def as_bool(value: Any) -> bool | None:
    """Y/N, true/false, 1/0 and JSON booleans; None when it is none of them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("y", "yes", "true", "1"):
            return True
        if lowered in ("n", "no", "false", "0", ""):
            return False
    return None


def as_list(value: Any) -> list[Any] | None:
    """A JSON list, a PHP list sent as a map of indexes, or "" (an empty list in a query string)."""
    if isinstance(value, list):
        return value
    if value == "":
        return []
    if isinstance(value, Mapping):
        return list(value.values())
    return None


def as_mapping(value: Any) -> dict[str, Any] | None:
    """A JSON object (a list becomes ``{"0": ..}``, as in PHP), or "" for an empty one."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if value == "":
        return {}
    return None
