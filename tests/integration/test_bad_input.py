"""Bad input gets a clear error and nothing else: the right status, a precise message, a counted metric,
the valid part of the batch kept, and the server still serving."""

from __future__ import annotations

import gzip
import json
import time

import grpc
import pytest
from google.rpc import status_pb2

from harness import (PROTOBUF, JSON, fixture_spans, grpc_channel, grpc_export, load_fixture, make_request,
                     make_span, metric_delta, new_span_id, new_trace_id, parse_export_response, post_json, post_otlp,
                     post_request, quote, simple_trace, stored_spans, wait_for_span_ids, wait_for_spans)

SECOND = 1_000_000_000
SMALL_LIMIT = 64 * 1024

# The counters each refusal must bump (names from services/ingest, libs/http, services/query).
COUNTED_MALFORMED = r'^osprey_(ingest_requests_total\{.*outcome="malformed"|http_rejected_total\{.*reason="malformed")'
COUNTED_MEDIA = (r'^osprey_(ingest_requests_total\{.*outcome="unsupported_media_type"'
                 r'|http_rejected_total\{.*reason="bad_encoding")')
COUNTED_TOO_LARGE = r'^osprey_(http_rejected_total\{.*reason="too_large"|ingest_requests_total\{.*outcome="too_large")'
COUNTED_SPANS_REJECTED = r'^osprey_ingest_spans_rejected_total'
COUNTED_REST_ERROR = r'^osprey_query_rejected_requests_total'


def counted(server, before, pattern, what):
    after = server.metrics()
    delta = metric_delta(before, after, pattern)
    assert delta >= 1, f"{what}: no osprey_*_total counter matching {pattern!r} went up"


def still_works(server, project):
    spans = simple_trace(2, (time.time_ns() // SECOND - 60) * SECOND)
    response = post_request(server.ingest_url, make_request(spans, project=project))
    assert response.status_code == 200, f"server broken after bad input: {response.status_code} {response.text}"
    stored = {s["context"]["span_id"] for s in wait_for_span_ids(server, project, [s.span_id.hex() for s in spans])}
    assert {s.span_id.hex() for s in spans} <= stored


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    """A server whose ingest refuses requests over 64 KiB (body as received or after decompression)."""
    import conftest

    server = conftest._start(tmp_path_factory, "small", {"ingest": {"max_request_bytes": SMALL_LIMIT}})
    yield server
    server.stop()


def rpc_status(response, encoding):
    status = status_pb2.Status()
    if encoding == PROTOBUF:
        assert response.headers["Content-Type"].startswith(PROTOBUF), response.headers
        status.ParseFromString(response.content)
    else:
        assert response.headers["Content-Type"].startswith(JSON), response.headers
        doc = json.loads(response.content)
        status.code = int(doc.get("code", 0))
        status.message = doc.get("message", "")
    return status


@pytest.mark.parametrize("port", ["ingest", "query"])
def test_malformed_protobuf_is_400_with_rpc_status(osprey, project, port):
    url = osprey.ingest_url if port == "ingest" else osprey.query_url
    before = osprey.metrics()
    # field 1 (resource_spans), length-delimited, claims ~4 GB and ends at once
    response = post_otlp(url, b"\x0a\xff\xff\xff\xff\x0f\x01\x02", PROTOBUF)
    assert response.status_code == 400, response.text
    status = rpc_status(response, PROTOBUF)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0], status
    assert status.message, "a 400 must say what is wrong"
    counted(osprey, before, COUNTED_MALFORMED, "malformed protobuf")
    still_works(osprey, project)


@pytest.mark.parametrize("body,needle", [
    (b'{"resourceSpans": [ {"scopeSpans": [', None),
    (b'{"resourceSpans": "not a list"}', "resourceSpans"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz", "spanId": "0102030405060708", '
     b'"name": "n", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}', "traceId"),
])
def test_malformed_json_is_400_with_rpc_status(osprey, project, body, needle):
    before = osprey.metrics()
    response = post_otlp(osprey.ingest_url, body, JSON)
    assert response.status_code == 400, response.text
    status = rpc_status(response, JSON)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT.value[0], response.text
    assert status.message, response.text
    if needle:
        assert needle in status.message, f"message should name {needle}: {status.message}"
    counted(osprey, before, COUNTED_MALFORMED, "malformed JSON")
    still_works(osprey, project)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", ""])
def test_wrong_content_type_is_415(osprey, project, content_type):
    before = osprey.metrics()
    body = make_request(simple_trace(2, time.time_ns() - 10 * SECOND), project=project).SerializeToString()
    response = post_otlp(osprey.ingest_url, body, content_type)
    assert response.status_code == 415, response.text
    assert response.text, "a 415 must say which content types are accepted"
    counted(osprey, before, COUNTED_MEDIA, "wrong content type")
    osprey.settle()
    assert stored_spans(osprey, project) == [], "a refused request stored spans"
    still_works(osprey, project)


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_unsupported_content_encoding_is_415(osprey, project, encoding):
    before = osprey.metrics()
    body = make_request(simple_trace(2, time.time_ns() - 10 * SECOND), project=project).SerializeToString()
    response = post_otlp(osprey.ingest_url, body, PROTOBUF, encoding=encoding)
    assert response.status_code == 415, response.text
    counted(osprey, before, COUNTED_MEDIA, "unsupported content encoding")
    still_works(osprey, project)


def big_request(project, attribute_bytes):
    trace_id, span_id = new_trace_id(), new_span_id()
    start = time.time_ns() - 10 * SECOND
    span = make_span(trace_id, span_id, "big", start, start + SECOND, kind="LLM",
                     attributes={"input.value": "x" * attribute_bytes})
    return make_request([span], project=project)


def test_oversized_body_is_413(small_server, project):
    before = small_server.metrics()
    response = post_request(small_server.ingest_url, big_request(project, 2 * SMALL_LIMIT))
    assert response.status_code == 413, response.text
    assert response.text, "a 413 must say what the limit is"
    counted(small_server, before, COUNTED_TOO_LARGE, "oversized body")
    # just under the limit is fine
    ok = post_request(small_server.ingest_url, big_request(project, SMALL_LIMIT // 2))
    assert ok.status_code == 200, ok.text
    still_works(small_server, project)


def test_gzip_bomb_is_413(small_server, project):
    request = big_request(project, 16 * 1024 * 1024)  # 16 MiB decompressed, ~16 KiB on the wire
    body = gzip.compress(request.SerializeToString())
    assert len(body) < SMALL_LIMIT
    before = small_server.metrics()
    response = post_otlp(small_server.ingest_url, body, PROTOBUF, encoding="gzip")
    assert response.status_code == 413, response.text
    counted(small_server, before, COUNTED_TOO_LARGE, "gzip bomb")
    small_server.settle()
    assert stored_spans(small_server, project) == []
    still_works(small_server, project)


def test_grpc_oversized_message_is_resource_exhausted(small_server, project):
    before = small_server.metrics()
    with grpc_channel(small_server.grpc_target) as channel:
        with pytest.raises(grpc.RpcError) as caught:
            grpc_export(channel, big_request(project, 2 * SMALL_LIMIT))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, caught.value
        assert caught.value.details(), "RESOURCE_EXHAUSTED must say what the limit is"
        # the channel and the server still work
        grpc_export(channel, big_request(project, 1024))
    assert len(wait_for_spans(small_server, project, 1)) == 1
    counted(small_server, before, r'^osprey_ingest_requests_total\{.*transport="grpc".*outcome="(?!ok")',
            "gRPC oversized message")


def mixed_protobuf_request(project):
    start = time.time_ns() - 60 * SECOND
    trace_id, root = new_trace_id(), new_span_id()
    valid = [make_span(trace_id, root, "valid-root", start, start + SECOND, kind="CHAIN"),
             make_span(trace_id, new_span_id(), "valid-child", start + 1000, start + 2000, parent=root, kind="TOOL")]
    invalid = [
        make_span(trace_id[:5], new_span_id(), "short-trace-id", start, start + SECOND),
        make_span(trace_id, b"\x01\x02\x03", "short-span-id", start, start + SECOND),
        make_span(bytes(16), new_span_id(), "zero-trace-id", start, start + SECOND),
        make_span(trace_id, bytes(8), "zero-span-id", start, start + SECOND),
        make_span(trace_id, new_span_id(), "end-before-start", start + SECOND, start, parent=root),
        make_span(trace_id, new_span_id(), "short-parent-id", start, start + SECOND, parent=b"\x01\x02"),
    ]
    spans = [valid[0]] + invalid[:3] + [valid[1]] + invalid[3:]
    return make_request(spans, project=project), valid, invalid


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_invalid_spans_are_rejected_and_valid_ones_kept_protobuf(osprey, project, transport):
    request, valid, invalid = mixed_protobuf_request(project)
    before = osprey.metrics()
    if transport == "http":
        response = post_request(osprey.ingest_url, request)
        assert response.status_code == 200, response.text
        reply = parse_export_response(response)
    else:
        with grpc_channel(osprey.grpc_target) as channel:
            reply = grpc_export(channel, request)
    assert reply.partial_success.rejected_spans == len(invalid), reply
    message = reply.partial_success.error_message
    assert message, "partial success must say why spans were rejected"
    assert any(word in message for word in ("trace_id", "span_id", "end", "parent")), message
    osprey.settle()  # the rejected spans must not turn up later either
    stored = sorted(s["name"] for s in wait_for_spans(osprey, project, 2))
    assert stored == ["valid-child", "valid-root"]
    counted(osprey, before, COUNTED_SPANS_REJECTED, "rejected spans")


def test_invalid_spans_are_rejected_and_valid_ones_kept_json(osprey, project):
    document, _ = load_fixture("mixed_validity.json", project=project)
    before = osprey.metrics()
    response = post_json(osprey.ingest_url, document)
    assert response.status_code == 200, response.text
    reply = parse_export_response(response)
    assert reply.partial_success.rejected_spans == 3, response.text
    assert reply.partial_success.error_message, response.text
    osprey.settle()
    stored = {s["name"]: s for s in wait_for_spans(osprey, project, 2)}
    assert sorted(stored) == ["valid-child", "valid-root"]
    sent = {s["name"]: s for s in fixture_spans(document)}
    assert stored["valid-child"]["parent_id"] == sent["valid-root"]["spanId"]
    counted(osprey, before, COUNTED_SPANS_REJECTED, "rejected spans (JSON)")


@pytest.mark.parametrize("route", ["/v1/projects/{p}/spans", "/v1/projects/{p}/traces", "/v1/projects/{p}/sessions",
                                   "/v1/sessions/{p}"])
def test_unknown_project_or_session_is_404(osprey, route):
    name = f"no-such-thing-{time.time_ns()}"
    response = osprey.get(route.format(p=quote(name)))
    assert response.status_code == 404, response.text
    assert response.text, "a 404 must say what was not found"


@pytest.fixture(scope="module")
def populated(osprey):
    project = f"it-bad-rest-{time.time_ns()}"
    response = post_request(osprey.ingest_url, make_request(simple_trace(3, time.time_ns() - 60 * SECOND),
                                                            project=project))
    assert response.status_code == 200
    assert len(wait_for_spans(osprey, project, 3)) == 3
    return project


@pytest.mark.parametrize("resource", ["spans", "traces"])
@pytest.mark.parametrize("cursor", ["not-a-cursor!!", "Zm9vOmJhcg==", "U3BhbjpOb3RBTnVtYmVy", "VHJhY2U6"])
def test_bad_cursor_is_422(osprey, populated, resource, cursor):
    # not base64; "foo:bar"; "Span:NotANumber"; "Trace:" (no row id)
    before = osprey.metrics()
    response = osprey.get(f"/v1/projects/{quote(populated)}/{resource}", {"cursor": cursor})
    assert response.status_code == 422, f"{resource} cursor={cursor}: {response.status_code} {response.text}"
    assert "cursor" in response.text.lower(), response.text
    counted(osprey, before, COUNTED_REST_ERROR, "bad cursor")


@pytest.mark.parametrize("resource", ["spans", "traces"])
@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1001", "1.5"])
def test_bad_limit_is_422(osprey, populated, resource, limit):
    response = osprey.get(f"/v1/projects/{quote(populated)}/{resource}", {"limit": limit})
    assert response.status_code == 422, f"{resource} limit={limit}: {response.status_code} {response.text}"
    assert "limit" in response.text.lower(), response.text
    assert osprey.get(f"/v1/projects/{quote(populated)}/{resource}", {"limit": "1"}).status_code == 200


@pytest.mark.parametrize("params", [{"span_kind": "NOT_A_KIND"}, {"status_code": "MAYBE"},
                                    {"attribute": "no-colon"}, {"attribute": "k:null"}, {"attribute": "k:[1,2]"},
                                    {"start_time": "yesterday"}])
def test_bad_span_filter_is_422(osprey, populated, params):
    response = osprey.get(f"/v1/projects/{quote(populated)}/spans", params)
    assert response.status_code == 422, f"{params}: {response.status_code} {response.text}"


@pytest.mark.parametrize("params", [{"sort": "name"}, {"order": "sideways"}, {"start_time": "not-a-time"}])
def test_bad_trace_params_are_422(osprey, populated, params):
    response = osprey.get(f"/v1/projects/{quote(populated)}/traces", params)
    assert response.status_code == 422, f"{params}: {response.status_code} {response.text}"
