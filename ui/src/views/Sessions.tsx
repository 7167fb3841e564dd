import { Link, useNavigate, useParams } from "react-router-dom";
import { api, type PhoenixSpan } from "../api";
import { get, nest, toMessages } from "../attrs";
import { cost, latencyMs, ms, num, when } from "../format";
import { rowKeys, useLoad } from "../hooks";
import { Messages, RichText } from "../components/Messages";

export function SessionsView() {
  const project = useParams().project!;
  const navigate = useNavigate();
  const sessions = useLoad(() => api.sessions(project), [project]);
  const open = (id: string) => navigate(`/projects/${encodeURIComponent(project)}/sessions/${encodeURIComponent(id)}`);
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Sessions · {project}</h2>
      </div>
      {sessions.error && <div className="error-banner">{sessions.error}</div>}
      <table className="grid" data-testid="sessions-table">
        <thead>
          <tr>
            <th>session</th>
            <th className="num">turns</th>
            <th className="num">tokens</th>
            <th className="num">cost</th>
            <th className="num">duration</th>
            <th>started</th>
          </tr>
        </thead>
        <tbody data-rows>
          {(sessions.data?.data ?? []).map((s) => (
            <tr key={s.id} data-row tabIndex={0} onKeyDown={(e) => rowKeys(e, () => open(s.session_id))} onClick={() => open(s.session_id)}>
              <td className="mono">{s.session_id}</td>
              <td className="num">{num(s.trace_count ?? s.traces?.length ?? 0)}</td>
              <td className="num">{num(s.token_count_total ?? 0)}</td>
              <td className="num">{cost(s.cost_total) || "–"}</td>
              <td className="num">{ms(latencyMs(s.start_time, s.end_time))}</td>
              <td>{when(s.start_time)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessions.data && !sessions.data.data.length && (
        <p className="muted">
          No sessions. Spans join a session through the <code>session.id</code> attribute (phoenix-otel:{" "}
          <code>using_session(session_id)</code>).
        </p>
      )}
    </div>
  );
}

async function loadSession(project: string, sessionId: string) {
  const session = (await api.session(sessionId)).data;
  const ids = (session.traces ?? []).map((t) => t.trace_id);
  const roots: PhoenixSpan[] = [];
  for (let i = 0; i < ids.length; i += 50) {
    const page = await api.spans(project, { traceIds: ids.slice(i, i + 50), roots: true, limit: 1000 });
    roots.push(...page.data);
  }
  const byTrace = new Map(roots.map((s) => [s.context.trace_id, s]));
  return { session, turns: (session.traces ?? []).map((t) => ({ trace: t, root: byTrace.get(t.trace_id) })) };
}

// A session read as one conversation: each turn shows what the user sent and what came back.
export function SessionView() {
  const { project, sessionId } = useParams() as { project: string; sessionId: string };
  const data = useLoad(() => loadSession(project, sessionId), [project, sessionId]);
  return (
    <div className="page session-page">
      <div className="toolbar">
        <Link to={`/projects/${encodeURIComponent(project)}/sessions`}>← sessions</Link>
        <h2 className="mono">{sessionId}</h2>
        {data.data && (
          <span className="muted">
            {data.data.turns.length} turns · {num(data.data.session.token_count_total ?? 0)} tokens
          </span>
        )}
      </div>
      {data.error && <div className="error-banner">{data.error}</div>}
      <div className="conversation" data-testid="session-conversation">
        {(data.data?.turns ?? []).map(({ trace, root }, i) => {
          const a = nest(root?.attributes ?? {});
          const input = get(a, "input.value");
          const output = get(a, "output.value");
          const outMsgs = toMessages(get(a, "llm.output_messages"));
          return (
            <div key={trace.trace_id} className="turn">
              <div className="turn-head muted small">
                turn {i + 1} · {when(trace.start_time)} ·{" "}
                <Link to={`/projects/${encodeURIComponent(project)}/traces/${trace.trace_id}`}>trace</Link>
              </div>
              {input !== undefined && (
                <div className="message role-user" data-role="user">
                  <div className="message-role">user</div>
                  <RichText text={typeof input === "string" ? input : JSON.stringify(input)} />
                </div>
              )}
              {output !== undefined ? (
                <div className="message role-assistant" data-role="assistant">
                  <div className="message-role">assistant</div>
                  <RichText text={typeof output === "string" ? output : JSON.stringify(output)} />
                </div>
              ) : (
                <Messages messages={outMsgs} />
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
