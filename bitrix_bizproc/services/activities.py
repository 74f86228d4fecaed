"""``client.activities``: application actions for the workflow designer, and the workflow log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .._call import Pending
from ..models.activity import (
    ActivityDefinition,
    Property,
    check_code,
    check_handler_url,
    check_localized,
    properties_from,
)
from ..models.converter import LocalizedText
from ..models.documents import DocumentType
from ..protocol.batch import Ref
from ..protocol.errors import ClientValidationError
from . import _checks
from .base import Service, string_list, true_result

__all__ = ["ActivitiesService"]

Properties = Mapping[str, Property | Mapping[str, Any]]
_FILTER_KEYS = ("INCLUDE", "EXCLUDE")


def _rule(rule: Any) -> str | list[str]:
    """One FILTER rule: an edition (``b24``/``box``) or a full or partial document type."""
    if isinstance(rule, DocumentType):
        return rule.to_wire()
    if isinstance(rule, str) and rule:
        return rule
    if isinstance(rule, Sequence) and 1 <= len(rule) <= 3 and all(isinstance(p, str) and p for p in rule):
        return list(rule)
    raise ClientValidationError(f"wrong FILTER rule {rule!r}: use 'b24', 'box' or [module, entity?, type?]")


def _filter(value: Mapping[str, Any] | None) -> dict[str, list[str | list[str]]] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise ClientValidationError("wrong FILTER: a map with INCLUDE and/or EXCLUDE lists")
    out: dict[str, list[str | list[str]]] = {}
    for key, rules in value.items():
        upper = key.upper() if isinstance(key, str) else ""
        if upper not in _FILTER_KEYS or isinstance(rules, str) or not isinstance(rules, Sequence):
            raise ClientValidationError(
                f"wrong FILTER key {key!r}: use INCLUDE or EXCLUDE with a list of rules"
            )
        out[upper] = [_rule(r) for r in rules]
    return out


def _flag(value: Any, what: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ClientValidationError(f"{what} is True or False, not {value!r}")
    return value


class ActivitiesService(Service):
    """Application actions (``bizproc.activity.*``); :class:`RobotsService` reuses every method for robots."""

    _prefix: ClassVar[str] = "bizproc.activity"
    _what: ClassVar[str] = "activity"

    def _definition(
        self,
        *,
        code: str,
        handler: str | None,
        name: LocalizedText | None,
        description: LocalizedText | None,
        properties: Properties | None,
        return_properties: Properties | None,
        document_type: DocumentType | Sequence[str] | None,
        filter: Mapping[str, Any] | None,
        use_subscription: bool | None,
        use_placement: bool | None,
        placement_handler: str | None,
        auth_user_id: int | None,
    ) -> ActivityDefinition:
        if use_placement and placement_handler is None:
            raise ClientValidationError("placement_handler is required when use_placement is True")
        return ActivityDefinition(
            code=check_code(code, f"{self._what} code"),
            handler=None if handler is None else check_handler_url(handler),
            name=None if name is None else check_localized(name, f"{self._what} name"),
            description=None if description is None else check_localized(description, "description"),
            auth_user_id=None if auth_user_id is None else _checks.positive_int(auth_user_id, "auth_user_id"),
            use_subscription=_flag(use_subscription, "use_subscription"),
            properties=properties_from(properties, "properties") if properties is not None else None,
            return_properties=(
                properties_from(return_properties, "return_properties")
                if return_properties is not None
                else None
            ),
            document_type=None if document_type is None else DocumentType.parse(document_type),
            filter=_filter(filter),
            use_placement=_flag(use_placement, "use_placement"),
            placement_handler=(
                None
                if placement_handler is None
                else check_handler_url(placement_handler, "PLACEMENT_HANDLER")
            ),
        )

    def add(
        self,
        *,
        code: str,
        handler: str,
        name: LocalizedText,
        description: LocalizedText | None = None,
        properties: Properties | None = None,
        return_properties: Properties | None = None,
        document_type: DocumentType | Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        use_subscription: bool | None = None,
        use_placement: bool | None = None,
        placement_handler: str | None = None,
        auth_user_id: int | None = None,
    ) -> Pending[bool]:
        """Register an action (a robot on ``client.robots``); ``use_subscription`` waits for ``events.send``.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-activity/bizproc-activity-add.html
        Robots: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-add.html
        """
        if handler is None or name is None:
            raise ClientValidationError(f"handler and name are required to add {self._what} {code!r}")
        definition = self._definition(
            code=code,
            handler=handler,
            name=name,
            description=description,
            properties=properties,
            return_properties=return_properties,
            document_type=document_type,
            filter=filter,
            use_subscription=use_subscription,
            use_placement=use_placement,
            placement_handler=placement_handler,
            auth_user_id=auth_user_id,
        )
        return self._submit(f"{self._prefix}.add", definition.to_wire(), true_result)

    def update(
        self,
        code: str,
        *,
        handler: str | None = None,
        name: LocalizedText | None = None,
        description: LocalizedText | None = None,
        properties: Properties | None = None,
        return_properties: Properties | None = None,
        document_type: DocumentType | Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        use_subscription: bool | None = None,
        use_placement: bool | None = None,
        placement_handler: str | None = None,
        auth_user_id: int | None = None,
    ) -> Pending[bool]:
        """Change fields of an action (or robot) this application registered; give at least one.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-activity/bizproc-activity-update.html
        Robots: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-update.html
        """
        fields = self._definition(
            code=code,
            handler=handler,
            name=name,
            description=description,
            properties=properties,
            return_properties=return_properties,
            document_type=document_type,
            filter=filter,
            use_subscription=use_subscription,
            use_placement=use_placement,
            placement_handler=placement_handler,
            auth_user_id=auth_user_id,
        ).to_wire()
        code = fields.pop("CODE")
        if not fields:
            raise ClientValidationError(f"no fields to update for {self._what} {code!r}")
        return self._submit(f"{self._prefix}.update", {"CODE": code, "FIELDS": fields}, true_result)

    def delete(self, code: str) -> Pending[bool]:
        """Remove an action (or robot) this application registered.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-activity/bizproc-activity-delete.html
        Robots: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-delete.html
        """
        code = check_code(code, f"{self._what} code")
        return self._submit(f"{self._prefix}.delete", {"CODE": code}, true_result)

    def list(self) -> Pending[list[str]]:
        """The codes of the actions (or robots) this application registered.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-activity/bizproc-activity-list.html
        Robots: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-list.html
        """
        return self._submit(f"{self._prefix}.list", {}, string_list)

    def log(self, event_token: str | Ref, message: str) -> Pending[bool]:
        """Write ``message`` to the log of the workflow that sent ``event_token`` (logging must be on).

        Any user holding a current ``EVENT_TOKEN`` (an expired one gives ``ACCESS_DENIED``).
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-activity/bizproc-activity-log.html
        """
        if not isinstance(message, str) or not message.strip():
            raise ClientValidationError("empty log message")
        params = {"EVENT_TOKEN": _checks.event_token(event_token), "LOG_MESSAGE": message}
        return self._submit("bizproc.activity.log", params, true_result)
