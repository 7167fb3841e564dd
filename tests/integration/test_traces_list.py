"""GET /v1/projects/{p}/traces: sort × order × limit pagination visits every trace exactly once in the
requested order; the time window is [start_time, end_time) on the trace start; include_spans."""

from __future__ import annotations

import time

import pytest

from harness import (decode_global_id, iso_to_ns, make_request, ns_to_iso, post_request, quote, simple_trace,
                     wait_for_spans)

SECOND = 1_000_000_000
# Start offsets (s), latencies (ms) and the order traces are sent in are three different orders, so a
# server that pages by row id while sorting by time or latency would skip or repeat traces.
START_OFFSETS_S = [0, 60, 120, 180, 240, 300, 360]
LATENCIES_MS = [500, 100, 700, 300, 600, 200, 400]
SEND_ORDER = [3, 0, 6, 1, 5, 2, 4]


@pytest.fixture(scope="module")
def seven_traces(osprey):
    project = f"it-traces-list-{time.time_ns()}"
    base = (time.time_ns() // SECOND - 3600) * SECOND
    traces = {}
    for index in SEND_ORDER:
        start = base + START_OFFSETS_S[index] * SECOND
        latency = LATENCIES_MS[index] * 1_000_000
        spans = simple_trace(3, start, latency_ns=latency, llm_tokens=(10 * (index + 1), index + 1))
        response = post_request(osprey.ingest_url, make_request(spans, project=project))
        assert response.status_code == 200, response.text
        traces[spans[0].trace_id.hex()] = {"index": index, "start": start, "latency": latency}
    assert len(wait_for_spans(osprey, project, 3 * len(SEND_ORDER))) == 3 * len(SEND_ORDER)
    return project, base, traces


def walk_traces(osprey, project, params, limit):
    seen, pages, cursor = [], 0, None
    while True:
        query = dict(params, limit=limit)
        if cursor:
            query["cursor"] = cursor
        page = osprey.get_json(f"/v1/projects/{quote(project)}/traces", query)
        pages += 1
        assert len(page["data"]) <= limit
        seen.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages
        assert decode_global_id(cursor)[0] == "Trace", cursor
        assert pages < 50, "pagination does not terminate"


@pytest.mark.parametrize("limit", [1, 3, 7, 100])
@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("sort", ["start_time", "latency_ms"])
def test_pagination_walks_every_trace_once_in_order(osprey, seven_traces, sort, order, limit):
    project, _, traces = seven_traces
    seen, pages = walk_traces(osprey, project, {"sort": sort, "order": order}, limit)
    ids = [t["trace_id"] for t in seen]
    assert sorted(ids) == sorted(traces), f"walk saw {len(ids)} traces, {len(set(ids))} distinct, want 7"
    key = "start" if sort == "start_time" else "latency"
    want = sorted(traces, key=lambda t: traces[t][key], reverse=(order == "desc"))
    assert ids == want, f"order wrong for sort={sort} order={order} limit={limit}"
    assert pages == -(-7 // limit), f"{pages} pages for limit {limit}"


def test_default_order_is_newest_first(osprey, seven_traces):
    project, _, traces = seven_traces
    page = osprey.get_json(f"/v1/projects/{quote(project)}/traces")
    assert page["next_cursor"] is None
    want = sorted(traces, key=lambda t: traces[t]["start"], reverse=True)
    assert [t["trace_id"] for t in page["data"]] == want


def test_trace_fields_times_and_token_counts(osprey, seven_traces):
    project, _, traces = seven_traces
    for trace in osprey.get_json(f"/v1/projects/{quote(project)}/traces")["data"]:
        info = traces[trace["trace_id"]]
        n = info["index"] + 1
        assert iso_to_ns(trace["start_time"]) == info["start"]
        assert iso_to_ns(trace["end_time"]) == info["start"] + info["latency"]
        # two LLM children with (10n, n) tokens each
        assert (trace["token_count_prompt"], trace["token_count_completion"], trace["token_count_total"]) == \
            (20 * n, 2 * n, 22 * n), trace
        assert not trace.get("spans"), "spans must be absent without include_spans"


def test_time_window_is_inclusive_start_exclusive_end(osprey, seven_traces):
    project, base, traces = seven_traces
    params = {"start_time": ns_to_iso(base + 120 * SECOND), "end_time": ns_to_iso(base + 300 * SECOND)}
    found = osprey.get_json(f"/v1/projects/{quote(project)}/traces", params)["data"]
    assert sorted(traces[t["trace_id"]]["index"] for t in found) == [2, 3, 4]
    # naive timestamps are UTC
    naive = {"start_time": ns_to_iso(base + 120 * SECOND).replace("+00:00", ""),
             "end_time": ns_to_iso(base + 300 * SECOND).replace("+00:00", "")}
    found = osprey.get_json(f"/v1/projects/{quote(project)}/traces", naive)["data"]
    assert sorted(traces[t["trace_id"]]["index"] for t in found) == [2, 3, 4]
    # a window combined with pagination
    seen, _ = walk_traces(osprey, project, params, 1)
    assert sorted(traces[t["trace_id"]]["index"] for t in seen) == [2, 3, 4]


def test_include_spans_lists_each_trace_spans_by_start_time(osprey, seven_traces):
    project, _, traces = seven_traces
    page = osprey.get_json(f"/v1/projects/{quote(project)}/traces", {"include_spans": "true", "limit": 7})
    assert len(page["data"]) == 7
    for trace in page["data"]:
        spans = trace["spans"]
        assert len(spans) == 3, spans
        assert [s["name"] for s in spans] == ["root", "child-0", "child-1"]
        root = spans[0]
        assert root["parent_id"] is None and root["span_kind"] == "CHAIN"
        assert all(s["parent_id"] == root["span_id"] and s["span_kind"] == "LLM" for s in spans[1:])
        assert all(decode_global_id(s["id"])[0] == "Span" for s in spans)
        assert all(s["status_code"] == "UNSET" for s in spans)


def test_trace_list_by_project_global_id(osprey, seven_traces):
    project, _, traces = seven_traces
    projects = osprey.get_json("/v1/projects", {"limit": 1000})["data"]
    gid = next(p["id"] for p in projects if p["name"] == project)
    found = osprey.get_json(f"/v1/projects/{quote(gid)}/traces")["data"]
    assert sorted(t["trace_id"] for t in found) == sorted(traces)
