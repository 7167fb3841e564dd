import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { api, type Annotation, type SpanRow, type TraceRow } from "../api";
import { DEFAULT_RANGE, cost, ms, num, when, windowFor } from "../format";
import { useParam } from "../hooks";
import { FilterBox } from "../components/FilterBox";
import { VirtualList } from "../components/VirtualList";
import { EmptyState } from "../components/EmptyState";
import { RangePicker } from "../components/RangePicker";

// One line of the table, whatever the mode (traces, all spans, root spans).
interface Row {
  key: string;
  traceId: string;
  spanId: string | null;
  name: string;
  kind: string;
  status: string;
  latencyMs: number;
  tokens: number;
  cost: number | null;
  start: string;
  input: string;
  output: string;
  spans: number | null;
}

const PAGE = 100;
const POLL_MS = 3000;
const ROW_HEIGHT = 34;

function fromTrace(t: TraceRow): Row {
  return {
    key: t.trace_id,
    traceId: t.trace_id,
    spanId: t.root_span_id,
    name: t.root_span_name ?? "(root span not received yet)",
    kind: "",
    status: t.error_count > 0 ? "ERROR" : t.status_code,
    latencyMs: t.latency_ms,
    tokens: t.token_count_total,
    cost: t.cost_total ?? null,
    start: t.start_time,
    input: t.input_preview,
    output: t.output_preview,
    spans: t.span_count,
  };
}

function fromSpan(s: SpanRow): Row {
  return {
    key: s.span_id,
    traceId: s.trace_id,
    spanId: s.span_id,
    name: s.name,
    kind: s.span_kind,
    status: s.status_code,
    latencyMs: s.latency_ms,
    tokens: s.token_count_total,
    cost: s.cost_total ?? null,
    start: s.start_time,
    input: s.input_preview,
    output: s.output_preview,
    spans: null,
  };
}

// Columns the traces listing sorts on the server (keyset pages in that order); the span modes list
// newest first only.
export const SORT_KEYS = ["start_time", "latency_ms", "token_count_total", "cost_total"] as const;
export type SortKey = (typeof SORT_KEYS)[number];

// The sort a URL names; "tokens" was the name of the client-side token sort in earlier links.
export function sortKeyOf(param: string): SortKey {
  if (param === "tokens") return "token_count_total";
  return (SORT_KEYS as readonly string[]).includes(param) ? (param as SortKey) : "start_time";
}

export function TracesView() {
  const project = useParams().project!;
  const navigate = useNavigate();
  const [range, setRange] = useParam("range", DEFAULT_RANGE);
  const [filter, setFilter] = useParam("filter", "");
  const [mode, setMode] = useParam("mode", "traces");
  const [sort, setSort] = useParam("sort", "start_time");
  const [order, setOrder] = useParam("order", "desc");
  const [rows, setRows] = useState<Row[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [filterError, setFilterError] = useState<string | null>(null);
  const [annotations, setAnnotations] = useState<Record<string, Annotation[]>>({});
  const [active, setActive] = useState(-1);
  const generation = useRef(0);
  const loadingMore = useRef(false);

  const serverSort = sortKeyOf(sort);

  const fetchPage = useCallback(
    async (pageCursor: string | null, since?: string): Promise<{ rows: Row[]; next: string | null }> => {
      const w = windowFor(range);
      // A live poll asks only for what started at or after the newest row it has.
      const sinceMs = since ? Date.parse(since) : NaN;
      if (!Number.isNaN(sinceMs) && (!w.start || sinceMs > Date.parse(w.start))) w.start = new Date(sinceMs).toISOString();
      if (mode === "traces") {
        // Filtered or not, the server pages traces in the chosen order (a trace matches when any
        // of its spans matches the filter).
        const page = await api.traces(project, {
          ...w,
          sort: serverSort,
          order,
          filter: filter || undefined,
          cursor: pageCursor,
          limit: PAGE,
        });
        return { rows: page.data.map(fromTrace), next: page.next_cursor };
      }
      const page = await api.spanRows(project, {
        ...w,
        filter: filter || undefined,
        cursor: pageCursor,
        roots: mode === "roots",
        limit: PAGE,
      });
      return { rows: page.data.map(fromSpan), next: page.next_cursor };
    },
    [project, range, filter, mode, serverSort, order],
  );

  // First page whenever the query changes.
  useEffect(() => {
    const gen = ++generation.current;
    setLoading(true);
    setError(null);
    setFilterError(null);
    setRows([]);
    setCursor(null);
    setActive(-1);
    fetchPage(null).then(
      (r) => {
        if (gen !== generation.current) return;
        setRows(r.rows);
        setCursor(r.next);
        setLoading(false);
      },
      (e: Error & { status?: number }) => {
        if (gen !== generation.current) return;
        setLoading(false);
        if (filter && (e.status === 422 || e.status === 400)) setFilterError(e.message);
        else setError(e.message);
      },
    );
  }, [fetchPage, filter]);

  const loadMore = useCallback(() => {
    if (!cursor || loadingMore.current) return;
    loadingMore.current = true;
    const gen = generation.current;
    fetchPage(cursor)
      .then((r) => {
        if (gen !== generation.current) return;
        setRows((prev) => {
          const seen = new Set(prev.map((x) => x.key));
          return [...prev, ...r.rows.filter((x) => !seen.has(x.key))];
        });
        setCursor(r.next);
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => (loadingMore.current = false));
  }, [cursor, fetchPage]);

  // Live: newest-first listings poll their first page and put unseen rows on top.
  const live = mode !== "traces" || (serverSort === "start_time" && order === "desc");
  const newest = useRef<string | undefined>(undefined);
  newest.current = rows[0]?.start;
  useEffect(() => {
    if (!live) return;
    const timer = setInterval(() => {
      const gen = generation.current;
      fetchPage(null, newest.current)
        .then((r) => {
          if (gen !== generation.current) return;
          setRows((prev) => {
            const seen = new Set(prev.map((x) => x.key));
            const fresh = r.rows.filter((x) => !seen.has(x.key));
            if (!fresh.length) return prev;
            return [...fresh, ...prev];
          });
        })
        .catch(() => undefined);
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [live, fetchPage]);

  // Annotations of the rows' spans (root spans in trace mode), fetched for rows not seen yet.
  useEffect(() => {
    const ids = rows.map((r) => r.spanId).filter((id): id is string => !!id && !(id in annotations));
    if (!ids.length) return;
    const batch = ids.slice(0, 100);
    api.spanAnnotations(project, batch).then(
      (page) => {
        const next: Record<string, Annotation[]> = {};
        for (const id of batch) next[id] = [];
        for (const a of page.data) (next[a.span_id] ??= []).push(a);
        setAnnotations((prev) => ({ ...prev, ...next }));
      },
      () => {
        const next: Record<string, Annotation[]> = {};
        for (const id of batch) next[id] = [];
        setAnnotations((prev) => ({ ...prev, ...next }));
      },
    );
  }, [rows, annotations, project]);

  const shown = rows;

  const openRow = (r: Row) => {
    const qs = r.spanId && mode !== "traces" ? `?span=${r.spanId}` : "";
    navigate(`/projects/${encodeURIComponent(project)}/traces/${r.traceId}${qs}`);
  };

  const sortable = mode === "traces";
  const sortBy = (key: SortKey) => {
    if (serverSort === key) setOrder(order === "desc" ? "asc" : "desc");
    else setSort(key);
  };
  const arrow = (key: SortKey) => (sortable && serverSort === key ? (order === "desc" ? " ↓" : " ↑") : "");
  const sortHeader = (key: SortKey, label: string) => (
    <button
      onClick={() => sortBy(key)}
      disabled={!sortable}
      aria-sort={sortable && serverSort === key ? (order === "desc" ? "descending" : "ascending") : undefined}
      title={sortable ? `sort by ${label}` : "spans are listed newest first"}
    >
      {label}
      {arrow(key)}
    </button>
  );

  const onKey = (e: KeyboardEvent) => {
    if (e.key === "ArrowDown" || e.key === "j") setActive((i) => Math.min(shown.length - 1, i + 1));
    else if (e.key === "ArrowUp" || e.key === "k") setActive((i) => Math.max(0, i - 1));
    else if (e.key === "Enter" && shown[active]) openRow(shown[active]);
    else return;
    e.preventDefault();
  };

  return (
    <div className="page traces-page">
      <div className="toolbar">
        <h2>{project}</h2>
        <div className="segmented" role="group" aria-label="rows">
          {[
            ["traces", "Traces"],
            ["spans", "All spans"],
            ["roots", "Root spans"],
          ].map(([k, label]) => (
            <button key={k} aria-pressed={mode === k} onClick={() => setMode(k)}>
              {label}
            </button>
          ))}
        </div>
        <span className="spacer" />
        <Link to={`/projects/${encodeURIComponent(project)}/sessions`}>Sessions</Link>
        <RangePicker value={range} onChange={setRange} />
      </div>
      <FilterBox value={filter} serverError={filterError} onApply={setFilter} />
      {error && <div className="error-banner" role="alert">{error}</div>}
      <div className="vtable" data-testid="traces-table" tabIndex={0} onKeyDown={onKey} aria-label="traces">
        <div className="vtable-head trace-grid">
          <span>name</span>
          <span>input</span>
          <span>output</span>
          <span>status</span>
          {sortHeader("latency_ms", "latency")}
          {sortHeader("token_count_total", "tokens")}
          {sortHeader("cost_total", "cost")}
          <span>annotations</span>
          {sortHeader("start_time", "start time")}
        </div>
        {!loading && !rows.length && !error && !filterError && !filter && mode === "traces" ? (
          <EmptyState project={project} />
        ) : (
          <VirtualList
            items={shown}
            rowHeight={ROW_HEIGHT}
            onNearEnd={loadMore}
            scrollToIndex={active}
            resetKey={fetchPage}
            testId="trace-rows"
            render={(r, i) => (
              <div
                className={`trace-grid trow ${i === active ? "active" : ""}`}
                role="row"
                data-trace-id={r.traceId}
                onClick={() => openRow(r)}
              >
                <span className="cell-name">
                  {r.kind && <span className={`kind kind-${r.kind.toLowerCase()}`}>{r.kind}</span>} {r.name}
                  {r.spans !== null && <span className="muted small"> · {r.spans} spans</span>}
                </span>
                <span className="cell-preview" title={r.input}>
                  {r.input}
                </span>
                <span className="cell-preview" title={r.output}>
                  {r.output}
                </span>
                <span className={`status status-${r.status.toLowerCase()}`}>{r.status}</span>
                <span className="num">{ms(r.latencyMs)}</span>
                <span className="num">{r.tokens ? num(r.tokens) : ""}</span>
                <span className="num">{cost(r.cost)}</span>
                <span className="cell-annotations">
                  {(r.spanId && annotations[r.spanId] ? annotations[r.spanId] : []).slice(0, 3).map((a) => (
                    <span key={a.id} className="chip" title={a.result?.explanation ?? ""}>
                      {a.name}
                      {a.result?.label ? `: ${a.result.label}` : a.result?.score !== undefined && a.result?.score !== null ? `: ${a.result.score}` : ""}
                    </span>
                  ))}
                </span>
                <span>{when(r.start)}</span>
              </div>
            )}
          />
        )}
      </div>
      <div className="muted small status-line" data-testid="row-count">
        {loading ? "loading…" : `${rows.length} ${mode === "traces" ? "traces" : "spans"}${cursor ? " (scroll for more)" : ""}`}
        {live && " · live"}
      </div>
    </div>
  );
}
