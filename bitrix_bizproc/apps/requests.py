"""What the portal POSTs to an app, parsed without any web framework: headers and body in, typed objects out.

The portal sends PHP arrays form-encoded (``auth[member_id]=...&document_id[0]=crm``); a robot or
activity call carries ``workflow_id``, ``code``, ``document_id``, ``document_type``, ``event_token``,
``properties``, ``use_subscription``, ``timeout_duration``, ``ts`` and ``auth``; events (``ONAPPINSTALL``,
``ONAPPUNINSTALL``, ...) carry ``event``, ``data``, ``ts`` and ``auth``. Shapes follow recorded real
requests (see ``tests/apps/fixtures.py``). Nothing here checks the application token: see
:class:`~bitrix_bizproc.apps.BitrixApp`. Reprs never show tokens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..fleet.stores import check_member_id
from ..protocol.auth import OAuthTokens, check_base_url
from ..protocol.encoding import parse_query
from ..protocol.errors import ConfigurationError
from .errors import ForgedRequestError, MalformedRequestError

__all__ = [
    "InstallEvent",
    "PortalAuth",
    "PortalEvent",
    "RobotRequest",
    "UninstallEvent",
    "parse_request",
]

INSTALL = "ONAPPINSTALL"
UNINSTALL = "ONAPPUNINSTALL"
MAX_BODY_BYTES = 1_048_576


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _opt_int(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(str(value))
    except ValueError:
        raise MalformedRequestError(f"{what} is not a number") from None


@attrs.frozen(repr=False)
class PortalAuth:
    """The ``auth[...]`` block: the portal's identity, the app's secret, and (usually) a token pair."""

    member_id: str
    application_token: str
    access_token: str | None = None
    refresh_token: str | None = None
    expires: int | None = None
    expires_in: int | None = None
    scope: str | None = None
    domain: str | None = None
    server_endpoint: str | None = None
    client_endpoint: str | None = None
    status: str | None = None
    user_id: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> PortalAuth:
        """Read ``auth[...]``; no application token means the request cannot be the portal's."""
        if not isinstance(raw, Mapping):
            raise ForgedRequestError("the request carries no auth[...] block", code="FORGED_REQUEST")
        token = _opt_str(raw.get("application_token"))
        if token is None:
            raise ForgedRequestError("the request carries no auth[application_token]", code="FORGED_REQUEST")
        member = _opt_str(raw.get("member_id"))
        if member is None:
            raise MalformedRequestError("auth[member_id] is missing", code="MALFORMED_REQUEST")
        try:
            check_member_id(member)
        except ConfigurationError:
            raise MalformedRequestError(
                "auth[member_id] is not a portal id", code="MALFORMED_REQUEST"
            ) from None
        return cls(
            member_id=member,
            application_token=token,
            access_token=_opt_str(raw.get("access_token")),
            refresh_token=_opt_str(raw.get("refresh_token")),
            expires=_opt_int(raw.get("expires"), "auth[expires]"),
            expires_in=_opt_int(raw.get("expires_in"), "auth[expires_in]"),
            scope=_opt_str(raw.get("scope")),
            domain=_opt_str(raw.get("domain")),
            server_endpoint=_opt_str(raw.get("server_endpoint")),
            client_endpoint=_opt_str(raw.get("client_endpoint")),
            status=_opt_str(raw.get("status")),
            user_id=_opt_int(raw.get("user_id"), "auth[user_id]"),
        )

    def tokens(self, *, allow_http: bool = False) -> OAuthTokens | None:
        """The token pair with the application token, or ``None`` if the block holds no usable pair.

        ``client_endpoint`` must be https (or loopback) unless ``allow_http`` (a self-hosted portal).
        """
        if not (self.access_token and self.refresh_token and self.client_endpoint):
            return None
        try:
            endpoint = check_base_url(
                self.client_endpoint, what="auth[client_endpoint]", allow_http=allow_http
            )
        except ConfigurationError:
            raise MalformedRequestError("auth[client_endpoint] is not an https URL") from None
        return OAuthTokens(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            client_endpoint=endpoint,
            expires_at=None if self.expires is None else float(self.expires),
            member_id=self.member_id,
            scope=self.scope,
            user_id=self.user_id,
            application_token=self.application_token,
        )

    def __repr__(self) -> str:
        return (
            f"PortalAuth(member_id={self.member_id!r}, domain={self.domain!r}, "
            f"client_endpoint={self.client_endpoint!r}, user_id={self.user_id!r}, tokens='***')"
        )


def _triple(value: Any, what: str) -> tuple[str, str, str]:
    items = list(value.values()) if isinstance(value, Mapping) else value
    if not isinstance(items, list) or len(items) != 3 or not all(isinstance(i, str) and i for i in items):
        raise MalformedRequestError(f"{what} must be [module, entity, id]", code="MALFORMED_REQUEST")
    return (items[0], items[1], items[2])


def _required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedRequestError(f"{key} is missing", code="MALFORMED_REQUEST")
    return value


@attrs.frozen(repr=False)
class RobotRequest:
    """A workflow reached one of the app's robots or activities; ``properties`` as the portal sent them."""

    workflow_id: str
    code: str
    document_id: tuple[str, str, str]
    document_type: tuple[str, str, str]
    event_token: str
    properties: dict[str, Any]
    use_subscription: bool
    timeout_duration: int | None
    ts: int | None
    auth: PortalAuth

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> RobotRequest:
        """Build from the decoded form; raises the typed error of what is wrong."""
        auth = PortalAuth.parse(data.get("auth"))
        properties = data.get("properties")
        if properties in (None, "", []):
            properties = {}
        if not isinstance(properties, Mapping):
            raise MalformedRequestError("properties must be a map", code="MALFORMED_REQUEST")
        subscription = data.get("use_subscription", "Y")
        if subscription not in ("Y", "N", ""):
            raise MalformedRequestError("use_subscription must be Y or N", code="MALFORMED_REQUEST")
        return cls(
            workflow_id=_required_str(data, "workflow_id"),
            code=_required_str(data, "code"),
            document_id=_triple(data.get("document_id"), "document_id"),
            document_type=_triple(data.get("document_type"), "document_type"),
            event_token=_required_str(data, "event_token"),
            properties={str(k): v for k, v in properties.items()},
            use_subscription=subscription != "N",
            timeout_duration=_opt_int(data.get("timeout_duration"), "timeout_duration"),
            ts=_opt_int(data.get("ts"), "ts"),
            auth=auth,
        )

    def __repr__(self) -> str:
        return (
            f"RobotRequest(code={self.code!r}, workflow_id={self.workflow_id!r}, "
            f"document_id={self.document_id!r}, member_id={self.auth.member_id!r}, event_token='***')"
        )


@attrs.frozen(repr=False)
class PortalEvent:
    """An event the app is bound to (``event``, ``data``, ``ts``, ``auth``)."""

    event: str
    data: dict[str, Any]
    ts: int | None
    auth: PortalAuth
    event_handler_id: int | None = None

    @classmethod
    def from_fields(cls, data: Mapping[str, Any]) -> PortalEvent:
        """Build the event (an :class:`InstallEvent`/:class:`UninstallEvent` for the app's own events)."""
        name = _required_str(data, "event").upper()
        auth = PortalAuth.parse(data.get("auth"))
        payload = data.get("data")
        payload = {str(k): v for k, v in payload.items()} if isinstance(payload, Mapping) else {}
        kind = {INSTALL: InstallEvent, UNINSTALL: UninstallEvent}.get(name, PortalEvent)
        return kind(
            event=name,
            data=payload,
            ts=_opt_int(data.get("ts"), "ts"),
            auth=auth,
            event_handler_id=_opt_int(data.get("event_handler_id"), "event_handler_id"),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(event={self.event!r}, member_id={self.auth.member_id!r})"


@attrs.frozen(repr=False)
class InstallEvent(PortalEvent):
    """``ONAPPINSTALL``: the portal's tokens and the app's ``application_token``, to be saved."""


@attrs.frozen(repr=False)
class UninstallEvent(PortalEvent):
    """``ONAPPUNINSTALL``: the app was removed (``data[CLEAN]`` says whether to delete its data)."""

    @property
    def clean(self) -> bool:
        """Whether the administrator asked to delete the app's data."""
        return str(self.data.get("CLEAN", "0")) in ("1", "Y")


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def decode_body(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The body as nested fields: PHP form encoding (what the portal sends), or a JSON object."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedRequestError("the request body is too large", code="MALFORMED_REQUEST")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequestError("the request body is not UTF-8", code="MALFORMED_REQUEST") from None
    content_type = _header(headers, "content-type").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            decoded = json.loads(text)
        except ValueError:
            raise MalformedRequestError("the request body is not JSON", code="MALFORMED_REQUEST") from None
        if not isinstance(decoded, dict):
            raise MalformedRequestError("the JSON body is not an object", code="MALFORMED_REQUEST")
        return decoded
    if content_type not in ("", "application/x-www-form-urlencoded"):
        raise MalformedRequestError(f"unexpected content type {content_type!r}", code="MALFORMED_REQUEST")
    return parse_query(text)


def parse_request(headers: Mapping[str, str], body: bytes) -> RobotRequest | PortalEvent:
    """A robot/activity call or an event, from the raw request; raises a typed refusal otherwise."""
    data = decode_body(headers, body)
    if "event_token" in data or "workflow_id" in data:
        return RobotRequest.from_fields(data)
    if "event" in data:
        return PortalEvent.from_fields(data)
    raise MalformedRequestError("neither a robot call nor an event", code="MALFORMED_REQUEST")
