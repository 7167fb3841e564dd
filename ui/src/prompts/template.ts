// Client-side prompt rendering, as arize-phoenix-client's formatters do it
// (phoenix/client/utils/template_formatters.py), a line diff between two versions, and the Python
// snippet that fetches a version by tag.
import type { ContentPart, PromptMessage, PromptVersion, TemplateFormat } from "./api";

// MUSTACHE: `{{ name }}` (word characters, optional spaces), not when the braces follow a backslash.
const MUSTACHE = /(?<!\\)\{\{\s*([\p{L}\p{N}_]+)\s*\}\}/gu;

// F_STRING: Python's str.format fields; `{{` and `}}` are literal braces.
interface FStringPiece {
  literal?: string;
  field?: string;
}

function parseFString(template: string): { pieces: FStringPiece[]; error: string | null } {
  const pieces: FStringPiece[] = [];
  let literal = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === "{" && template[i + 1] === "{") {
      literal += "{";
      i++;
    } else if (c === "}" && template[i + 1] === "}") {
      literal += "}";
      i++;
    } else if (c === "}") {
      return { pieces, error: "Single '}' encountered in format string" };
    } else if (c === "{") {
      const close = template.indexOf("}", i + 1);
      if (close < 0) return { pieces, error: "Single '{' encountered in format string" };
      const inner = template.slice(i + 1, close);
      // The field name ends at a conversion (!r) or a format spec (:>10).
      const name = inner.split(/[!:]/, 1)[0];
      if (literal) pieces.push({ literal });
      literal = "";
      pieces.push({ field: name });
      i = close;
    } else {
      literal += c;
    }
  }
  if (literal) pieces.push({ literal });
  return { pieces, error: null };
}

// The variable names a template text uses, in order of first use.
export function templateVariables(text: string, format: TemplateFormat): string[] {
  const names: string[] = [];
  const add = (n: string) => {
    if (n && !names.includes(n)) names.push(n);
  };
  if (format === "MUSTACHE") for (const m of text.matchAll(MUSTACHE)) add(m[1]);
  else if (format === "F_STRING") for (const p of parseFString(text).pieces) if (p.field !== undefined) add(p.field);
  return names;
}

export interface Rendered {
  text: string;
  missing: string[]; // variables the template uses that have no value (left as written)
  error: string | null; // a template the formatter refuses (F_STRING syntax)
}

export function renderText(text: string, format: TemplateFormat, vars: Record<string, string>): Rendered {
  const missing = templateVariables(text, format).filter((n) => !(n in vars));
  if (format === "MUSTACHE") {
    return { text: text.replace(MUSTACHE, (whole, name: string) => (name in vars ? vars[name] : whole)), missing, error: null };
  }
  if (format === "F_STRING") {
    const { pieces, error } = parseFString(text);
    if (error) return { text, missing, error };
    const out = pieces
      .map((p) => (p.literal !== undefined ? p.literal : p.field! in vars ? vars[p.field!] : `{${p.field}}`))
      .join("");
    return { text: out, missing, error: null };
  }
  return { text, missing: [], error: null };
}

// The texts of a version that the formatter substitutes into: string contents and text parts.
export function versionTexts(v: PromptVersion): string[] {
  if (v.template.type === "string") return [v.template.template];
  const out: string[] = [];
  for (const m of v.template.messages) {
    if (typeof m.content === "string") out.push(m.content);
    else for (const p of m.content) if (p.type === "text") out.push(p.text);
  }
  return out;
}

export function versionVariables(v: PromptVersion): string[] {
  const names: string[] = [];
  for (const t of versionTexts(v)) for (const n of templateVariables(t, v.template_format)) if (!names.includes(n)) names.push(n);
  return names;
}

function partText(p: ContentPart): string {
  if (p.type === "text") return p.text;
  if (p.type === "tool_call") return `tool call ${p.tool_call.name}(${p.tool_call.arguments}) [${p.tool_call_id}]`;
  return `tool result [${p.tool_call_id}]: ${JSON.stringify(p.tool_result)}`;
}

// A version's messages with the variables substituted (tool calls and results unchanged).
export function renderMessages(v: PromptVersion, vars: Record<string, string>): { messages: { role: string; text: string }[]; missing: string[]; error: string | null } {
  const missing = new Set<string>();
  let error: string | null = null;
  const render = (text: string) => {
    const r = renderText(text, v.template_format, vars);
    r.missing.forEach((n) => missing.add(n));
    error ??= r.error;
    return r.text;
  };
  const messages =
    v.template.type === "string"
      ? [{ role: "prompt", text: render(v.template.template) }]
      : v.template.messages.map((m: PromptMessage) => ({
          role: m.role,
          text: typeof m.content === "string" ? render(m.content) : m.content.map((p) => (p.type === "text" ? render(p.text) : partText(p))).join("\n"),
        }));
  return { messages, missing: [...missing], error };
}

// A version as text lines for the diff: model, format, each message, then the parameters.
export function versionLines(v: PromptVersion): string[] {
  const lines = [`model: ${v.model_provider} ${v.model_name}`, `template_format: ${v.template_format}`];
  if (v.description) lines.push(`description: ${v.description}`);
  if (v.template.type === "string") {
    lines.push("template:", ...v.template.template.split("\n"));
  } else {
    for (const m of v.template.messages) {
      lines.push(`[${m.role}]`);
      const text = typeof m.content === "string" ? m.content : m.content.map(partText).join("\n");
      lines.push(...text.split("\n"));
    }
  }
  const json = (label: string, value: unknown) => {
    if (value === undefined || value === null) return;
    lines.push(`${label}:`, ...JSON.stringify(value, null, 2).split("\n"));
  };
  json("invocation_parameters", v.invocation_parameters);
  json("tools", v.tools);
  json("response_format", v.response_format);
  return lines;
}

export interface DiffLine {
  kind: "same" | "added" | "removed";
  text: string;
}

// A line diff from `a` to `b` by longest common subsequence (prompt versions are small).
export function diffLines(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ kind: "same", text: a[i] });
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ kind: "removed", text: a[i++] });
    } else {
      out.push({ kind: "added", text: b[j++] });
    }
  }
  while (i < n) out.push({ kind: "removed", text: a[i++] });
  while (j < m) out.push({ kind: "added", text: b[j++] });
  return out;
}

const pyString = (s: string) => JSON.stringify(s);

// Python that fetches this prompt with arize-phoenix-client (by tag when given, else the version id)
// and formats it with the sample variables.
export function fetchSnippet(origin: string, promptName: string, ref: { tag: string } | { versionId: string }, vars: Record<string, string>): string {
  const get =
    "tag" in ref
      ? `client.prompts.get(prompt_identifier=${pyString(promptName)}, tag=${pyString(ref.tag)})`
      : `client.prompts.get(prompt_version_id=${pyString(ref.versionId)})`;
  const variables = Object.entries(vars)
    .map(([k, v]) => `${pyString(k)}: ${pyString(v)}`)
    .join(", ");
  return `pip install arize-phoenix-client

from phoenix.client import Client

client = Client(base_url=${pyString(origin)})
prompt = ${get}
kwargs = prompt.format(variables={${variables}})`;
}
