"""Typed list filters, and the per-method field/operator checks that keep a typo from widening a result.

The portal silently drops filter keys whose field or operator it does not know, so a typo returns MORE
rows than asked for (fatal for a bulk terminate). Every filter is therefore checked before sending::

    from bitrix_bizproc.models import F, Filter

    Filter(F.STARTED < cutoff, F.TEMPLATE_ID == 12)       # {"<STARTED": "2024-...+00:00", "TEMPLATE_ID": 12}
    (F.STATUS == 0) & (F.USER_ID == 15)                   # the same, with &
    {"<STARTED": cutoff}                                  # plain dicts are accepted (and checked) too

Field names are case-insensitive: ``F.started`` is ``STARTED`` (and keeps linters' "Yoda" check quiet).

What the portal really reads (its bizproc REST service, ``restservice.php``, and ``user.get``):

* bizproc lists keep a key only if its prefix is one of ``'' ! < <= > >=`` and the field is in the method's
  list; anything else is dropped silently. ``=X`` and ``!=X`` are therefore sent as ``X`` and ``!X``.
* ``''`` and ``!`` on a text field are ``LIKE`` / ``NOT LIKE`` there, so ``%``, ``_`` and ``\\`` in the
  value are wildcards: an exact ``=X`` with such a value cannot be expressed and is refused;
  :meth:`ListSpec.patterns` names the plain conditions a destructive job must not trust.
* ``user.get`` reads a prefix of one or two non-word characters (``!=%`` and ``!%=`` are dropped) and clears
  the prefix of ``NAME_SEARCH``; ``FIND`` is read by ``user.search`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ..protocol.errors import ClientValidationError
from .filter_values import EQUALITY_OPERATORS, Kind, check_value

__all__ = [
    "TASK_SPEC",
    "TEMPLATE_SPEC",
    "USER_SPEC",
    "WORKFLOW_SPEC",
    "Condition",
    "F",
    "Field",
    "Filter",
    "FilterLike",
    "ListSpec",
]

# Longest first, so "!=%" is not read as "!" + "=%FIELD".
_ALL_OPERATORS = (
    *("!=%", "!%=", "!><", "!@", "!%", "!=", "=%", "%=", ">=", "<=", "><"),
    *("!", "=", "<", ">", "%", "@"),
)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BIZPROC_OPERATORS = frozenset({"", "=", "!", "!=", "<", "<=", ">", ">="})
_USER_OPERATORS = _BIZPROC_OPERATORS | {"@", "!@", "%", "=%", "%=", "!%"}
# bizproc's getFilter() keeps only '' ! < <= > >=: the equality spellings it lacks go out as ones it reads
_BIZPROC_TRANSLATIONS = {"=": "", "!=": "!"}
_LIKE_WILDCARDS = ("%", "_", "\\")


def _wildcards(value: Any, chars: tuple[str, ...] = _LIKE_WILDCARDS) -> list[str]:
    """The text values in ``value`` (one or a list) that a LIKE comparison would read as a pattern."""
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    return [v for v in items if isinstance(v, str) and any(w in v for w in chars)]


@attrs.frozen
class Condition:
    """One filter condition: ``op`` + ``field`` is the wire key (``<STARTED``)."""

    field: str
    op: str
    value: Any

    @property
    def key(self) -> str:
        """The wire key, operator first."""
        return f"{self.op}{self.field}"

    def __and__(self, other: Condition | Filter) -> Filter:
        return Filter(self) & other


@attrs.frozen(eq=False)
class Field:
    """A filterable field; compare it to build a :class:`Condition` (``F.STARTED < cutoff``)."""

    name: str

    def __eq__(self, value: Any) -> Condition:  # type: ignore[override]
        return Condition(self.name, "", value)

    def __ne__(self, value: Any) -> Condition:  # type: ignore[override]
        return Condition(self.name, "!", value)

    def __lt__(self, value: Any) -> Condition:
        return Condition(self.name, "<", value)

    def __le__(self, value: Any) -> Condition:
        return Condition(self.name, "<=", value)

    def __gt__(self, value: Any) -> Condition:
        return Condition(self.name, ">", value)

    def __ge__(self, value: Any) -> Condition:
        return Condition(self.name, ">=", value)

    def isin(self, values: Iterable[Any]) -> Condition:
        """``@FIELD``: one of ``values`` (``user.get`` only)."""
        return Condition(self.name, "@", list(values))

    def not_in(self, values: Iterable[Any]) -> Condition:
        """``!@FIELD``: none of ``values`` (``user.get`` only)."""
        return Condition(self.name, "!@", list(values))

    def contains(self, text: str) -> Condition:
        """``%FIELD``: contains ``text`` (``user.get`` only)."""
        return Condition(self.name, "%", text)

    def like(self, pattern: str) -> Condition:
        """``=%FIELD``: SQL LIKE with explicit ``%`` (``user.get`` only)."""
        return Condition(self.name, "=%", pattern)


class _Fields:
    """``F.NAME`` is the field ``NAME``."""

    def __getattr__(self, name: str) -> Field:
        if name.startswith("__"):
            raise AttributeError(name)
        return Field(name.upper())

    def __getitem__(self, name: str) -> Field:
        return Field(name.upper())


F = _Fields()


@attrs.frozen(init=False)
class Filter:
    """A conjunction of conditions; keyword arguments are equality conditions (``Filter(STATUS=0)``)."""

    conditions: tuple[Condition, ...]

    def __init__(self, *conditions: Condition, **equals: Any) -> None:
        items = list(conditions) + [Condition(k.upper(), "", v) for k, v in equals.items()]
        for item in items:
            if not isinstance(item, Condition):
                raise ClientValidationError(f"Filter() takes conditions such as F.ID > 5, not {item!r}")
        self.__attrs_init__(tuple(items))

    def __and__(self, other: Condition | Filter) -> Filter:
        more = other.conditions if isinstance(other, Filter) else (other,)
        return Filter(*self.conditions, *more)

    def to_wire(self) -> dict[str, Any]:
        """The ``FILTER`` map; two conditions with the same key are refused (one would be lost)."""
        out: dict[str, Any] = {}
        for cond in self.conditions:
            if cond.key in out:
                raise ClientValidationError(f"two conditions on {cond.key!r}: the portal would keep only one")
            out[cond.key] = cond.value
        return out


FilterLike = Filter | Condition | Mapping[str, Any]


@attrs.frozen
class ListSpec:
    """What one list method accepts in ``FILTER``, ``SELECT`` and ``ORDER``."""

    method: str
    fields: frozenset[str]
    operators: frozenset[str] = _BIZPROC_OPERATORS
    open_prefixes: tuple[str, ...] = ()  # e.g. user fields "UF_*": any name with these prefixes is allowed
    select_masks: frozenset[str] = frozenset()
    kinds: Mapping[str, Kind] = attrs.field(factory=dict, hash=False)  # field -> value kind; absent: any
    list_operators: frozenset[str] = EQUALITY_OPERATORS  # operators whose value may be a list (IN)
    translations: Mapping[str, str] = attrs.field(factory=dict, hash=False)  # accepted op -> op sent
    unfilterable: frozenset[str] = frozenset()  # known (select/order) fields the method does not filter on
    plain_only: frozenset[str] = frozenset()  # fields whose operator the portal discards

    def _known(self, name: str) -> bool:
        return name in self.fields or any(name.startswith(p) for p in self.open_prefixes)

    def _split(self, key: str) -> tuple[str, str]:
        op = next((o for o in _ALL_OPERATORS if key.startswith(o)), "")
        field = key[len(op) :]
        if not _FIELD_NAME.fullmatch(field):
            raise ClientValidationError(
                f"{self.method}: cannot read filter key {key!r} (unknown operator or field)"
            )
        if op not in self.operators:
            raise ClientValidationError(
                f"{self.method}: operator {op!r} in {key!r} is not supported "
                f"(allowed: {', '.join(repr(o) for o in sorted(self.operators))}); the portal would ignore it"
            )
        field = field.upper()
        if not self._known(field) or field in self.unfilterable:
            raise ClientValidationError(
                f"{self.method}: unknown filter field {field!r}; the portal would ignore it"
            )
        if op and field in self.plain_only:
            raise ClientValidationError(
                f"{self.method}: {field} takes no operator (the portal discards {op!r} and searches anyway)"
            )
        return op, field

    def _translate(self, op: str, field: str, value: Any) -> str:
        """The operator to send for ``op``; an exact text match the portal would read as LIKE is refused."""
        sent = self.translations.get(op, op)
        if sent != op and self.kinds.get(field) == "str" and (found := _wildcards(value)):
            raise ClientValidationError(
                f"{self.method}: {op}{field} {found[0]!r} cannot be matched exactly: the portal compares "
                f"text with LIKE, where % _ and \\ are wildcards (the plain key {field!r} accepts a pattern)"
            )
        return sent

    def patterns(self, wire: Mapping[str, Any]) -> list[str]:
        """The keys of a checked filter that the portal reads as LIKE patterns matching MORE than the value.

        Plain text equality whose value holds ``%`` or ``_``; a destructive job must not trust these.
        """
        return [
            key
            for key, value in wire.items()
            if not key.startswith(("<", ">", "!", "%", "@", "="))
            and self.kinds.get(key) == "str"
            and _wildcards(value, ("%", "_"))
        ]

    def check_filter(self, value: FilterLike | None) -> dict[str, Any] | None:
        """The checked ``FILTER`` map (keys upper-cased), or ``None``; raises :class:`ValidationError`.

        Fields, operators and values are checked: see :mod:`bitrix_bizproc.models.filter_values`.
        """
        if value is None:
            return None
        if isinstance(value, Condition):
            value = Filter(value)
        if isinstance(value, Filter):
            value = value.to_wire()
        if not isinstance(value, Mapping):
            kind = type(value).__name__
            raise ClientValidationError(
                f"{self.method}: a filter is a Filter, a condition or a map, not {kind}"
            )
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ClientValidationError(f"{self.method}: filter keys are strings, not {key!r}")
            op, field = self._split(key)
            check_value(self.method, field, op, item, self.kinds.get(field, "any"), self.list_operators)
            wire_key = f"{self._translate(op, field, item)}{field}"
            if wire_key in out:
                raise ClientValidationError(f"{self.method}: filter key {wire_key!r} given twice")
            out[wire_key] = item
        return out

    def check_select(self, value: Sequence[str] | None) -> list[str] | None:
        """The checked ``SELECT`` list (upper-cased), or ``None``."""
        if value is None:
            return None
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ClientValidationError(f"{self.method}: select is a list of field names, not {value!r}")
        out: list[str] = []
        for name in value:
            upper = name.upper() if isinstance(name, str) else ""
            if upper not in self.select_masks and not self._known(upper):
                raise ClientValidationError(f"{self.method}: unknown select field {name!r}")
            out.append(upper)
        return out

    def check_order(self, value: Mapping[str, str] | None) -> dict[str, str] | None:
        """The checked ``ORDER`` map (``{"ID": "ASC"}``), or ``None``."""
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ClientValidationError(f"{self.method}: order is a map of field -> 'asc'|'desc'")
        out: dict[str, str] = {}
        for name, direction in value.items():
            upper = name.upper() if isinstance(name, str) else ""
            if not self._known(upper):
                raise ClientValidationError(f"{self.method}: unknown order field {name!r}")
            out[upper] = check_direction(direction, self.method)
        return out


def check_direction(value: Any, method: str) -> str:
    """``asc``/``desc`` in any case -> ``ASC``/``DESC``."""
    text = value.upper() if isinstance(value, str) else ""
    if text not in ("ASC", "DESC"):
        raise ClientValidationError(f"{method}: sort direction must be 'asc' or 'desc', not {value!r}")
    return text


_DATES: Kind = "datetime"
WORKFLOW_SPEC = ListSpec(
    "bizproc.workflow.instances",
    frozenset(
        {
            "ID", "MODIFIED", "OWNED_UNTIL", "MODULE_ID", "ENTITY", "DOCUMENT_ID", "STARTED", "STARTED_BY",
            "TEMPLATE_ID",
        }
    ),
    kinds={
        "ID": "str", "MODIFIED": _DATES, "OWNED_UNTIL": _DATES, "MODULE_ID": "str", "ENTITY": "str",
        "DOCUMENT_ID": "str", "STARTED": _DATES, "STARTED_BY": "int", "TEMPLATE_ID": "int",
    },
    translations=_BIZPROC_TRANSLATIONS,
)  # fmt: skip
TEMPLATE_SPEC = ListSpec(
    "bizproc.workflow.template.list",
    frozenset(
        {
            "ID", "MODULE_ID", "ENTITY", "DOCUMENT_TYPE", "AUTO_EXECUTE", "NAME", "DESCRIPTION", "TEMPLATE",
            "PARAMETERS", "VARIABLES", "CONSTANTS", "MODIFIED", "IS_MODIFIED", "USER_ID", "SYSTEM_CODE",
        }
    ),
    kinds={
        "ID": "int", "MODULE_ID": "str", "ENTITY": "str", "AUTO_EXECUTE": "int", "NAME": "str",
        "DESCRIPTION": "str", "MODIFIED": _DATES, "IS_MODIFIED": "bool", "USER_ID": "int",
        "SYSTEM_CODE": "str",
    },
    translations=_BIZPROC_TRANSLATIONS,
)  # fmt: skip
TASK_SPEC = ListSpec(
    "bizproc.task.list",
    frozenset(
        {
            "ID", "WORKFLOW_ID", "DOCUMENT_NAME", "DESCRIPTION", "NAME", "MODIFIED", "WORKFLOW_STARTED",
            "WORKFLOW_STARTED_BY", "OVERDUE_DATE", "WORKFLOW_TEMPLATE_ID", "WORKFLOW_TEMPLATE_NAME",
            "WORKFLOW_STATE", "STATUS", "USER_ID", "USER_STATUS", "MODULE_ID", "ENTITY", "DOCUMENT_ID",
            "ACTIVITY", "ACTIVITY_NAME", "PARAMETERS", "DOCUMENT_URL",
        }
    ),
    kinds={
        "ID": "int", "WORKFLOW_ID": "str", "DOCUMENT_NAME": "str", "DESCRIPTION": "str", "NAME": "str",
        "MODIFIED": _DATES, "WORKFLOW_STARTED": _DATES, "WORKFLOW_STARTED_BY": "int", "OVERDUE_DATE": _DATES,
        "WORKFLOW_TEMPLATE_ID": "int", "WORKFLOW_TEMPLATE_NAME": "str", "WORKFLOW_STATE": "str",
        "STATUS": "int", "USER_ID": "int", "USER_STATUS": "int", "MODULE_ID": "str", "ENTITY": "str",
        "DOCUMENT_ID": "str", "ACTIVITY": "str", "ACTIVITY_NAME": "str", "DOCUMENT_URL": "str",
    },
    translations=_BIZPROC_TRANSLATIONS,
    unfilterable=frozenset({"DOCUMENT_URL"}),  # returned, but not in getTaskList's filter fields
)  # fmt: skip
USER_SPEC = ListSpec(
    "user.get",
    frozenset(
        {
            "ID", "ACTIVE", "NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "XML_ID", "LOGIN", "TITLE",
            "USER_TYPE", "IS_ONLINE", "NAME_SEARCH", "LAST_LOGIN", "DATE_REGISTER", "TIMESTAMP_X",
            "LAST_ACTIVITY_DATE",
            "TIME_ZONE", "TIME_ZONE_OFFSET", "EXTERNAL_AUTH_ID",
        }
    ),
    operators=_USER_OPERATORS,
    open_prefixes=("UF_", "PERSONAL_", "WORK_"),
    select_masks=frozenset({"*", "UF_*"}),
    kinds={
        "ID": "int", "ACTIVE": "bool", "NAME": "str", "LAST_NAME": "str", "SECOND_NAME": "str",
        "EMAIL": "str", "XML_ID": "str", "LOGIN": "str", "TITLE": "str", "USER_TYPE": "str",
        "IS_ONLINE": "bool", "NAME_SEARCH": "str", "LAST_LOGIN": _DATES, "DATE_REGISTER": _DATES,
        "TIMESTAMP_X": _DATES, "LAST_ACTIVITY_DATE": _DATES, "TIME_ZONE": "str", "TIME_ZONE_OFFSET": "int",
        "EXTERNAL_AUTH_ID": "str",
    },
    list_operators=frozenset({"@", "!@"}),
    plain_only=frozenset({"NAME_SEARCH"}),
)  # fmt: skip
