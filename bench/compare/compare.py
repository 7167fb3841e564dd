#!/usr/bin/env python3
"""Osprey side by side with Arize Phoenix and a raw Postgres COPY, on this machine, in one run (issue #6).

Runs each system alone, one after the other, on 127.0.0.1 ports it picks:
  osprey-embedded     `osprey` all-in-one, SQLite, in-process bus
  osprey-distributed  deploy/local/start: Kafka, Postgres, osprey-writer, osprey-ingest, osprey-query
  phoenix-sqlite      `phoenix serve` (the pinned arize-phoenix) with its default SQLite
  phoenix-postgres    the same with PHOENIX_SQL_DATABASE_URL on a private Postgres from deploy/postgres
and sends each the same OTLP load from bench/loadgen (osprey-loadgen):
  a-grpc, a-http      (a) OpenInference LLM traces, ~1.7 KB spans, 5-10 spans/trace, max rate, 8 connections
  b-large             (b) the same with 1 span in 50 carrying a 100 KB-1 MB message, max rate
  c-<rate>            (c) 20 connections at a fixed offered rate (open loop), several rates
  query               a reproducible data set (fixed seed, fixed request split, retries) for the query side
After each phase it waits (bounded) until the system stops adding spans, then walks the system's REST API
(GET /v1/projects/{p}/spans, every page) and compares what it lists with what the generator saw
acknowledged. Then it times the read queries on the query data set and, for osprey-distributed, a raw
server-side COPY of the a-grpc rows into a copy of Osprey's spans table.

Writes results.json and a PNG plot into --out, prints a table, and (--doc) rewrites the section between
the markers in docs/benchmarks.md. Invoked by bench/run-all (full) and `make bench` (--profile short).
"""
import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "query"))
from measure import percentile  # noqa: E402  (bench/query/measure.py)
import grow  # noqa: E402  (bench/compare/grow.py: the query data set grown inside each database)
from db import PG_BIN, Postgres, psql  # noqa: E402  (bench/compare/db.py)
BEGIN_MARK = "<!-- bench:results:begin (written by bench/compare/compare.py; edits inside are overwritten) -->"
END_MARK = "<!-- bench:results:end -->"

# query_spans: the seed of the query data set, sent through OTLP; query_target: the data set's size after it is
# grown inside each system's database (bench/compare/grow.py); query_target_pg: grown once more on the two
# Postgres systems after the ingest phases (0: not).
PROFILES = {
    # make bench: < 10 minutes on the 2-core machine. Phoenix stores ~50-500 spans/s here, so a phase's settle
    # wait is short and the backlog is recounted at the end of the system's run (final_settle).
    # The query data set at 250k spans, not 1M: grown to 1M the run took 22.8 min (500k: 15.5 min) with the build on
    # the machine under load 5-9, about twice the 10 minutes; the clone, the checks and Phoenix's slowest queries
    # grow with the size (docs/benchmarks.md).
    "short": dict(seconds=3, rates=[500, 2000, 8000], rate_seconds=3, query_spans=1_000, query_target=250_000,
                  query_target_pg=0, query_repetitions=200, query_seconds=4, settle_timeout=10, stall_seconds=5,
                  query_settle_timeout=120, final_settle=20),
    # bench/run-all: longer phases, more offered rates, 1M spans per system, 10M on Postgres. It must fit one
    # 3-hour working session, and Phoenix sets the pace: it stores ~50-80 spans/s through OTLP here, so the seed
    # is 10k spans (~3 min each; 100k took ~30 min per Phoenix system) grown 100x and 1000x, and a phase waits at
    # most 60 s for Phoenix's backlog (it stores steadily, so the stall rule never ends the wait early; 120 s
    # added 20 min per Phoenix system). Osprey settles within seconds either way. A query is sampled up to 2,000
    # times within its 20 s: 200 took Osprey under a second, so a p99 was the second-slowest of a burst
    # (2026-11-30's full run: embedded p99s 2-5x the same queries' in an earlier run).
    "full": dict(seconds=30, rates=[250, 500, 1000, 2000, 4000, 8000, 12000], rate_seconds=20,
                 query_spans=10_000, query_target=1_000_000, query_target_pg=10_000_000, query_repetitions=2000,
                 query_seconds=20, settle_timeout=60, stall_seconds=20, query_settle_timeout=3600, final_settle=300),
}

SYSTEMS = ["osprey-embedded", "osprey-distributed", "phoenix-sqlite", "phoenix-postgres"]


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------------------------------------- memory

def children_of():
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def process_tree(pid):
    kids = children_of()
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(kids.get(p, []))
    return tree


def memory_kib(pid):
    """PSS summed over a process and its children (Postgres backends, a JVM wrapper): memory shared between
    processes (Postgres' shared buffers) or mapped twice in one (SQLite maps its file once per connection, so
    osprey's VmRSS counted each read page up to five times) is counted once."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total


def cpu_seconds(pid):
    """CPU time (user + system) of a process tree so far, including its reaped children (Postgres backends)."""
    ticks = 0
    for i, p in enumerate(process_tree(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if i == 0 else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """Samples every component's memory every 0.5 s in a thread (keeps the maximum per component) and
    measures the CPU time each component used while it ran."""

    def __init__(self, components):
        self.components = components
        self.peak = {name: 0 for name in components}
        self.cpu_start = {name: cpu_seconds(pid) for name, pid in components.items() if pid}
        self.cpu = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            for name, pid in self.components.items():
                if pid:
                    self.peak[name] = max(self.peak[name], memory_kib(pid))
            if self._stop.wait(0.5):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.cpu = {name: round(cpu_seconds(pid) - self.cpu_start[name], 2)
                    for name, pid in self.components.items() if pid}

    def mib(self):
        return {name: round(kib / 1024) for name, kib in self.peak.items()}


# ---------------------------------------------------------------------------------------------- HTTP

class Rest:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port, reopened after an error."""

    def __init__(self, port, timeout=300):
        self.port, self.timeout, self.conn = port, timeout, None

    def request(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, data = self.request(method, path, None if body is None else json.dumps(body), headers)
        return status, (json.loads(data) if data and data[:1] in (b"{", b"[") else None)


def wait_http(port, path, timeout_s, alive=lambda: True):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not alive():
            return False
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def walk_spans(port, project):
    """Every span GET /v1/projects/{project}/spans lists, page by page: (listed, {span id: (trace id, parent id,
    prompt tokens, completion tokens)} of the distinct spans; tokens of LLM spans, from their attributes)."""
    rest = Rest(port)
    base = f"/v1/projects/{urllib.parse.quote(project, safe='')}/spans"
    cursor, listed, spans = None, 0, {}
    while True:
        query = {"limit": 1000}
        if cursor:
            query["cursor"] = cursor
        status, page = rest.json("GET", base + "?" + urllib.parse.urlencode(query))
        if status == 404 and cursor is None:
            break
        if status != 200:
            raise RuntimeError(f"GET {base} -> {status}")
        listed += len(page["data"])
        for span in page["data"]:
            llm = span.get("span_kind") == "LLM"
            tokens = [int(span.get("attributes", {}).get(f"llm.token_count.{k}") or 0) if llm else 0
                      for k in ("prompt", "completion")]
            spans[span["context"]["span_id"]] = (span["context"]["trace_id"], span.get("parent_id"), *tokens)
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return listed, spans


# ---------------------------------------------------------------------------------------------- systems

def postmaster_pid(pg_dir):
    try:
        return int((Path(pg_dir) / "data" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def stop_process(proc, grace_s=20):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class System:
    name = ""
    peer = ""  # the system it is compared with
    grpc_port = http_port = rest_port = 0
    http_path = "/v1/traces"
    poll_seconds = 0.25  # how often settle() asks stored(); each ask is a query on the system

    def components(self):
        return {}

    def stored(self, project=None):
        """The spans the system has stored for `project` (all projects: None), counted in its own database."""
        raise NotImplementedError

    def totals(self, rest):
        """One request for the project's totals (trace count, token counts): returns (status, ok)."""
        raise NotImplementedError

    def api_totals(self, project):
        """The project's totals as the system's API reports them: {traces, prompt, completion, cost[, spans]}."""
        raise NotImplementedError

    def growth(self):
        """A grow.Growth on the system's database (open it for writing: call between pause and resume)."""
        raise NotImplementedError

    def pause(self):
        """Before the query data set is grown in the database: stop what would write to it or cache it."""

    def resume(self):
        """After the growth: start again what pause() stopped."""

    def versions(self):
        return {}


class OspreyEmbedded(System):
    name, peer = "osprey-embedded", "phoenix-sqlite"

    def __init__(self, build, state):
        self.build, self.state, self.proc = build, state / "osprey-embedded", None

    def start(self):
        self.state.mkdir(parents=True)
        (self.state / "config.yaml").write_text(f"""data_dir: {self.state}/data
log: {{level: warn}}
ingest: {{grpc_listen: "127.0.0.1:0", http_listen: "127.0.0.1:0", max_request_bytes: 67108864, inflight_bytes: 268435456}}
query: {{listen: "127.0.0.1:0"}}
writer: {{admin_listen: "127.0.0.1:0"}}
store: {{kind: sqlite, sqlite: {{synchronous: normal}}}}
bus: {{kind: inprocess}}
""")
        self.launch()

    def launch(self):
        ports = self.state / "ports.json"
        ports.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [str(self.build / "apps/osprey/osprey"), "--target=all", f"--config={self.state / 'config.yaml'}",
             f"--data-dir={self.state}/data", f"--ports-file={ports}"],
            stdout=open(self.state / "osprey.log", "a"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not ports.exists():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("osprey did not start: " + (self.state / "osprey.log").read_text()[-2000:])
            time.sleep(0.1)
        p = json.loads(ports.read_text())
        self.grpc_port, self.http_port, self.rest_port = p["ingest_grpc"], p["ingest_http"], p["query_http"]
        if not wait_http(self.rest_port, "/readyz", 60, lambda: self.proc.poll() is None):
            raise RuntimeError("osprey not ready")

    def stop(self):
        stop_process(self.proc)

    def pause(self):  # the clone writes the SQLite file osprey owns: stop osprey
        self.stop()

    def resume(self):
        self.launch()

    def growth(self):
        return grow.OspreyGrowth(grow.sqlite(self.state / "data" / "osprey.db"), "bench-query")

    def api_totals(self, project):
        status, body = Rest(self.rest_port).json("GET", "/osprey/v1/project_totals")
        if status != 200:
            raise RuntimeError(f"GET /osprey/v1/project_totals -> {status}")
        p = next(p for p in body["data"] if p["name"] == project)
        return {"traces": p["trace_count"], "spans": p["span_count"], "prompt": p["token_count_prompt"],
                "completion": p["token_count_completion"], "cost": p["cost_total"] or 0.0}

    def components(self):
        return {"osprey": self.proc.pid}

    def stored(self, project=None):
        with sqlite3.connect(f"file:{self.state}/data/osprey.db?mode=ro", uri=True, timeout=30) as db:
            if project is None:
                return db.execute("SELECT count(*) FROM spans").fetchone()[0]
            # The traces' span_count rollup is committed in the same transaction as the spans, so it is the
            # project's stored span count, read from ~1/7 of the rows (a count(*) of spans every poll took
            # CPU from the writer it waits for).
            return db.execute("SELECT coalesce(sum(t.span_count), 0) FROM traces t JOIN projects p ON p.id = t.project_id "
                              "WHERE p.name = ?", (project,)).fetchone()[0]

    def totals(self, rest):
        # The projects' rollups (migration 0007): the same fields as Phoenix's GraphQL request below.
        status, body = rest.json("GET", "/osprey/v1/project_totals")
        return status, status == 200 and any(p["name"] == "bench-query" and p["trace_count"] > 0 for p in body["data"])


class OspreyDistributed(OspreyEmbedded):
    name, peer = "osprey-distributed", "phoenix-postgres"

    def __init__(self, build, state):
        self.build, self.state = build, state / "osprey-distributed"
        self.env = None

    def start(self):
        self.state.mkdir(parents=True)
        os.chmod(self.state, 0o755)
        self.grpc_port, self.http_port, self.rest_port = free_port(), free_port(), free_port()
        self.pg_port = free_port()
        self.env = dict(os.environ, OSPREY_BUILD_DIR=str(self.build), OSPREY_LOCAL_GRPC_PORT=str(self.grpc_port),
                        OSPREY_LOCAL_HTTP_PORT=str(self.http_port), OSPREY_LOCAL_QUERY_PORT=str(self.rest_port),
                        OSPREY_LOCAL_KAFKA_PORT=str(free_port()), OSPREY_LOCAL_PG_PORT=str(self.pg_port))
        started = subprocess.run([str(ROOT / "deploy/local/start"), str(self.state)], env=self.env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if started.returncode != 0:
            raise RuntimeError("deploy/local/start failed: " + started.stderr[-1500:])
        if not wait_http(self.rest_port, "/readyz", 60):
            raise RuntimeError("osprey-query not ready")

    def stop(self):
        subprocess.run([str(ROOT / "deploy/local/stop"), str(self.state)], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # Grown while idle: the writer has nothing to write (every span of the seed is stored), neither it nor
    # osprey-query caches rows, and ANALYZE invalidates the plans their connections prepared.
    def pause(self):
        pass

    def resume(self):
        pass

    def growth(self):
        return grow.OspreyGrowth(Postgres(self.pg_port, "osprey"), "bench-query")

    def components(self):
        """Every process deploy/local started: one per service (<service>.pid), Kafka and Postgres."""
        out = {f.stem: int(f.read_text().strip()) for f in sorted(self.state.glob("*.pid"))}
        kafka = self.state / "kafka" / "kafka.pid"
        out["kafka"] = int(kafka.read_text().strip()) if kafka.exists() else 0
        out["postgres"] = postmaster_pid(self.state / "postgres")
        return out

    def stored(self, project=None):
        if project is None:
            return int(psql(self.pg_port, "SELECT count(*) FROM spans"))
        # As OspreyEmbedded.stored: the traces' span_count rollup, committed with the spans.
        return int(psql(self.pg_port, "SELECT coalesce(sum(t.span_count), 0) FROM traces t JOIN projects p "
                                      f"ON p.id = t.project_id WHERE p.name = '{project}'"))

    def raw_copy(self, project):
        """Server-side COPY of `project`'s span rows (exported to a binary file) into a same-shape table."""
        dump = self.state / "postgres" / "spans.copy"
        psql(self.pg_port, "COPY (SELECT s.* FROM spans s JOIN projects p ON p.id = s.project_id "
                           f"WHERE p.name = '{project}') TO '{dump}' (FORMAT binary)")
        psql(self.pg_port, "CREATE TABLE spans_rawcopy (LIKE spans INCLUDING ALL)")
        # Timed by the server round trip psql reports (\\timing), not by starting psql.
        out = psql(self.pg_port, "\\timing on", extra=[f"--command=COPY spans_rawcopy FROM '{dump}' (FORMAT binary)"])
        seconds = float(re.findall(r"Time: ([0-9.]+) ms", out)[-1]) / 1000
        rows = int(psql(self.pg_port, "SELECT count(*) FROM spans_rawcopy"))
        avg = psql(self.pg_port, "SELECT round(avg(pg_column_size(s.*))) FROM spans_rawcopy s")
        return {"rows": rows, "seconds": round(seconds, 3), "spans_per_second": round(rows / seconds),
                "avg_row_bytes": int(float(avg or 0))}


class Phoenix(System):
    def __init__(self, venv, state, postgres):
        self.venv, self.postgres = venv, postgres
        self.name = "phoenix-postgres" if postgres else "phoenix-sqlite"
        self.peer = "osprey-distributed" if postgres else "osprey-embedded"
        self.state, self.proc, self.pg_dir, self.pg_port = state / self.name, None, None, 0

    def start(self):
        self.state.mkdir(parents=True)
        os.chmod(self.state, 0o755)
        self.grpc_port = free_port()
        self.http_port = self.rest_port = free_port()
        # Loopback only, and none of the features that reach out to the internet at startup (docs MCP server,
        # WASM sandbox download, telemetry); ingestion and the REST API are untouched.
        env = dict(os.environ, PHOENIX_WORKING_DIR=str(self.state / "phoenix"), PHOENIX_HOST="127.0.0.1",
                   PHOENIX_PORT=str(self.http_port), PHOENIX_GRPC_PORT=str(self.grpc_port),
                   PHOENIX_TELEMETRY_ENABLED="false", PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
                   PHOENIX_DISABLE_AGENT_ASSISTANT="true", PHOENIX_ALLOWED_SANDBOX_PROVIDERS="NONE")
        env.pop("PHOENIX_SQL_DATABASE_URL", None)
        env.pop("PHOENIX_COLLECTOR_ENDPOINT", None)
        if self.postgres:
            self.pg_dir, self.pg_port = self.state / "postgres", free_port()
            subprocess.run([str(ROOT / "deploy/postgres/start"), str(self.pg_dir), str(self.pg_port)], check=True,
                           stdout=subprocess.DEVNULL)
            psql(self.pg_port, "CREATE DATABASE phoenix", db="postgres")
            env["PHOENIX_SQL_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{self.pg_port}/phoenix"
        self.env = env
        self.launch()

    def launch(self):
        self.proc = subprocess.Popen([str(self.venv / "bin/python"), str(ROOT / "bench/compare/phoenix_serve.py")],
                                     env=self.env, cwd=self.state,
                                     stdout=open(self.state / "phoenix.log", "a"), stderr=subprocess.STDOUT)
        if not wait_http(self.http_port, "/healthz", 180, lambda: self.proc.poll() is None):
            raise RuntimeError("phoenix did not start: " + (self.state / "phoenix.log").read_text()[-3000:])

    # Phoenix caches what its GraphQL API reports (record and token counts, for up to an hour) and drops those
    # caches only on its own inserts: it is stopped while the database grows and started again after.
    def pause(self):
        stop_process(self.proc)

    def resume(self):
        self.launch()

    def growth(self):
        if self.postgres:
            db = Postgres(self.pg_port, "phoenix")
        else:
            db = grow.sqlite(self.state / "phoenix" / "phoenix.db")
        return grow.PhoenixGrowth(db, "bench-query")

    GRAPHQL_CHECK = ("query { projects { edges { node { name traceCount recordCount tokenCountPrompt "
                     "tokenCountCompletion costSummary { total { cost } } } } } }")

    def api_totals(self, project):
        status, body = Rest(self.rest_port).json("POST", "/graphql", {"query": self.GRAPHQL_CHECK})
        if status != 200 or body.get("errors"):
            raise RuntimeError(f"POST /graphql -> {status}: {str(body)[:300]}")
        p = next(e["node"] for e in body["data"]["projects"]["edges"] if e["node"]["name"] == project)
        return {"traces": p["traceCount"], "spans": p["recordCount"], "prompt": int(p["tokenCountPrompt"]),
                "completion": int(p["tokenCountCompletion"]), "cost": p["costSummary"]["total"]["cost"] or 0.0}

    def stop(self):
        stop_process(self.proc)
        if self.pg_dir:
            subprocess.run([str(ROOT / "deploy/postgres/stop"), str(self.pg_dir)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def components(self):
        out = {"phoenix": self.proc.pid}
        if self.pg_dir:
            out["postgres"] = postmaster_pid(self.pg_dir)
        return out

    poll_seconds = 1.0  # Phoenix commits every ~0.1-3 s anyway
    GRAPHQL_TOTALS = ("query { projects { edges { node { name traceCount recordCount tokenCountTotal "
                      "tokenCountPrompt tokenCountCompletion } } } }")
    # Counted in Phoenix's own database: its GraphQL recordCount is cached and lags behind the inserts.
    COUNT_SQL = ("SELECT count(*) FROM spans s JOIN traces t ON t.id = s.trace_rowid "
                 "JOIN projects p ON p.id = t.project_rowid WHERE p.name = {}")

    def stored(self, project=None):
        if project is None:
            sql, params = "SELECT count(*) FROM spans", ()
        else:
            sql, params = self.COUNT_SQL, (project,)
        if self.postgres:
            return int(psql(self.pg_port, sql.format(*(f"'{p}'" for p in params)), db="phoenix"))
        with sqlite3.connect(f"file:{self.state}/phoenix/phoenix.db?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql.format(*("?" for _ in params)), params).fetchone()[0]

    def totals(self, rest):
        status, body = rest.json("POST", "/graphql", {"query": self.GRAPHQL_TOTALS})
        ok = status == 200 and not body.get("errors") and any(
            e["node"]["name"] == "bench-query" and e["node"]["traceCount"] > 0 for e in body["data"]["projects"]["edges"])
        return status, ok

    def versions(self):
        out = subprocess.run([str(self.venv / "bin/python"), "-c",
                              "import importlib.metadata as m; print(m.version('arize-phoenix'))"],
                             capture_output=True, text=True)
        return {"arize-phoenix": out.stdout.strip()}


# ---------------------------------------------------------------------------------------------- phases

def run_loadgen(loadgen, system, args, project, protocol, timeout_s):
    target = f"127.0.0.1:{system.grpc_port if protocol == 'grpc' else system.http_port}"
    cmd = [str(loadgen), "--target", target, "--protocol", protocol, "--http-path", system.http_path,
           "--project", project, "--json"] + [str(a) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if not out.stdout.strip():
        raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr[-500:]}")
    report = json.loads(out.stdout)
    report["command"] = " ".join(cmd)
    return report


def settle(system, project, acked, timeout_s, stall_s):
    """Polls the project's stored count until it reaches `acked`, or the system stops storing anything (its
    total count unchanged for `stall_s`; it may still be draining an earlier phase's backlog), or `timeout_s`
    passes. Returns (count, time when the project's count last grew)."""
    deadline = time.time() + timeout_s
    last, last_change, total, total_change = -1, time.time(), -1, time.time()
    while True:
        count, all_spans = system.stored(project), system.stored()
        now = time.time()
        if count != last:
            last, last_change = count, now
        if all_spans != total:
            total, total_change = all_spans, now
        if count >= acked or now - total_change > stall_s or now > deadline:
            return count, last_change
        time.sleep(system.poll_seconds)


def ingest_phase(system, loadgen, profile, name, protocol, args, timeout_s, settle_timeout=None):
    project = f"bench-{name}"
    log(f"{system.name} {name}: {protocol} {' '.join(map(str, args))} (load {loadavg()})")
    with MemorySampler(system.components()) as memory:
        t0 = time.time()
        report = run_loadgen(loadgen, system, args, project, protocol, timeout_s)
        t_sent = time.time()
        acked = report["spans"]["acked"]
        # With settle_timeout (the query data set) every acknowledged span is waited for, bounded by that timeout
        # only: a pause in Phoenix's commits on the loaded machine is no reason to stop waiting.
        stored, t_stored = settle(system, project, acked, settle_timeout or profile["settle_timeout"],
                                  settle_timeout or profile["stall_seconds"])
    listed, spans = walk_spans(system.rest_port, project)
    visible = len(spans)
    lat = report["ack_latency_ms"]
    result = {
        "phase": name, "protocol": protocol, "offered": report["rate"], "concurrency": report["concurrency"],
        "spans_per_request": report["spans_per_request"], "sent": report["spans"]["sent"], "acked": acked,
        "failed": report["spans"]["failed"], "rejected": report["spans"]["rejected"], "large": report["spans"]["large"],
        "errors": report["errors"], "retries": report.get("retries", 0),
        "acked_per_s": report["spans_per_second"], "send_seconds": round(t_sent - t0, 2),
        "visible": visible, "listed": listed, "duplicates_listed": listed - visible,
        "acked_but_lost": max(0, acked - visible), "settle_seconds": round(max(0.0, t_stored - t_sent), 2),
        "stored_at_settle": stored,
        "settled": stored >= acked,
        # From the generator's first request (its own clock, without process start-up) to the last growth.
        "e2e_per_s": round(min(acked, stored) / max(1e-9, report["elapsed_s"] + max(0.0, t_stored - t_sent))),
        "ack_p50_ms": lat["p50"], "ack_p99_ms": lat["p99"], "ack_p999_ms": lat["p999"],
        "memory_mib": memory.mib(), "cpu_s": memory.cpu, "command": report["command"], "load": loadavg(),
    }
    if "latency_from_schedule_ms" in report:
        s = report["latency_from_schedule_ms"]
        result.update(sched_p50_ms=s["p50"], sched_p99_ms=s["p99"], sched_p999_ms=s["p999"])
    log(f"{system.name} {name}: acked {acked} ({result['acked_per_s']:.0f}/s), visible {visible}, "
        f"e2e {result['e2e_per_s']}/s, lost {result['acked_but_lost']}, p99 {lat['p99']:.1f} ms, "
        f"memory {result['memory_mib']}, cpu {result['cpu_s']}")
    return result, spans


def final_recount(system, entry, profile):
    """After the last ingest phase: waits (bounded by final_settle) until every phase's project holds its
    acknowledged spans or none grew for 2 × stall_seconds, then records each phase's stored count. Spans stored
    after their phase's settle wait are `late`; acknowledged spans stored nowhere by then are `acked_but_lost`
    (for a system that acknowledges before storing, they may still sit in its memory: not durable)."""
    phases = [p for p in entry["phases"] if p["phase"] != "query"]
    deadline = time.time() + profile["final_settle"]
    last, last_change = None, time.time()
    while True:
        counts = {p["phase"]: system.stored(f"bench-{p['phase']}") for p in phases}
        now = time.time()
        if counts != last:
            last, last_change = counts, now
        done = all(counts[p["phase"]] >= p["acked"] for p in phases)
        if done or now - last_change > 2 * profile["stall_seconds"] or now > deadline:
            break
        time.sleep(1)
    for p in phases:
        p["stored_at_end"] = counts[p["phase"]]
        p["late"] = max(0, min(p["acked"], counts[p["phase"]]) - p["visible"])
        p["acked_but_lost"] = max(0, p["acked"] - max(p["visible"], counts[p["phase"]]))
    log(f"{system.name}: stored at the end of the run " + ", ".join(f"{k} {v}" for k, v in counts.items()))


def time_queries(system, profile, trace_ids, copies, seed):
    """Times the read queries on the bench-query project over one keep-alive connection, sequentially. Trace
    details ask for random traces of the grown data set: copy c of a random seed trace."""
    rest = Rest(system.rest_port)
    rng = random.Random(seed)
    p = "/v1/projects/bench-query"
    traces = sorted(trace_ids)

    def any_trace():
        return grow.clone_id(rng.choice(traces), rng.randrange(copies))

    def ok_list(status, body):
        return status == 200 and body is not None and len(body.get("data", [])) > 0

    queries = {
        "trace_list": (lambda: ("GET", f"{p}/traces?limit=50", None), ok_list),
        "trace_spans": (lambda: ("GET", f"{p}/spans?trace_id={any_trace()}&limit=100", None), ok_list),
        "spans_kind": (lambda: ("GET", f"{p}/spans?span_kind=LLM&limit=100", None), ok_list),
        "spans_attribute": (lambda: ("GET", f"{p}/spans?attribute=llm.model_name:gpt-4o-mini&limit=100", None),
                            ok_list),
        "project_totals": (None, None),
    }
    out = {}
    if not traces:
        log(f"{system.name}: no query data visible; queries skipped")
        return out
    for name, (make, check) in queries.items():
        samples, failures = [], 0
        deadline = time.time() + profile["query_seconds"]
        for i in range(3 + profile["query_repetitions"]):
            t0 = time.perf_counter()
            if make is None:
                status, good = system.totals(rest)
            else:
                method, path, body = make()
                status, data = rest.json(method, path, body)
                good = check(status, data)
            ms = (time.perf_counter() - t0) * 1000
            if not good:
                failures += 1
                if failures > 3:
                    break
                continue
            if i >= 3:
                samples.append(ms)
            if time.time() > deadline and len(samples) >= 10:
                break
        samples.sort()
        out[name] = {"n": len(samples), "failures": failures, "p50_ms": round(percentile(samples, 0.5), 2),
                     "p99_ms": round(percentile(samples, 0.99), 2), "max_ms": round(samples[-1], 2) if samples else None}
        log(f"{system.name} query {name}: {out[name]}")
    return out


def grow_query_data(system, seed_spans, growth, copies_done, copies):
    """Grows the bench-query project from `copies_done` to `copies` copies of its seed inside the system's own
    database (bench/compare/grow.py; the system paused meanwhile), runs ANALYZE (Postgres: VACUUM ANALYZE),
    digests the stored spans, and checks the system against what ingesting the copies would have given: the
    digest against the one expected from the REST-listed seed, the API's project totals against `copies` times
    the seed's, and a few cloned traces listed by REST against their seed trace. `growth` keeps the seed's
    bounds between calls."""
    out = {"copies": copies, "spans": copies * len(seed_spans)}
    log(f"{system.name}: growing the query data set to {out['spans']:,} spans ({copies} copies of the seed)")
    system.pause()
    try:
        g = system.growth()
        try:
            if "seed" not in growth:
                growth["seed"] = g.read_seed()
                growth["seed_mismatches"] = g.mismatches()
            g.seed = growth["seed"]
            # The copies need about the database's size per stored span times the spans they add.
            stored_spans = int(g.db.rows("SELECT count(*) FROM spans")[0][0])
            need = g.db.size_bytes() * (copies - copies_done) * growth["seed"]["spans"] / max(1, stored_spans)
            free = shutil.disk_usage(system.state).free
            if need * 1.2 + 2e9 > free:
                out.update(skipped=f"not enough disk: ~{need / 1e9:.0f} GB needed, {free / 1e9:.0f} GB free",
                           copies=copies_done, spans=copies_done * len(seed_spans))
                log(f"{system.name}: growth skipped: {out['skipped']}")
                return out
            t = time.time()
            g.grow(copies_done, copies)
            out["clone_seconds"] = round(time.time() - t, 1)
            t = time.time()
            g.analyze()
            out["analyze_seconds"] = round(time.time() - t, 1)
            t = time.time()
            out["digest"] = g.digest()
            out["digest_seconds"] = round(time.time() - t, 1)
            t = time.time()
            out["mismatches"] = g.mismatches()
            out["check_seconds"] = round(time.time() - t, 1)
        finally:
            g.db.close()
    finally:
        t = time.time()
        system.resume()
        out["restart_seconds"] = round(time.time() - t, 1)
    out["seed_mismatches"] = growth["seed_mismatches"]
    out["expected_digest"] = grow.expected_digest(tuple(sorted((s, v[0], v[1]) for s, v in seed_spans.items())),
                                                  copies)
    out["expected_totals"] = {
        "traces": copies * len({v[0] for v in seed_spans.values()}), "spans": copies * len(seed_spans),
        "prompt": copies * sum(v[2] for v in seed_spans.values()),
        "completion": copies * sum(v[3] for v in seed_spans.values()), "cost": copies * growth["seed"]["cost"]}
    out["api_totals"] = got = system.api_totals("bench-query")
    out["api_totals_wrong"] = [k for k, v in got.items()
                               if abs(v - out["expected_totals"][k]) > 1e-6 * max(1.0, abs(out["expected_totals"][k]))]
    # REST lists cloned traces with the seed trace's spans and parents.
    rest, rng, bad = Rest(system.rest_port), random.Random(11), 0
    seed_traces = sorted({v[0] for v in seed_spans.values()})
    for _ in range(5):
        trace, c = rng.choice(seed_traces), rng.randrange(copies)
        want = {(grow.clone_id(s, c), grow.clone_id(v[1], c)) for s, v in seed_spans.items() if v[0] == trace}
        status, body = rest.json("GET", f"/v1/projects/bench-query/spans?trace_id={grow.clone_id(trace, c)}&limit=1000")
        have = {(x["context"]["span_id"], x.get("parent_id")) for x in body["data"]} if status == 200 else set()
        bad += have != want
    out["rest_traces_wrong"] = bad
    out["consistent"] = (out["digest"] == out["expected_digest"] and not out["api_totals_wrong"] and not bad
                         and not any(out["mismatches"].values()) and not any(out["seed_mismatches"].values()))
    log(f"{system.name}: {out['spans']:,} spans: clone {out['clone_seconds']} s, ANALYZE {out['analyze_seconds']} s, "
        f"digest {out['digest']} (expected {out['expected_digest']}), rollup mismatches {out['mismatches']} "
        f"(seed {out['seed_mismatches']}), API totals {got} (wrong: {out['api_totals_wrong']}), "
        f"REST traces wrong {bad}, restart {out['restart_seconds']} s")
    return out


def run_system(system, loadgen, profile, results):
    entry = {"phases": [], "queries": {}, "error": None}
    results["systems"][system.name] = entry
    t0 = time.time()
    try:
        log(f"starting {system.name}")
        system.start()
        entry["start_seconds"] = round(time.time() - t0, 1)
        entry["versions"] = system.versions()
        # First the query data set, on an idle system: the same spans on every system (fixed seed and request
        # split), retried until accepted and waited for until stored, so the queries run on identical data.
        requests = profile["query_spans"] // 50
        phase, seed_spans = ingest_phase(
            system, loadgen, profile, "query", "grpc",
            ["--rate", 0, "--concurrency", 4, "--spans-per-request", 50, "--duration", 3600, "--max-requests",
             requests, "--seed", 4242, "--retries", 60, "--timeout-ms", 60000], 3600 + 300,
            settle_timeout=profile["query_settle_timeout"])
        phase.update(stored_at_end=phase["stored_at_settle"], late=0)
        entry["phases"].append(phase)
        entry["query_data_digest"] = hashlib.sha256("\n".join(sorted(seed_spans)).encode()).hexdigest()[:16]
        entry["query_data_visible"] = len(seed_spans)
        seed_traces = {v[0] for v in seed_spans.values()}
        # Then grown to the profile's size inside the system's own database (every system the same copies).
        growth, copies = {}, max(1, profile["query_target"] // profile["query_spans"])
        entry["query_data"] = grow_query_data(system, seed_spans, growth, 1, copies)
        copies = entry["query_data"]["copies"]
        entry["queries"] = time_queries(system, profile, seed_traces, copies, seed=7)
        # Then the ingest phases, each into its own project.
        sec, cap = profile["seconds"], profile["seconds"] + 120
        base = ["--rate", 0, "--concurrency", 8, "--spans-per-request", 50]
        for name, protocol, args in [
            ("a-grpc", "grpc", base + ["--duration", sec]),
            ("a-http", "http", base + ["--duration", sec]),
            ("b-large", "grpc", ["--rate", 0, "--concurrency", 8, "--spans-per-request", 10, "--duration", sec,
                                 "--large-every", 20, "--large-bytes", 100 * 1024, "--large-bytes-max", 1024 * 1024]),
        ] + [(f"c-{rate}", "grpc", ["--rate", rate, "--concurrency", 20, "--spans-per-request", 50, "--duration",
                                     profile["rate_seconds"]]) for rate in profile["rates"]]:
            phase, _ = ingest_phase(system, loadgen, profile, name, protocol, args, cap)
            entry["phases"].append(phase)
        final_recount(system, entry, profile)
        if isinstance(system, OspreyDistributed):
            log("raw COPY of the a-grpc rows")
            entry["raw_copy"] = system.raw_copy("bench-a-grpc")
            log(f"raw COPY: {entry['raw_copy']}")
        # The full run grows the Postgres systems' query data set again (after the ingest phases, which ran on
        # the smaller one) and times the queries once more.
        big = profile.get("query_target_pg", 0) // profile["query_spans"]
        if big > copies and system.name in ("osprey-distributed", "phoenix-postgres"):
            entry["query_data_pg"] = grow_query_data(system, seed_spans, growth, copies, big)
            if "skipped" not in entry["query_data_pg"]:
                entry["queries_pg"] = time_queries(system, profile, seed_traces, big, seed=7)
    except Exception as exc:  # a system that fails is reported, the others still run
        entry["error"] = f"{type(exc).__name__}: {exc}"[:2000]
        log(f"{system.name} FAILED: {entry['error']}")
    finally:
        system.stop()
        entry["seconds"] = round(time.time() - t0, 1)
        if os.environ.get("OSPREY_BENCH_KEEP") != "1":  # a grown data set takes GBs: free them for the next
            shutil.rmtree(system.state, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- report

def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gib": mem, "kernel": platform.release()}


def versions(build):
    def cmd(args):
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
        except OSError:
            return "?"
    return {
        "osprey": cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]) +
                  (" (+ uncommitted changes)" if cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]) else ""),
        "postgres": cmd([str(PG_BIN / "postgres"), "--version"]),
        "sqlite": cmd(["sqlite3", "--version"]).split(" ")[0] or "?",
        "kafka": "4.1.1 (deploy/kafka)",
        "compiler": cmd(["c++", "--version"]).splitlines()[0] if cmd(["c++", "--version"]) else "?",
        "python": platform.python_version(),
    }


def phase_of(results, system, phase):
    for p in results["systems"].get(system, {}).get("phases", []):
        if p["phase"] == phase:
            return p
    return None


def per_cpu(p):
    """Spans stored in the phase's window per CPU-second the system's processes used in it (loadgen excluded)."""
    cpu = sum(p.get("cpu_s", {}).values())
    return p.get("stored_at_settle", 0) / cpu if cpu > 0 else None


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_ratio(r):
    return "n/a" if r is None else (f"{r:.2f}×" if r < 10 else f"{r:.0f}×")


def ratios(results):
    rows = []
    for ours, theirs in (("osprey-distributed", "phoenix-postgres"), ("osprey-embedded", "phoenix-sqlite")):
        a, b = phase_of(results, ours, "a-grpc"), phase_of(results, theirs, "a-grpc")
        if a and b:
            rows.append((f"{ours} vs {theirs}: ingest, stored spans/s (shape a, gRPC, max rate)",
                         ratio(a["e2e_per_s"], b["e2e_per_s"]), "≥ 50×"))
            rows.append((f"{ours} vs {theirs}: ingest, acknowledged spans/s", ratio(a["acked_per_s"], b["acked_per_s"]),
                         "≥ 50×"))
            rows.append((f"{ours} vs {theirs}: ingest, stored spans per CPU-second of the system's processes",
                         ratio(per_cpu(a), per_cpu(b)), "(not a goal; normalizes for the shared machine)"))
        for key, data in (("queries", "query_data"), ("queries_pg", "query_data_pg")):
            qa = results["systems"].get(ours, {}).get(key, {})
            qb = results["systems"].get(theirs, {}).get(key, {})
            size = results["systems"].get(ours, {}).get(data, {}).get("spans")
            for q in qa:
                if q in qb and qa[q]["n"] and qb[q]["n"]:
                    rows.append((f"{ours} vs {theirs}: query {q} on {size:,} spans, p99 latency (theirs / ours)",
                                 ratio(qb[q]["p99_ms"], qa[q]["p99_ms"]), "≥ 10×"))
    dist = results["systems"].get("osprey-distributed", {})
    a = phase_of(results, "osprey-distributed", "a-grpc")
    if a and dist.get("raw_copy"):
        rows.append(("osprey-distributed stored spans/s vs raw server-side COPY of the same rows",
                     ratio(a["e2e_per_s"], dist["raw_copy"]["spans_per_second"]), "≥ 0.5×"))
    return rows


def goal_met(value, goal):
    if value is None:
        return "n/a"
    if not goal.startswith("≥"):
        return ""
    return "yes" if value >= float(re.sub(r"[^0-9.]", "", goal)) else "**no**"


def render(results):
    m, v, args = results["machine"], results["versions"], results["args"]
    L = []
    L.append(f"### {results['date']} — `{results['profile']}` profile, one run of {results['seconds'] / 60:.1f} min")
    L.append("")
    L.append(f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB RAM, Linux {m['kernel']}. "
             f"Load average before / after: {results['load_before']} / {results['load_after']}"
             + (" — **above 1.5 at the start or the end**: something else ran on the machine then, so absolute "
                "figures are a floor; the ratios come from the same run." if results["shared"] else "."))
    L.append("")
    L.append(f"Versions: Osprey {v['osprey']}; arize-phoenix {results.get('phoenix_version', '?')} "
             f"(pinned in `bench/compare/requirements.txt`); {v['postgres']}; SQLite {v['sqlite']}; "
             f"Kafka {v['kafka']}; {v['compiler']}; Python {v['python']}.")
    L.append("")
    L.append("Time per system (start-up included): " + ", ".join(
        f"{n} {e.get('seconds', 0):.0f} s (start {e.get('start_seconds', 0):.0f} s)" for n, e in results["systems"].items())
        + ".")
    L.append("")
    L.append("Commands:")
    L.append("")
    L.append("```sh")
    L.append(results["command"])
    L.append("# the load of each phase, the same for every system (TARGET: its OTLP/gRPC or OTLP/HTTP port):")
    shown = next((e["phases"] for e in results["systems"].values() if e.get("phases")), [])
    for p in shown:
        command = re.sub(r"^\S*/", "", p["command"])
        command = re.sub(r"--target \S+", "--target TARGET", command)
        command = re.sub(r" --http-path /v1/traces| --json", "", command)
        L.append(f"#   {p['phase']:<8} {command}")
    L.append("```")
    L.append("")
    L.append("![throughput and ack latency against offered load](benchmarks-compare.png)")
    L.append("")
    L.append("**Ratios (measured in this run)**")
    L.append("")
    L.append("| comparison | ratio | goal | met |")
    L.append("|---|---:|---:|---|")
    for what, r, goal in ratios(results):
        L.append(f"| {what} | {fmt_ratio(r)} | {goal} | {goal_met(r, goal)} |")
    lost = {n: sum(p["acked_but_lost"] for p in e.get("phases", [])) for n, e in results["systems"].items()}
    for n in ("osprey-embedded", "osprey-distributed"):
        if n in lost:
            L.append(f"| {n}: acknowledged but lost (neither stored nor listed by REST), all phases | {lost[n]} spans | 0 | "
                     f"{'yes' if lost[n] == 0 and not results['systems'][n]['error'] else '**no**'} |")
    L.append("")
    L.append("**Ingest** (acked/s: the generator's acknowledged spans per second of sending; stored/s: spans "
             "stored within the phase's settle wait ÷ time from the first request until the system stopped adding "
             "them (or the wait ended); visible: distinct span ids `GET /v1/projects/{p}/spans` lists after the "
             "wait; late: stored only after the wait (recounted once after the last phase, waiting up to the "
             "recount bound); not stored: acknowledged but stored nowhere by then (Phoenix: still in its in-memory "
             "queue — acknowledged, not durable); CPU s: user + system CPU time of all the system's processes (not the "
             "generator) from the first request to the end of the wait; memory: peak PSS sampled every 0.5 s, "
             f"summed over each process tree). Settle wait per phase: {args['settle_timeout']} s, or "
             f"{args['stall_seconds']} s without growth; the recount waits up to {args['final_settle']} s.")
    L.append("")
    L.append("| system | phase | proto | offered/s | acked/s | stored/s | ack p50 ms | p99 | p99.9 | acked | failed | "
             "visible | late | not stored | settle s | CPU s | stored per CPU-s | memory MiB |")
    L.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, entry in results["systems"].items():
        if entry["error"]:
            L.append(f"| {name} | **failed**: {entry['error'][:200]} | | | | | | | | | | | | | | | | |")
        for p in entry.get("phases", []):
            mem = ", ".join(f"{k} {val}" for k, val in p["memory_mib"].items())
            offered = "max" if not p["offered"] else f"{p['offered']:,.0f}"
            L.append(f"| {name} | {p['phase']} | {p['protocol']} | {offered} | {p['acked_per_s']:,.0f} | "
                     f"{p['e2e_per_s']:,} | {p['ack_p50_ms']:.1f} | {p['ack_p99_ms']:.1f} | {p['ack_p999_ms']:.1f} | "
                     f"{p['acked']:,} | {p['failed']:,} | {p['visible']:,} | {p.get('late', 0):,} | "
                     f"{p['acked_but_lost']:,} | "
                     f"{p['settle_seconds']}{'' if p['settled'] else ' (not all)'} | "
                     f"{sum(p.get('cpu_s', {}).values()):.1f} | {per_cpu(p) or 0:,.0f} | {mem} |")
    L.append("")
    errors = [(n, p["phase"], p["errors"]) for n, e in results["systems"].items() for p in e.get("phases", [])
              if p["errors"]]
    if errors:
        L.append("Errors seen by the generator: " + "; ".join(
            f"{n} {ph}: " + ", ".join(f"{k} ×{c}" for k, c in errs.items()) for n, ph, errs in errors) + ".")
        L.append("")
    dist = results["systems"].get("osprey-distributed", {})
    if dist.get("raw_copy"):
        c = dist["raw_copy"]
        L.append(f"**Raw limit**: server-side `COPY spans_rawcopy FROM file (FORMAT binary)` of the {c['rows']:,} "
                 f"span rows osprey-distributed stored in phase a-grpc, into `CREATE TABLE spans_rawcopy (LIKE spans "
                 f"INCLUDING ALL)` (same columns and indexes, no foreign keys), same Postgres: {c['seconds']} s = "
                 f"**{c['spans_per_second']:,} spans/s** (average row {c['avg_row_bytes']} B).")
        L.append("")
    L.extend(render_queries(results, "queries", "query_data"))
    L.extend(render_queries(results, "queries_pg", "query_data_pg"))
    return "\n".join(L)


QUERY_REQUESTS = {
    "trace_list": "`GET /v1/projects/bench-query/traces?limit=50`",
    "trace_spans": "`GET /v1/projects/bench-query/spans?trace_id={random}&limit=100`",
    "spans_kind": "`GET …/spans?span_kind=LLM&limit=100`",
    "spans_attribute": "`GET …/spans?attribute=llm.model_name:gpt-4o-mini&limit=100`",
    "project_totals": "Osprey `GET /osprey/v1/project_totals` (trace, span, error-trace and token counts and cost of "
                      "every project, from the projects' rollups); Phoenix `POST /graphql` project trace count, "
                      "span count, token totals (Phoenix has no REST route for them)",
}


def render_queries(results, queries_key, data_key):
    """The query latency table on one size of the query data set, with the rows that show the data identical."""
    args, systems = results["args"], results["systems"]
    names = [n for n, e in systems.items() if e.get(data_key)]
    if not names:
        return []
    data = {n: systems[n][data_key] for n in names}
    size = max(d["spans"] for d in data.values())
    L = [f"**Query latency on {size:,} spans** per system: a seed of {args['query_spans']:,} spans sent through "
         "OTLP/gRPC into each system (same seed and request split), then grown inside each system's own database "
         f"to {data[names[0]]['copies']:,} copies of it (ids rewritten, times shifted; `bench/compare/grow.py`"
         + ("; after the ingest phases" if queries_key == "queries_pg" else "") +
         "), `ANALYZE` (Postgres: `VACUUM (ANALYZE)`), osprey-embedded and Phoenix restarted. One keep-alive "
         f"connection, sequential; 3 warm-up requests, then {args['query_repetitions']} or {args['query_seconds']} s "
         "per query. p50 / p99 ms:", ""]
    L.append("| query | request | " + " | ".join(names) + " |")
    L.append("|---|---|" + "---:|" * len(names))
    for q, req in QUERY_REQUESTS.items():
        cells = []
        for n in names:
            r = systems[n].get(queries_key, {}).get(q)
            cells.append("—" if not r or not r["n"] else f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}")
        L.append(f"| {q} | {req} | " + " | ".join(cells) + " |")

    def row(label, cell):
        L.append(f"| {label} | | " + " | ".join(cell(n, data[n]) for n in names) + " |")

    def yes(ok):
        return "yes" if ok else "**no**"

    if queries_key == "queries":
        row("seed: spans stored, listed by REST", lambda n, d: f"{systems[n].get('query_data_visible', 0):,} of "
                                                              f"{args['query_spans']:,}")
        row("seed: digest of the REST-listed span ids", lambda n, d: systems[n].get("query_data_digest", ""))
    grown = [n for n in names if "skipped" not in data[n]]
    row("spans in the database: count:digest", lambda n, d: d.get("digest") or d.get("skipped", ""))
    row("= expected from the REST-listed seed", lambda n, d: yes(d.get("digest") == d.get("expected_digest")))
    row("rollups recomputed from the rows = stored (seed, grown)", lambda n, d: "—" if n not in grown else
        f"{yes(not any(d['seed_mismatches'].values()))}, {yes(not any(d['mismatches'].values()))}")
    row("API totals = copies × seed (traces, spans, tokens, cost)", lambda n, d: "—" if n not in grown else
        yes(not d["api_totals_wrong"]) + ("" if not d["api_totals_wrong"] else f" ({', '.join(d['api_totals_wrong'])})"))
    row("5 random cloned traces listed by REST as their seed trace", lambda n, d: "—" if n not in grown else
        yes(not d["rest_traces_wrong"]))
    row("clone / ANALYZE / digest / restart, s", lambda n, d: "—" if n not in grown else
        f"{d['clone_seconds']:.0f} / {d['analyze_seconds']:.0f} / {d['digest_seconds']:.0f} / {d['restart_seconds']:.0f}")
    L.append("")
    digests = {data[n].get("digest") for n in grown}
    same = len(grown) == len(names) and len(digests) == 1 and all(data[n]["consistent"] for n in grown)
    L.append(f"Same data on every system: {yes(same)}" + ("" if same else
             " — the digests or checks above differ, so the latencies are not on identical data") + ".")
    L.append("")
    return L


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    colors = {n: f"C{i}" for i, n in enumerate(SYSTEMS)}
    skipped = []  # systems that stored nothing within some phase's wait (still draining earlier phases)
    for name, entry in results["systems"].items():
        points = sorted((p["offered"], p["phase"], p) for p in entry.get("phases", []) if p["phase"].startswith("c-"))
        if not points:
            continue
        x, c = [o for o, _, _ in points], colors.get(name, "k")
        ax1.plot(x, [max(1, p["acked_per_s"]) for _, _, p in points], marker="o", color=c, label=f"{name} acked")
        stored = [(o, p["e2e_per_s"]) for o, _, p in points if p["e2e_per_s"] > 0]
        if stored:
            ax1.plot([o for o, _ in stored], [v for _, v in stored], marker="x", linestyle="--", color=c,
                     label=f"{name} stored")
        if len(stored) < len(points):
            skipped.append(name)
        ax2.plot(x, [p.get("sched_p99_ms", p["ack_p99_ms"]) for _, _, p in points], marker="o", color=c,
                 label=f"{name} p99")
        ax2.plot(x, [p.get("sched_p50_ms", p["ack_p50_ms"]) for _, _, p in points], marker=".", linestyle=":",
                 color=c, label=f"{name} p50")
    offered = sorted({p["offered"] for e in results["systems"].values() for p in e.get("phases", []) if p["offered"]})
    if offered:
        ax1.plot(offered, offered, color="grey", linewidth=0.8, label="offered")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        if offered:
            ax.set_xticks(offered)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax1.set_yscale("log")
    ax1.set_xlabel("offered load, spans/s (20 connections, 50 spans/request)")
    ax1.set_ylabel("spans/s (log)")
    ax1.set_title("throughput")
    if skipped:
        ax1.text(0.02, 0.02, "no 'stored' point where nothing was stored within the phase's wait\n(" +
                 ", ".join(skipped) + ": still storing earlier phases' spans)", transform=ax1.transAxes, fontsize=7)
    ax1.legend(fontsize=7)
    ax2.set_xlabel("offered load, spans/s")
    ax2.set_ylabel("ack latency from schedule, ms (log)")
    ax2.set_yscale("log")
    ax2.set_title("ack latency (coordinated-omission corrected)")
    ax2.legend(fontsize=7)
    fig.suptitle(f"Osprey vs Phoenix, {results['date']}, {results['machine']['cores']} cores, "
                 f"load {results['load_before']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(results):
    print(f"\nOsprey vs Phoenix ({results['profile']} profile), {results['machine']['cores']} cores, "
          f"load {results['load_before']} -> {results['load_after']}")
    print(f"{'system':<19} {'phase':<8} {'proto':<5} {'offered':>8} {'acked/s':>9} {'stored/s':>9} {'p50':>7} "
          f"{'p99':>8} {'p99.9':>8} {'acked':>9} {'visible':>9} {'unstored':>9}  memory MiB")
    for name, entry in results["systems"].items():
        if entry["error"]:
            print(f"{name:<19} FAILED: {entry['error'][:200]}")
        for p in entry.get("phases", []):
            offered = "max" if not p["offered"] else f"{p['offered']:.0f}"
            print(f"{name:<19} {p['phase']:<8} {p['protocol']:<5} {offered:>8} {p['acked_per_s']:>9.0f} "
                  f"{p['e2e_per_s']:>9} {p['ack_p50_ms']:>7.1f} {p['ack_p99_ms']:>8.1f} {p['ack_p999_ms']:>8.1f} "
                  f"{p['acked']:>9} {p['visible']:>9} {p['acked_but_lost']:>9}  {p['memory_mib']}")
    for name, entry in results["systems"].items():
        for key, data in (("queries", "query_data"), ("queries_pg", "query_data_pg")):
            d = entry.get(data, {})
            if d:
                print(f"{name:<19} {d['spans']:,} spans: digest {d.get('digest', d.get('skipped'))}, expected "
                      f"{d.get('expected_digest')}, consistent {d.get('consistent')}")
            for q, r in entry.get(key, {}).items():
                print(f"{name:<19} query {q:<16} n={r['n']:<4} p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms")
    if results["systems"].get("osprey-distributed", {}).get("raw_copy"):
        print("raw COPY:", results["systems"]["osprey-distributed"]["raw_copy"])
    for what, r, goal in ratios(results):
        print(f"{what:<100} {fmt_ratio(r):>8}  goal {goal}")


def rewrite_doc(doc, section):
    text = doc.read_text()
    if BEGIN_MARK not in text or END_MARK not in text:
        raise SystemExit(f"{doc}: markers not found; add {BEGIN_MARK!r} and {END_MARK!r}")
    head, rest = text.split(BEGIN_MARK, 1)
    _, tail = rest.split(END_MARK, 1)
    doc.write_text(head + BEGIN_MARK + "\n" + section + "\n" + END_MARK + tail)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="full")
    ap.add_argument("--build-dir", type=Path)
    ap.add_argument("--venv", type=Path, help="the virtualenv with arize-phoenix and matplotlib")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--seconds", type=float, help="override the profile's phase length")
    ap.add_argument("--rates", help="override the profile's offered rates (comma-separated spans/s)")
    ap.add_argument("--query-spans", type=int, help="override the profile's query seed size (sent through OTLP)")
    ap.add_argument("--query-target", type=int, help="override the size the query data set is grown to")
    ap.add_argument("--query-target-pg", type=int,
                    help="override the size the Postgres systems' data set is grown to after the ingest phases")
    ap.add_argument("--query-settle-timeout", type=float,
                    help="override how long to wait for the query data set to be stored (seconds)")
    ap.add_argument("--out", type=Path, help="where results.json and the plot go (default: a temp dir)")
    ap.add_argument("--doc", type=Path, help="rewrite the results section of this file (docs/benchmarks.md)")
    ap.add_argument("--command", default="", help="the command line to print in the results page")
    ap.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                    help="only redraw the plot and rewrite --doc from an earlier run's results.json")
    args = ap.parse_args()
    if args.render:
        results = json.loads(args.render.read_text())
        png = args.render.parent / "benchmarks-compare.png"
        plot(results, png)
        print_table(results)
        if args.doc:
            rewrite_doc(args.doc, render(results))
            shutil.copy(png, args.doc.parent / "benchmarks-compare.png")
        return 0
    profile = dict(PROFILES[args.profile])
    if args.seconds:
        profile.update(seconds=args.seconds, rate_seconds=args.seconds)
    if args.rates:
        profile["rates"] = [int(r) for r in args.rates.split(",") if r]
    if args.query_spans:
        profile["query_spans"] = args.query_spans
    if args.query_target:
        profile["query_target"] = args.query_target
    if args.query_target_pg is not None:
        profile["query_target_pg"] = args.query_target_pg
    if args.query_settle_timeout:
        profile["query_settle_timeout"] = args.query_settle_timeout
    if not args.build_dir or not args.venv:
        ap.error("--build-dir and --venv are required (except with --render)")
    build = args.build_dir.resolve()
    loadgen = build / "bench/loadgen/osprey-loadgen"
    out = args.out or Path(tempfile.mkdtemp(prefix="osprey-compare."))
    out.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="osprey-compare-state.", dir="/tmp"))
    os.chmod(state, 0o755)
    started = time.time()
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "profile": args.profile, "args": profile, "machine": machine(), "versions": versions(build),
        "load_before": loadavg(), "command": args.command or " ".join(sys.argv), "systems": {},
    }
    makers = {
        "osprey-embedded": lambda: OspreyEmbedded(build, state),
        "osprey-distributed": lambda: OspreyDistributed(build, state),
        "phoenix-sqlite": lambda: Phoenix(args.venv, state, postgres=False),
        "phoenix-postgres": lambda: Phoenix(args.venv, state, postgres=True),
    }
    try:
        for name in args.systems.split(","):
            system = makers[name]()
            run_system(system, loadgen, profile, results)
            if system.name.startswith("phoenix"):
                results["phoenix_version"] = results["systems"][name].get("versions", {}).get("arize-phoenix", "?")
    finally:
        if os.environ.get("OSPREY_BENCH_KEEP") == "1":
            log(f"kept {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    results["load_after"] = loadavg()
    results["seconds"] = time.time() - started
    results["shared"] = max(float(results["load_before"].split()[0]), float(results["load_after"].split()[0])) > 1.5
    (out / "results.json").write_text(json.dumps(results, indent=1))
    png = out / "benchmarks-compare.png"
    plot(results, png)
    print_table(results)
    if args.doc:
        rewrite_doc(args.doc, render(results))
        shutil.copy(png, args.doc.parent / "benchmarks-compare.png")
        log(f"rewrote the results section of {args.doc} and {args.doc.parent / 'benchmarks-compare.png'}")
    log(f"results in {out} ({results['seconds'] / 60:.1f} min)")
    return 0 if all(not e["error"] for e in results["systems"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
