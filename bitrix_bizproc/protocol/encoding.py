"""Parameter encoding: JSON-ready values, and the PHP ``http_build_query``/``parse_str`` query format.

A direct call sends its parameters as JSON; a ``batch`` command carries them as a query string that the
portal decodes with PHP's ``parse_str``. :func:`normalize` turns Python values into the one wire form
both share, so that a command means the same whether it is sent alone or inside a batch. Every key part
and every value is percent-encoded, so no value can split a command or inject a parameter.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote_plus

from .errors import ClientValidationError, ValidationError

__all__ = [
    "MAX_INPUT_VARS",
    "Verbatim",
    "WireValue",
    "check_input_vars",
    "count_input_vars",
    "encode_checked_query",
    "encode_query",
    "flat_query",
    "normalize",
    "parse_query",
    "php_arrays_to_lists",
    "wire_params",
]

WireValue = Any  # str | int | float | bool | None | list[WireValue] | dict[str, WireValue]


class Verbatim(str):
    """A value :func:`encode_query` writes unencoded (batch reference macros such as ``$result[a][ID]``).

    Only for text its creator has validated: it must not contain ``&``, ``=``, ``%``, ``+`` or ``#``.
    """

    __slots__ = ()


def _to_wire_hook(value: Any) -> Any:
    """Values with a wire form of their own (references, document ids) expose ``__bitrix_wire__``."""
    hook = getattr(value, "__bitrix_wire__", None)
    return hook() if callable(hook) else _MISSING


_MISSING = object()

_ONE_VAR = frozenset({str, int, float, bool, type(None)})  # the plain values: one variable each, as they are


def normalize(value: Any) -> WireValue:
    """Turn a Python value into its JSON wire form (ISO 8601 datetimes, enums by value, lists)."""
    kind = type(value)  # exact built-in types first: the hot path of every call
    if kind is str or kind is int or kind is bool or kind is float:
        return value
    if kind is dict:
        plain = _ONE_VAR
        return {
            k if type(k) is str else _key(k): v if type(v) in plain else normalize(v)
            for k, v in value.items()
        }
    if kind is list:
        return [normalize(v) for v in value]
    if value is None or isinstance(value, str | bool | int | float):
        if isinstance(value, enum.Enum):
            return normalize(value.value)
        return value
    if isinstance(value, enum.Enum):
        return normalize(value.value)
    wired = _to_wire_hook(value)
    if wired is not _MISSING:
        return normalize(wired)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ClientValidationError(
                f"naive datetime {value.isoformat()} is ambiguous: give it a timezone",
            )
        return value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k): normalize(v) for k, v in value.items()}
    if isinstance(value, bytes | bytearray):
        raise ClientValidationError("bytes cannot be sent as a parameter; encode them first")
    if isinstance(value, Sequence | set | frozenset):
        return [normalize(v) for v in value]
    raise ClientValidationError(f"cannot send a value of type {type(value).__name__} as a parameter")


def _key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if isinstance(key, bool) or not isinstance(key, str | int):
        raise ClientValidationError(f"parameter names must be strings, not {type(key).__name__}")
    return str(key)


def _scalar(value: WireValue) -> str:
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what percent-encoding leaves as it is


_unreserved = _UNRESERVED.fullmatch


def _q(text: str) -> str:
    return text if _unreserved(text) else quote(text, safe="")


# A plain top-level name -> its quoted form and "=" (names repeat, call after call).
_NAMES: dict[str, str] = {}
_MAX_NAMES = 4096


def _name(key: str) -> str | None:
    """``key`` quoted, with its ``=``; ``None`` for a name holding a bracket (the general way refuses it)."""
    if "[" in key or "]" in key:
        return None
    name = _q(key) + "="
    if len(_NAMES) < _MAX_NAMES:
        _NAMES[key] = name
    return name


def encode_query(params: Mapping[str, Any]) -> str:
    """Encode parameters as a PHP ``parse_str``-compatible query string (``filter[>ID]=5&select[0]=ID``).

    ``None`` and empty lists/maps become an empty value (``key=``): the closest a query string gets to them.
    """
    flat = flat_query(params)
    if flat is not None:
        return flat
    return "&".join(pair for pairs in _pairs(params).values() for pair in pairs)


def encode_checked_query(params: Mapping[str, Any], *, what: str) -> str:
    """:func:`encode_query` of ``params`` that :func:`check_input_vars` has let through (or it raises)."""
    flat = flat_query(params) if len(params) <= MAX_INPUT_VARS else None
    if flat is not None:  # a flat map of plain values: one variable each, within the limit
        return flat
    check_input_vars(params, what=what)
    return "&".join(pair for pairs in _pairs(params).values() for pair in pairs)


_FEW = 30  # keys at each level of params that cannot reach max_input_vars (30 * 30 < 1000)


def _few_values(wire: Mapping[str, Any]) -> bool:
    """Whether ``wire`` is so small that it cannot reach ``max_input_vars`` (nothing to count).

    At most :data:`_FEW` keys, each holding a plain value or a flat map of at most :data:`_FEW` plain values.
    """
    if len(wire) > _FEW:
        return False
    for value in wire.values():
        if type(value) in _ONE_VAR:
            continue
        if type(value) is not dict or len(value) > _FEW:
            return False
        for inner in value.values():
            if type(inner) not in _ONE_VAR:
                return False
    return True


def wire_params(params: Mapping[str, Any], *, what: str) -> dict[str, Any]:
    """``params`` normalized, top-level ``None`` values left out; refused as :func:`check_input_vars` does."""
    wire: dict[str, Any] = {}
    plain = True
    few = True  # so far what :func:`_few_values` lets through: nothing to count
    for key, value in params.items():
        if value is None:
            continue
        if type(key) is not str:
            key = _key(key)
        if type(value) not in _ONE_VAR:
            value = normalize(value)
            plain = False
            if few and (
                type(value) is not dict
                or len(value) > _FEW
                or not _ONE_VAR.issuperset(map(type, value.values()))
            ):
                few = False
        wire[key] = value
    if (not plain or len(wire) > MAX_INPUT_VARS) and not (few and len(wire) <= _FEW):
        check_input_vars(wire, what=what)
    return wire


def flat_query(params: Mapping[str, Any]) -> str | None:
    """The query of a dict of plain values under plain names (the usual command); ``None`` for any other.

    Such a map never reaches ``max_input_vars`` below :data:`MAX_INPUT_VARS` names (one variable each).
    """
    if type(params) is not dict:
        return None
    out: list[str] = []
    names = _NAMES
    for key, value in params.items():
        kind = type(value)
        if type(key) is not str or kind not in _ONE_VAR:
            return None  # the general way says what is wrong, in its order
        name = names.get(key) or _name(key)
        if name is None:
            return None
        if kind is str:
            out.append(name + (value if _unreserved(value) else quote(value, safe="")))
        elif kind is int:  # digits and '-' need no escaping
            out.append(f"{name}{value}")
        else:
            out.append(name + _q(_scalar(value)))
    return "&".join(out)


def _pairs(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """The ``name=value`` pairs of each top-level parameter, in order."""
    wire = normalize(params)
    out: dict[str, list[str]] = {}
    for key, value in wire.items():
        if "[" in key or "]" in key:
            raise ClientValidationError(f"parameter name {key!r} may not contain brackets")
        _flatten(_q(key), value, out.setdefault(key, []))
    return out


MAX_INPUT_VARS = 1000  # PHP's default max_input_vars: parse_str stops reading after this many pairs


def _leaves(value: WireValue) -> int:
    """The ``name=value`` pairs :func:`encode_query` writes for ``value`` (an empty list or map is one)."""
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values()) or 1
    if isinstance(value, list):
        return sum(_leaves(v) for v in value) or 1
    return 1


def count_input_vars(params: Mapping[str, Any]) -> int:
    """How many variables PHP counts when it parses ``params``: one per ``name=value`` pair (leaf)."""
    return sum(_leaves(v) for v in normalize(params).values())


def check_input_vars(params: Mapping[str, Any], *, what: str) -> None:
    """Refuse ``params`` that PHP would cut at ``max_input_vars`` (the rest silently dropped)."""
    if len(params) <= MAX_INPUT_VARS and all(type(v) in _ONE_VAR for v in params.values()):
        return  # the common call: a flat map of plain values, one variable each at most
    if _few_values(params):
        return  # a few plain values and flat maps of them: nothing to count
    counts = {key: _leaves(value) for key, value in normalize(params).items()}
    total = sum(counts.values())
    if total <= MAX_INPUT_VARS:
        return
    name = max(counts, key=lambda key: counts[key])
    raise ValidationError(
        f"{what}: {total} parameter values, more than the {MAX_INPUT_VARS} the portal's PHP reads "
        f"(max_input_vars); it would silently drop the rest. {name} alone has {counts[name]}: split it "
        "over several calls",
        code="MAX_INPUT_VARS",
    )


def _flatten(prefix: str, value: WireValue, out: list[str]) -> None:
    if isinstance(value, dict):
        if not value:
            out.append(f"{prefix}=")
        for k, v in value.items():
            if "[" in k or "]" in k:
                raise ClientValidationError(f"parameter name {k!r} may not contain brackets")
            _flatten(f"{prefix}[{_q(k)}]", v, out)
    elif isinstance(value, list):
        if not value:
            out.append(f"{prefix}=")
        for i, v in enumerate(value):
            _flatten(f"{prefix}[{i}]", v, out)
    elif isinstance(value, Verbatim):
        out.append(f"{prefix}={value}")
    else:
        out.append(f"{prefix}={_q(_scalar(value))}")


def _php_top_key(name: str) -> str:
    # PHP turns spaces and dots in the top-level variable name into underscores.
    return name.replace(" ", "_").replace(".", "_")


def parse_query(query: str) -> dict[str, Any]:
    """Decode a query string as PHP's ``parse_str`` does, nested brackets included.

    Maps whose keys are exactly ``0..n-1`` become lists (as PHP's JSON encoder would emit them).
    """
    root: dict[str, Any] = {}
    if query.startswith("?"):
        query = query[1:]
    for part in query.split("&"):
        if not part:
            continue
        raw_key, _, raw_value = part.partition("=")
        key = unquote_plus(raw_key)
        value = unquote_plus(raw_value)
        if not key:
            continue
        bracket = key.find("[")
        if bracket <= 0:
            root[_php_top_key(key)] = value
            continue
        segments = [_php_top_key(key[:bracket])]
        rest = key[bracket:]
        ok = True
        while rest.startswith("["):
            close = rest.find("]")
            if close < 0:
                ok = False
                break
            segments.append(rest[1:close])
            rest = rest[close + 1 :]
        if not ok:  # PHP keeps an unterminated bracket literally, as '_'
            root[_php_top_key(key.replace("[", "_", 1))] = value
            continue
        node: dict[str, Any] = root
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            if seg == "" and i > 0:
                seg = str(_next_index(node))
            if last:
                node[seg] = value
            else:
                child = node.get(seg)
                if not isinstance(child, dict):
                    child = {}
                    node[seg] = child
                node = child
    converted: dict[str, Any] = {k: php_arrays_to_lists(v) for k, v in root.items()}
    return converted


def digits(text: str) -> bool:
    """Whether ``text`` is ASCII digits only (``str.isdigit`` also takes "²", which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def _next_index(node: dict[str, Any]) -> int:
    ints = [int(k) for k in node if digits(k.lstrip("-"))]
    return max(ints) + 1 if ints else 0


def php_arrays_to_lists(value: Any) -> Any:
    """Turn ``{"0": a, "1": b}`` maps into lists, recursively, as PHP's ``json_encode`` does."""
    if isinstance(value, dict):
        converted = {k: php_arrays_to_lists(v) for k, v in value.items()}
        if converted and list(converted) == [str(i) for i in range(len(converted))]:
            return list(converted.values())
        return converted
    if isinstance(value, list):
        return [php_arrays_to_lists(v) for v in value]
    return value
