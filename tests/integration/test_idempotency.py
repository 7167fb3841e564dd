"""Redelivery is harmless: a batch sent again (an exporter retry) is stored once, and trace and session
token totals do not double."""

from __future__ import annotations

import time
import uuid

from harness import (all_spans, all_traces, grpc_channel, grpc_export, make_request, make_span, new_span_id,
                     new_trace_id, post_request, quote, wait_for_spans)

SECOND = 1_000_000_000


def llm_trace(session_id: str, n_llm: int, start: int, trace_id: bytes | None = None, root_id: bytes | None = None,
              with_root: bool = True):
    trace_id = trace_id or new_trace_id()
    root_id = root_id or new_span_id()
    spans = []
    if with_root:
        spans.append(make_span(trace_id, root_id, "agent", start, start + 10 * SECOND, kind="CHAIN",
                               attributes={"session.id": session_id}))
    for i in range(n_llm):
        spans.append(make_span(trace_id, new_span_id(), f"llm-{i}", start + i * SECOND, start + (i + 1) * SECOND,
                               parent=root_id, kind="LLM", attributes={
                                   "session.id": session_id, "llm.token_count.prompt": 100,
                                   "llm.token_count.completion": 10, "llm.model_name": "gpt-4o-mini"}))
    return trace_id, root_id, spans


def totals(osprey, project, session_id, expect_spans=0):
    """What a user sees once `expect_spans` spans are listed and every earlier ack is visible (settle)."""
    wait_for_spans(osprey, project, expect_spans)
    osprey.settle()
    spans = all_spans(osprey, project)
    traces = all_traces(osprey, project)
    session = osprey.get_json(f"/v1/sessions/{quote(session_id)}")["data"]
    return {
        "spans": sorted(s["context"]["span_id"] for s in spans),
        "traces": sorted((t["trace_id"], t["token_count_prompt"], t["token_count_completion"], t["token_count_total"])
                         for t in traces),
        "session": (len(session["traces"]), session["token_count_prompt"], session["token_count_completion"],
                    session["token_count_total"]),
    }


def test_same_http_request_twice_is_stored_once(osprey, project):
    session_id = f"s-{uuid.uuid4().hex}"
    _, _, spans = llm_trace(session_id, 3, (time.time_ns() // SECOND - 600) * SECOND)
    request = make_request(spans, project=project)
    assert post_request(osprey.ingest_url, request).status_code == 200
    first = totals(osprey, project, session_id, 4)
    assert len(first["spans"]) == 4
    assert first["session"] == (1, 300, 30, 330)
    response = post_request(osprey.ingest_url, request)
    assert response.status_code == 200, response.text
    assert totals(osprey, project, session_id) == first
    # and once more through the query port, gzip-compressed
    assert post_request(osprey.query_url, request, gzip_body=True).status_code == 200
    assert totals(osprey, project, session_id) == first


def test_same_grpc_request_twice_is_stored_once(osprey, project):
    session_id = f"s-{uuid.uuid4().hex}"
    _, _, spans = llm_trace(session_id, 2, (time.time_ns() // SECOND - 600) * SECOND)
    request = make_request(spans, project=project)
    with grpc_channel(osprey.grpc_target) as channel:
        grpc_export(channel, request)
        first = totals(osprey, project, session_id, 3)
        assert first["traces"][0][1:] == (200, 20, 220)
        reply = grpc_export(channel, request)
        assert reply.partial_success.rejected_spans == 0
    assert totals(osprey, project, session_id) == first


def test_overlapping_batches_count_each_span_once(osprey, project):
    """A retry that carries old and new spans of the same trace: the new ones are added, the old ones
    are not counted twice in the rollups."""
    session_id = f"s-{uuid.uuid4().hex}"
    start = (time.time_ns() // SECOND - 600) * SECOND
    trace_id, root_id, first_spans = llm_trace(session_id, 2, start)
    _, _, more = llm_trace(session_id, 2, start + 3 * SECOND, trace_id=trace_id, root_id=root_id, with_root=False)
    assert post_request(osprey.ingest_url, make_request(first_spans, project=project)).status_code == 200
    assert post_request(osprey.ingest_url, make_request(first_spans[1:] + more, project=project)).status_code == 200
    result = totals(osprey, project, session_id, 5)
    assert len(result["spans"]) == 5
    assert result["traces"] == [(trace_id.hex(), 400, 40, 440)]
    assert result["session"] == (1, 400, 40, 440)
