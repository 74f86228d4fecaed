"""``client.events``: return a robot's or action's results to the waiting workflow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._call import Pending
from ..protocol.batch import Ref
from . import _checks
from .base import Service, true_result

__all__ = ["EventsService"]


class EventsService(Service):
    """``bizproc.event.send``: the answer of a robot or action registered with ``use_subscription``."""

    def send(
        self,
        event_token: str | Ref,
        return_values: Mapping[str, Any] | None = None,
        *,
        log_message: str | None = None,
    ) -> Pending[bool]:
        """Send ``return_values`` (keyed by the registered ``return_properties``) to the waiting workflow.

        Any user holding a current ``EVENT_TOKEN`` (an invalid or expired one gives ``ACCESS_DENIED``).
        Docs: https://apidocs.bitrix24.com/api-reference/bizproc/bizproc-robot/bizproc-event-send.html
        """
        if log_message is not None and not isinstance(log_message, str):
            raise _checks.invalid(f"log_message is a text, not {type(log_message).__name__}")
        params = {
            "EVENT_TOKEN": _checks.event_token(event_token),
            "RETURN_VALUES": _checks.return_values(return_values),
            "LOG_MESSAGE": log_message,
        }
        return self._submit("bizproc.event.send", params, true_result)
