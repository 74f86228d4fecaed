"""user.get: users by FILTER (``ACTIVE``, ``NAME``, ``UF_DEPARTMENT``, ``IS_ONLINE`` ...), SORT, ORDER, start.

As ``api-reference/user/user-get.md`` describes it: a plain text field matches like SQL ``LIKE`` without
regard to case, ``%`` being the wildcard (``{"NAME": "Iv%"}``); ``UF_DEPARTMENT`` keeps users in any of the
given departments; ``IS_ONLINE`` is ``Y``/``N``. Unknown fields and prefixes are dropped, as the portal does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..context import CallContext, HandlerResult
from ..state import PortalState
from ..table import NO_MATCH, Condition, Query
from .common import Handler
from .filtering import Field, list_result, parse_select
from .params import as_bool, as_int, as_list, as_str

__all__ = ["HANDLERS", "USER_FIELDS"]

USER_FIELDS: dict[str, Field] = {
    "ID": Field("id", "int"),
    "ACTIVE": Field("active", "bool", "raw"),
    "NAME": Field("name"),
    "LAST_NAME": Field("last_name"),
    "SECOND_NAME": Field("second_name"),
    "EMAIL": Field("email"),
    "LAST_LOGIN": Field("last_login", "datetime", "iso"),
    "DATE_REGISTER": Field("date_register", "datetime", "iso"),
    "TIME_ZONE": Field("id", "str", "str", lambda u: ""),
    "IS_ONLINE": Field("online", "bool", "yn"),
    # the offset-less forms a live user answer carries (settings/how-to-call-rest-api/batch.md)
    "TIMESTAMP_X": Field("date_register", "datetime", "site"),
    "LAST_ACTIVITY_DATE": Field("last_login", "datetime", "naive"),
    "PERSONAL_GENDER": Field("id", "str", "str", lambda u: ""),
    "PERSONAL_WWW": Field("id", "str", "str", lambda u: ""),
    "PERSONAL_BIRTHDAY": Field("id", "str", "str", lambda u: ""),
    "PERSONAL_MOBILE": Field("id", "str", "str", lambda u: ""),
    "PERSONAL_CITY": Field("id", "str", "str", lambda u: ""),
    "WORK_PHONE": Field("id", "str", "str", lambda u: ""),
    "WORK_POSITION": Field("work_position"),
    "UF_EMPLOYMENT_DATE": Field("id", "str", "str", lambda u: ""),
    "UF_DEPARTMENT": Field("departments", "int", "raw"),
    "USER_TYPE": Field("user_type"),
}
_BLANK = ("PERSONAL_GENDER", "PERSONAL_WWW", "PERSONAL_BIRTHDAY", "PERSONAL_MOBILE", "PERSONAL_CITY")
_FILTERABLE = {
    k: v
    for k, v in USER_FIELDS.items()
    if k not in ("TIME_ZONE", "UF_EMPLOYMENT_DATE", "TIMESTAMP_X", "WORK_PHONE", *_BLANK)
}
_LIKE_TEXT = frozenset({"NAME", "LAST_NAME", "SECOND_NAME", "EMAIL", "WORK_POSITION"})  # plain key: LIKE
_FILTERABLE["NAME_SEARCH"] = Field("search_text")
_NOT_FILTER = frozenset({"SORT", "ORDER", "START", "SELECT", "ADMIN_MODE", "IMAGE_RESIZE", "FILTER"})
# prefix -> (operator, how the value is read): "=" plain, "in" a list, "like" %value%, "mask" a % pattern
_PREFIXES = {
    "": ("=", "plain"),
    "=": ("=", "plain"),
    "!": ("!=", "plain"),
    "!=": ("!=", "plain"),
    ">=": (">=", "plain"),
    ">": (">", "plain"),
    "<=": ("<=", "plain"),
    "<": ("<", "plain"),
    "@": ("=", "in"),
    "!@": ("!=", "in"),
    "%": ("~", "like"),
    "!%": ("!~", "like"),
    "=%": ("~", "mask"),
    "%=": ("~", "mask"),
    "!=%": ("!~", "mask"),
    "!%=": ("!~", "mask"),
}
_PREFIX = re.compile(r"^([^a-zA-Z]*)(.*)$", re.S)


def _value(field: Field, raw: Any) -> Any:
    if field.kind == "int":
        number = as_int(raw)
        return NO_MATCH if number is None else number
    if field.kind == "bool":
        flag = as_bool(raw)
        return NO_MATCH if flag is None else flag
    return as_str(raw)


def _condition(key: str, raw: Any) -> Condition | None:
    prefix, name = _PREFIX.match(key).groups()  # type: ignore[union-attr]
    rule = _PREFIXES.get(prefix)
    field = _FILTERABLE.get(name.upper())
    if rule is None or field is None:
        return None
    op, mode = rule
    if name.upper() == "NAME_SEARCH":
        op, mode = "~", "like"
    elif name.upper() in _LIKE_TEXT and prefix in ("", "!") and not isinstance(raw, list | Mapping):
        op, mode = ("~" if prefix == "" else "!~"), "mask"
    if name.upper() == "UF_DEPARTMENT":
        items = as_list(raw) if isinstance(raw, list | Mapping) else [raw]
        values = tuple(_value(field, item) for item in items or [] if not isinstance(item, list | Mapping))
        return Condition(field.attr, "has", values) if op == "=" else None
    if mode in ("like", "mask"):
        text = as_str(raw) or ""
        pattern = (
            re.escape(text) if mode == "like" else "^" + ".*".join(map(re.escape, text.split("%"))) + "$"
        )
        return Condition(field.attr, op, pattern)
    if isinstance(raw, list | Mapping):
        values = tuple(
            _value(field, item) for item in as_list(raw) or [] if not isinstance(item, list | Mapping)
        )
        return Condition(
            field.attr, op if op in ("=", "!=") else "=", values if op in ("=", "!=") else NO_MATCH
        )
    if mode == "in":
        return Condition(field.attr, op, (_value(field, raw),))
    return Condition(field.attr, op, _value(field, raw))


def get(state: PortalState, ctx: CallContext, params: dict[str, Any]) -> HandlerResult:
    """Users matching FILTER (or filter fields given at the top level), by ID unless SORT says otherwise."""
    raw_filter = params.get("FILTER")
    if not isinstance(raw_filter, Mapping):
        raw_filter = {k: v for k, v in params.items() if k not in _NOT_FILTER}
    conditions = tuple(c for c in (_condition(str(k), v) for k, v in raw_filter.items()) if c is not None)
    sort_field = USER_FIELDS.get((as_str(params.get("SORT")) or "ID").upper(), USER_FIELDS["ID"])
    descending = (as_str(params.get("ORDER")) or "").upper() == "DESC"
    names = parse_select(params.get("SELECT"), USER_FIELDS, tuple(USER_FIELDS)) or list(USER_FIELDS)
    query = Query(conditions, ((sort_field.attr, descending),))
    return list_result(state.users, query, params, names, USER_FIELDS, state.settings, no_count_allowed=True)


HANDLERS: dict[str, Handler] = {"user.get": get}
