import { describe, expect, it } from "vitest";
import type { PromptVersion } from "../prompts/api";
import { diffLines, fetchSnippet, renderMessages, renderText, templateVariables, versionLines, versionVariables } from "../prompts/template";
import { versionOrder } from "../prompts/PromptsView";

const chat = (messages: PromptVersion["template"] & { type: "chat" }, format: PromptVersion["template_format"] = "MUSTACHE"): PromptVersion => ({
  id: "UHJvbXB0VmVyc2lvbjox",
  model_provider: "OPENAI",
  model_name: "gpt-4o-mini",
  template: messages,
  template_type: "CHAT",
  template_format: format,
  invocation_parameters: { type: "openai", openai: { temperature: 0.2 } },
});

describe("MUSTACHE rendering, as arize-phoenix-client's formatter", () => {
  it("substitutes {{ name }} with or without spaces, every occurrence, but not after a backslash", () => {
    const text = "Hi {{name}}, {{ name }}! \\{{name}} stays; {{  topic  }}.";
    expect(templateVariables(text, "MUSTACHE")).toEqual(["name", "topic"]);
    expect(renderText(text, "MUSTACHE", { name: "Ada", topic: "maths" }).text).toBe("Hi Ada, Ada! \\{{name}} stays; maths.");
  });
  it("leaves a variable without a value as written and reports it", () => {
    const r = renderText("{{ a }} and {{ b }}", "MUSTACHE", { a: "1" });
    expect(r.text).toBe("1 and {{ b }}");
    expect(r.missing).toEqual(["b"]);
  });
  it("does not treat sections, dotted names or single braces as variables; values are inserted verbatim", () => {
    expect(templateVariables("{{#items}}x{{/items}} {{a.b}} {c}", "MUSTACHE")).toEqual([]);
    expect(renderText("{{ v }}", "MUSTACHE", { v: "$& <b>{{ v }}</b>" }).text).toBe("$& <b>{{ v }}</b>");
  });
  it("accepts non-ASCII word characters in names", () => {
    expect(renderText("{{ café }}", "MUSTACHE", { café: "noir" }).text).toBe("noir");
  });
});

describe("F_STRING rendering, as Python's str.format", () => {
  it("substitutes {name}, keeps {{ and }} as literal braces, ignores format specs in the name", () => {
    expect(templateVariables("{a} {{b}} {c!r} {d:>4}", "F_STRING")).toEqual(["a", "c", "d"]);
    expect(renderText("{a} {{b}} {c}", "F_STRING", { a: "1", c: "3" }).text).toBe("1 {b} 3");
  });
  it("refuses a single brace like Python does", () => {
    expect(renderText("oops }", "F_STRING", {}).error).toBe("Single '}' encountered in format string");
    expect(renderText("oops {a", "F_STRING", {}).error).toBe("Single '{' encountered in format string");
  });
  it("NONE substitutes nothing", () => {
    expect(templateVariables("{{ a }} {b}", "NONE")).toEqual([]);
    expect(renderText("{{ a }} {b}", "NONE", { a: "x", b: "y" }).text).toBe("{{ a }} {b}");
  });
});

describe("prompt versions", () => {
  const v1 = chat({
    type: "chat",
    messages: [
      { role: "system", content: "You answer questions about {{ product }}." },
      { role: "user", content: [{ type: "text", text: "{{ question }}" }, { type: "tool_result", tool_call_id: "c1", tool_result: { ok: true } }] },
    ],
  });
  it("renders every message's text and text parts; tool parts unchanged", () => {
    expect(versionVariables(v1)).toEqual(["product", "question"]);
    const r = renderMessages(v1, { product: "Osprey", question: "How?" });
    expect(r.messages).toEqual([
      { role: "system", text: "You answer questions about Osprey." },
      { role: "user", text: 'How?\ntool result [c1]: {"ok":true}' },
    ]);
    expect(r.missing).toEqual([]);
  });
  it("diffs two versions line by line", () => {
    const v2 = chat({ type: "chat", messages: [{ role: "system", content: "You answer questions about {{ product }} briefly." }, v1.template.type === "chat" ? v1.template.messages[1] : { role: "user", content: "" }] });
    v2.model_name = "gpt-4o";
    const d = diffLines(versionLines(v1), versionLines(v2));
    expect(d.filter((l) => l.kind === "removed").map((l) => l.text)).toEqual(["model: OPENAI gpt-4o-mini", "You answer questions about {{ product }}."]);
    expect(d.filter((l) => l.kind === "added").map((l) => l.text)).toEqual(["model: OPENAI gpt-4o", "You answer questions about {{ product }} briefly."]);
    expect(diffLines(versionLines(v1), versionLines(v1)).every((l) => l.kind === "same")).toBe(true);
  });
  it("the snippet fetches by tag with arize-phoenix-client, else by version id", () => {
    const byTag = fetchSnippet("http://127.0.0.1:6006", "support", { tag: "production" }, { question: 'say "hi"' });
    expect(byTag).toContain('client = Client(base_url="http://127.0.0.1:6006")');
    expect(byTag).toContain('client.prompts.get(prompt_identifier="support", tag="production")');
    expect(byTag).toContain('prompt.format(variables={"question": "say \\"hi\\""})');
    expect(fetchSnippet("http://x", "support", { versionId: "UHJ" }, {})).toContain('client.prompts.get(prompt_version_id="UHJ")');
  });
  it("orders versions by the number in their GlobalID", () => {
    expect(versionOrder({ id: btoa("PromptVersion:12") })).toBe(12);
    expect(versionOrder({ id: "7" })).toBe(7);
  });
});
