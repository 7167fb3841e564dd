"""Overload is refused, never absorbed: past ingest.inflight_bytes, OTLP/HTTP answers 429/503 with
Retry-After and gRPC answers RESOURCE_EXHAUSTED/UNAVAILABLE; what was acknowledged is stored, and what
was refused succeeds when retried."""

from __future__ import annotations

import collections
import threading
import time

import grpc
import pytest

from harness import (all_spans, grpc_channel, grpc_export, make_request, make_span, metric_delta, new_span_id,
                     new_trace_id, post_request, wait_for_span_ids)

SECOND = 1_000_000_000
BUDGET = 256 * 1024  # each request below is charged ~2 × 100 KiB, so about one fits at a time
SENDERS = 12
PER_SENDER = 8


def request_of(project: str):
    trace_id = new_trace_id()
    start = time.time_ns() - 30 * SECOND
    spans = [make_span(trace_id, new_span_id(), f"llm-{i}", start, start + SECOND, kind="LLM",
                       attributes={"input.value": "p" * 10_000}) for i in range(10)]
    return make_request(spans, project=project), [s.span_id.hex() for s in spans]


@pytest.fixture
def tight_server(osprey_factory):
    return osprey_factory("tight", {"ingest": {"inflight_bytes": BUDGET, "max_request_bytes": 128 * 1024}})


def blast(send, project):
    """SENDERS threads × PER_SENDER requests at once. Returns ({index: outcome}, built requests)."""
    built = [request_of(project) for _ in range(SENDERS * PER_SENDER)]
    outcomes: dict[int, object] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(SENDERS)

    def sender(k):
        barrier.wait()
        for i in range(k * PER_SENDER, (k + 1) * PER_SENDER):
            result = send(built[i][0])
            with lock:
                outcomes[i] = result

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes, built


def test_http_overload_is_429_or_503_with_retry_after(tight_server, project):
    before = tight_server.metrics()
    outcomes, built = blast(lambda req: post_request(tight_server.ingest_url, req), project)
    codes = collections.Counter(r.status_code for r in outcomes.values())
    refused = [i for i, r in outcomes.items() if r.status_code in (429, 503)]
    assert set(codes) <= {200, 429, 503}, codes
    assert refused, f"{len(built)} concurrent requests against a {BUDGET}-byte budget: none refused ({codes})"
    for i in refused:
        retry_after = outcomes[i].headers.get("Retry-After")
        assert retry_after is not None and retry_after.strip().isdigit(), outcomes[i].headers
    assert metric_delta(before, tight_server.metrics(), r'^osprey_ingest_requests_total\{.*outcome="overloaded"') >= 1

    acked = {span for i, r in outcomes.items() if r.status_code == 200 for span in built[i][1]}
    stored = collections.Counter(s["context"]["span_id"] for s in wait_for_span_ids(tight_server, project, acked))
    assert acked <= set(stored), "acknowledged spans missing"
    # the exporter's retry after Retry-After succeeds
    for i in refused:
        for _ in range(50):
            response = post_request(tight_server.ingest_url, built[i][0])
            if response.status_code == 200:
                break
            time.sleep(0.1)
        assert response.status_code == 200, response.text
    every = {span for _, ids in built for span in ids}
    wait_for_span_ids(tight_server, project, every)
    tight_server.settle()
    stored = collections.Counter(s["context"]["span_id"] for s in all_spans(tight_server, project))
    assert set(stored) == {span for _, ids in built for span in ids}
    assert max(stored.values()) == 1


def test_grpc_overload_is_retryable(tight_server, project):
    channel = grpc_channel(tight_server.grpc_target)

    def send(req):
        try:
            grpc_export(channel, req)
            return grpc.StatusCode.OK
        except grpc.RpcError as exc:
            return exc

    outcomes, built = blast(send, project)
    channel.close()
    codes = collections.Counter(o if o == grpc.StatusCode.OK else o.code() for o in outcomes.values())
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE}, codes
    refused = [o for o in outcomes.values() if o != grpc.StatusCode.OK]
    assert refused, f"no request refused: {codes}"
    # RetryInfo travels in the grpc-status-details-bin trailer (google.rpc.Status with details)
    trailers = dict(refused[0].trailing_metadata() or ())
    assert "grpc-status-details-bin" in trailers, f"no RetryInfo: {trailers}"
    acked = {span for i, o in outcomes.items() if o == grpc.StatusCode.OK for span in built[i][1]}
    stored = {s["context"]["span_id"] for s in wait_for_span_ids(tight_server, project, acked)}
    assert acked <= stored
