"""The server side of ``batch``: commands as query strings, references between them, PHP JSON quirks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import attrs

from ..protocol.encoding import parse_query
from .auth import Credential
from .context import PortalError
from .runner import MethodRunner

__all__ = ["BatchOutcome", "php_section", "php_truthy", "run_batch", "substitute", "upper_keys"]

# A macro starts a whitespace-separated token; anything glued after its last bracket stays literal,
# which is why two macros must be separated by whitespace.
_MACRO = re.compile(r"(?<!\S)\$(result|next|total|error)((?:\[[^\]]*\])+)(\S*)", re.IGNORECASE)
_SEGMENT = re.compile(r"\[([^\]]*)\]")
_MISSING = object()


@attrs.frozen
class BatchOutcome:
    """The batch ``result`` object, its commands' processing and simulated (charged) seconds, how many ran."""

    body: dict[str, Any]
    processing: float
    charged: float
    commands: int


def php_truthy(value: Any) -> bool:
    """PHP's ``(bool)`` cast: ``"0"``, ``""``, ``0``, empty arrays and null are false."""
    return value not in (None, False, 0, 0.0, "", "0") and value != [] and value != {}


def php_section(section: dict[str, Any]) -> Any:
    """A result section as PHP's ``json_encode`` writes it: ``[]`` when empty, a list for keys 0..n-1."""
    if not section:
        return []
    if all(key == str(i) for i, key in enumerate(section)):
        return list(section.values())
    return section


def upper_keys(params: dict[str, Any], *, drop_auth: bool = True) -> dict[str, Any]:
    """Top-level parameter names upper-cased (the later of two spellings wins), ``auth`` dropped."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = key.upper() if isinstance(key, str) else str(key)
        out.pop(name, None)  # the later spelling wins, in its own place
        out[name] = value
    if drop_auth:
        out.pop("AUTH", None)
    return out


def _php_string(value: Any) -> str:
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, dict | list):
        return "Array"
    return str(value)


def _resolve(sources: dict[str, dict[str, Any]], kind: str, path: str) -> Any:
    segments = _SEGMENT.findall(path)
    source = sources[kind.lower()]
    if segments[0] not in source:
        return _MISSING
    value = source[segments[0]]
    for segment in segments[1:]:
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:  # a missing segment keeps the last value reached
            break
    return value


def substitute(value: Any, sources: dict[str, dict[str, Any]]) -> Any:
    """Replace ``$result[key][field]``-style macros in every string leaf of ``value``."""
    if isinstance(value, dict):
        return {k: substitute(v, sources) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, sources) for v in value]
    if not isinstance(value, str) or "$" not in value:
        return value
    whole = _MACRO.fullmatch(value)
    if whole is not None and not whole.group(3):
        raw = _resolve(sources, whole.group(1), whole.group(2))
        return value if raw is _MISSING else raw

    def replace(match: re.Match[str]) -> str:
        raw = _resolve(sources, match.group(1), match.group(2))
        return match.group(0) if raw is _MISSING else _php_string(raw) + match.group(3)

    return _MACRO.sub(replace, value)


def _commands(cmd: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(cmd, dict):
        yield from ((str(k), v) for k, v in cmd.items())
    elif isinstance(cmd, list):
        yield from ((str(i), v) for i, v in enumerate(cmd))


def _error(exc: PortalError) -> dict[str, str]:
    return {"error": exc.code, "error_description": exc.description}


def run_batch(
    runner: MethodRunner, credential: Credential, params: dict[str, Any], *, bill: bool
) -> BatchOutcome:
    """Run a batch's commands in order; ``bill`` charges each command to its own method."""
    halt = php_truthy(params.get("HALT"))
    results: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    totals: dict[str, Any] = {}
    nexts: dict[str, Any] = {}
    times: dict[str, Any] = {}
    sources = {"result": results, "error": errors, "total": totals, "next": nexts}
    processing = charged = 0.0
    ran = 0
    for index, (key, call) in enumerate(_commands(params.get("CMD"))):
        if index >= runner.config.batch_max:
            errors[key] = {
                "error": "ERROR_BATCH_LENGTH_EXCEEDED",
                "error_description": "Max batch length exceeded",
            }
            runner.counters.command_errors["ERROR_BATCH_LENGTH_EXCEEDED"] += 1
            if halt:
                break
            continue
        if not isinstance(call, str):  # the portal skips what is not a string
            continue
        path, _, query = call.partition("?")
        method = path.strip().lower().removesuffix(".json")
        if method == "batch":
            outcome_error: PortalError | None = PortalError(
                "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage", 405
            )
        else:
            command_params = upper_keys(substitute(parse_query(query), sources))
            outcome = runner.run(credential, method, command_params, in_batch=True, bill=bill)
            ran += 1
            outcome_error = outcome.error
            if outcome.time is not None:
                processing += outcome.time["processing"]
                charged += runner.config.charge(method)
            if outcome.result is not None and outcome_error is None:
                results[key] = outcome.result.result
                if outcome.result.total is not None:
                    totals[key] = outcome.result.total
                if outcome.result.next is not None:
                    nexts[key] = outcome.result.next
                times[key] = outcome.time
        if outcome_error is not None:
            errors[key] = _error(outcome_error)
            runner.counters.command_errors[outcome_error.code] += 1
            if halt:
                break
    body = {
        "result": php_section(results),
        "result_error": php_section(errors),
        "result_total": php_section(totals),
        "result_next": php_section(nexts),
        "result_time": php_section(times),
    }
    return BatchOutcome(body, processing, charged, ran)
