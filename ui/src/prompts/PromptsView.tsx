// Prompt pages (lazy-loaded): the prompts list, and one prompt with its version history, tags per
// version (set, move, delete), a diff between two versions, the template rendered with sample
// variables, and a snippet to fetch it with arize-phoenix-client. Everything selected is in the URL:
// /prompts/:prompt?version=<id>&compare=<id>&vars=<JSON object>.
import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { ApiError } from "../api";
import { Copyable } from "../components/EmptyState";
import { rowKeys, useLoad, useParam } from "../hooks";
import { allPages, promptsApi, type PromptVersion, type PromptVersionTag } from "./api";
import { diffLines, fetchSnippet, renderMessages, versionLines, versionVariables } from "./template";

function createSnippet(origin: string): string {
  return `pip install arize-phoenix-client

from phoenix.client import Client
from phoenix.client.types.prompts import PromptVersion

client = Client(base_url="${origin}")
client.prompts.create(
    name="support-answer",
    prompt_description="Answers a support question",
    version=PromptVersion(
        [{"role": "system", "content": "You answer questions about {{ product }}."},
         {"role": "user", "content": "{{ question }}"}],
        model_name="gpt-4o-mini",
        model_provider="OPENAI",
    ),
)`;
}

export function PromptsListView() {
  const navigate = useNavigate();
  const prompts = useLoad(() => allPages((c) => promptsApi.list(c)), []);
  const open = (name: string) => navigate(`/prompts/${encodeURIComponent(name)}`);
  const notServed = prompts.error !== null && /Not Found|404/.test(prompts.error);
  return (
    <div className="page">
      <div className="toolbar">
        <h2>Prompts</h2>
      </div>
      {prompts.error && (
        <div className="error-banner" role="alert">
          {notServed ? "This server does not serve the prompt routes (/v1/prompts) yet." : prompts.error}
        </div>
      )}
      {prompts.data && !prompts.data.length ? (
        <div className="empty-state" data-testid="prompts-empty">
          <h3>No prompts yet</h3>
          <p>
            Prompts are versioned templates you tag (say <code>production</code>) and fetch by tag at run time. Create
            one with <code>arize-phoenix-client</code>; every later <code>create</code> with the same name adds a
            version.
          </p>
          <Copyable label="arize-phoenix-client" text={createSnippet(window.location.origin)} />
        </div>
      ) : (
        <table className="grid" data-testid="prompts-table">
          <thead>
            <tr>
              <th>prompt</th>
              <th>description</th>
              <th>metadata</th>
            </tr>
          </thead>
          <tbody data-rows>
            {(prompts.data ?? []).map((p) => (
              <tr key={p.id} data-row data-prompt={p.name} tabIndex={0} onKeyDown={(e) => rowKeys(e, () => open(p.name))} onClick={() => open(p.name)}>
                <td>
                  <Link to={`/prompts/${encodeURIComponent(p.name)}`} onClick={(e) => e.stopPropagation()}>
                    {p.name}
                  </Link>
                </td>
                <td className="muted">{p.description ?? ""}</td>
                <td className="mono small">{p.metadata && Object.keys(p.metadata).length ? JSON.stringify(p.metadata) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {prompts.loading && <p className="muted">loading…</p>}
    </div>
  );
}

interface Loaded {
  versions: PromptVersion[]; // newest first
  tags: Record<string, PromptVersionTag[]>; // by version id
}

async function loadPrompt(name: string): Promise<Loaded> {
  const versions = await allPages((c) => promptsApi.versions(name, c));
  versions.sort((a, b) => versionOrder(b) - versionOrder(a));
  const tags: Record<string, PromptVersionTag[]> = {};
  await Promise.all(
    versions.map(async (v) => {
      tags[v.id] = await allPages(() => promptsApi.tags(v.id), 1);
    }),
  );
  return { versions, tags };
}

// Version ids are GlobalIDs ("PromptVersion:<n>" in base64); later versions have larger numbers.
export function versionOrder(v: { id: string }): number {
  try {
    const n = Number(atob(v.id).split(":").pop());
    if (Number.isFinite(n)) return n;
  } catch {
    /* not base64 */
  }
  const n = Number(v.id);
  return Number.isFinite(n) ? n : 0;
}

function parseVars(text: string): Record<string, string> {
  try {
    const v = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)]));
    }
  } catch {
    /* empty or malformed: no values */
  }
  return {};
}

export function PromptView() {
  const name = useParams().prompt!;
  const [versionParam, setVersion] = useParam("version", "");
  const [compare, setCompare] = useParam("compare", "");
  const [varsParam, setVarsParam] = useParam("vars", "", true);
  const [tick, setTick] = useState(0);
  const loaded = useLoad(() => loadPrompt(name), [name, tick]);
  const [actionError, setActionError] = useState<string | null>(null);

  const versions = loaded.data?.versions ?? [];
  const tags = loaded.data?.tags ?? {};
  const selected = versions.find((v) => v.id === versionParam) ?? versions[0];
  const other = versions.find((v) => v.id === compare && v.id !== selected?.id);
  const vars = useMemo(() => parseVars(varsParam), [varsParam]);
  const allTags = Object.values(tags)
    .flat()
    .map((t) => t.name)
    .filter((t, i, a) => a.indexOf(t) === i)
    .sort();

  const act = async (f: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await f();
      setTick((t) => t + 1);
    } catch (e) {
      setActionError(e instanceof ApiError ? `${e.status}: ${e.message}` : String(e));
    }
  };

  return (
    <div className="page prompt-page">
      <div className="toolbar">
        <Link to="/prompts">Prompts</Link>
        <span className="sep">/</span>
        <h2 data-testid="prompt-name">{name}</h2>
        <span className="muted small">
          {versions.length} version{versions.length === 1 ? "" : "s"}
        </span>
      </div>
      {loaded.error && (
        <div className="error-banner" role="alert">
          {loaded.error}
        </div>
      )}
      {actionError && (
        <div className="error-banner" role="alert">
          {actionError}
        </div>
      )}
      {selected && (
        <div className="prompt-split">
          <ol className="version-list" data-testid="versions" aria-label="versions">
            {versions.map((v, i) => (
              <li
                key={v.id}
                className={v.id === selected.id ? "active" : ""}
                data-version-id={v.id}
                tabIndex={0}
                onClick={() => setVersion(v.id)}
                onKeyDown={(e) => e.key === "Enter" && setVersion(v.id)}
              >
                <div>
                  <strong>v{versions.length - i}</strong> <span className="muted small mono">{v.id}</span>
                </div>
                <div className="small">{v.description || <span className="muted">no description</span>}</div>
                <div className="small muted">
                  {v.model_provider} · {v.model_name}
                </div>
                <div data-testid="version-tags">
                  {(tags[v.id] ?? []).map((t) => (
                    <span key={t.name} className="chip tag-chip" data-tag={t.name} title={t.description ?? ""}>
                      {t.name}
                    </span>
                  ))}
                </div>
              </li>
            ))}
          </ol>
          <div className="prompt-detail">
            <VersionDetail
              name={name}
              version={selected}
              label={`v${versions.length - versions.indexOf(selected)}`}
              tags={tags[selected.id] ?? []}
              allTags={allTags}
              vars={vars}
              onVars={(v) => setVarsParam(Object.keys(v).length ? JSON.stringify(v) : "")}
              onSetTag={(tag) => act(() => promptsApi.setTag(selected.id, tag))}
              onDeleteTag={(tag) => act(() => promptsApi.deleteTag(selected.id, tag))}
            />
            <section className="detail-section">
              <h3>Compare</h3>
              <label className="small">
                diff from{" "}
                <select aria-label="compare with version" value={other?.id ?? ""} onChange={(e) => setCompare(e.target.value)}>
                  <option value="">(choose a version)</option>
                  {versions
                    .filter((v) => v.id !== selected.id)
                    .map((v) => (
                      <option key={v.id} value={v.id}>
                        v{versions.length - versions.indexOf(v)} {v.description ? `· ${v.description}` : ""}
                      </option>
                    ))}
                </select>{" "}
                to the selected version
              </label>
              {other && <Diff from={other} to={selected} />}
            </section>
          </div>
        </div>
      )}
      {loaded.data && !versions.length && <p className="muted">This prompt has no versions.</p>}
    </div>
  );
}

function VersionDetail(props: {
  name: string;
  version: PromptVersion;
  label: string;
  tags: PromptVersionTag[];
  allTags: string[];
  vars: Record<string, string>;
  onVars: (v: Record<string, string>) => void;
  onSetTag: (tag: string) => Promise<void>;
  onDeleteTag: (tag: string) => Promise<void>;
}) {
  const { version: v, vars } = props;
  const [tagName, setTagName] = useState("");
  const names = versionVariables(v);
  const rendered = renderMessages(v, vars);
  // The snippet's tag: the one picked (or just set) while it is on this version, else "production"
  // when the version has it, else its first tag.
  const [pickedTag, setSnippetTag] = useState<string>("");
  const snippetTag = props.tags.some((t) => t.name === pickedTag)
    ? pickedTag
    : (props.tags.find((t) => t.name === "production") ?? props.tags[0])?.name ?? "";
  const snippetVars = Object.fromEntries(names.map((n) => [n, vars[n] ?? ""]));
  const snippet = fetchSnippet(
    window.location.origin,
    props.name,
    snippetTag ? { tag: snippetTag } : { versionId: v.id },
    snippetVars,
  );
  return (
    <div data-testid="version-detail" data-version-id={v.id}>
      <div className="span-head">
        <h3>{props.label}</h3>
        <span className="badge">{v.template_format}</span>
        <span className="muted small">
          {v.model_provider} · {v.model_name}
        </span>
      </div>
      {v.description && <p>{v.description}</p>}

      <section className="detail-section">
        <h4>Tags</h4>
        <div data-testid="selected-tags">
          {props.tags.map((t) => (
            <span key={t.name} className="chip tag-chip" data-tag={t.name}>
              {t.name}{" "}
              <button className="link" aria-label={`remove tag ${t.name}`} onClick={() => void props.onDeleteTag(t.name)}>
                ×
              </button>
            </span>
          ))}
          {!props.tags.length && <span className="muted small">no tags on this version</span>}
        </div>
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const t = tagName.trim();
            if (t)
              void props.onSetTag(t).then(() => {
                setTagName("");
                setSnippetTag(t);
              });
          }}
        >
          <input
            aria-label="tag name"
            placeholder="tag (e.g. production)"
            list="prompt-tags"
            value={tagName}
            onChange={(e) => setTagName(e.target.value)}
          />
          <datalist id="prompt-tags">
            {props.allTags.map((t) => (
              <option key={t} value={t} />
            ))}
          </datalist>
          <button type="submit">Tag this version</button>
        </form>
        <p className="muted small">A tag names one version of the prompt: tagging this version moves it here.</p>
      </section>

      <section className="detail-section">
        <h4>Variables</h4>
        {!names.length && <p className="muted small">This template has no variables ({v.template_format}).</p>}
        {names.map((n) => (
          <label key={n} className="var-input">
            <span className="mono">{n}</span>
            <input aria-label={`variable ${n}`} value={vars[n] ?? ""} onChange={(e) => props.onVars({ ...vars, [n]: e.target.value })} />
          </label>
        ))}
      </section>

      <section className="detail-section" data-testid="rendered">
        <h4>Rendered</h4>
        {rendered.error && <div className="inline-error">{rendered.error}</div>}
        {rendered.missing.length > 0 && <div className="muted small">no value yet: {rendered.missing.join(", ")}</div>}
        {rendered.messages.map((m, i) => (
          <div key={i} className="message" data-testid="rendered-message" data-role={m.role}>
            <div className="message-role">{m.role}</div>
            <pre className="prompt-text">{m.text}</pre>
          </div>
        ))}
      </section>

      <section className="detail-section">
        <h4>Fetch it in code</h4>
        {props.tags.length > 1 && (
          <select aria-label="snippet tag" value={snippetTag} onChange={(e) => setSnippetTag(e.target.value)}>
            {props.tags.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </select>
        )}
        <div data-testid="snippet">
          <Copyable label={snippetTag ? `by tag “${snippetTag}”` : "by version id (tag it to fetch by tag)"} text={snippet} />
        </div>
      </section>

      <section className="detail-section">
        <h4>Parameters</h4>
        <pre className="prompt-text small">{JSON.stringify({ invocation_parameters: v.invocation_parameters, tools: v.tools ?? null, response_format: v.response_format ?? null }, null, 2)}</pre>
      </section>
    </div>
  );
}

function Diff({ from, to }: { from: PromptVersion; to: PromptVersion }) {
  const lines = useMemo(() => diffLines(versionLines(from), versionLines(to)), [from, to]);
  const changed = lines.filter((l) => l.kind !== "same").length;
  return (
    <div className="prompt-diff" data-testid="diff">
      <div className="muted small">{changed ? `${changed} changed line${changed === 1 ? "" : "s"}` : "no differences"}</div>
      <pre>
        {lines.map((l, i) => (
          <div key={i} className={`diff-${l.kind}`} data-kind={l.kind}>
            {l.kind === "added" ? "+ " : l.kind === "removed" ? "- " : "  "}
            {l.text}
          </div>
        ))}
      </pre>
    </div>
  );
}
