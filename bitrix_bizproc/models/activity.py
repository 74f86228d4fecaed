"""Application action and robot definitions, their ``PROPERTY`` objects, and the rules the portal checks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from ..protocol.errors import ClientValidationError
from .converter import LocalizedText, converter, unstructure, wire
from .documents import DocumentType
from .enums import PropertyType

__all__ = [
    "ActivityDefinition",
    "Property",
    "check_code",
    "check_handler_url",
    "check_localized",
    "check_property_key",
]

_CODE = re.compile(r"[a-zA-Z0-9._-]+")
_PROPERTY_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")


@attrs.frozen
class Property:
    """A ``PROPERTY`` object: one input parameter or return value of an action or robot."""

    name: LocalizedText | None = attrs.field(default=None, metadata=wire("Name"))
    type: PropertyType | str | None = attrs.field(default=None, metadata=wire("Type"))
    description: LocalizedText | None = attrs.field(default=None, metadata=wire("Description"))
    options: dict[str, str] | None = attrs.field(default=None, metadata=wire("Options"))
    required: bool | None = attrs.field(default=None, metadata=wire("Required", yn=True))
    multiple: bool | None = attrs.field(default=None, metadata=wire("Multiple", yn=True))
    default: Any = attrs.field(default=None, metadata=wire("Default"))
    extra: dict[str, Any] = attrs.field(factory=dict)


def _property_type(value: Any, _: Any) -> PropertyType | str:
    text = converter.structure(value, str)
    try:
        return PropertyType(text)
    except ValueError:
        return text  # document-specific types, e.g. "UF:address"


converter.register_structure_hook_func(lambda t: t == PropertyType | str, _property_type)


@attrs.frozen
class ActivityDefinition:
    """Everything ``bizproc.activity.add`` / ``bizproc.robot.add`` take (``update`` takes any subset)."""

    code: str | None = attrs.field(default=None, metadata=wire("CODE"))
    handler: str | None = attrs.field(default=None, metadata=wire("HANDLER"))
    name: LocalizedText | None = attrs.field(default=None, metadata=wire("NAME"))
    description: LocalizedText | None = attrs.field(default=None, metadata=wire("DESCRIPTION"))
    auth_user_id: int | None = attrs.field(default=None, metadata=wire("AUTH_USER_ID"))
    use_subscription: bool | None = attrs.field(default=None, metadata=wire("USE_SUBSCRIPTION", yn=True))
    properties: dict[str, Property] | None = attrs.field(default=None, metadata=wire("PROPERTIES"))
    return_properties: dict[str, Property] | None = attrs.field(
        default=None, metadata=wire("RETURN_PROPERTIES")
    )
    document_type: DocumentType | None = attrs.field(default=None, metadata=wire("DOCUMENT_TYPE"))
    filter: dict[str, Any] | None = attrs.field(default=None, metadata=wire("FILTER"))
    use_placement: bool | None = attrs.field(default=None, metadata=wire("USE_PLACEMENT", yn=True))
    placement_handler: str | None = attrs.field(default=None, metadata=wire("PLACEMENT_HANDLER"))
    extra: dict[str, Any] = attrs.field(factory=dict)

    def to_wire(self) -> dict[str, Any]:
        """The parameters as the portal takes them (unset fields left out)."""
        out: dict[str, Any] = unstructure(self)
        return out


def check_code(code: Any, what: str = "code") -> str:
    """An action/robot code: non-empty, only ``[a-zA-Z0-9._-]`` (the portal's "Wrong activity code!")."""
    if not isinstance(code, str) or not code:
        raise ClientValidationError(f"empty {what}")
    if not _CODE.fullmatch(code):
        raise ClientValidationError(
            f"wrong {what} {code!r}: only letters, digits, '.', '-' and '_' are allowed"
        )
    return code


def check_handler_url(url: Any, what: str = "HANDLER") -> str:
    """An absolute http(s) URL (the portal's ``ERROR_UNSUPPORTED_PROTOCOL`` / ``ERROR_WRONG_HANDLER_URL``)."""
    if not isinstance(url, str) or not url:
        raise ClientValidationError(f"empty {what}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ClientValidationError(f"unsupported {what} protocol in {url!r}: use http or https")
    if not parts.hostname:
        raise ClientValidationError(f"wrong {what} URL {url!r}: it must be absolute")
    return url


def check_property_key(key: Any) -> str:
    """A property's system name: starts with a letter, then ``[a-zA-Z0-9_]``."""
    if not isinstance(key, str) or not _PROPERTY_KEY.fullmatch(key):
        raise ClientValidationError(
            f"wrong property key {key!r}: start with a letter, then letters, digits or '_'"
        )
    return key


def check_localized(value: Any, what: str) -> LocalizedText:
    """A required name: a non-empty string, or a non-empty map of language -> non-empty string."""
    if isinstance(value, str) and value.strip():
        return value
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) and k for k in value)
        and all(isinstance(v, str) and v.strip() for v in value.values())
    ):
        return dict(value)
    raise ClientValidationError(f"empty or malformed {what}: give a string or a {{language: text}} map")


def properties_from(
    value: Mapping[str, Property | Mapping[str, Any]] | None, what: str
) -> dict[str, Property]:
    """Properties given as :class:`Property` objects or wire dicts, keys and names checked."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ClientValidationError(f"{what} must be a map of key -> property")
    out: dict[str, Property] = {}
    for key, prop in value.items():
        check_property_key(key)
        if isinstance(prop, Mapping):
            prop = converter.structure(dict(prop), Property)
        if not isinstance(prop, Property):
            raise ClientValidationError(f"{what}[{key!r}] must be a Property or a map")
        check_localized(prop.name, f"property name of {key!r}")
        out[key] = prop
    return out
