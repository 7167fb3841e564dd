import { useState, type ReactNode } from "react";
import { api, type Annotation } from "../api";
import { asList, get, nest, toDocuments, toMessages, tryJson } from "../attrs";
import { cost, ms, num, when } from "../format";
import { useLoad } from "../hooks";
import { JsonTree } from "../components/JsonTree";
import { Messages, RichText } from "../components/Messages";

function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <section className="detail-section" data-testid={testId}>
      <h4>{title}</h4>
      {children}
    </section>
  );
}

function asText(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

function AnnotationsPanel({ project, spanId }: { project: string; spanId: string }) {
  const list = useLoad(() => api.spanAnnotations(project, [spanId]), [project, spanId]);
  const [name, setName] = useState("");
  const [label, setLabel] = useState("");
  const [score, setScore] = useState("");
  const [explanation, setExplanation] = useState("");
  const [note, setNote] = useState("");
  const [message, setMessage] = useState<string | null>(null);

  const submit = async (f: () => Promise<unknown>, done: string) => {
    setMessage(null);
    try {
      await f();
      setMessage(done);
      list.reload();
    } catch (e) {
      setMessage(`failed: ${(e as Error).message}`);
    }
  };

  const items: Annotation[] = list.data?.data ?? [];
  return (
    <Section title="Annotations" testId="annotations">
      {list.error && <div className="muted small">annotations unavailable: {list.error}</div>}
      {!list.error && !items.length && !list.loading && <div className="muted small">none yet</div>}
      <ul className="annotation-list">
        {items.map((a) => (
          <li key={a.id} data-testid="annotation">
            <strong>{a.name}</strong> <span className="badge">{a.annotator_kind}</span>
            {a.result?.label && <span> label: {a.result.label}</span>}
            {a.result?.score !== undefined && a.result?.score !== null && <span> score: {a.result.score}</span>}
            {a.result?.explanation && <div className="muted">{a.result.explanation}</div>}
          </li>
        ))}
      </ul>
      <form
        className="annotation-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!name.trim()) return;
          const s = score.trim() === "" ? undefined : Number(score);
          if (s !== undefined && Number.isNaN(s)) {
            setMessage("score must be a number");
            return;
          }
          void submit(
            () => api.annotateSpan({ span_id: spanId, name: name.trim(), label: label.trim(), score: s, explanation: explanation.trim() }),
            "annotation saved",
          ).then(() => {
            setName("");
            setLabel("");
            setScore("");
            setExplanation("");
          });
        }}
      >
        <input aria-label="annotation name" placeholder="name (e.g. correctness)" value={name} onChange={(e) => setName(e.target.value)} />
        <input aria-label="annotation label" placeholder="label" value={label} onChange={(e) => setLabel(e.target.value)} />
        <input aria-label="annotation score" placeholder="score" value={score} onChange={(e) => setScore(e.target.value)} />
        <input aria-label="annotation explanation" placeholder="explanation" value={explanation} onChange={(e) => setExplanation(e.target.value)} />
        <button type="submit">Annotate</button>
      </form>
      <form
        className="annotation-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (note.trim()) void submit(() => api.addSpanNote(spanId, note.trim()), "note saved").then(() => setNote(""));
        }}
      >
        <input aria-label="note" placeholder="add a note" value={note} onChange={(e) => setNote(e.target.value)} />
        <button type="submit">Add note</button>
      </form>
      {message && (
        <div className="small" role="status">
          {message}
        </div>
      )}
    </Section>
  );
}

// Everything about one span: the conversation for LLM spans, input/output, documents, tools,
// parameters, tokens and cost, the attribute tree, events (exceptions with their stack), annotations.
export function SpanDetailView({ project, spanId }: { project: string; spanId: string }) {
  const span = useLoad(() => api.span(project, spanId), [project, spanId]);
  if (span.error) return <div className="error-banner">{span.error}</div>;
  if (!span.data) return <div className="muted">loading span…</div>;
  const s = span.data.data;
  const a = nest(s.attributes) as Record<string, unknown>;
  const inputMessages = toMessages(get(a, "llm.input_messages"));
  const outputMessages = toMessages(get(a, "llm.output_messages"));
  const input = get(a, "input.value");
  const output = get(a, "output.value");
  const docs = toDocuments(get(a, "retrieval.documents"));
  const rerankIn = toDocuments(get(a, "reranker.input_documents"));
  const rerankOut = toDocuments(get(a, "reranker.output_documents"));
  const tools = asList(get(a, "llm.tools")) ?? [];
  const invocation = get(a, "llm.invocation_parameters");
  const model = get(a, "llm.model_name");
  const events = s.events.map((e) => ({
    ...e,
    timestamp: typeof e.timestamp === "number" ? new Date(e.timestamp / 1e6).toISOString() : e.timestamp,
    attributes: e.attributes ?? {},
  }));
  const exceptions = events.filter((e) => e.name === "exception");
  const others = events.filter((e) => e.name !== "exception");

  return (
    <div className="span-detail" data-testid="span-detail">
      <div className="span-head">
        <span className={`kind kind-${s.span_kind.toLowerCase()}`}>{s.span_kind}</span>
        <h3>{s.name}</h3>
        <span className={`status status-${s.status_code.toLowerCase()}`}>{s.status_code}</span>
      </div>
      <div className="facts">
        <span>{ms(s.latency_ms)}</span>
        <span>{when(s.start_time)}</span>
        {typeof model === "string" && <span>model {model}</span>}
        {s.token_count_total > 0 && (
          <span data-testid="tokens">
            tokens {num(s.token_count_total)} (prompt {num(s.token_count_prompt)}, completion {num(s.token_count_completion)})
          </span>
        )}
        {s.cost_total ? (
          <span data-testid="cost" title={s.cost_details ? JSON.stringify(s.cost_details) : undefined}>
            cost {cost(s.cost_total)}
            {s.cost_prompt || s.cost_completion ? ` (prompt ${cost(s.cost_prompt ?? 0)}, completion ${cost(s.cost_completion ?? 0)})` : ""}
          </span>
        ) : null}
        <span className="mono small">{s.span_id}</span>
      </div>
      {s.status_message && <div className="error-banner">{s.status_message}</div>}
      {(inputMessages.length > 0 || outputMessages.length > 0) && (
        <Section title="Conversation" testId="conversation">
          <Messages messages={inputMessages} />
          <Messages messages={outputMessages} title="output" />
        </Section>
      )}
      {input !== undefined && (
        <Section title="Input" testId="input">
          <RichText text={asText(input)} mimeType={get(a, "input.mime_type") as string | undefined} />
        </Section>
      )}
      {output !== undefined && (
        <Section title="Output" testId="output">
          <RichText text={asText(output)} mimeType={get(a, "output.mime_type") as string | undefined} />
        </Section>
      )}
      {[
        ["Retrieved documents", docs],
        ["Reranker input", rerankIn],
        ["Reranker output", rerankOut],
      ].map(([title, list]) =>
        (list as typeof docs).length ? (
          <Section key={title as string} title={title as string} testId="documents">
            {(list as typeof docs).map((d, i) => (
              <div key={i} className="document">
                <div className="document-head">
                  <span className="mono">{d.id ?? `#${i}`}</span>
                  {d.score !== undefined && <span className="badge">score {d.score.toFixed(3)}</span>}
                </div>
                <RichText text={d.content} />
                {d.metadata !== undefined && <JsonTree value={tryJson(d.metadata) ?? d.metadata} />}
              </div>
            ))}
          </Section>
        ) : null,
      )}
      {tools.length > 0 && (
        <Section title="Tools">
          {tools.map((t, i) => {
            const schema = get(nest(t), "tool.json_schema") ?? t;
            return <JsonTree key={i} value={tryJson(schema) ?? schema} />;
          })}
        </Section>
      )}
      {invocation !== undefined && (
        <Section title="Invocation parameters">
          <JsonTree value={tryJson(invocation) ?? invocation} />
        </Section>
      )}
      {exceptions.length > 0 && (
        <Section title="Exceptions" testId="exceptions">
          {exceptions.map((e, i) => {
            const ea = nest(e.attributes);
            return (
              <div key={i} className="exception">
                <div>
                  <strong>{String(get(ea, "exception.type") ?? "exception")}</strong>: {String(get(ea, "exception.message") ?? "")}
                </div>
                <div className="muted small">{when(e.timestamp)}</div>
                {get(ea, "exception.stacktrace") !== undefined && <pre className="stack">{String(get(ea, "exception.stacktrace"))}</pre>}
              </div>
            );
          })}
        </Section>
      )}
      {others.length > 0 && (
        <Section title="Events">
          {others.map((e, i) => (
            <div key={i}>
              <strong>{e.name}</strong> <span className="muted small">{when(e.timestamp)}</span>
              {Object.keys(e.attributes ?? {}).length > 0 && <JsonTree value={nest(e.attributes)} />}
            </div>
          ))}
        </Section>
      )}
      <AnnotationsPanel project={project} spanId={s.span_id} />
      <Section title="Attributes" testId="attributes">
        <JsonTree value={a} />
      </Section>
    </div>
  );
}
