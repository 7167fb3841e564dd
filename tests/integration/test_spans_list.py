"""GET /v1/projects/{p}/spans: every filter, alone and combined, and cursor pagination."""

from __future__ import annotations

import json
import time

import pytest

from harness import (decode_global_id, make_request, make_span, new_span_id, new_trace_id, ns_to_iso, post_request,
                     quote, wait_for_spans, walk)

SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def spans_project(osprey):
    """Trace A (at T): agent(CHAIN, OK) → llm-call(LLM, OK), tool-call(TOOL, ERROR) → search(RETRIEVER).
    Trace B (at T+100 s): agent(CHAIN, UNSET) → llm-call(LLM, UNSET)."""
    project = f"it-spans-list-{time.time_ns()}"
    t = (time.time_ns() // SECOND - 7200) * SECOND
    a, b = new_trace_id(), new_trace_id()
    ids = {name: new_span_id() for name in ("a_root", "a_llm", "a_tool", "a_search", "b_root", "b_llm")}
    spans = [
        make_span(a, ids["a_root"], "agent", t, t + 5 * SECOND, kind="CHAIN", status="OK",
                  attributes={"user.id": "u-1", "metadata": json.dumps({"tier": 2, "region": "eu"})}),
        make_span(a, ids["a_llm"], "llm-call", t + SECOND, t + 2 * SECOND, parent=ids["a_root"], kind="LLM",
                  status="OK", attributes={"llm.token_count.prompt": 7, "llm.token_count.completion": 3}),
        make_span(a, ids["a_tool"], "tool-call", t + 2 * SECOND, t + 4 * SECOND, parent=ids["a_root"], kind="TOOL",
                  status="ERROR", status_message="boom"),
        make_span(a, ids["a_search"], "search", t + 3 * SECOND, t + 4 * SECOND, parent=ids["a_tool"],
                  kind="RETRIEVER"),
        make_span(b, ids["b_root"], "agent", t + 100 * SECOND, t + 101 * SECOND, kind="CHAIN",
                  attributes={"user.id": "u-2", "retries": 12, "flag": True, "ratio": 0.25}),
        make_span(b, ids["b_llm"], "llm-call", t + 100 * SECOND, t + 101 * SECOND, parent=ids["b_root"], kind="LLM"),
    ]
    # two requests, so row ids are not simply one batch
    for chunk in (spans[:3], spans[3:]):
        response = post_request(osprey.ingest_url, make_request(chunk, project=project))
        assert response.status_code == 200, response.text
    assert len(wait_for_spans(osprey, project, len(spans))) == len(spans)
    hex_ids = {k: v.hex() for k, v in ids.items()}
    return {"project": project, "t": t, "a": a.hex(), "b": b.hex(), "ids": hex_ids,
            "name_of": {v: k for k, v in hex_ids.items()}}


def names(osprey, ctx, params):
    items, _ = walk(osprey, f"/v1/projects/{quote(ctx['project'])}/spans", params, limit=100)
    return sorted(ctx["name_of"][s["context"]["span_id"]] for s in items)


def test_cursor_pagination_walks_every_span_once_newest_row_first(osprey, spans_project):
    ctx = spans_project
    for limit, want_pages in ((1, 6), (4, 2), (6, 1), (1000, 1)):
        items, pages = walk(osprey, f"/v1/projects/{quote(ctx['project'])}/spans", None, limit=limit)
        span_ids = [s["context"]["span_id"] for s in items]
        assert sorted(span_ids) == sorted(ctx["ids"].values()), f"limit {limit}"
        assert pages == want_pages, f"limit {limit}: {pages} pages"
        rowids = [decode_global_id(s["id"])[1] for s in items]
        assert rowids == sorted(rowids, reverse=True), "spans are listed by row id DESC"


@pytest.mark.parametrize("params,want", [
    ([("span_kind", "LLM")], ["a_llm", "b_llm"]),
    ([("span_kind", "LLM"), ("span_kind", "TOOL")], ["a_llm", "a_tool", "b_llm"]),
    ([("status_code", "ERROR")], ["a_tool"]),
    ([("status_code", "OK")], ["a_llm", "a_root"]),
    ([("status_code", "UNSET")], ["a_search", "b_llm", "b_root"]),
    ([("name", "agent")], ["a_root", "b_root"]),
    ([("name", "search"), ("name", "tool-call")], ["a_search", "a_tool"]),
    ([("parent_id", "null")], ["a_root", "b_root"]),
    ([("attribute", "user.id:u-1")], ["a_root"]),
    ([("attribute", "retries:12")], ["b_root"]),
    ([("attribute", "flag:true")], ["b_root"]),
    ([("attribute", "ratio:0.25")], ["b_root"]),
    ([("attribute", "metadata.tier:2")], ["a_root"]),
    ([("attribute", "metadata.region:eu")], ["a_root"]),
    ([("attribute", "user.id:u-2"), ("attribute", "retries:12")], ["b_root"]),
    ([("attribute", "user.id:u-2"), ("attribute", "retries:13")], []),
    ([("span_kind", "LLM"), ("status_code", "OK")], ["a_llm"]),
])
def test_filters(osprey, spans_project, params, want):
    assert names(osprey, spans_project, params) == want


def test_id_filters(osprey, spans_project):
    ctx = spans_project
    ids = ctx["ids"]
    assert names(osprey, ctx, [("trace_id", ctx["a"])]) == ["a_llm", "a_root", "a_search", "a_tool"]
    assert len(names(osprey, ctx, [("trace_id", ctx["a"]), ("trace_id", ctx["b"])])) == 6
    assert names(osprey, ctx, [("span_id", ids["a_tool"])]) == ["a_tool"]
    assert names(osprey, ctx, [("span_id", ids["a_tool"]), ("span_id", ids["b_llm"])]) == ["a_tool", "b_llm"]
    assert names(osprey, ctx, [("parent_id", ids["a_root"])]) == ["a_llm", "a_tool"]
    assert names(osprey, ctx, [("trace_id", "0" * 31 + "1")]) == []


def test_time_window_on_span_start(osprey, spans_project):
    ctx = spans_project
    t = ctx["t"]
    assert names(osprey, ctx, [("start_time", ns_to_iso(t + 100 * SECOND))]) == ["b_llm", "b_root"]
    assert names(osprey, ctx, [("end_time", ns_to_iso(t + 100 * SECOND))]) == ["a_llm", "a_root", "a_search", "a_tool"]
    # start inclusive, end exclusive
    window = [("start_time", ns_to_iso(t + SECOND)), ("end_time", ns_to_iso(t + 3 * SECOND))]
    assert names(osprey, ctx, window) == ["a_llm", "a_tool"]


def test_filter_with_pagination(osprey, spans_project):
    ctx = spans_project
    items, pages = walk(osprey, f"/v1/projects/{quote(ctx['project'])}/spans", [("span_kind", "LLM")], limit=1)
    assert sorted(ctx["name_of"][s["context"]["span_id"]] for s in items) == ["a_llm", "b_llm"]
    assert pages == 2


def test_error_span_shows_status_message(osprey, spans_project):
    ctx = spans_project
    found = osprey.get_json(f"/v1/projects/{quote(ctx['project'])}/spans", [("status_code", "ERROR")])["data"]
    assert len(found) == 1
    assert found[0]["status_message"] == "boom"
    assert found[0]["span_kind"] == "TOOL"
    assert found[0]["parent_id"] == ctx["ids"]["a_root"]
