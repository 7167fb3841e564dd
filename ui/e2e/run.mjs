// End-to-end tests of the web UI in headless Debian Chromium (playwright-core, no browser download)
// against a real osprey process seeded through OTLP.
//
//   node ui/e2e/run.mjs --osprey build/release/apps/osprey/osprey --out build/release/ui-artifacts [--bench]
//       [--postgres-dsn "host=127.0.0.1 port=P user=postgres dbname=D"]   (the Postgres store instead of SQLite)
//
// Starts osprey with a config and a ports file (like tests/integration/harness.py), seeds it
// (seed.mjs), runs each check, saves a screenshot per main view under --out, prints a summary and
// exits non-zero when a check failed. A check that needs a Phoenix route this build does not have yet
// (it answers 404/405) is reported as SKIP with the reason. --bench also prints first-paint timings.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { seed } from "./seed.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).map((a, i, all) => (a.startsWith("--") ? [a.slice(2), all[i + 1]?.startsWith("--") ? true : (all[i + 1] ?? true)] : null)).filter(Boolean),
);
const binary = args.osprey ?? process.env.OSPREY_BIN;
const out = args.out ?? join(process.cwd(), "ui-artifacts");
const chromiumPath = process.env.OSPREY_CHROMIUM ?? "/usr/bin/chromium";
if (!binary || !existsSync(binary)) {
  console.error(`usage: run.mjs --osprey <osprey binary> --out <dir>  (no binary at ${binary})`);
  process.exit(2);
}
if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run scripts/bootstrap (Debian package chromium)`);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startOsprey() {
  const work = mkdtempSync(join(tmpdir(), "osprey-ui-e2e-"));
  const data = join(work, "data");
  mkdirSync(data);
  const config = join(work, "config.yaml");
  writeFileSync(
    config,
    [
      `data_dir: ${data}`,
      "log:\n  level: warn",
      "ingest:\n  grpc_listen: 127.0.0.1:0\n  http_listen: 127.0.0.1:0",
      "query:\n  listen: 127.0.0.1:0",
      args["postgres-dsn"] ? `store:\n  kind: postgres\n  postgres:\n    dsn: "${args["postgres-dsn"]}"` : "store:\n  kind: sqlite",
      "bus:\n  kind: inprocess",
      "",
    ].join("\n"),
  );
  const portsFile = join(work, "ports.json");
  const log = join(work, "osprey.log");
  const proc = spawn(binary, [`--config=${config}`, `--data-dir=${data}`, `--ports-file=${portsFile}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let logText = "";
  proc.stdout.on("data", (d) => (logText += d));
  proc.stderr.on("data", (d) => (logText += d));
  const deadline = Date.now() + 60_000;
  while (!existsSync(portsFile)) {
    if (proc.exitCode !== null) throw new Error(`osprey exited with ${proc.exitCode}:\n${logText.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`no ports file after 60 s:\n${logText.slice(-3000)}`);
    await sleep(50);
  }
  await sleep(50);
  const ports = JSON.parse(readFileSync(portsFile, "utf8"));
  const base = `http://127.0.0.1:${ports.query_http}`;
  while ((await fetch(`${base}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline) throw new Error("osprey not ready after 60 s");
    await sleep(50);
  }
  return {
    base,
    ingest: `http://127.0.0.1:${ports.ingest_http}`,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on("exit", r)));
      writeFileSync(log, logText);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

class Skip extends Error {}
const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, status: "PASS", ms: Date.now() - t0 });
  } catch (e) {
    if (e instanceof Skip) results.push({ name, status: "SKIP", reason: e.message });
    else results.push({ name, status: "FAIL", reason: e.stack ?? String(e) });
  }
  const r = results[results.length - 1];
  console.log(`${r.status} ${name}${r.reason ? `: ${r.reason.split("\n")[0]}` : ""}`);
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}

// Whether a Phoenix route exists in this build: 404 "Not Found" / 405 mean it does not.
async function routeExists(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return !(res.status === 405 || (res.status === 404 && text === "Not Found"));
}

// First contentful paint and the time until `selector` is visible, from navigation start.
async function measure(page, url, selector) {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: "commit" });
  await page.waitForSelector(selector, { timeout: 60_000 });
  const wall = Date.now() - t0;
  const fcp = await page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null);
  return { fcp_ms: fcp === null ? null : Math.round(fcp), first_row_ms: wall };
}

const server = await startOsprey();
const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
const bench = {};
try {
  const data = await seed(server.ingest);
  const { project, bigProject, agent, big } = data;
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const shot = (name) => page.screenshot({ path: join(out, `${name}.png`) });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  await check("serving: SPA fallback, content types and caching", async () => {
    const index = await fetch(`${server.base}/projects/${project}/traces/abc?span=1`);
    expect(index.status === 200 && index.headers.get("content-type").startsWith("text/html"), "deep link is not index.html");
    const html = await index.text();
    const js = /\/assets\/[^"]+\.js/.exec(html)?.[0];
    expect(js, "index.html names no script");
    const asset = await fetch(`${server.base}${js}`);
    expect(asset.headers.get("content-type").startsWith("text/javascript"), "script content type");
    expect(asset.headers.get("cache-control").includes("immutable"), "hashed asset not cached long");
    expect((await fetch(`${server.base}/v1/nothing-here`)).status === 404, "unknown API path must stay 404");
    expect(!html.includes("http://") && !html.includes("https://"), "index.html loads something from the internet");
  });

  await check("projects: summary row per project", async () => {
    await page.goto(`${server.base}/?range=all`);
    const row = page.locator(`tr[data-project="${project}"]`);
    await row.waitFor();
    const text = await row.innerText();
    expect(/\b30\b/.test(text), `trace count 30 not in "${text}"`);
    expect(text.includes("3.3%"), `error rate 1/30 not in "${text}"`);
    await shot("projects");
  });

  await check("traces: table of the project with previews, live polling, keyboard open", async () => {
    await page.goto(`${server.base}/projects/${project}?range=all`);
    await page.locator(".trow").first().waitFor();
    await page.getByTestId("row-count").filter({ hasText: "30 traces" }).waitFor();
    const first = await page.locator(".trow").first().innerText();
    expect(first.includes("What is the weather"), `no input preview in "${first}"`);
    await shot("traces");
    // A trace sent now shows up without a reload.
    const { agentTrace } = await import("./seed.mjs");
    const fresh = agentTrace(99, Date.now() * 1e6 + 5e9);
    await fetch(`${server.ingest}/v1/traces`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        resourceSpans: [{ resource: { attributes: [{ key: "openinference.project.name", value: { stringValue: project } }] }, scopeSpans: [{ spans: fresh.spans }] }],
      }),
    });
    await page.locator(`.trow[data-trace-id="${fresh.traceId}"]`).waitFor({ timeout: 15_000 });
    await page.getByTestId("traces-table").focus();
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    await page.waitForURL(new RegExp(`/traces/${fresh.traceId}`));
  });

  await check("traces: the all spans / root spans switch, keyset pages on scroll", async () => {
    await page.goto(`${server.base}/projects/${project}?range=all`);
    await page.getByRole("button", { name: "Root spans" }).click();
    await page.waitForURL(/mode=roots/);
    await page.getByTestId("row-count").filter({ hasText: /^31 spans$|^31 spans ·/ }).waitFor();
    await page.getByRole("button", { name: "All spans" }).click();
    await page.getByTestId("row-count").filter({ hasText: "100 spans (scroll for more)" }).waitFor();
    await page.getByTestId("trace-rows").evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.getByTestId("row-count").filter({ hasText: /^124 spans/ }).waitFor();
  });

  await check("traces: the filter box shows syntax errors inline", async () => {
    await page.goto(`${server.base}/projects/${project}?range=all`);
    const box = page.getByLabel("filter condition");
    await box.fill("span_kind == 'LLM");
    await page.locator(".filter-error").filter({ hasText: "unterminated string" }).waitFor();
  });

  await check("traces: filter with the span query language", async () => {
    await page.goto(`${server.base}/projects/${project}?range=all&filter=${encodeURIComponent("status_code == 'ERROR'")}`);
    await page.getByTestId("row-count").filter({ hasText: /^1 traces/ }).waitFor({ timeout: 15_000 });
    const failing = agent.find((t) => t.failing);
    await page.locator(`.trow[data-trace-id="${failing.traceId}"]`).waitFor();
    await shot("traces-filtered");
    await page.goto(`${server.base}/projects/${project}?range=all&mode=spans&filter=${encodeURIComponent("span_kind == 'TOOL'")}`);
    await page.getByTestId("row-count").filter({ hasText: /^31 spans/ }).waitFor({ timeout: 15_000 });
    await page.goto(`${server.base}/projects/${project}?range=all&filter=${encodeURIComponent("llm.model_name")}`);
    await page.locator(".filter-error").waitFor({ timeout: 15_000 });
  });

  await check("traces: a filtered list pages past its first page on the server; tokens sort on the server", async () => {
    const { pagingProject } = data;
    const filter = encodeURIComponent("llm.model_name == 'gpt-4o'");
    await page.goto(`${server.base}/projects/${pagingProject}?range=all&filter=${filter}`);
    await page.getByTestId("row-count").filter({ hasText: "100 traces (scroll for more)" }).waitFor({ timeout: 15_000 });
    await page.getByTestId("trace-rows").evaluate((el) => (el.scrollTop = el.scrollHeight));
    // 150 traces, every fifth one's child span is claude-3: 120 match, all of them listed.
    await page.getByTestId("row-count").filter({ hasText: /^120 traces/ }).waitFor({ timeout: 15_000 });
    expect(!(await page.getByTestId("row-count").innerText()).includes("scroll for more"), "a cursor after the last page");
    await shot("traces-filtered-paged");
    await page.getByRole("button", { name: /^tokens/ }).click();
    await page.waitForURL(/sort=token_count_total/);
    await page.locator(".trow").first().filter({ hasText: "job-149" }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: /^tokens/ }).click();
    await page.waitForURL(/order=asc/);
    await page.locator(".trow").first().filter({ hasText: "job-1 " }).waitFor({ timeout: 15_000 });
    await page.getByTestId("trace-rows").evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.getByTestId("row-count").filter({ hasText: /^120 traces/ }).waitFor({ timeout: 15_000 });
    // The span modes page a filtered list on the server as well: 120 matching LLM spans, no roots.
    await page.getByRole("button", { name: "All spans" }).click();
    await page.getByTestId("row-count").filter({ hasText: "100 spans (scroll for more)" }).waitFor({ timeout: 15_000 });
    await page.getByTestId("trace-rows").evaluate((el) => (el.scrollTop = el.scrollHeight));
    await page.getByTestId("row-count").filter({ hasText: /^120 spans/ }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Root spans" }).click();
    await page.getByTestId("row-count").filter({ hasText: /^0 spans/ }).waitFor({ timeout: 15_000 });
  });

  await check("traces: a custom absolute time range from the picker, kept in the URL", async () => {
    const { pagingProject, pagingStartMs } = data;
    await page.goto(`${server.base}/projects/${pagingProject}?range=all`);
    await page.getByTestId("row-count").filter({ hasText: /^100 traces/ }).waitFor({ timeout: 15_000 });
    await page.getByLabel("time range").selectOption("custom");
    // Traces 10..19 start in [start + 10 min, start + 20 min); the inputs take the browser's local time.
    const local = (ms) =>
      page.evaluate((t) => {
        const d = new Date(t);
        const p = (n) => String(n).padStart(2, "0");
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
      }, ms);
    await page.getByLabel("range start").fill(await local(pagingStartMs + 20 * 60_000));
    await page.getByLabel("range end").fill(await local(pagingStartMs + 10 * 60_000));
    await page.getByRole("button", { name: "Apply" }).click();
    await page.getByRole("alert").filter({ hasText: "the start must be before the end" }).waitFor();
    await page.getByLabel("range start").fill(await local(pagingStartMs + 10 * 60_000));
    await page.getByLabel("range end").fill(await local(pagingStartMs + 20 * 60_000));
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL(/range=[^&]*\.\./);
    await page.getByTestId("row-count").filter({ hasText: /^10 traces( ·|$)/ }).waitFor({ timeout: 15_000 });
    // The deep link holds the range: a reload with a filter keeps both.
    await page.goto(`${page.url()}&filter=${encodeURIComponent("llm.model_name == 'gpt-4o'")}`);
    await page.getByTestId("row-count").filter({ hasText: /^8 traces( ·|$)/ }).waitFor({ timeout: 15_000 });
    expect((await page.getByLabel("time range").inputValue()) === "custom", "the picker does not show the custom range");
    await shot("traces-custom-range");
  });

  const sample = agent[3];
  await check("trace: span tree, waterfall and rendered LLM conversation", async () => {
    await page.goto(`${server.base}/projects/${project}/traces/${sample.traceId}`);
    await page.locator('[role="treeitem"]').nth(3).waitFor();
    const all = await page.locator('[role="treeitem"] .span-name').allInnerTexts();
    expect(all.join(",") === "weather-agent,retrieve-docs,chat-completion,get_weather", `tree is ${all}`);
    expect((await page.locator(".wf-bar").count()) === 4, "waterfall bars missing");
    await page.locator(`[data-span-id="${sample.llmSpanId}"]`).click();
    await page.waitForURL(new RegExp(`span=${sample.llmSpanId}`));
    const conversation = page.getByTestId("conversation");
    await conversation.waitFor();
    const roles = await conversation.locator('[data-testid="message"]').evaluateAll((els) => els.map((e) => e.dataset.role));
    expect(roles.join(",") === "system,user,assistant", `roles ${roles}`);
    expect((await conversation.locator("strong").first().innerText()) === "weather", "system markdown not rendered");
    expect((await conversation.getByTestId("tool-call").innerText()).includes("get_weather"), "tool call missing");
    expect((await page.getByTestId("tokens").innerText()).includes("55"), "token count missing");
    // gpt-4o-mini is in the built-in price table: ingest priced the span.
    expect((await page.getByTestId("cost").innerText()).startsWith("cost $"), "cost missing");
    await shot("trace");
    // Deep link: a reload shows the same span.
    await page.reload();
    await page.getByTestId("conversation").waitFor();
  });

  await check("trace: retrieval documents with scores, exception with stack trace", async () => {
    const retriever = sample.spans[1].spanId;
    await page.goto(`${server.base}/projects/${project}/traces/${sample.traceId}?span=${retriever}`);
    const docs = page.getByTestId("documents");
    await docs.waitFor();
    const text = await docs.innerText();
    expect(text.includes("score 0.920") && text.includes("Umbrella policy"), `documents: ${text}`);
    const failing = agent.find((t) => t.failing);
    await page.goto(`${server.base}/projects/${project}/traces/${failing.traceId}`);
    const exc = page.getByTestId("exceptions");
    await exc.waitFor();
    expect((await exc.innerText()).includes('File "agent.py", line 42'), "stack trace missing");
    await shot("span-exception");
  });

  await check("span: add a human annotation and a note, visible through the REST API", async () => {
    const path = `/v1/projects/${project}/span_annotations?span_ids=${sample.llmSpanId}`;
    if (!(await routeExists(server.base, "GET", path)) || !(await routeExists(server.base, "POST", "/v1/span_annotations?sync=true", { data: [] })))
      throw new Skip("span annotation routes (POST /v1/span_annotations, GET /v1/projects/{id}/span_annotations) are not in this build yet");
    await page.goto(`${server.base}/projects/${project}/traces/${sample.traceId}?span=${sample.llmSpanId}`);
    await page.getByLabel("annotation name").fill("correctness");
    await page.getByLabel("annotation label").fill("correct");
    await page.getByLabel("annotation score").fill("1");
    await page.getByLabel("annotation explanation").fill("checked by a human");
    await page.getByRole("button", { name: "Annotate" }).click();
    await page.getByRole("status").filter({ hasText: "annotation saved" }).waitFor();
    await page.getByTestId("annotation").filter({ hasText: "correctness" }).waitFor();
    const rest = await (await fetch(`${server.base}${path}`)).json();
    const found = rest.data.find((a) => a.name === "correctness");
    expect(found && found.annotator_kind === "HUMAN" && found.result.label === "correct" && found.result.score === 1,
      `REST answer: ${JSON.stringify(rest)}`);
    if (await routeExists(server.base, "POST", "/v1/span_notes", { data: {} })) {
      await page.getByLabel("note").fill("looks right");
      await page.getByRole("button", { name: "Add note" }).click();
      await page.getByRole("status").filter({ hasText: "note saved" }).waitFor();
    }
    await shot("annotations");
  });

  await check("trace: a 10,000-span trace opens, renders only visible rows and scrolls to the end", async () => {
    const url = `${server.base}/projects/${bigProject}/traces/${big.traceId}`;
    const m = await measure(page, url, '[role="treeitem"]');
    bench.big_trace = m;
    const rendered = await page.locator('[role="treeitem"]').count();
    expect(rendered < 200, `${rendered} rows in the DOM`);
    await page.getByTestId("trace-summary").filter({ hasNotText: "loaded" }).waitFor({ timeout: 60_000 });
    expect((await page.getByTestId("trace-summary").innerText()).includes("10,000 spans"), "span count");
    const list = page.getByTestId("span-tree-rows");
    const t0 = Date.now();
    for (let i = 1; i <= 20; i++) {
      await list.evaluate((el, f) => (el.scrollTop = el.scrollHeight * f), i / 20);
      await page.waitForTimeout(16);
    }
    bench.big_trace_scroll_20_steps_ms = Date.now() - t0;
    await page.locator('[role="treeitem"] .span-name', { hasText: big.lastRowName }).first().waitFor();
    expect((await page.locator('[role="treeitem"]').count()) < 200, "rows piled up while scrolling");
    await shot("big-trace");
    await page.getByLabel("search spans").fill(big.someItemName);
    await page.locator('[role="treeitem"] .span-name', { hasText: big.someItemName }).waitFor();
    expect((await page.locator('[role="treeitem"]').count()) === 3, "search shows the match and its ancestors");
  });

  await check("sessions: list and a session read as a conversation", async () => {
    await page.goto(`${server.base}/projects/${project}/sessions`);
    const rows = page.locator('[data-testid="sessions-table"] tbody tr');
    await rows.first().waitFor();
    expect((await rows.count()) === 3, `sessions: ${await rows.count()}`);
    await shot("sessions");
    await rows.first().click();
    const convo = page.getByTestId("session-conversation");
    await convo.locator(".turn").first().waitFor();
    const text = await convo.innerText();
    expect(text.includes("What is the weather") && text.includes("It is sunny"), `session: ${text.slice(0, 200)}`);
    await shot("session");
  });

  await check("empty project: the first-trace snippet with this server's endpoint", async () => {
    await page.goto(`${server.base}/projects/default?range=all`);
    const empty = page.getByTestId("empty-state");
    await empty.waitFor();
    const text = await empty.innerText();
    expect(text.includes(`${server.base}/v1/traces`) && text.includes("phoenix.otel") && text.includes("OTLPSpanExporter"), text);
    await shot("empty-state");
  });

  await check("projects: create, describe, rename and delete", async () => {
    if (!(await routeExists(server.base, "POST", "/v1/projects", {})))
      throw new Skip("POST/PUT/DELETE /v1/projects are not in this build yet");
    await page.goto(`${server.base}/?range=all`);
    await page.getByLabel("new project name").fill("e2e-created");
    await page.getByRole("button", { name: "Create" }).click();
    const row = page.locator('tr[data-project="e2e-created"]');
    await row.waitFor();
    page.once("dialog", (d) => d.accept("made by the e2e suite"));
    await row.getByRole("button", { name: "Describe" }).click();
    await row.filter({ hasText: "made by the e2e suite" }).waitFor();
    const rest = await (await fetch(`${server.base}/v1/projects/e2e-created`)).json();
    expect(rest.data.description === "made by the e2e suite", `REST: ${JSON.stringify(rest)}`);
    page.once("dialog", (d) => d.accept("e2e-renamed"));
    await row.getByRole("button", { name: "Rename" }).click();
    const renamed = page.locator('tr[data-project="e2e-renamed"]');
    await renamed.waitFor();
    const after = await (await fetch(`${server.base}/v1/projects/e2e-renamed`)).json();
    expect(after.data.id === rest.data.id, `rename kept the id: ${JSON.stringify(after)}`);
    expect((await fetch(`${server.base}/v1/projects/e2e-created`)).status === 404, "old name still answers");
    page.once("dialog", (d) => d.accept());
    await renamed.getByRole("button", { name: "Delete" }).click();
    await renamed.waitFor({ state: "detached" });
    expect((await fetch(`${server.base}/v1/projects/e2e-renamed`)).status === 404, "project still there");
  });

  await check("prompts: an empty list, then a prompt's versions and tags; moving a tag in the UI shows in REST", async () => {
    if (!(await routeExists(server.base, "GET", "/v1/prompts")))
      throw new Skip("the prompt routes (/v1/prompts, /v1/prompt_versions/{id}/tags) are not in this build yet");
    await page.goto(`${server.base}/prompts`);
    await page.getByTestId("prompts-empty").waitFor();
    const post = async (path, body) => {
      const res = await fetch(`${server.base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const text = await res.text();
      expect(res.ok, `POST ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : null;
    };
    const version = (content, description) => ({
      prompt: { name: "e2e-support", description: "answers support questions" },
      version: {
        description,
        model_provider: "OPENAI",
        model_name: "gpt-4o-mini",
        template: { type: "chat", messages: [{ role: "system", content: "You help with {{ product }}." }, { role: "user", content }] },
        template_type: "CHAT",
        template_format: "MUSTACHE",
        invocation_parameters: { type: "openai", openai: { temperature: 0.2 } },
      },
    });
    const v1 = (await post("/v1/prompts", version("Hello {{ name }}", "first"))).data.id;
    const v2 = (await post("/v1/prompts", version("Hi {{ name }}, what about {{ topic }}?", "second"))).data.id;
    await post(`/v1/prompt_versions/${encodeURIComponent(v1)}/tags`, { name: "production" });
    await post(`/v1/prompt_versions/${encodeURIComponent(v2)}/tags`, { name: "staging" });

    await page.goto(`${server.base}/prompts`);
    await page.locator('tr[data-prompt="e2e-support"]').click();
    await page.waitForURL(/\/prompts\/e2e-support/);
    const item = (id) => page.locator(`[data-testid="versions"] li[data-version-id="${id}"]`);
    await item(v1).locator('[data-tag="production"]').waitFor();
    await item(v2).locator('[data-tag="staging"]').waitFor();
    expect((await page.locator('[data-testid="versions"] li').count()) === 2, "two versions listed");
    // The newest version is selected: type sample variables, then move "production" onto it.
    await page.getByLabel("variable name").fill("Ada");
    await page.getByTestId("rendered").filter({ hasText: "Hi Ada, what about {{ topic }}?" }).waitFor();
    await page.getByLabel("tag name").fill("production");
    await page.getByRole("button", { name: "Tag this version" }).click();
    await item(v2).locator('[data-tag="production"]').waitFor();
    await item(v1).locator('[data-tag="production"]').waitFor({ state: "detached" });
    const byTag = await (await fetch(`${server.base}/v1/prompts/e2e-support/tags/production`)).json();
    expect(byTag.data?.id === v2, `GET /v1/prompts/e2e-support/tags/production: ${JSON.stringify(byTag)}`);
    const oldTags = await (await fetch(`${server.base}/v1/prompt_versions/${encodeURIComponent(v1)}/tags`)).json();
    expect(!oldTags.data.some((t) => t.name === "production"), `v1 still tagged: ${JSON.stringify(oldTags)}`);
    expect((await page.getByTestId("snippet").innerText()).includes('tag="production"'), "snippet does not fetch by tag");
    await page.getByLabel("compare with version").selectOption(v1);
    await page.getByTestId("diff").locator('[data-kind="added"]').first().waitFor();
    await shot("prompt");
    // The deep link (version, compare, vars) reopens the same view.
    await page.reload();
    await page.getByTestId("diff").waitFor();
    expect((await page.getByLabel("variable name").inputValue()) === "Ada", "sample variables not kept in the URL");
  });

  await check("dark theme", async () => {
    await page.goto(`${server.base}/projects/${project}/traces/${sample.traceId}?span=${sample.llmSpanId}`);
    await page.getByLabel("toggle theme").click();
    expect((await page.evaluate(() => document.documentElement.dataset.theme)) === "dark", "theme not dark");
    await page.getByTestId("conversation").waitFor();
    await shot("trace-dark");
    await page.getByLabel("toggle theme").click();
  });

  await check("no uncaught errors in the page", async () => {
    expect(!pageErrors.length, pageErrors.join("\n"));
  });

  if (args.bench) {
    const fresh = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const runs = { traces: [], big: [] };
    for (let i = 0; i < 5; i++) {
      runs.traces.push(await measure(fresh, `${server.base}/projects/${project}?range=all`, ".trow"));
      runs.big.push(await measure(fresh, `${server.base}/projects/${bigProject}/traces/${big.traceId}`, '[role="treeitem"]'));
    }
    const median = (xs) => xs.map((x) => x).sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const dist = args.dist;
    let bundle = null;
    if (dist && existsSync(join(dist, "assets"))) {
      const html = readFileSync(join(dist, "index.html"), "utf8");
      const initial = readdirSync(join(dist, "assets")).filter((f) => f.endsWith(".js") && html.includes(f));
      const bytes = initial.map((f) => readFileSync(join(dist, "assets", f)));
      bundle = { files: initial, raw_bytes: bytes.reduce((a, b) => a + b.length, 0), gzip_bytes: bytes.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0) };
    }
    console.log(
      "BENCH " +
        JSON.stringify({
          traces_page: { fcp_ms: median(runs.traces.map((r) => r.fcp_ms)), first_row_ms: median(runs.traces.map((r) => r.first_row_ms)) },
          big_trace_10k: { fcp_ms: median(runs.big.map((r) => r.fcp_ms)), first_row_ms: median(runs.big.map((r) => r.first_row_ms)) },
          big_trace_scroll_20_steps_ms: bench.big_trace_scroll_20_steps_ms,
          initial_js: bundle,
          chromium: browser.version(),
        }),
    );
  }
} finally {
  await browser.close();
  await server.stop();
}

writeFileSync(join(out, "results.json"), JSON.stringify(results, null, 2));
const failed = results.filter((r) => r.status === "FAIL");
const skipped = results.filter((r) => r.status === "SKIP");
console.log(`\n${results.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped; screenshots in ${out}`);
for (const f of failed) console.log(`\nFAIL ${f.name}\n${f.reason}`);
process.exit(failed.length ? 1 : 0);
