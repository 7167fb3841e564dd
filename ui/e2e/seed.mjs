// Seeds an Osprey through real OTLP/HTTP (JSON encoding, POST /v1/traces on the ingest port):
// a project of agent traces (LLM conversation with a tool call, a tool span, a retriever with
// scored documents, one failing trace with an exception, sessions) and a project holding one trace of
// `bigSpans` spans. Returns the ids the tests look for.

import { randomBytes } from "node:crypto";

const hex = (n) => randomBytes(n).toString("hex");

function attr(key, value) {
  if (typeof value === "number")
    return { key, value: Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value } };
  if (typeof value === "boolean") return { key, value: { boolValue: value } };
  return { key, value: { stringValue: String(value) } };
}

function span({ traceId, spanId, parentId, name, kind, startNs, endNs, attrs = {}, error, events = [] }) {
  return {
    traceId,
    spanId,
    parentSpanId: parentId ?? "",
    name,
    kind: 1,
    startTimeUnixNano: String(startNs),
    endTimeUnixNano: String(endNs),
    attributes: [attr("openinference.span.kind", kind), ...Object.entries(attrs).map(([k, v]) => attr(k, v))],
    status: error ? { code: 2, message: error } : { code: 1 },
    events,
  };
}

async function post(ingestUrl, project, spans) {
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [attr("openinference.project.name", project), attr("service.name", "osprey-e2e")] },
        scopeSpans: [{ scope: { name: "osprey-e2e" }, spans }],
      },
    ],
  };
  const res = await fetch(`${ingestUrl}/v1/traces`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP export failed: ${res.status} ${await res.text()}`);
  const reply = await res.json().catch(() => ({}));
  if (reply.partialSuccess?.rejectedSpans && Number(reply.partialSuccess.rejectedSpans) > 0)
    throw new Error(`OTLP export rejected spans: ${JSON.stringify(reply.partialSuccess)}`);
}

export function agentTrace(i, now) {
  const traceId = hex(16);
  const root = hex(8);
  const llm = hex(8);
  const tool = hex(8);
  const retriever = hex(8);
  const t0 = now - (60 - i) * 1e9 * 10;
  const ms = 1e6;
  const failing = i === 7;
  const question = `What is the weather in city ${i}?`;
  const spans = [
    span({
      traceId, spanId: root, name: failing ? "checkout-agent" : "weather-agent", kind: "AGENT",
      startNs: t0, endNs: t0 + (300 + i * 10) * ms,
      attrs: {
        "input.value": question,
        "output.value": failing ? "" : `It is sunny in city ${i}.`,
        "session.id": `session-${i % 3}`,
        "user.id": "e2e-user",
      },
      error: failing ? "payment service unavailable" : undefined,
      events: failing
        ? [{
            name: "exception", timeUnixNano: String(t0 + 250 * ms),
            attributes: [attr("exception.type", "PaymentError"), attr("exception.message", "payment service unavailable"),
              attr("exception.stacktrace", "Traceback (most recent call last):\n  File \"agent.py\", line 42, in pay\nPaymentError: payment service unavailable")],
          }]
        : [],
    }),
    span({
      traceId, spanId: retriever, parentId: root, name: "retrieve-docs", kind: "RETRIEVER",
      startNs: t0 + 5 * ms, endNs: t0 + 40 * ms,
      attrs: {
        "input.value": question,
        "retrieval.documents.0.document.id": "doc-1",
        "retrieval.documents.0.document.content": "City weather service manual",
        "retrieval.documents.0.document.score": 0.92,
        "retrieval.documents.1.document.id": "doc-2",
        "retrieval.documents.1.document.content": "Umbrella policy",
        "retrieval.documents.1.document.score": 0.41,
      },
    }),
    span({
      traceId, spanId: llm, parentId: root, name: "chat-completion", kind: "LLM",
      startNs: t0 + 50 * ms, endNs: t0 + 250 * ms,
      attrs: {
        "llm.model_name": "gpt-4o-mini",
        "llm.invocation_parameters": JSON.stringify({ temperature: 0.2, max_tokens: 256 }),
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a **weather** assistant.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": question,
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": JSON.stringify({ city: `city ${i}` }),
        "llm.tools.0.tool.json_schema": JSON.stringify({ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }),
        "llm.token_count.prompt": 40 + i,
        "llm.token_count.completion": 12,
        "llm.token_count.total": 52 + i,
        "input.value": question,
        "output.value": JSON.stringify({ tool: "get_weather", city: `city ${i}` }),
        "output.mime_type": "application/json",
      },
    }),
    span({
      traceId, spanId: tool, parentId: root, name: "get_weather", kind: "TOOL",
      startNs: t0 + 255 * ms, endNs: t0 + 280 * ms,
      attrs: { "tool.name": "get_weather", "input.value": JSON.stringify({ city: `city ${i}` }), "output.value": "sunny" },
    }),
  ];
  return { traceId, llmSpanId: llm, rootSpanId: root, failing, spans };
}

// A tree of `count` spans: a root, `fanout` children, each with grandchildren until the count is reached.
export function bigTrace(count, now) {
  const traceId = hex(16);
  const t0 = now - 3600e9;
  const root = hex(8);
  const spans = [span({ traceId, spanId: root, name: "batch-job", kind: "CHAIN", startNs: t0, endNs: t0 + count * 1e6 })];
  const fanout = 100;
  const parents = [];
  for (let i = 0; i < fanout && spans.length < count; i++) {
    const id = hex(8);
    parents.push(id);
    spans.push(span({ traceId, spanId: id, parentId: root, name: `step-${i}`, kind: "CHAIN",
      startNs: t0 + i * (count / fanout) * 1e6, endNs: t0 + (i + 1) * (count / fanout) * 1e6 }));
  }
  let k = 0;
  while (spans.length < count) {
    const p = k % parents.length;
    const start = t0 + (p * (count / fanout) + Math.floor(k / parents.length)) * 1e6;
    spans.push(span({ traceId, spanId: hex(8), parentId: parents[p], name: `item-${k}`, kind: k % 5 === 0 ? "LLM" : "TOOL",
      startNs: start, endNs: start + 0.8e6, attrs: { "input.value": `item ${k}` } }));
    k++;
  }
  // In tree order the last row is the last child of the last step.
  let lastRow = k - 1;
  while (lastRow % parents.length !== parents.length - 1) lastRow--;
  return { traceId, spans, lastRowName: `item-${lastRow}`, someItemName: `item-${k - 1}` };
}

// `count` small traces a minute apart from `startMs` (a whole minute): a CHAIN root and an LLM child
// with `llm.token_count.total` = i; the child's model is gpt-4o except on every fifth trace (claude-3),
// so a model filter matches only through a child span.
export function pagingTraces(count, startMs) {
  const traces = [];
  for (let i = 0; i < count; i++) {
    const traceId = hex(16);
    const root = hex(8);
    const t0 = (startMs + i * 60_000) * 1e6;
    traces.push({
      traceId,
      index: i,
      spans: [
        span({ traceId, spanId: root, name: `job-${i}`, kind: "CHAIN", startNs: t0, endNs: t0 + 5e6 }),
        span({ traceId, spanId: hex(8), parentId: root, name: "llm", kind: "LLM", startNs: t0 + 1e6, endNs: t0 + 4e6,
          attrs: { "llm.model_name": i % 5 === 0 ? "claude-3" : "gpt-4o", "llm.token_count.total": i } }),
      ],
    });
  }
  return traces;
}

export async function seed(ingestUrl, { project = "e2e-shop", bigProject = "e2e-big", pagingProject = "e2e-paging", traces = 30, bigSpans = 10000 } = {}) {
  const now = Date.now() * 1e6;
  const agent = [];
  for (let i = 0; i < traces; i++) agent.push(agentTrace(i, now));
  await post(ingestUrl, project, agent.flatMap((t) => t.spans));
  const big = bigTrace(bigSpans, now);
  for (let i = 0; i < big.spans.length; i += 2000) await post(ingestUrl, bigProject, big.spans.slice(i, i + 2000));
  const pagingStartMs = Math.floor(Date.now() / 60_000) * 60_000 - 3 * 3600_000;
  const paging = pagingTraces(150, pagingStartMs);
  await post(ingestUrl, pagingProject, paging.flatMap((t) => t.spans));
  return { project, bigProject, agent, big, pagingProject, paging, pagingStartMs };
}
