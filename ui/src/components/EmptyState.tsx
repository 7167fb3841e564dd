import { useState } from "react";

export function Copyable({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copyable">
      <div className="copyable-head">
        <span>{label}</span>
        <button
          onClick={() => {
            void navigator.clipboard?.writeText(text).then(() => setCopied(true));
          }}
        >
          {copied ? "copied" : "copy"}
        </button>
      </div>
      <pre>{text}</pre>
    </div>
  );
}

// What a new user needs to send the first trace to this server into `project`.
export function EmptyState({ project }: { project: string }) {
  const origin = window.location.origin;
  const phoenix = `pip install arize-phoenix-otel openinference-instrumentation-openai

from phoenix.otel import register
tracer_provider = register(
    project_name="${project}",
    endpoint="${origin}/v1/traces",
    auto_instrument=True,
)`;
  const otel = `pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-http

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

provider = TracerProvider(resource=Resource({"openinference.project.name": "${project}"}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter("${origin}/v1/traces")))
trace.set_tracer_provider(provider)
with trace.get_tracer("demo").start_as_current_span("hello") as span:
    span.set_attribute("openinference.span.kind", "CHAIN")
    span.set_attribute("input.value", "hi")`;
  return (
    <div className="empty-state" data-testid="empty-state">
      <h3>No traces yet in “{project}”</h3>
      <p>
        Send OpenTelemetry traces to <code>{origin}/v1/traces</code> (OTLP/HTTP) or gRPC port <code>4317</code>. They
        show up here within a second.
      </p>
      <Copyable label="phoenix-otel" text={phoenix} />
      <Copyable label="plain OpenTelemetry" text={otel} />
    </div>
  );
}
