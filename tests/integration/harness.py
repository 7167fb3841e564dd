"""Helpers for the end-to-end suite: run an osprey process, talk OTLP to it, read its REST API.

Nothing here asserts; tests do. Every network call targets 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
import re
import signal
import socket
import subprocess
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
    """Block YAML for nested dicts of scalars (all the config needs); strings are JSON-quoted."""
    pad = "  " * indent
    lines = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:")
            lines.append(to_yaml(item, indent + 1))
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


@dataclass
class Osprey:
    """One osprey process (and its restarts) on one data directory.

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
            "--target=all",
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
        for key in ("ingest_grpc", "ingest_http", "query_http"):
            if not isinstance(self.ports.get(key), int) or not 0 < self.ports[key] < 65536:
                raise OspreyError(f"ports file lacks a valid {key}: {self.ports}")
        while True:
            try:
                if requests.get(self.query_url + "/readyz", timeout=2).status_code == 200:
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

    def log_tail(self, lines: int = 60) -> str:
        if not self.logs:
            return "(no log)"
        try:
            text = self.logs[-1].read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return "\n".join(text[-lines:])

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


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def stored_spans(osprey: Osprey, project: str) -> list:
    """Like all_spans, but a project that does not exist (404: nothing was ever stored) is empty."""
    if osprey.get(f"/v1/projects/{quote(project)}/spans", {"limit": 1}).status_code == 404:
        return []
    return all_spans(osprey, project)


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
