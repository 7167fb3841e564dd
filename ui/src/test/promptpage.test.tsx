import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import { PromptView, PromptsListView } from "../prompts/PromptsView";

// An in-memory Phoenix prompt API: one prompt, two versions, tags that move on POST.
function fakeServer(prompts: { id: string; name: string }[]) {
  const versions = [1, 2].map((n) => ({
    id: btoa(`PromptVersion:${n}`),
    description: `version ${n}`,
    model_provider: "OPENAI",
    model_name: n === 1 ? "gpt-4o-mini" : "gpt-4o",
    template: { type: "chat", messages: [{ role: "user", content: n === 1 ? "Hello {{ name }}" : "Hi {{ name }}, about {{ topic }}" }] },
    template_type: "CHAT",
    template_format: "MUSTACHE",
    invocation_parameters: { type: "openai", openai: {} },
  }));
  const tags: Record<string, string> = { production: versions[0].id };
  const calls: string[] = [];
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    const path = new URL(url, "http://x").pathname;
    calls.push(`${method} ${path}`);
    if (path === "/v1/prompts") return json({ data: prompts, next_cursor: null });
    if (path === "/v1/prompts/support/versions") return json({ data: [...versions].reverse(), next_cursor: null });
    const m = /^\/v1\/prompt_versions\/([^/]+)\/tags$/.exec(path);
    if (m && method === "GET")
      return json({ data: Object.entries(tags).filter(([, v]) => v === decodeURIComponent(m[1])).map(([name]) => ({ id: name, name })), next_cursor: null });
    if (m && method === "POST") {
      tags[JSON.parse(String(init!.body)).name] = decodeURIComponent(m[1]);
      return new Response(null, { status: 204 });
    }
    return new Response("Not Found", { status: 404 });
  });
  vi.stubGlobal("fetch", fetchMock);
  return { versions, tags, calls };
}

let location = "";
function Where() {
  const l = useLocation();
  location = l.pathname + l.search;
  return null;
}

function renderAt(url: string) {
  return render(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route path="/prompts" element={<PromptsListView />} />
        <Route path="/prompts/:prompt" element={<PromptView />} />
      </Routes>
      <Where />
    </MemoryRouter>,
  );
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("prompt pages", () => {
  it("the list shows an empty state with a creation snippet when there are no prompts", async () => {
    fakeServer([]);
    renderAt("/prompts");
    const empty = await screen.findByTestId("prompts-empty");
    expect(empty.textContent).toContain("client.prompts.create(");
  });

  it("shows the version history with tags, and moves a tag to the selected version", async () => {
    const server = fakeServer([{ id: "UHJvbXB0OjE=", name: "support" }]);
    renderAt("/prompts/support");
    const list = await screen.findByTestId("versions");
    await waitFor(() => expect(list.querySelectorAll("li").length).toBe(2));
    const [newest, oldest] = Array.from(list.querySelectorAll("li"));
    expect(newest.textContent).toContain("v2");
    await waitFor(() => expect(oldest.querySelector('[data-tag="production"]')).not.toBeNull());

    // The newest version is selected; tagging it "production" moves the tag from v1.
    fireEvent.change(screen.getByLabelText("tag name"), { target: { value: "production" } });
    fireEvent.click(screen.getByText("Tag this version"));
    await waitFor(() => expect(newest.querySelector('[data-tag="production"]')).not.toBeNull());
    expect(oldest.querySelector('[data-tag="production"]')).toBeNull();
    expect(server.calls).toContain(`POST /v1/prompt_versions/${server.versions[1].id}/tags`);
    expect(server.tags.production).toBe(server.versions[1].id);
    expect(screen.getByTestId("snippet").textContent).toContain('client.prompts.get(prompt_identifier="support", tag="production")');
  });

  it("renders the template with typed variables kept in the URL, and diffs two versions", async () => {
    const server = fakeServer([{ id: "UHJvbXB0OjE=", name: "support" }]);
    renderAt(`/prompts/support?version=${encodeURIComponent(server.versions[1].id)}`);
    await screen.findByLabelText("variable topic");
    fireEvent.change(screen.getByLabelText("variable name"), { target: { value: "Ada" } });
    const rendered = screen.getByTestId("rendered");
    await waitFor(() => expect(within(rendered).getByTestId("rendered-message").textContent).toContain("Hi Ada, about {{ topic }}"));
    expect(rendered.textContent).toContain("no value yet: topic");
    expect(new URLSearchParams(location.split("?")[1]).get("vars")).toBe('{"name":"Ada"}');

    fireEvent.change(screen.getByLabelText("compare with version"), { target: { value: server.versions[0].id } });
    const diff = await screen.findByTestId("diff");
    const removed = Array.from(diff.querySelectorAll('[data-kind="removed"]')).map((e) => e.textContent);
    const added = Array.from(diff.querySelectorAll('[data-kind="added"]')).map((e) => e.textContent);
    expect(removed).toContain("- Hello {{ name }}");
    expect(added).toContain("+ Hi {{ name }}, about {{ topic }}");
    expect(location).toContain(`compare=${encodeURIComponent(server.versions[0].id)}`);
  });
});
