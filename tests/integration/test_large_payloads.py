"""LLM-sized payloads: attributes of megabytes are stored whole, over both transports, never truncated."""

from __future__ import annotations

import time

from harness import (grpc_channel, grpc_export, make_request, make_span, new_span_id, new_trace_id,
                     post_request, wait_for_spans)

SECOND = 1_000_000_000


def big_span(size: int, marker: str):
    start = time.time_ns() - 10 * SECOND
    # Not compressible into a trivial pattern check: a marker at both ends proves nothing was cut.
    body = marker + ("lorem ipsum dolor sit amet " * (size // 27 + 1))[: size - 2 * len(marker)] + marker
    return make_span(new_trace_id(), new_span_id(), "long-context-llm", start, start + SECOND, kind="LLM",
                     attributes={"input.value": body, "llm.model_name": "gpt-4o"}), body


def test_multi_megabyte_attribute_over_http_is_stored_whole(osprey, project):
    span, body = big_span(6 * 1024 * 1024, "<<HTTP-MARKER>>")
    response = post_request(osprey.ingest_url, make_request([span], project=project), gzip_body=True)
    assert response.status_code == 200, response.text
    stored = wait_for_spans(osprey, project, 1)
    assert len(stored) == 1
    assert stored[0]["attributes"]["input.value"] == body


def test_multi_megabyte_attribute_over_grpc_is_stored_whole(osprey, project):
    span, body = big_span(12 * 1024 * 1024, "<<GRPC-MARKER>>")
    with grpc_channel(osprey.grpc_target) as channel:
        reply = grpc_export(channel, make_request([span], project=project))
    assert reply.partial_success.rejected_spans == 0
    stored = wait_for_spans(osprey, project, 1)
    assert len(stored) == 1
    assert len(stored[0]["attributes"]["input.value"]) == len(body)
    assert stored[0]["attributes"]["input.value"] == body
