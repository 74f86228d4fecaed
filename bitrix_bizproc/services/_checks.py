"""Argument checks shared by the service namespaces: each mirrors an error the portal documents."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from ..models.activity import check_property_key
from ..protocol.batch import Ref
from ..protocol.encoding import digits
from ..protocol.errors import ClientValidationError

__all__ = [
    "event_token",
    "file_payload",
    "offset",
    "positive_id",
    "positive_ids",
    "positive_int",
    "return_values",
    "workflow_id",
]

TemplateData = os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO


def workflow_id(value: Any) -> str | Ref:
    """A workflow ID: a non-empty string such as ``66e412fdc9bd44.36306599`` (never a number)."""
    if type(value) is str:  # the usual case
        stripped = value.strip()
        if stripped:
            return stripped
    if isinstance(value, Ref):
        return value
    wf_id = getattr(value, "id", value) if not isinstance(value, str) else value
    if isinstance(wf_id, str) and wf_id.strip():
        return wf_id.strip()
    if isinstance(wf_id, int | float) and not isinstance(wf_id, bool):
        raise ClientValidationError(
            f"workflow IDs are strings like '66e412fdc9bd44.36306599', not {type(wf_id).__name__}"
        )
    raise ClientValidationError("empty workflow ID")


def positive_id(value: Any, what: str) -> int | Ref:
    """A numeric ID (an int, a digit string, or a model with ``.id``) that is > 0."""
    if type(value) is int and value > 0:  # the usual case first
        return value
    if isinstance(value, Ref):
        return value
    if not isinstance(value, int | str) and hasattr(value, "id"):
        value = value.id
    if isinstance(value, str) and digits(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ClientValidationError(f"{what} must be a positive integer, got {value!r}")
    return value


def positive_int(value: Any, what: str) -> int:
    """A positive numeric ID where a batch reference cannot stand."""
    checked = positive_id(value, what)
    if isinstance(checked, Ref):
        raise ClientValidationError(f"{what} cannot be a batch reference")
    return checked


def positive_ids(values: Any, what: str) -> list[int | Ref]:
    """A non-empty list of positive IDs (one ID alone is accepted too)."""
    if isinstance(values, int | str | Ref) or hasattr(values, "id"):
        values = [values]
    if not isinstance(values, Iterable):
        raise ClientValidationError(f"{what} must be a list of IDs, got {values!r}")
    out = [positive_id(v, what) for v in values]
    if not out:
        raise ClientValidationError(f"{what} is empty")
    return out


def event_token(value: Any) -> str | Ref:
    """An ``EVENT_TOKEN``: the non-empty string the portal sent to the handler."""
    if isinstance(value, Ref):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ClientValidationError("empty EVENT_TOKEN: use the event_token the portal sent to your handler")
    return value


def return_values(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``RETURN_VALUES`` keyed by the return properties' system names."""
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise ClientValidationError("return_values must be a map of property key -> value")
    return {check_property_key(k): v for k, v in values.items()}


def offset(value: Any, *, allow_no_count: bool) -> int:
    """A ``start`` offset: a multiple of 50 >= 0 (or -1, "skip the count", where the method supports it)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientValidationError(f"start must be an int, got {value!r}")
    if value == -1 and allow_no_count:
        return value
    if value < 0:
        hint = "" if allow_no_count else " (this method does not support start=-1)"
        raise ClientValidationError(f"start must be >= 0{hint}, got {value}")
    return value


def file_payload(data: Any, filename: str | None, default_name: str) -> list[str]:
    """A file the way the portal takes it: ``[name, base64 content]``, from a path, bytes or binary file."""
    name = filename
    if isinstance(data, str):
        raise ClientValidationError("pass the template as Path(...), bytes or an open binary file, not str")
    if isinstance(data, os.PathLike):
        path = Path(data)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise ClientValidationError(f"cannot read template file {path.name!r}: {exc.strerror}") from exc
        name = name or path.name
    elif isinstance(data, bytes | bytearray | memoryview):
        content = bytes(data)
    elif isinstance(data, io.IOBase) or hasattr(data, "read"):
        content = data.read()
        if not isinstance(content, bytes):
            raise ClientValidationError("open the template file in binary mode ('rb')")
        raw_name = getattr(data, "name", None)
        if isinstance(raw_name, str) and not name:
            name = os.path.basename(raw_name)
    else:
        raise ClientValidationError(
            f"cannot send a {type(data).__name__} as a file; give a Path, bytes or a binary file"
        )
    if not content:
        raise ClientValidationError("the template file is empty")
    return [name or default_name, base64.b64encode(content).decode("ascii")]
