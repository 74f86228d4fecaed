"""``client.templates``: add, update, delete and list workflow templates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._call import Pending, ResultParser
from ..models.documents import DocumentType
from ..models.enums import AutoExecute
from ..models.filters import TEMPLATE_SPEC, FilterLike
from ..models.page import Page
from ..models.template import Template
from ..protocol.errors import ClientValidationError
from . import _checks
from ._checks import TemplateData
from .base import Listing, Service, WalkingService

if TYPE_CHECKING:
    from .._paging import Paginator

__all__ = ["TemplateCommands", "TemplatesService"]

_TEMPLATES = Listing(TEMPLATE_SPEC, Template)


@ResultParser
def _template_id(result: Any) -> int:
    return int(result)


@ResultParser
def _nothing(result: Any) -> None:
    return None


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ClientValidationError("empty template name")
    return value


def _auto_execute(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= int(value) <= 3:
        raise ClientValidationError(f"auto_execute must be AutoExecute flags (0-3), got {value!r}")
    return int(AutoExecute(value))


def _description(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ClientValidationError(f"description is a text, not {type(value).__name__}")
    return value


class TemplateCommands(Service):
    """Workflow templates (``bizproc.workflow.template.*``). Administrator only.

    The single calls: what a batch carries (``batch.templates``).
    """

    def add(
        self,
        *,
        document_type: DocumentType | list[str] | tuple[str, str, str],
        name: str,
        template_data: TemplateData,
        description: str | None = None,
        auto_execute: AutoExecute | int = AutoExecute.NONE,
        filename: str | None = None,
    ) -> Pending[int]:
        """Add a template from an exported ``.bpt`` file (a path, bytes or binary file); returns its ID.

        Administrator, in an application (OAuth) context only; the template belongs to that application.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/template/bizproc-workflow-template-add.html
        """
        params = {
            "DOCUMENT_TYPE": DocumentType.parse(document_type),
            "NAME": _name(name),
            "DESCRIPTION": _description(description),
            "TEMPLATE_DATA": _checks.file_payload(template_data, filename, "template.bpt"),
            "AUTO_EXECUTE": _auto_execute(auto_execute),
        }
        return self._submit("bizproc.workflow.template.add", params, _template_id)

    def update(
        self,
        template_id: int | Template,
        *,
        name: str | None = None,
        description: str | None = None,
        template_data: TemplateData | None = None,
        auto_execute: AutoExecute | int | None = None,
        filename: str | None = None,
    ) -> Pending[int]:
        """Change a template this application added; give at least one field. Returns the template's ID.

        Administrator, in the context of the application that added the template.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/template/bizproc-workflow-template-update.html
        """
        fields: dict[str, Any] = {}
        if name is not None:
            fields["NAME"] = _name(name)
        if description is not None:
            fields["DESCRIPTION"] = _description(description)
        if template_data is not None:
            fields["TEMPLATE_DATA"] = _checks.file_payload(template_data, filename, "template.bpt")
        if auto_execute is not None:
            fields["AUTO_EXECUTE"] = _auto_execute(auto_execute)
        if not fields:
            raise ClientValidationError(
                "no fields to update: give name, description, template_data or auto_execute"
            )
        params = {"ID": _checks.positive_id(template_id, "template_id"), "FIELDS": fields}
        return self._submit("bizproc.workflow.template.update", params, _template_id)

    def delete(self, template_id: int | Template) -> Pending[None]:
        """Delete a template this application added.

        Administrator, in the context of the application that added the template.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/template/bizproc-workflow-template-delete.html
        """
        params = {"ID": _checks.positive_id(template_id, "template_id")}
        return self._submit("bizproc.workflow.template.delete", params, _nothing)

    def list_page(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
        start: int = 0,
    ) -> Pending[Page[Template]]:
        """One page of templates (default select ``ID``; automation-rule templates are not listed).

        Administrator only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/template/bizproc-workflow-template-list.html
        """
        return self._page(_TEMPLATES, _TEMPLATES.params(filter, select, order), start)


class TemplatesService(TemplateCommands, WalkingService):
    """The single calls, and the walks over every page (not available in a batch)."""

    def list(
        self,
        filter: FilterLike | None = None,
        *,
        select: Sequence[str] | None = None,
        order: Mapping[str, str] | None = None,
        strategy: str = "auto",
        limit: int | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> Paginator[Template]:
        """Every template matching ``filter``, page after page (``async for tpl in ...``).

        Administrator only.
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/template/bizproc-workflow-template-list.html
        """
        params = _TEMPLATES.params(filter, select, order)
        return self._paginate(_TEMPLATES, params, strategy=strategy, limit=limit, progress=progress)
