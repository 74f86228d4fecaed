"""The server side of ``batch``: commands as query strings, references between them, PHP JSON quirks."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import attrs

from ..protocol.encoding import parse_query
from .auth import Credential
from .context import PortalError
from .runner import MethodRunner

__all__ = ["BatchOutcome", "php_section", "php_truthy", "run_batch", "substitute", "upper_keys"]

# The server's own rule (``CRestUtil::processBatchElement``, ``modules/rest/classes/general/rest_util.php``):
# ``$`` + a source name (any case) + every non-space character after it is ONE match; only the ``[...]``
# segments in it are read, and the whole match is replaced, so text glued after a macro is lost and two macros
# glued together walk one path. Source names are matched in any case but looked up as written, so ``$RESULT``
# finds nothing. A segment that is not set (or is null) stops the walk at the last value reached.
_SOURCES = ("result", "next", "total", "time", "error")
_MACRO = re.compile(r"\$(" + "|".join(_SOURCES) + r")(\S*)", re.IGNORECASE)
_KEY_MACRO = re.compile(r"\$()(\S*)")  # parameter names are scanned with an empty source list
_SEGMENT = re.compile(r"\[([^\]]+)\]")
_INT_KEY = re.compile(r"^(0|-?[1-9][0-9]*)$")
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
    """PHP's string cast as ``str_replace`` applies it (arrays: ``Array``, as PHP 7 did)."""
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    if isinstance(value, dict | list):
        return "Array"
    if isinstance(value, float):
        return f"{value:.14G}"
    return str(value)


def _php_isset(container: Any, segment: str) -> Any:
    """``$container[$segment]`` when PHP's ``isset`` holds, else :data:`_MISSING`."""
    if isinstance(container, dict):
        value = container.get(segment, _MISSING)
    elif isinstance(container, list) and _INT_KEY.match(segment):
        index = int(segment)
        value = container[index] if 0 <= index < len(container) else _MISSING
    elif isinstance(container, str) and _INT_KEY.match(segment):  # a string offset: one character
        index = int(segment)
        value = container[index] if -len(container) <= index < len(container) else _MISSING
    else:
        value = _MISSING
    return _MISSING if value is None else value


def _walk(root: Any, path: str) -> Any:
    value = root
    for segment in _SEGMENT.findall(path):
        found = _php_isset(value, segment)
        if found is _MISSING:  # a missing segment keeps the last value reached
            break
        value = found
    return value


def _element(text: str, sources: dict[str, dict[str, Any]], pattern: re.Pattern[str]) -> Any:
    """One string as ``processBatchElement`` leaves it: the raw value for a whole-value macro."""
    if "$" not in text:
        return text
    value: Any = text
    for match in list(pattern.finditer(text)):
        if not _SEGMENT.search(match.group(2)):
            continue  # no [segment]: left as typed
        resolved = copy.deepcopy(_walk(sources.get(match.group(1)), match.group(2)))  # PHP arrays are values
        if match.group(0) == value:
            value = resolved
        elif isinstance(value, str):
            value = value.replace(match.group(0), _php_string(resolved))
    return value


def substitute(value: Any, sources: dict[str, dict[str, Any]]) -> Any:
    """Replace ``$result[key][field]``-style macros in every string leaf (and parameter name) of ``value``."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = _element(key, sources, _KEY_MACRO) if isinstance(key, str) else key
            out["" if name is None else name] = substitute(item, sources)
        return out
    if isinstance(value, list):
        return [substitute(v, sources) for v in value]
    if not isinstance(value, str):
        return value
    return _element(value, sources, _MACRO)


def _commands(cmd: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(cmd, dict):
        yield from ((str(k), v) for k, v in cmd.items())
    elif isinstance(cmd, list):
        yield from ((str(i), v) for i, v in enumerate(cmd))


def _error(exc: PortalError) -> dict[str, str]:
    # inside a batch a scope refusal carries no text (settings/how-to-call-rest-api/batch.md, both examples)
    description = "" if exc.code == "insufficient_scope" else exc.description
    return {"error": exc.code, "error_description": description}


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
    sources = {"result": results, "error": errors, "total": totals, "next": nexts, "time": times}
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
