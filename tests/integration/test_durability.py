"""Acknowledged means durable: kill -9 osprey while a gRPC exporter streams spans; after a restart on the
same data directory every acknowledged span is there exactly once, and nothing unknown appears."""

from __future__ import annotations

import collections
import queue
import threading
import time

import grpc
import pytest

from harness import all_spans, grpc_channel, grpc_export, make_request, simple_trace

SECOND = 1_000_000_000
REQUESTS = 200
TRACES_PER_REQUEST = 2
SPANS_PER_TRACE = 5  # 10 spans per request
KILL_AFTER_ACKS = 60
SENDERS = 4


def build_requests(project: str):
    base = (time.time_ns() // SECOND - 3600) * SECOND
    built = []
    for i in range(REQUESTS):
        spans = []
        for j in range(TRACES_PER_REQUEST):
            spans += simple_trace(SPANS_PER_TRACE, base + (i * TRACES_PER_REQUEST + j) * 1_000_000,
                                  llm_tokens=(5, 1), attributes={"request.index": i})
        built.append((make_request(spans, project=project), [s.span_id.hex() for s in spans]))
    return built


def send_all(target: str, requests_, indices, on_ack=None, timeout: float = 10.0):
    """Sends requests_[i] for i in indices from SENDERS threads. Returns (acked, failed{i: code})."""
    work: queue.Queue = queue.Queue()
    for i in indices:
        work.put(i)
    acked: set[int] = set()
    failed: dict[int, grpc.StatusCode] = {}
    lock = threading.Lock()
    channel = grpc_channel(target)

    def sender():
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            try:
                grpc_export(channel, requests_[i][0], timeout=timeout)
            except grpc.RpcError as exc:
                with lock:
                    failed[i] = exc.code()
                continue
            with lock:
                acked.add(i)
                count = len(acked)
            if on_ack:
                on_ack(count)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    channel.close()
    assert not any(t.is_alive() for t in threads), "a sender hung"
    return acked, failed


@pytest.mark.slow
@pytest.mark.embedded_only("kill -9 of the one process; the distributed crashes are in test_faults_distributed.py")
def test_acknowledged_spans_survive_kill_9(osprey_factory, project):
    server = osprey_factory("durability")
    built = build_requests(project)
    sent_ids = {span for _, ids in built for span in ids}

    threshold = threading.Event()

    def on_ack(count):
        if count >= KILL_AFTER_ACKS:
            threshold.set()

    killer_result = {}

    def killer():
        if threshold.wait(timeout=120):
            server.kill()
            killer_result["killed_at"] = time.monotonic()

    kill_thread = threading.Thread(target=killer, daemon=True)
    kill_thread.start()
    acked, failed = send_all(server.grpc_target, built, range(REQUESTS), on_ack=on_ack)
    kill_thread.join(timeout=130)
    assert "killed_at" in killer_result, f"only {len(acked)} requests acknowledged before the deadline"
    assert len(acked) < REQUESTS, "the kill did not land mid-stream (every request was acknowledged)"
    assert len(acked) + len(failed) == REQUESTS
    unexpected = {code for code in failed.values() if code not in (grpc.StatusCode.UNAVAILABLE,
                                                                   grpc.StatusCode.DEADLINE_EXCEEDED,
                                                                   grpc.StatusCode.CANCELLED,
                                                                   grpc.StatusCode.UNKNOWN,
                                                                   grpc.StatusCode.INTERNAL)}
    assert not unexpected, f"failures other than the crash: {unexpected}"

    print(f"kill -9 after {len(acked)} acknowledged requests; {len(failed)} failed "
          f"({dict(collections.Counter(c.name for c in failed.values()))})")
    server.start()  # same data dir, new ports
    stored = collections.Counter(s["context"]["span_id"] for s in all_spans(server, project))
    acked_ids = {span for i in acked for span in built[i][1]}
    missing = acked_ids - set(stored)
    duplicated = {span for span, count in stored.items() if count > 1}
    unknown = set(stored) - sent_ids
    assert not missing, f"{len(missing)} acknowledged spans lost ({len(acked)} requests acknowledged)"
    assert not duplicated, f"{len(duplicated)} spans listed more than once"
    assert not unknown, f"{len(unknown)} spans that were never sent"

    # The exporter retries what was not acknowledged; redelivery of what did land is harmless.
    retried, retry_failed = send_all(server.grpc_target, built, sorted(failed))
    assert not retry_failed, retry_failed
    stored = collections.Counter(s["context"]["span_id"] for s in all_spans(server, project))
    assert set(stored) == sent_ids
    assert max(stored.values()) == 1
    traces = server.get_json(f"/v1/projects/{project}/traces", {"limit": 1000})["data"]
    assert len(traces) == REQUESTS * TRACES_PER_REQUEST
    assert all(t["token_count_prompt"] == 5 * (SPANS_PER_TRACE - 1) for t in traces), \
        "trace token totals double-counted after redelivery"
