"""OpenTelemetry spans and metrics from the client's hooks: method, host, status, retries; never a secret."""

from __future__ import annotations

import pytest

from bitrix_bizproc import BizprocClient
from bitrix_bizproc.emulator import FaultKind

from .conftest import EmuFactory, Gate

sdk_trace = pytest.importorskip("opentelemetry.sdk.trace", reason="needs opentelemetry-sdk (the test extra)")
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from bitrix_bizproc.otel import instrument  # noqa: E402


async def test_a_retried_call_is_two_spans_and_counted(emu: EmuFactory) -> None:
    portal = await emu()
    portal.faults.inject(FaultKind.HTTP_502, times=1, method="user.get")
    spans = InMemorySpanExporter()
    tracer_provider = sdk_trace.TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    code = portal.webhook_url.rstrip("/").rsplit("/", 1)[1]

    async with BizprocClient.from_webhook(portal.webhook_url, limiter="off", sleep=Gate()) as client:
        instrument(client, tracer_provider=tracer_provider, meter_provider=meter_provider)
        parent = tracer_provider.get_tracer("app")
        with parent.start_as_current_span("my job"):
            await client.call("user.get", {"ID": 1})

    finished = spans.get_finished_spans()
    requests = [s for s in finished if s.name == "bitrix24 user.get"]
    job = next(s for s in finished if s.name == "my job")
    assert [s.attributes["http.response.status_code"] for s in requests] == [502, 200]  # type: ignore[index]
    assert [s.attributes["bitrix24.retries"] for s in requests] == [0, 1]  # type: ignore[index]
    assert requests[0].attributes["error.type"] == "ServerError"  # type: ignore[index]
    assert all(s.parent is not None and s.parent.span_id == job.context.span_id for s in requests)
    assert requests[0].attributes["server.address"] == portal.webhook_url.split("/")[2]  # type: ignore[index]

    data = reader.get_metrics_data()
    points = {
        m.name: list(m.data.data_points)
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert sorted(p.attributes["http.response.status_code"] for p in points["bitrix24.client.requests"]) == [
        200,
        502,
    ]
    assert [p.value for p in points["bitrix24.client.retries"]] == [1]
    everything = repr([s.to_json() for s in finished]) + data.to_json()
    assert code not in everything
