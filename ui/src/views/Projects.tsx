import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { api, type ProjectSummary } from "../api";
import { DEFAULT_RANGE, windowFor, ms, num, pct, when, cost } from "../format";
import { rowKeys, useLoad, useParam } from "../hooks";
import { RangePicker } from "../components/RangePicker";

export function ProjectsView() {
  const [range, setRange] = useParam("range", DEFAULT_RANGE);
  const navigate = useNavigate();
  const summaries = useLoad(() => api.projectSummaries(windowFor(range)), [range]);
  const [name, setName] = useState("");
  const [actionError, setActionError] = useState<string | null>(null);

  const act = async (f: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await f();
      summaries.reload();
    } catch (e) {
      setActionError((e as Error).message);
    }
  };
  const open = (p: ProjectSummary) => navigate(`/projects/${encodeURIComponent(p.name)}${range !== DEFAULT_RANGE ? `?range=${encodeURIComponent(range)}` : ""}`);

  return (
    <div className="page">
      <div className="toolbar">
        <h2>Projects</h2>
        <span className="spacer" />
        <RangePicker value={range} onChange={setRange} />
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (name.trim()) void act(() => api.createProject(name.trim())).then(() => setName(""));
          }}
        >
          <input aria-label="new project name" placeholder="new project name" value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit">Create</button>
        </form>
      </div>
      {actionError && <div className="error-banner" role="alert">{actionError}</div>}
      {summaries.error && <div className="error-banner" role="alert">{summaries.error}</div>}
      <table className="grid" data-testid="projects-table">
        <thead>
          <tr>
            <th>project</th>
            <th className="num">traces</th>
            <th className="num">error rate</th>
            <th className="num">p50</th>
            <th className="num">p99</th>
            <th className="num">tokens</th>
            <th className="num">cost</th>
            <th>last activity</th>
            <th />
          </tr>
        </thead>
        <tbody data-rows>
          {(summaries.data?.data ?? []).map((p) => (
            <tr key={p.id} data-row tabIndex={0} onKeyDown={(e) => rowKeys(e, () => open(p))} data-project={p.name}>
              <td>
                <Link to={`/projects/${encodeURIComponent(p.name)}${range !== DEFAULT_RANGE ? `?range=${encodeURIComponent(range)}` : ""}`}>{p.name}</Link>
                {p.description && <div className="muted small">{p.description}</div>}
              </td>
              <td className="num">{num(p.trace_count)}</td>
              <td className={`num ${p.error_trace_count ? "bad" : ""}`}>{p.trace_count ? pct(p.error_trace_count / p.trace_count) : "–"}</td>
              <td className="num">{ms(p.latency_p50_ms)}</td>
              <td className="num">{ms(p.latency_p99_ms)}</td>
              <td className="num" title={`prompt ${num(p.token_count_prompt)} · completion ${num(p.token_count_completion)}`}>
                {num(p.token_count_total)}
              </td>
              <td className="num">{cost(p.cost_total) || "–"}</td>
              <td>{when(p.last_activity)}</td>
              <td className="actions">
                <button
                  onClick={() => {
                    // Phoenix's PUT /v1/projects/{id} changes the description only (names are immutable there).
                    const next = window.prompt(`Description of “${p.name}”`, p.description ?? "");
                    if (next !== null && next !== (p.description ?? "")) void act(() => api.updateProject(p.id, next.trim() || null));
                  }}
                >
                  Describe
                </button>
                {p.name !== "default" && (
                  <button
                    onClick={() => {
                      const next = window.prompt(`New name of “${p.name}”`, p.name);
                      if (next !== null && next.trim() && next.trim() !== p.name) void act(() => api.renameProject(p.id, next.trim()));
                    }}
                  >
                    Rename
                  </button>
                )}
                <button
                  className="danger"
                  onClick={() => {
                    if (window.confirm(`Delete project “${p.name}” and all its traces?`)) void act(() => api.deleteProject(p.id));
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {summaries.loading && !summaries.data && <div className="muted">loading…</div>}
    </div>
  );
}
