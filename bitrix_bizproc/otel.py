"""OpenTelemetry spans and metrics for a client (the ``otel`` extra: ``pip install 'bitrix_bizproc[otel]'``).

::

    from bitrix_bizproc.otel import instrument

    instrument(client)  # the global tracer and meter providers, or pass your own

One CLIENT span per HTTP request (``bitrix24 <method>``), a child of whatever span is current where the call
is awaited, with the method, the portal's host, the attempt (retries so far) and the HTTP status; metrics
``bitrix24.client.requests`` (count, by method, host and status), ``bitrix24.client.duration`` (seconds),
``bitrix24.client.retries`` (by reason) and ``bitrix24.client.throttled`` (seconds held by the limiter).
Built on the client's hooks: no URL, token, parameter or error text ever reaches a span or a metric.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._observe import AnswerEvent, Event, RequestEvent, RetryEvent, ThrottleEvent
from .protocol.errors import ConfigurationError

if TYPE_CHECKING:
    from ._client import BizprocClient

__all__ = ["OpenTelemetryHook", "instrument"]

_SCOPE = "bitrix_bizproc"


class OpenTelemetryHook:
    """A client hook that turns events into spans and metrics."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        try:
            from opentelemetry import metrics, trace
        except ImportError:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "OpenTelemetry is not installed: pip install 'bitrix_bizproc[otel]'"
            ) from None

        self._trace = trace
        self._tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._requests = meter.create_counter("bitrix24.client.requests", unit="{request}")
        self._duration = meter.create_histogram("bitrix24.client.duration", unit="s")
        self._retries = meter.create_counter("bitrix24.client.retries", unit="{retry}")
        self._throttled = meter.create_counter("bitrix24.client.throttled", unit="s")
        self._spans: dict[int, Any] = {}

    def __call__(self, event: Event) -> None:
        """Handle one client event."""
        where: dict[str, str | int] = {"bitrix24.method": event.method, "server.address": event.host}
        if isinstance(event, RequestEvent):
            span = self._tracer.start_span(
                f"bitrix24 {event.method}",
                kind=self._trace.SpanKind.CLIENT,
                attributes={
                    **where,
                    "bitrix24.attempt": event.attempt,
                    "bitrix24.retries": event.attempt - 1,
                },
            )
            self._spans[event.request_id] = span
        elif isinstance(event, AnswerEvent):
            outcome: dict[str, str | int] = {**where, "http.response.status_code": event.status}
            if event.error:
                outcome["error.type"] = event.error
            self._requests.add(1, outcome)
            self._duration.record(event.seconds, outcome)
            span = self._spans.pop(event.request_id, None)
            if span is not None:
                span.set_attributes(outcome)
                if event.error:
                    span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, event.error))
                span.end()
        elif isinstance(event, RetryEvent):
            self._retries.add(1, {**where, "bitrix24.retry.reason": event.reason})
        elif isinstance(event, ThrottleEvent):
            self._throttled.add(event.waited, where)


def instrument(
    client: BizprocClient, *, tracer_provider: Any = None, meter_provider: Any = None
) -> OpenTelemetryHook:
    """Send ``client``'s requests to OpenTelemetry as spans and metrics; returns the hook (for ``off``)."""
    hook = OpenTelemetryHook(tracer_provider, meter_provider)
    client.on(hook)
    return hook
