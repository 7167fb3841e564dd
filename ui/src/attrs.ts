// Helpers over OpenInference attributes. Attributes may arrive nested ({"llm": {"input_messages": ...}})
// or flattened with dotted keys ({"llm.input_messages": [{"message.role": ...}]}); `nest` turns both
// into the nested form so the renderers read one shape.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function nest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(nest);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const v = nest(raw);
    const parts = key.split(".");
    let cur = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = cur[parts[i]];
      if (!isObject(next)) cur[parts[i]] = {};
      cur = cur[parts[i]] as Record<string, unknown>;
    }
    const last = parts[parts.length - 1];
    if (isObject(cur[last]) && isObject(v)) Object.assign(cur[last] as object, v);
    else cur[last] = v;
  }
  return out;
}

// A list, or an object keyed "0", "1", ... (a list flattened with index keys) as a list.
export function asList(v: unknown): unknown[] | null {
  if (Array.isArray(v)) return v;
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length && keys.every((k) => /^\d+$/.test(k)))
      return keys.sort((a, b) => Number(a) - Number(b)).map((k) => v[k]);
  }
  return null;
}

export function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split(".")) {
    if (!isObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export interface ToolCall {
  id?: string;
  name: string;
  arguments: string;
}

export interface ChatMessage {
  role: string;
  content: string;
  name?: string;
  toolCalls: ToolCall[];
  toolCallId?: string;
}

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  return typeof v === "string" ? v : JSON.stringify(v, null, 2);
}

// OpenInference messages (llm.input_messages / llm.output_messages) as chat messages. A message is
// {"message": {"role", "content" | "contents": [{"message_content": {"type","text"}}], "tool_calls": [...],
// "tool_call_id", "name"}}; items without the "message" wrapper are accepted too.
export function toMessages(raw: unknown): ChatMessage[] {
  const list = asList(raw);
  if (!list) return [];
  return list.map((item) => {
    const nested = nest(item);
    const m = (isObject(nested) && isObject(nested.message) ? nested.message : nested) as Record<string, unknown>;
    let content = str(m.content);
    const contents = asList(m.contents);
    if (!content && contents) {
      content = contents
        .map((c) => {
          const mc = isObject(c) && isObject(c.message_content) ? c.message_content : c;
          return isObject(mc) ? str(mc.text ?? mc.image ?? "") : str(mc);
        })
        .join("\n");
    }
    const calls = asList(m.tool_calls);
    const toolCalls: ToolCall[] = calls
      ? calls.map((tc) => {
          const t = (isObject(tc) && isObject(tc.tool_call) ? tc.tool_call : tc) as Record<string, unknown>;
          const fn = (isObject(t.function) ? t.function : {}) as Record<string, unknown>;
          return { id: t.id ? str(t.id) : undefined, name: str(fn.name), arguments: str(fn.arguments) };
        })
      : [];
    return {
      role: str(m.role) || "unknown",
      content,
      name: m.name ? str(m.name) : undefined,
      toolCalls,
      toolCallId: m.tool_call_id ? str(m.tool_call_id) : undefined,
    };
  });
}

export interface RetrievalDocument {
  id?: string;
  content: string;
  score?: number;
  metadata?: unknown;
}

export function toDocuments(raw: unknown): RetrievalDocument[] {
  const list = asList(raw);
  if (!list) return [];
  return list.map((item) => {
    const nested = nest(item);
    const d = (isObject(nested) && isObject(nested.document) ? nested.document : nested) as Record<string, unknown>;
    return {
      id: d.id !== undefined ? str(d.id) : undefined,
      content: str(d.content),
      score: typeof d.score === "number" ? d.score : undefined,
      metadata: d.metadata,
    };
  });
}

// Parses a JSON string when it looks like JSON; otherwise returns undefined.
export function tryJson(text: unknown): unknown {
  if (typeof text !== "string") return undefined;
  const t = text.trim();
  if (!(t.startsWith("{") || t.startsWith("["))) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}
