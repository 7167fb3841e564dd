// Client for the gateway: Phoenix-compatible routes under /v1 and Osprey's own under /osprey/v1
// (documented in services/query/README.md). Every function throws ApiError on a non-2xx answer.

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const init: RequestInit = { method, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const res = await fetch(path, init);
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      const parsed = JSON.parse(text);
      if (typeof parsed?.detail === "string") message = parsed.detail;
      else if (Array.isArray(parsed?.detail)) message = parsed.detail.map((d: { msg?: string }) => d.msg).join("; ");
    } catch {
      /* plain-text body */
    }
    throw new ApiError(res.status, message || res.statusText);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export function qs(params: Record<string, string | number | undefined | null | string[]>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => sp.append(k, x));
    else sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

const enc = encodeURIComponent;

export interface ProjectSummary {
  id: string;
  name: string;
  description: string | null;
  trace_count: number;
  error_trace_count: number;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  token_count_prompt: number;
  token_count_completion: number;
  token_count_total: number;
  cost_total?: number | null;
  last_activity: string | null;
}

export interface TraceRow {
  id: string;
  trace_id: string;
  start_time: string;
  end_time: string;
  latency_ms: number;
  span_count: number;
  error_count: number;
  token_count_total: number;
  token_count_prompt: number;
  token_count_completion: number;
  cost_total?: number | null;
  root_span_id: string | null;
  root_span_name: string | null;
  status_code: string;
  input_preview: string;
  output_preview: string;
  session_id: string | null;
}

// A span without attributes, as the span modes of the traces table list it.
export interface SpanRow {
  id: string;
  span_id: string;
  trace_id: string;
  parent_id: string | null;
  name: string;
  span_kind: string;
  status_code: string;
  start_time: string;
  end_time: string;
  latency_ms: number;
  token_count_total: number;
  cost_total: number | null;
  input_preview: string;
  output_preview: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

// A span without attributes: enough for the tree and the waterfall.
export interface OutlineSpan {
  span_id: string;
  parent_id: string | null;
  name: string;
  span_kind: string;
  start_ns: number;
  end_ns: number;
  status_code: string;
  token_count_total: number;
}

export interface SpanDetail {
  id: string;
  trace_id: string;
  span_id: string;
  parent_id: string | null;
  name: string;
  span_kind: string;
  start_time: string;
  end_time: string;
  latency_ms: number;
  status_code: string;
  status_message: string;
  attributes: Record<string, unknown>;
  events: { name: string; timestamp: string | number; attributes: Record<string, unknown> }[];
  token_count_prompt: number;
  token_count_completion: number;
  token_count_total: number;
  cost_total?: number | null;
  cost_prompt?: number | null;
  cost_completion?: number | null;
  cost_details?: Record<string, unknown> | null;
}

export interface Annotation {
  id: string;
  name: string;
  annotator_kind: string;
  result: { label?: string | null; score?: number | null; explanation?: string | null } | null;
  metadata?: Record<string, unknown> | null;
  identifier?: string;
  span_id: string;
  created_at?: string;
}

export interface Session {
  id: string;
  session_id: string;
  project_id: string;
  start_time: string;
  end_time: string;
  traces?: { id: string; trace_id: string; start_time: string; end_time: string }[];
  trace_count?: number;
  token_count_total?: number;
  token_count_prompt?: number;
  token_count_completion?: number;
  cost_total?: number | null;
}

export interface TimeWindow {
  start?: string;
  end?: string;
}

export const api = {
  projectSummaries: (w: TimeWindow) =>
    request<{ data: ProjectSummary[] }>("GET", `/osprey/v1/project_summaries${qs({ start_time: w.start, end_time: w.end })}`),
  createProject: (name: string, description?: string) =>
    request<{ data: { id: string; name: string } }>("POST", "/v1/projects", { name, description }),
  updateProject: (id: string, description: string | null) =>
    request<unknown>("PUT", `/v1/projects/${enc(id)}`, { description }),
  deleteProject: (id: string) => request<unknown>("DELETE", `/v1/projects/${enc(id)}`),
  // Osprey's own route: Phoenix cannot rename a project.
  renameProject: (id: string, name: string) => request<unknown>("PATCH", `/osprey/v1/projects/${enc(id)}`, { name }),

  traces: (
    project: string,
    o: TimeWindow & {
      sort?: string;
      order?: string;
      filter?: string;
      cursor?: string | null;
      limit?: number;
      traceIds?: string[];
    },
  ) =>
    request<Page<TraceRow>>(
      "GET",
      `/osprey/v1/projects/${enc(project)}/traces${qs({
        start_time: o.start,
        end_time: o.end,
        sort: o.sort,
        order: o.order,
        filter: o.filter,
        cursor: o.cursor,
        limit: o.limit,
        trace_id: o.traceIds,
      })}`,
    ),
  traceOutline: (project: string, traceId: string, cursor: string | null, limit: number) =>
    request<Page<OutlineSpan> & { trace: TraceRow }>(
      "GET",
      `/osprey/v1/projects/${enc(project)}/traces/${enc(traceId)}/spans${qs({ cursor, limit })}`,
    ),
  span: (project: string, spanId: string) =>
    request<{ data: SpanDetail }>("GET", `/osprey/v1/projects/${enc(project)}/spans/${enc(spanId)}`),
  spans: (project: string, o: TimeWindow & { cursor?: string | null; roots?: boolean; traceIds?: string[]; limit?: number }) =>
    request<Page<PhoenixSpan>>(
      "GET",
      `/v1/projects/${enc(project)}/spans${qs({
        start_time: o.start,
        end_time: o.end,
        cursor: o.cursor,
        limit: o.limit ?? 100,
        parent_id: o.roots ? "null" : undefined,
        trace_id: o.traceIds,
      })}`,
    ),
  // Osprey's span rows (all or root spans), filtered by the span query language on the server.
  spanRows: (
    project: string,
    o: TimeWindow & { filter?: string; roots?: boolean; cursor?: string | null; limit?: number },
  ) =>
    request<Page<SpanRow>>(
      "GET",
      `/osprey/v1/projects/${enc(project)}/spans${qs({
        start_time: o.start,
        end_time: o.end,
        filter: o.filter,
        roots: o.roots ? "true" : undefined,
        cursor: o.cursor,
        limit: o.limit,
      })}`,
    ),
  spanAnnotations: (project: string, spanIds: string[]) =>
    request<Page<Annotation>>(
      "GET",
      `/v1/projects/${enc(project)}/span_annotations${qs({ span_ids: spanIds, limit: 1000 })}`,
    ),
  annotateSpan: (a: { span_id: string; name: string; label?: string; score?: number; explanation?: string }) =>
    request<{ data: { id: string }[] }>("POST", "/v1/span_annotations?sync=true", {
      data: [
        {
          span_id: a.span_id,
          name: a.name,
          annotator_kind: "HUMAN",
          result: { label: a.label || null, score: a.score ?? null, explanation: a.explanation || null },
          metadata: {},
          identifier: "",
        },
      ],
    }),
  addSpanNote: (spanId: string, note: string) =>
    request<{ data: { id: string } }>("POST", "/v1/span_notes", { data: { span_id: spanId, note } }),
  sessions: (project: string, cursor?: string | null) =>
    request<Page<Session>>("GET", `/v1/projects/${enc(project)}/sessions${qs({ cursor, limit: 100, order: "desc" })}`),
  session: (id: string) => request<{ data: Session }>("GET", `/v1/sessions/${enc(id)}`),
};

export interface PhoenixSpan {
  id: string;
  name: string;
  context: { trace_id: string; span_id: string };
  span_kind: string;
  parent_id: string | null;
  start_time: string;
  end_time: string;
  status_code: string;
  status_message: string;
  attributes: Record<string, unknown>;
}
