"""An application instrumented with the OpenTelemetry Python SDK, exporting with the SDK's own OTLP
exporters (gRPC, HTTP/protobuf gzip to the ingest port, HTTP/protobuf to the query port as Phoenix's
6006 does), sends an OpenInference agent trace. Everything the Phoenix UI would show must be there."""

from __future__ import annotations

import json
import uuid

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, StatusCode

import checks
from harness import wait_for_spans


class RecordingExporter(SpanExporter):
    """Delegates to the real exporter and remembers each export's result."""

    def __init__(self, inner: SpanExporter):
        self.inner = inner
        self.results: list[SpanExportResult] = []
        self.exported = 0

    def export(self, spans):
        result = self.inner.export(spans)
        self.results.append(result)
        self.exported += len(spans)
        return result

    def shutdown(self):
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def hex_ids(span) -> tuple[str, str]:
    ctx = span.get_span_context()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def run_agent(tracer, session_id: str) -> dict:
    """The same agent as tests/fixtures/e2e/agent_trace.json, written the way an instrumented app would.
    Returns {fixture span id: real span id, "trace": real trace id}."""
    ids: dict[str, str] = {}
    root_attrs = {
        "openinference.span.kind": "CHAIN",
        "input.value": "What is the weather in Paris?",
        "input.mime_type": "text/plain",
        "session.id": session_id,
        "user.id": "user-42",
        "metadata": json.dumps({"tenant": "acme", "tier": 2}),
        "tag.tags": ["weather", "fixture"],
    }
    with tracer.start_as_current_span("agent.run", attributes=root_attrs) as root:
        ids["trace"], ids["b7ad6b7169203331"] = hex_ids(root)
        with tracer.start_as_current_span("vector.search", attributes={
            "openinference.span.kind": "RETRIEVER",
            "input.value": "weather Paris",
            "retrieval.documents.0.document.id": "doc-1",
            "retrieval.documents.0.document.content": "Paris is the capital of France.",
            "retrieval.documents.0.document.score": 0.92,
            "retrieval.documents.1.document.id": "doc-2",
            "retrieval.documents.1.document.content": "Weather APIs need a city name.",
            "retrieval.documents.1.document.score": 0.5,
        }) as span:
            ids["00f067aa0ba902b7"] = hex_ids(span)[1]
            span.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span("ChatCompletion", kind=SpanKind.CLIENT, attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.provider": "openai",
            "llm.invocation_parameters": json.dumps({"temperature": 0.2}),
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "You are a weather assistant.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.content": "What is the weather in Paris?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": json.dumps({"city": "Paris"}),
            "llm.token_count.prompt": 412,
            "llm.token_count.completion": 38,
            "llm.token_count.total": 450,
        }) as span:
            ids["53995c3f42cd8ad8"] = hex_ids(span)[1]
            span.set_status(Status(StatusCode.OK))
        with tracer.start_as_current_span("get_weather", record_exception=False, set_status_on_exception=False,
                                          attributes={
                                              "openinference.span.kind": "TOOL",
                                              "tool.name": "get_weather",
                                              "tool.parameters": json.dumps({"city": "Paris"}),
                                              "input.value": json.dumps({"city": "Paris"}),
                                              "input.mime_type": "application/json",
                                          }) as span:
            ids["5fb397be34d26b51"] = hex_ids(span)[1]
            try:
                raise ConnectionError("weather service unavailable")
            except ConnectionError as exc:
                span.record_exception(exc, attributes={"http.url": "dropped for exception events"})
                span.set_status(Status(StatusCode.ERROR, "weather service unavailable"))
        with tracer.start_as_current_span("ChatCompletion", kind=SpanKind.CLIENT, attributes={
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o-mini",
            "llm.input_messages.0.message.role": "tool",
            "llm.input_messages.0.message.content": "error: weather service unavailable",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": "I could not reach the weather service.",
            "llm.token_count.prompt": 120,
            "llm.token_count.completion": 25,
        }) as span:
            ids["d1c2e3f4a5b6c7d8"] = hex_ids(span)[1]
        root.set_attribute("output.value", "I could not reach the weather service.")
        root.set_status(Status(StatusCode.OK))
    return ids


def make_exporter(osprey, transport: str) -> SpanExporter:
    if transport == "grpc":
        return GrpcExporter(endpoint=f"http://{osprey.grpc_target}", insecure=True, timeout=30)
    if transport == "http-ingest":
        return HttpExporter(endpoint=f"{osprey.ingest_url}/v1/traces", compression=Compression.Gzip, timeout=30)
    if transport == "http-query":
        return HttpExporter(endpoint=f"{osprey.query_url}/v1/traces", timeout=30)
    raise ValueError(transport)


@pytest.mark.parametrize("transport", ["grpc", "http-ingest", "http-query"])
def test_sdk_agent_trace_is_visible_through_rest(osprey, project, transport):
    session_id = f"session-{uuid.uuid4().hex}"
    exporter = RecordingExporter(make_exporter(osprey, transport))
    provider = TracerProvider(resource=Resource.create({"openinference.project.name": project,
                                                        "service.name": "weather-agent"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000, max_export_batch_size=512))
    tracer = provider.get_tracer("integration.sdk")

    ids = run_agent(tracer, session_id)
    assert provider.force_flush(30_000)
    provider.shutdown()
    assert exporter.exported == 5
    assert exporter.results and all(r == SpanExportResult.SUCCESS for r in exporter.results), exporter.results

    # Embedded, the export reply promises a commit and the first read sees everything; distributed, it
    # promises Kafka's ack and the writer commits a moment later.
    expected = checks.load_expected()
    wait_for_spans(osprey, project, len(expected["spans"]))
    checks.check_agent_spans(osprey, project, expected, ids, session_id=session_id, check_times=False,
                             sdk_events=True)
    checks.check_agent_trace(osprey, project, expected, ids, check_times=False)
    checks.check_session(osprey, project, expected, ids, session_id)
