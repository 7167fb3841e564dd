import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { api, type OutlineSpan, type TraceRow } from "../api";
import { buildTree } from "../tree";
import { ms, num, when, cost } from "../format";
import { useParam } from "../hooks";
import { SpanTree } from "../components/SpanTree";
import { SpanDetailView } from "./SpanDetail";

const FIRST_PAGE = 300;
const NEXT_PAGE = 5000;

// Trace detail: the tree with its waterfall on the left, the selected span on the right. Spans come
// in pages (the first one small), so a 10,000-span trace paints before it is fully loaded.
export function TraceView() {
  const { project, traceId } = useParams() as { project: string; traceId: string };
  const [selected, setSelected] = useParam("span", "", true);
  const [search, setSearch] = useParam("q", "", true);
  const [spans, setSpans] = useState<OutlineSpan[]>([]);
  const [trace, setTrace] = useState<TraceRow | null>(null);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setSpans([]);
    setDone(false);
    setError(null);
    (async () => {
      let cursor: string | null = null;
      let limit = FIRST_PAGE;
      for (;;) {
        const page = await api.traceOutline(project, traceId, cursor, limit);
        if (!live) return;
        setTrace(page.trace);
        setSpans((prev) => (cursor === null ? page.data : prev.concat(page.data)));
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
        limit = NEXT_PAGE;
      }
      setDone(true);
    })().catch((e: Error) => live && setError(e.message));
    return () => {
      live = false;
    };
  }, [project, traceId]);

  const tree = useMemo(() => buildTree(spans), [spans]);
  const root = tree.roots[0]?.span.span_id ?? null;
  const current = selected || root;

  return (
    <div className="page trace-page">
      <div className="toolbar">
        <Link to={`/projects/${encodeURIComponent(project)}`}>← traces</Link>
        <h2 className="mono" title="trace id">
          {traceId}
        </h2>
        {trace && (
          <span className="muted" data-testid="trace-summary">
            {when(trace.start_time)} · {ms(trace.latency_ms)} · {num(trace.span_count)} spans
            {trace.error_count ? ` · ${trace.error_count} errors` : ""}
            {trace.token_count_total ? ` · ${num(trace.token_count_total)} tokens` : ""}
            {trace.cost_total ? ` · ${cost(trace.cost_total)}` : ""}
            {!done && ` · loaded ${num(spans.length)}…`}
          </span>
        )}
        <span className="spacer" />
        <input
          type="search"
          aria-label="search spans"
          placeholder="search spans (name, id, kind)"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      {error && <div className="error-banner" role="alert">{error}</div>}
      <div className="split">
        <div className="split-left">
          <SpanTree tree={tree} selected={current} onSelect={setSelected} search={search} />
        </div>
        <div className="split-right">{current && <SpanDetailView project={project} spanId={current} />}</div>
      </div>
    </div>
  );
}
