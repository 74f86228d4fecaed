"""A robot or activity call as the handler sees it: typed properties, the request, and ``reply``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..protocol.errors import ClientValidationError
from .declarations import Declaration
from .requests import RobotRequest
from .values import return_values_to_wire

__all__ = ["RobotCall"]

Sender = Callable[[RobotRequest, dict[str, Any] | None, str | None], Awaitable[bool]]


class RobotCall:
    """One call of a declared robot: ``properties`` converted by declared type; ``await reply(...)``."""

    def __init__(
        self, request: RobotRequest, declaration: Declaration, properties: dict[str, Any], sender: Sender
    ) -> None:
        self.request = request
        self.declaration = declaration
        self.properties = properties
        self._sender = sender
        self.replied = False

    @property
    def code(self) -> str:
        """The robot's code."""
        return self.request.code

    @property
    def workflow_id(self) -> str:
        """The workflow that reached the robot."""
        return self.request.workflow_id

    @property
    def document_id(self) -> tuple[str, str, str]:
        """``(module, entity, id)`` of the document the workflow runs on."""
        return self.request.document_id

    @property
    def member_id(self) -> str:
        """The calling portal's stable ID."""
        return self.request.auth.member_id

    async def reply(
        self, return_values: Mapping[str, Any] | None = None, *, log_message: str | None = None
    ) -> bool:
        """Send the results to the waiting workflow (``bizproc.event.send``), checked against the declaration.

        Raises :class:`ValidationError` before anything is sent when a value does not fit its declared return
        property, the robot does not wait for an answer (``use_subscription`` N), or it was answered already.
        Concurrent replies to one portal share ``batch`` requests.
        """
        what = f"robot {self.code!r}"
        if self.replied:
            raise ClientValidationError(f"{what} was answered already")
        if not self.request.use_subscription:
            raise ClientValidationError(f"{what} does not wait for an answer (use_subscription is N)")
        if log_message is not None and not isinstance(log_message, str):
            raise ClientValidationError("log_message must be a str")
        values = None
        if return_values is not None:
            values = return_values_to_wire(self.declaration.return_properties, return_values, what=what)
        self.replied = True
        try:
            return await self._sender(self.request, values, log_message)
        except BaseException:
            self.replied = False  # it may be tried again
            raise

    def __repr__(self) -> str:
        return f"RobotCall({self.code!r}, workflow_id={self.workflow_id!r}, replied={self.replied})"
