"""``client.robots``: application automation rules (robots), the same shape as actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .._call import Pending
from ..models.converter import LocalizedText
from ..models.documents import DocumentType
from .activities import ActivitiesService, Properties

__all__ = ["RobotsService"]


class RobotsService(ActivitiesService):
    """Automation rules (``bizproc.robot.*``): CRM automation, workflows and smart scripts."""

    _prefix: ClassVar[str] = "bizproc.robot"
    _what: ClassVar[str] = "robot"

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
        """Register a robot; with ``return_properties`` and ``use_subscription`` it waits for ``events.send``.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-add.html
        """
        return super().add(
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
        """Change fields of a robot this application registered; give at least one.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-update.html
        """
        return super().update(
            code,
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

    def delete(self, code: str) -> Pending[bool]:
        """Remove a robot this application registered.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-delete.html
        """
        return super().delete(code)

    def list(self) -> Pending[list[str]]:
        """The codes of the robots this application registered.

        Administrator, in an application (OAuth) context only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-robot-list.html
        """
        return super().list()
