// Phoenix's REST prompt routes (phoenix-openapi.json: Prompt, PromptVersion, PromptVersionTag), as the
// gateway serves them. Every function throws ApiError on a non-2xx answer.
import { request, qs, type Page } from "../api";

const enc = encodeURIComponent;

export interface Prompt {
  id: string;
  name: string;
  description?: string | null;
  source_prompt_id?: string | null;
  metadata?: Record<string, unknown> | null;
}

export type ContentPart =
  | { type: "text"; text: string }
  | { type: "tool_call"; tool_call_id: string; tool_call: { type: "function"; name: string; arguments: string } }
  | { type: "tool_result"; tool_call_id: string; tool_result: unknown };

export interface PromptMessage {
  role: string;
  content: string | ContentPart[];
}

export type PromptTemplate = { type: "chat"; messages: PromptMessage[] } | { type: "string"; template: string };

export type TemplateFormat = "MUSTACHE" | "F_STRING" | "NONE";

export interface PromptVersion {
  id: string;
  description?: string | null;
  model_provider: string;
  model_name: string;
  template: PromptTemplate;
  template_type: "CHAT" | "STR";
  template_format: TemplateFormat;
  invocation_parameters: Record<string, unknown>;
  tools?: Record<string, unknown> | null;
  response_format?: Record<string, unknown> | null;
}

export interface PromptVersionTag {
  id: string;
  name: string;
  description?: string | null;
}

export const promptsApi = {
  list: (cursor: string | null, limit = 100) => request<Page<Prompt>>("GET", `/v1/prompts${qs({ cursor, limit })}`),
  versions: (prompt: string, cursor: string | null, limit = 100) =>
    request<Page<PromptVersion>>("GET", `/v1/prompts/${enc(prompt)}/versions${qs({ cursor, limit })}`),
  version: (id: string) => request<{ data: PromptVersion }>("GET", `/v1/prompt_versions/${enc(id)}`),
  latest: (prompt: string) => request<{ data: PromptVersion }>("GET", `/v1/prompts/${enc(prompt)}/latest`),
  tags: (versionId: string) =>
    request<Page<PromptVersionTag>>("GET", `/v1/prompt_versions/${enc(versionId)}/tags${qs({ limit: 100 })}`),
  // Creates the tag on this version, moving it when another version of the prompt had it.
  setTag: (versionId: string, name: string, description?: string) =>
    request<unknown>("POST", `/v1/prompt_versions/${enc(versionId)}/tags`, { name, description: description || null }),
  deleteTag: (versionId: string, name: string) =>
    request<unknown>("DELETE", `/v1/prompt_versions/${enc(versionId)}/tags/${enc(name)}`),
};

// Every page of a Phoenix listing.
export async function allPages<T>(load: (cursor: string | null) => Promise<Page<T>>, max = 50): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < max; i++) {
    const page: Page<T> = await load(cursor);
    out.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return out;
}
