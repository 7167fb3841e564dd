"""Helpers for the end-to-end suite: run an osprey process, talk OTLP to it, read its REST API.

Nothing here asserts; tests do. Every network call targets 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import collections
import copy
import gzip
import json
import os
import re
import signal
import socket
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import grpc
import requests
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

FIXTURES_DIR = Path(os.environ.get("OSPREY_FIXTURES_DIR", Path(__file__).resolve().parent.parent / "fixtures" / "e2e"))

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

STARTUP_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 30.0
# How long a distributed read waits for the writer to catch up with what ingest acknowledged.
VISIBLE_TIMEOUT_S = float(os.environ.get("OSPREY_VISIBLE_TIMEOUT_S", "30"))

# embedded: one `osprey --target=all` process (SQLite, in-process bus): an ack means "committed".
# distributed: osprey --target=writer / ingest / query over a real Kafka and Postgres started once per
# session (deploy/kafka, deploy/postgres): an ack means "durable in Kafka"; the writer commits later.
MODE = os.environ.get("OSPREY_MODE", "embedded")
if MODE not in ("embedded", "distributed"):
    raise RuntimeError(f"OSPREY_MODE must be embedded or distributed, got {MODE!r}")
DEPLOY_DIR = Path(__file__).resolve().parent.parent.parent / "deploy"


# --------------------------------------------------------------------------------------------------
# Configuration


def default_config(data_dir: Path) -> dict:
    """The config every test server starts from: loopback, port 0 everywhere, SQLite, in-process bus."""
    return {
        "data_dir": str(data_dir),
        "log": {"level": "info"},
        "ingest": {
            "grpc_listen": "127.0.0.1:0",
            "http_listen": "127.0.0.1:0",
            "max_request_bytes": 64 << 20,
            "inflight_bytes": 256 << 20,
        },
        "query": {"listen": "127.0.0.1:0"},
        "writer": {"admin_listen": "127.0.0.1:0"},
        "prompts": {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0"},
        "store": {"kind": "sqlite", "sqlite": {"synchronous": "normal"}},
        "bus": {"kind": "inprocess"},
    }


def merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block YAML for nested dicts of scalars and lists (all the config needs); strings are JSON-quoted."""
    pad = "  " * indent
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(item, indent + 1))
        elif isinstance(item, list):  # JSON is YAML: lists (of dicts) in flow style
            lines.append(f"{pad}{key}: {json.dumps(item)}")
        elif isinstance(item, bool):
            lines.append(f"{pad}{key}: {'true' if item else 'false'}")
        elif isinstance(item, (int, float)):
            lines.append(f"{pad}{key}: {item}")
        else:
            lines.append(f"{pad}{key}: {json.dumps(str(item))}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The server process


class OspreyError(RuntimeError):
    pass


class OspreyClient:
    """What tests use of a running deployment, whatever the mode: OTLP endpoints, REST, metrics.
    Subclasses provide `ports` ({"ingest_grpc", "ingest_http", "query_http"})."""

    mode = "embedded"
    ports: dict

    # ---- addresses

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.ports['ingest_grpc']}"

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['ingest_http']}"

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['query_http']}"

    @property
    def admin_url(self) -> str:
        """The admin listener (/healthz, /readyz, /metrics) of a process that runs the writer alone."""
        return f"http://127.0.0.1:{self.ports['admin_http']}"

    # ---- REST

    def get(self, path: str, params: Any = None) -> requests.Response:
        return requests.get(self.query_url + path, params=params, timeout=HTTP_TIMEOUT_S)

    def get_json(self, path: str, params: Any = None) -> Any:
        response = self.get(path, params)
        if response.status_code != 200:
            raise AssertionError(f"GET {path} {params} -> {response.status_code}: {response.text[:500]}")
        return response.json()

    def metrics(self) -> dict[str, float]:
        response = requests.get(self.query_url + "/metrics", timeout=HTTP_TIMEOUT_S)
        if response.status_code != 200:
            raise AssertionError(f"/metrics -> {response.status_code}")
        return parse_metrics(response.text)


    def settle(self) -> None:
        """Returns once everything acknowledged so far is visible through the REST API. Embedded: at
        once (an ack is the commit)."""


@dataclass
class Osprey(OspreyClient):
    """One osprey process (and its restarts) on one data directory, running the modules of `target`
    ("all" in the embedded mode; "writer", "ingest" or "query" as one service of a DistributedOsprey).

    Ports are always chosen by the server (port 0) and read back from the ports file, which the
    server writes atomically once every module has started.
    """

    binary: str
    workdir: Path
    config: dict
    name: str = "osprey"
    proc: subprocess.Popen | None = None
    ports: dict = field(default_factory=dict)
    starts: int = 0
    logs: list = field(default_factory=list)
    target: str = "all"

    # ---- lifecycle

    @property
    def data_dir(self) -> Path:
        return Path(self.config["data_dir"])

    def start(self) -> "Osprey":
        if self.proc is not None and self.proc.poll() is None:
            raise OspreyError("already running")
        self.starts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "config.yaml"
        config_path.write_text(to_yaml(self.config) + "\n")
        ports_file = self.workdir / f"ports-{self.starts}.json"
        log_path = self.workdir / f"{self.name}-{self.starts}.log"
        self.logs.append(log_path)
        args = [
            self.binary,
            f"--target={self.target}",
            f"--config={config_path}",
            f"--data-dir={self.data_dir}",
            f"--ports-file={ports_file}",
        ]
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not ports_file.exists():
            if self.proc.poll() is not None:
                raise OspreyError(f"osprey exited with {self.proc.returncode} before writing the ports file:\n"
                                  f"{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise OspreyError(f"no ports file after {STARTUP_TIMEOUT_S}s:\n{self.log_tail()}")
            time.sleep(0.05)
        self.ports = json.loads(ports_file.read_text())
        required = {"all": ("ingest_grpc", "ingest_http", "query_http"), "ingest": ("ingest_grpc", "ingest_http"),
                    "query": ("query_http",), "writer": ("admin_http",),
                    "prompt-registry": ("prompts_grpc", "admin_http")}.get(self.target, ())
        for key in required:
            if not isinstance(self.ports.get(key), int) or not 0 < self.ports[key] < 65536:
                raise OspreyError(f"ports file lacks a valid {key}: {self.ports}")
        ready_url = {"query_http": self.query_url, "ingest_http": self.ingest_url,
                     "admin_http": self.admin_url}[required[-1]] + "/readyz"
        while True:
            try:
                if requests.get(ready_url, timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise OspreyError(f"osprey exited with {self.proc.returncode} before /readyz:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise OspreyError(f"/readyz not 200 after {STARTUP_TIMEOUT_S}s:\n{self.log_tail()}")
            time.sleep(0.05)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no drain, no flush (the durability test's crash)."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=30)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode

    def restart(self, hard: bool = True) -> "Osprey":
        """Stops (kill -9 when hard) and starts again on the same data directory, on new ports."""
        if hard:
            self.kill()
        else:
            self.stop()
        return self.start()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def rss_bytes(self) -> int:
        """Resident set size of the running process (0 when it is not running)."""
        if not self.alive():
            return 0
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_tail(self, lines: int = 60) -> str:
        if not self.logs:
            return "(no log)"
        try:
            text = self.logs[-1].read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return "\n".join(text[-lines:])

def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------------
# The distributed mode: Kafka + Postgres (once per session) and one process per service


def _run_script(args: list, env: dict | None = None, timeout: float = 120.0) -> str:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise OspreyError(f"{' '.join(str(a) for a in args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


class Kafka:
    """One Kafka node (deploy/kafka) on free loopback ports in `root`."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "kafka"
        self.port = free_loopback_port()
        self.controller_port = free_loopback_port()

    @property
    def brokers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        # The broker's watchdog stops it if this test process dies without cleaning up.
        _run_script([DEPLOY_DIR / "kafka" / "start", self.dir, self.port, self.controller_port],
                    env={"OSPREY_KAFKA_PARENT_PID": str(os.getpid()),
                         "OSPREY_KAFKA_HEAP": os.environ.get("OSPREY_KAFKA_HEAP", "384m")})

    def stop(self) -> None:
        """SIGTERM (controlled shutdown) and wait."""
        _run_script([DEPLOY_DIR / "kafka" / "stop", self.dir])

    @property
    def pid(self) -> int | None:
        pid_file = self.dir / "kafka.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    def tool(self, *args: str, timeout: float = 120.0) -> list:
        """Runs tests/integration/KafkaTool.java (a plain Kafka Java client: produce raw bytes, read a topic
        with its headers, describe a consumer group) and returns its JSON output lines."""
        libs = _run_script([DEPLOY_DIR / "kafka" / "fetch"]).strip()
        classes = self.dir.parent / "kafka-tool-classes"
        if not (classes / "KafkaTool.class").exists():  # compiled once: the source launcher is slow
            _run_script(["javac", "-nowarn", "-cp", f"{libs}/*", "-d", classes,
                         Path(__file__).resolve().parent / "KafkaTool.java"], timeout=timeout)
        out = _run_script(["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", f"{libs}/*:{classes}", "KafkaTool",
                           self.brokers, *args], timeout=timeout)
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


class Postgres:
    """One private Postgres 15 cluster (deploy/postgres) on a free loopback port in `root`."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "postgres"
        self.port = free_loopback_port()

    def dsn(self, database: str = "osprey") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def start(self) -> None:
        _run_script([DEPLOY_DIR / "postgres" / "start", self.dir, self.port])

    def stop(self) -> None:
        _run_script([DEPLOY_DIR / "postgres" / "stop", self.dir])

    def psql(self, sql: str, database: str = "osprey", timeout: float = 60.0) -> str:
        """Runs SQL with psql (unaligned, tuples only) and returns its output."""
        args = ["/usr/lib/postgresql/15/bin/psql", "--host=127.0.0.1", f"--port={self.port}", "--username=postgres",
                f"--dbname={database}", "--no-psqlrc", "--tuples-only", "--no-align", "--quiet",
                "--set=ON_ERROR_STOP=1", f"--command={sql}"]
        if os.getuid() == 0:
            args = ["runuser", "-u", "postgres", "--"] + args
        result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd="/")
        if result.returncode != 0:
            raise OspreyError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str) -> str:
        self.psql(f'CREATE DATABASE "{name}"', database="postgres")
        return self.dsn(name)


class Infra:
    """Kafka and/or Postgres for the distributed mode, in a temporary directory outside pytest's
    (Postgres runs as the postgres user, which cannot enter pytest's 0700 directories). Every
    DistributedOsprey gets its own topics (Kafka namespace prefix) and its own database, so deployments
    sharing the session's Infra never see each other's spans."""

    def __init__(self, kafka: bool = True, postgres: bool = True) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="osprey-it-infra-"))
        self.root.chmod(0o755)
        self.kafka = Kafka(self.root) if kafka else None
        self.postgres = Postgres(self.root) if postgres else None

    def start(self) -> "Infra":
        if self.postgres:
            self.postgres.start()
        if self.kafka:
            self.kafka.start()
        return self

    def stop(self) -> None:
        for part in (self.kafka, self.postgres):
            if part is None:
                continue
            try:
                part.stop()
            except Exception:  # noqa: BLE001 - cleanup continues; the data goes away below anyway
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def distributed_config(data_dir: Path, brokers: str, dsn: str, prefix: str) -> dict:
    return merge(default_config(data_dir), {
        "store": {"kind": "postgres", "postgres": {"dsn": dsn}},
        "bus": {"kind": "kafka", "kafka": {"brokers": brokers, "namespace_prefix": prefix, "partitions": 4}},
    })


class DistributedOsprey(OspreyClient):
    """The distributed topology: `osprey --target=writer`, `--target=ingest` and `--target=query`, each
    its own process with its own config file, sharing one Kafka namespace and one Postgres database.
    Same attributes as Osprey (ports, grpc_target, ingest_url, query_url, get/get_json, metrics,
    start/stop/kill/restart, logs); the services are `writer`, `ingest`, `query` (Osprey objects)."""

    mode = "distributed"
    SETTLE_PROJECT = "osprey-settle"
    SETTLE_TRACES = 64  # random trace-id keys: all 4 partitions get one unless p ~ 4·(3/4)^64

    def __init__(self, binary: str, workdir: Path, config: dict, name: str, kafka: Kafka, postgres: Postgres,
                 database: str):
        self.binary = binary
        self.workdir = workdir
        self.config = config
        self.name = name
        self.kafka = kafka
        self.postgres = postgres
        self.database = database
        self.writers = [self._service("writer")]
        self.prompt_registry = self._service("prompt-registry")
        self.ingest = self._service("ingest")
        self.query = self._service("query")

    def _service(self, target: str, suffix: str = "") -> Osprey:
        label = f"{target}{suffix}"
        config = merge(self.config, {"data_dir": str(self.workdir / label / "data"),
                                     "bus": {"kafka": {"client_id": f"osprey-{label}"}}})
        return Osprey(binary=self.binary, workdir=self.workdir / label, config=config, name=f"{self.name}-{label}",
                      target=target)

    @property
    def writer(self) -> Osprey:
        return self.writers[0]

    @property
    def services(self) -> list:
        return [*self.writers, self.prompt_registry, self.ingest, self.query]

    def add_writer(self) -> Osprey:
        """Starts one more writer in the same consumer group (they share the partitions)."""
        writer = self._service("writer", str(len(self.writers) + 1))
        self.writers.append(writer)
        return writer.start()

    # ---- lifecycle

    @property
    def data_dir(self) -> Path:
        return Path(self.config["data_dir"])

    @property
    def ports(self) -> dict:
        return {"ingest_grpc": self.ingest.ports.get("ingest_grpc"), "ingest_http": self.ingest.ports.get("ingest_http"),
                "query_http": self.query.ports.get("query_http")}

    @property
    def starts(self) -> int:
        return max(s.starts for s in self.services)

    @property
    def logs(self) -> list:
        return [log for s in self.services for log in s.logs]

    def start(self) -> "DistributedOsprey":
        for service in self.services:  # writer first: it subscribes before anything is published
            if not service.alive():
                service.start()
                if service is self.prompt_registry:
                    self._pin_prompt_registry()
        return self

    def _pin_prompt_registry(self) -> None:
        """The registry keeps the port it picked across restarts, and the gateway calls it there."""
        endpoint = f"127.0.0.1:{self.prompt_registry.ports['prompts_grpc']}"
        self.prompt_registry.config = merge(self.prompt_registry.config, {"prompts": {"listen": endpoint}})
        self.query.config = merge(self.query.config, {"query": {"prompt_registry_endpoint": endpoint}})

    def alive(self) -> bool:
        return all(s.alive() for s in self.services)

    def kill(self) -> None:
        for service in self.services:
            service.kill()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM in dependency order (ingest, query, prompt registry, writers). Returns the first non-zero exit code."""
        codes = [s.stop(timeout) for s in (self.ingest, self.query, self.prompt_registry, *self.writers)]
        return next((c for c in codes if c not in (0, None)), 0)

    def restart(self, hard: bool = True) -> "DistributedOsprey":
        self.kill() if hard else self.stop()
        return self.start()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(f"--- {s.name} ---\n{s.log_tail(lines)}" for s in self.services if s.logs)

    # ---- what the embedded process serves on one port is spread over two here

    def metrics(self) -> dict[str, float]:
        """The metrics of every service (ingest, query gateway, prompt registry, writers), summed by sample."""
        out: dict[str, float] = {}
        for url in (self.ingest_url, self.query_url, self.prompt_registry.admin_url,
                    *(w.admin_url for w in self.writers)):
            response = requests.get(url + "/metrics", timeout=HTTP_TIMEOUT_S)
            if response.status_code != 200:
                raise AssertionError(f"{url}/metrics -> {response.status_code}")
            for key, value in parse_metrics(response.text).items():
                out[key] = out.get(key, 0.0) + value
        return out

    def psql(self, sql: str) -> str:
        return self.postgres.psql(sql, database=self.database)

    @property
    def namespace(self) -> str:
        return self.config["bus"]["kafka"]["namespace_prefix"]

    def span_id_counts(self, project: str) -> dict[str, int]:
        """{span_id: rows} of a project, read straight from Postgres."""
        rows = self.psql("SELECT s.span_id, count(*) FROM spans s JOIN projects p ON p.id = s.project_id "
                         f"WHERE p.name = '{project}' GROUP BY s.span_id")
        return {line.split("|")[0]: int(line.split("|")[1]) for line in rows.splitlines() if line}

    def settle(self, timeout: float = VISIBLE_TIMEOUT_S) -> None:
        """Publishes one span on each of SETTLE_TRACES random trace ids (so every partition gets one behind
        what was acknowledged before) and waits until the writer stored them all: a partition is written
        in order, so everything acknowledged earlier is then visible."""
        now = time.time_ns()
        spans = [make_span(new_trace_id(), new_span_id(), "settle", now, now + 1000)
                 for _ in range(self.SETTLE_TRACES)]
        ids = [s.span_id.hex() for s in spans]
        response = post_request(self.ingest_url, make_request(spans, project=self.SETTLE_PROJECT))
        if response.status_code != 200:
            raise AssertionError(f"settle: ingest answered {response.status_code}: {response.text[:300]}")
        id_list = ",".join(f"'{i}'" for i in ids)
        deadline = time.monotonic() + timeout
        while True:
            if int(self.psql(f"SELECT count(*) FROM spans WHERE span_id IN ({id_list})")) == len(ids):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"settle: the writer did not store {len(ids)} marker spans within {timeout}s")
            time.sleep(0.05)


def wait_for_spans(osprey: OspreyClient, project: str, count: int, timeout: float = VISIBLE_TIMEOUT_S,
                   params: dict | list | None = None) -> list:
    """The project's spans once at least `count` are listed, polling (bounded by `timeout`). Use it
    wherever a test reads right after sending: in the distributed mode the ack means "durable in
    Kafka" and the writer commits a moment later. Returns what is listed at the deadline otherwise,
    so the test's own assertion reports the shortfall."""
    deadline = time.monotonic() + timeout
    while True:
        spans = stored_spans(osprey, project, params)
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


def wait_for_span_ids(osprey: OspreyClient, project: str, span_ids: Iterable[str],
                      timeout: float = VISIBLE_TIMEOUT_S) -> list:
    """Like wait_for_spans, until every span id in `span_ids` (hex) is listed."""
    wanted = set(span_ids)
    deadline = time.monotonic() + timeout
    while True:
        spans = stored_spans(osprey, project)
        if wanted <= {s["context"]["span_id"] for s in spans} or time.monotonic() > deadline:
            return spans
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------------
# Metrics

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?)\s+(\S+)(?:\s+\d+)?$")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format → {"name{labels}": value}."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        if match:
            try:
                out[match.group(1)] = float(match.group(2))
            except ValueError:
                pass
    return out


def metric_delta(before: dict, after: dict, pattern: str) -> float:
    """Sum over the counter samples (name ending in _total) whose `name{labels}` matches `pattern`."""
    regex = re.compile(pattern)
    total = 0.0
    for key, value in after.items():
        name = key.split("{", 1)[0]
        if name.endswith("_total") and regex.search(key):
            total += value - before.get(key, 0.0)
    return total


def matching_samples(metrics: dict, pattern: str) -> dict:
    regex = re.compile(pattern)
    return {k: v for k, v in metrics.items() if regex.search(k)}


# --------------------------------------------------------------------------------------------------
# REST helpers


def project_named(osprey: Osprey, name: str) -> dict | None:
    cursor = None
    while True:
        params = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = osprey.get_json("/v1/projects", params)
        for project in page["data"]:
            if project["name"] == name:
                return project
        cursor = page.get("next_cursor")
        if not cursor:
            return None


def walk(osprey: Osprey, path: str, params: dict | list | None = None, limit: int = 1000,
         max_pages: int = 100000) -> tuple[list, int]:
    """Follows next_cursor to the end. Returns (items, pages)."""
    items: list = []
    cursor = None
    pages = 0
    base = list(params.items()) if isinstance(params, dict) else list(params or [])
    while True:
        query = base + [("limit", limit)] + ([("cursor", cursor)] if cursor else [])
        page = osprey.get_json(path, query)
        pages += 1
        items.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items, pages
        if pages >= max_pages:
            raise AssertionError(f"{path}: more than {max_pages} pages")


def all_spans(osprey: Osprey, project: str, params: dict | list | None = None, limit: int = 1000) -> list:
    return walk(osprey, f"/v1/projects/{quote(project)}/spans", params, limit)[0]


def stored_spans(osprey: Osprey, project: str, params: dict | list | None = None) -> list:
    """Like all_spans, but a project that does not exist (404: nothing was ever stored) is empty."""
    if osprey.get(f"/v1/projects/{quote(project)}/spans", {"limit": 1}).status_code == 404:
        return []
    return all_spans(osprey, project, params)


def all_traces(osprey: Osprey, project: str, params: dict | list | None = None, limit: int = 1000) -> list:
    return walk(osprey, f"/v1/projects/{quote(project)}/traces", params, limit)[0]


def quote(identifier: str) -> str:
    return requests.utils.quote(identifier, safe="")


def decode_global_id(gid: str) -> tuple[str, int]:
    text = base64.b64decode(gid, validate=True).decode()
    type_name, _, rowid = text.partition(":")
    return type_name, int(rowid)


# --------------------------------------------------------------------------------------------------
# OTLP building


def new_trace_id() -> bytes:
    return uuid.uuid4().bytes


def new_span_id() -> bytes:
    return uuid.uuid4().bytes[:8]


def any_value(value: Any) -> common_pb2.AnyValue:
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, (list, tuple)):
        return common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[any_value(v) for v in value]))
    return common_pb2.AnyValue(string_value=str(value))


def key_values(attributes: dict | None) -> list:
    return [common_pb2.KeyValue(key=k, value=any_value(v)) for k, v in (attributes or {}).items()]


STATUS = {"UNSET": 0, "OK": 1, "ERROR": 2}


def make_span(trace_id: bytes, span_id: bytes, name: str, start_ns: int, end_ns: int, *,
              parent: bytes | None = None, kind: str | None = None, attributes: dict | None = None,
              status: str = "UNSET", status_message: str = "", events: Iterable[dict] = ()) -> trace_pb2.Span:
    attrs = dict(attributes or {})
    if kind is not None:
        attrs = {"openinference.span.kind": kind, **attrs}
    return trace_pb2.Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent or b"",
        name=name,
        kind=trace_pb2.Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        attributes=key_values(attrs),
        status=trace_pb2.Status(code=STATUS[status], message=status_message),
        events=[trace_pb2.Span.Event(time_unix_nano=e["time_ns"], name=e["name"],
                                     attributes=key_values(e.get("attributes"))) for e in events],
    )


def make_request(spans: Iterable[trace_pb2.Span], project: str | None = None,
                 resource_attributes: dict | None = None) -> trace_service_pb2.ExportTraceServiceRequest:
    attrs = {"service.name": "osprey-integration", **(resource_attributes or {})}
    if project is not None:
        attrs["openinference.project.name"] = project
    return trace_service_pb2.ExportTraceServiceRequest(resource_spans=[
        trace_pb2.ResourceSpans(
            resource=resource_pb2.Resource(attributes=key_values(attrs)),
            scope_spans=[trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name="integration"),
                                              spans=list(spans))],
        )
    ])


def simple_trace(n_spans: int, start_ns: int, *, trace_id: bytes | None = None, latency_ns: int = 1_000_000,
                 llm_tokens: tuple[int, int] | None = None, attributes: dict | None = None) -> list:
    """A root CHAIN span and n_spans-1 children (LLM when llm_tokens is given, else TOOL)."""
    trace_id = trace_id or new_trace_id()
    root_id = new_span_id()
    spans = [make_span(trace_id, root_id, "root", start_ns, start_ns + latency_ns, kind="CHAIN",
                       attributes=attributes)]
    for i in range(n_spans - 1):
        child_attrs = dict(attributes or {})
        kind = "TOOL"
        if llm_tokens is not None:
            kind = "LLM"
            child_attrs.update({"llm.token_count.prompt": llm_tokens[0], "llm.token_count.completion": llm_tokens[1],
                                "llm.model_name": "gpt-4o-mini"})
        spans.append(make_span(trace_id, new_span_id(), f"child-{i}", start_ns + 1000 * (i + 1),
                               start_ns + latency_ns - 1000, parent=root_id, kind=kind, attributes=child_attrs))
    return spans


# --------------------------------------------------------------------------------------------------
# OTLP sending


def post_otlp(url: str, body: bytes, content_type: str = PROTOBUF, *, encoding: str | None = None,
              headers: dict | None = None, path: str = "/v1/traces") -> requests.Response:
    hdrs = {"Content-Type": content_type}
    if encoding:
        hdrs["Content-Encoding"] = encoding
    hdrs.update(headers or {})
    return requests.post(url + path, data=body, headers=hdrs, timeout=HTTP_TIMEOUT_S)


def post_request(url: str, request: trace_service_pb2.ExportTraceServiceRequest, *, gzip_body: bool = False,
                 headers: dict | None = None) -> requests.Response:
    body = request.SerializeToString()
    if gzip_body:
        body = gzip.compress(body)
    return post_otlp(url, body, PROTOBUF, encoding="gzip" if gzip_body else None, headers=headers)


def post_json(url: str, document: dict, *, gzip_body: bool = False, headers: dict | None = None) -> requests.Response:
    body = json.dumps(document).encode()
    if gzip_body:
        body = gzip.compress(body)
    return post_otlp(url, body, JSON, encoding="gzip" if gzip_body else None, headers=headers)


def parse_export_response(response: requests.Response) -> trace_service_pb2.ExportTraceServiceResponse:
    """The OTLP/HTTP success body, protobuf or JSON per the response's content type."""
    content_type = response.headers.get("Content-Type", "")
    out = trace_service_pb2.ExportTraceServiceResponse()
    if content_type.startswith(JSON):
        doc = json.loads(response.content or b"{}")
        partial = doc.get("partialSuccess") or doc.get("partial_success") or {}
        if partial:
            out.partial_success.rejected_spans = int(partial.get("rejectedSpans", partial.get("rejected_spans", 0)))
            out.partial_success.error_message = partial.get("errorMessage", partial.get("error_message", ""))
        return out
    out.ParseFromString(response.content)
    return out


def grpc_channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=[("grpc.max_send_message_length", -1),
                                                  ("grpc.max_receive_message_length", -1)])


def grpc_export(channel: grpc.Channel, request: trace_service_pb2.ExportTraceServiceRequest, *,
                timeout: float = 30.0, metadata=None) -> trace_service_pb2.ExportTraceServiceResponse:
    stub = trace_service_pb2_grpc.TraceServiceStub(channel)
    return stub.Export(request, timeout=timeout, metadata=metadata)


# --------------------------------------------------------------------------------------------------
# OTLP/JSON fixtures


def load_fixture(name: str, *, remap_ids: bool = True, project: str | None = None,
                 time_shift_ns: int = 0, replace_attributes: dict | None = None) -> tuple[dict, dict]:
    """Loads tests/fixtures/e2e/<name>. With remap_ids, every traceId/spanId/parentSpanId is replaced by a
    fresh random id (consistently, so parent links survive), because OTel ids are globally unique and
    tests share a server. replace_attributes sets the string value of span attributes that are present
    (session ids are globally unique too). Returns (document, {old_hex: new_hex})."""
    document = json.loads((FIXTURES_DIR / name).read_text())
    mapping: dict[str, str] = {}

    def fresh(old: str, length: int) -> str:
        if not old or set(old) == {"0"} or len(old) != length:
            return old  # deliberately invalid ids stay invalid
        if old not in mapping:
            mapping[old] = os.urandom(length // 2).hex()
        return mapping[old]

    for resource_spans in document.get("resourceSpans", []):
        if project is not None:
            attrs = resource_spans.setdefault("resource", {}).setdefault("attributes", [])
            attrs[:] = [a for a in attrs if a.get("key") != "openinference.project.name"]
            attrs.append({"key": "openinference.project.name", "value": {"stringValue": project}})
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                if remap_ids:
                    span["traceId"] = fresh(span.get("traceId", ""), 32)
                    span["spanId"] = fresh(span.get("spanId", ""), 16)
                    if span.get("parentSpanId"):
                        span["parentSpanId"] = fresh(span["parentSpanId"], 16)
                for attr in span.get("attributes", []):
                    if replace_attributes and attr.get("key") in replace_attributes:
                        attr["value"] = {"stringValue": replace_attributes[attr["key"]]}
                if time_shift_ns:
                    for key in ("startTimeUnixNano", "endTimeUnixNano"):
                        if key in span:
                            span[key] = str(int(span[key]) + time_shift_ns)
                    for event in span.get("events", []):
                        event["timeUnixNano"] = str(int(event["timeUnixNano"]) + time_shift_ns)
    return document, mapping


def fixture_spans(document: dict) -> list[dict]:
    return [span for rs in document.get("resourceSpans", []) for ss in rs.get("scopeSpans", [])
            for span in ss.get("spans", [])]


def iso_to_ns(text: str) -> int:
    """ISO-8601 (as the REST API returns it) → Unix ns (µs precision)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise AssertionError(f"timestamp without offset: {text}")
    delta = dt - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def ns_to_iso(ns: int) -> str:
    """Unix ns → ISO-8601 with +00:00 (truncated to µs)."""
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


# --------------------------------------------------------------------------------------------------
# Load with an exporter's retry discipline (fault tests)

RETRYABLE_GRPC = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                            grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.ABORTED, grpc.StatusCode.CANCELLED})


class SpanLoad:
    """`requests` OTLP/gRPC requests of `spans_per_request` spans (traces of 5) from `senders` threads,
    at most `rate` requests/s overall (0: as fast as acks come). Like an OTLP exporter, a request that
    fails with a retryable code is sent again (to the deployment's *current* gRPC port: a restarted ingest
    listens on a new one) until it is acknowledged or `retry_for` seconds pass. Non-retryable codes are
    recorded and not retried. Everything is bounded in count and time."""

    def __init__(self, server: OspreyClient, project: str, *, requests: int = 200, spans_per_request: int = 10,
                 senders: int = 4, rate: float = 0.0, retry_for: float = 90.0, rpc_timeout: float = 10.0,
                 attribute_bytes: int = 0):
        self.server = server
        self.project = project
        self.rate = rate
        self.retry_for = retry_for
        self.rpc_timeout = rpc_timeout
        self.senders = senders
        base = (time.time_ns() // 1_000_000_000 - 3600) * 1_000_000_000
        attrs = {"input.value": "x" * attribute_bytes} if attribute_bytes else None
        self.built: list = []
        for i in range(requests):
            spans = []
            for j in range(spans_per_request // 5):
                spans += simple_trace(5, base + (i * 100 + j) * 1_000_000, llm_tokens=(5, 1), attributes=attrs)
            self.built.append((make_request(spans, project=project), [s.span_id.hex() for s in spans]))
        self.acked: set[int] = set()
        self.gave_up: dict[int, str] = {}
        self.codes: collections.Counter = collections.Counter()  # every failed attempt, by code
        self._lock = threading.Lock()
        self._next = 0
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    @property
    def sent_ids(self) -> set[str]:
        return {span for _, ids in self.built for span in ids}

    @property
    def acked_ids(self) -> set[str]:
        with self._lock:
            return {span for i in self.acked for span in self.built[i][1]}

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def start(self) -> "SpanLoad":
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._sender, daemon=True) for _ in range(self.senders)]
        for t in self._threads:
            t.start()
        return self

    def wait_acked(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.acked_count() < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {self.acked_count()} of {count} requests acknowledged in {timeout}s "
                                     f"(failed attempts: {dict(self.codes)})")
            time.sleep(0.02)

    def join(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "a sender hung"

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= len(self.built):
                return None
            i = self._next
            self._next += 1
        if self.rate > 0:
            due = self._started + i / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return i

    def _sender(self) -> None:
        channel, target = None, None
        try:
            while (i := self._take()) is not None:
                first = time.monotonic()
                backoff = 0.05
                while True:
                    try:
                        current = self.server.grpc_target
                        if current != target:
                            if channel is not None:
                                channel.close()
                            channel, target = grpc_channel(current), current
                        grpc_export(channel, self.built[i][0], timeout=self.rpc_timeout)
                        with self._lock:
                            self.acked.add(i)
                        break
                    except grpc.RpcError as exc:
                        code = exc.code()
                        with self._lock:
                            self.codes[code.name] += 1
                        if code not in RETRYABLE_GRPC or time.monotonic() - first > self.retry_for:
                            with self._lock:
                                self.gave_up[i] = code.name
                            break
                    except (KeyError, TypeError):  # the restarted ingest has not written its ports yet
                        pass
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 0.5)
        finally:
            if channel is not None:
                channel.close()


def assert_stored_exactly_once(server: "DistributedOsprey", load: SpanLoad, *, everything: bool = True,
                               timeout: float = 90.0) -> collections.Counter:
    """Every acknowledged span is listed exactly once through the REST API and is one row in Postgres;
    nothing that was not sent appears; trace rollups count each stored span once. With `everything`,
    every request must have been acknowledged in the end (the client retried until it was)."""
    acked, sent = load.acked_ids, load.sent_ids
    if everything:
        assert not load.gave_up, f"requests given up: {collections.Counter(load.gave_up.values())}"
        assert acked == sent, f"{len(sent) - len(acked)} spans never acknowledged"
    listed = wait_for_span_ids(server, load.project, acked, timeout=timeout)
    server.settle(timeout=timeout)
    listed = all_spans(server, load.project)
    stored = collections.Counter(s["context"]["span_id"] for s in listed)
    missing = acked - set(stored)
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged spans lost"
    duplicated = {span: n for span, n in stored.items() if n > 1}
    assert not duplicated, f"{len(duplicated)} spans listed more than once"
    unknown = set(stored) - sent
    assert not unknown, f"{len(unknown)} spans that were never sent"
    rows = server.span_id_counts(load.project)
    assert set(rows) == set(stored), "Postgres and the REST API disagree"
    assert max(rows.values(), default=1) == 1
    project = load.project.replace("'", "''")
    wrong = server.psql(
        "SELECT count(*) FROM traces t JOIN projects p ON p.id = t.project_id "
        f"WHERE p.name = '{project}' AND (t.span_count <> (SELECT count(*) FROM spans s WHERE s.trace_rowid = t.id) "
        "OR t.token_count_prompt <> (SELECT coalesce(sum(llm_token_count_prompt), 0) FROM spans s "
        "WHERE s.trace_rowid = t.id))")
    assert wrong == "0", f"{wrong} traces whose span count or token total double-counts a redelivered span"
    return stored
