"""Robots and activities declared in Python, and syncing them to a portal (add or update, remove stale)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..models.activity import Property, check_code, check_localized, properties_from
from ..models.converter import LocalizedText

if TYPE_CHECKING:
    from .._client import BizprocClient
    from .calls import RobotCall

__all__ = ["Declaration", "RobotHandler", "SyncReport", "sync_declarations"]

RobotHandler = Callable[["RobotCall"], Awaitable[Mapping[str, Any] | None]]
"""``async def handler(call) -> return values | None``: a returned map is sent with ``call.reply``."""


def _code(value: Any) -> str:
    return check_code(value, "robot code")


def _name(value: Any) -> LocalizedText:
    return check_localized(value, "robot name")


def _properties(value: Any) -> dict[str, Property]:
    return properties_from(value, "properties")


def _return_properties(value: Any) -> dict[str, Property]:
    return properties_from(value, "return_properties")


@attrs.frozen
class Declaration:
    """One robot (``kind="robot"``) or workflow activity (``kind="activity"``) of the app, and its handler."""

    code: str = attrs.field(converter=_code)
    name: LocalizedText = attrs.field(converter=_name)
    handler: RobotHandler = attrs.field(repr=False)
    kind: str = attrs.field(default="robot", validator=attrs.validators.in_(("robot", "activity")))
    properties: dict[str, Property] = attrs.field(factory=dict, converter=_properties)
    return_properties: dict[str, Property] = attrs.field(factory=dict, converter=_return_properties)
    use_subscription: bool = True
    description: LocalizedText | None = None
    document_type: Sequence[str] | None = None
    filter: Mapping[str, Any] | None = None
    auth_user_id: int | None = None

    def fields(self, handler_url: str) -> dict[str, Any]:
        """The keyword arguments of ``client.robots.add`` / ``client.activities.add`` for this declaration."""
        fields: dict[str, Any] = {
            "handler": handler_url,
            "name": self.name,
            "properties": self.properties,
            "return_properties": self.return_properties,
            "use_subscription": self.use_subscription,
        }
        optional = {
            "description": self.description,
            "document_type": self.document_type,
            "filter": self.filter,
            "auth_user_id": self.auth_user_id,
        }
        fields.update({k: v for k, v in optional.items() if v is not None})
        return fields


@attrs.frozen
class SyncReport:
    """What a sync changed on the portal, by code."""

    added: list[str] = attrs.field(factory=list)
    updated: list[str] = attrs.field(factory=list)
    removed: list[str] = attrs.field(factory=list)


async def sync_declarations(
    client: BizprocClient,
    declarations: Sequence[Declaration],
    handler_url: str,
    *,
    remove_stale: bool = False,
) -> SyncReport:
    """Make the portal hold exactly these robots/activities: add the missing, update the present ones.

    Codes registered on the portal but not declared are deleted only with ``remove_stale=True``.
    Idempotent: a second run adds nothing and removes nothing. Two ``batch`` requests for up to 50
    changes: one reads both lists, one makes every change (each change's error is raised after all ran).
    """
    async with client.batch() as listing:
        robots, activities = listing.robots.list(), listing.activities.list()
    present = {"robot": set(robots.result()), "activity": set(activities.result())}
    report = SyncReport()
    changes: list[Any] = []
    async with client.batch() as batch:
        for declaration in declarations:
            service = batch.robots if declaration.kind == "robot" else batch.activities
            fields = declaration.fields(handler_url)
            if declaration.code in present[declaration.kind]:
                changes.append(service.update(declaration.code, **fields))
                report.updated.append(declaration.code)
            else:  # empty PROPERTIES/RETURN_PROPERTIES are left out of a new registration
                fields = {k: v for k, v in fields.items() if v != {}}
                changes.append(service.add(code=declaration.code, **fields))
                report.added.append(declaration.code)
        if remove_stale:
            for kind, codes in present.items():
                declared = {d.code for d in declarations if d.kind == kind}
                service = batch.robots if kind == "robot" else batch.activities
                for code in sorted(codes - declared):
                    changes.append(service.delete(code))
                    report.removed.append(code)
    for change in changes:
        change.result()  # the first failure, typed
    return report
