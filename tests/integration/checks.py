"""Assertions shared by the ingest scenarios: what a user sees of the agent trace through the REST API."""

from __future__ import annotations

import json
import math

from harness import FIXTURES_DIR, Osprey, all_spans, all_traces, decode_global_id, iso_to_ns, project_named, quote

SPAN_FIELDS = {"id", "name", "context", "span_kind", "parent_id", "start_time", "end_time", "status_code",
               "status_message", "attributes", "events"}
TRACE_SPAN_FIELDS = {"id", "span_id", "parent_id", "name", "span_kind", "status_code", "start_time", "end_time"}


def load_expected(name: str = "agent_trace.expected.json") -> dict:
    return json.loads((FIXTURES_DIR / name).read_text())


def same_value(actual, expected) -> bool:
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return math.isclose(actual, expected, rel_tol=1e-9)
    return actual == expected and type(actual) is type(expected)


def check_project(osprey: Osprey, project: str) -> dict:
    found = project_named(osprey, project)
    assert found is not None, f"project {project!r} not in GET /v1/projects"
    assert decode_global_id(found["id"])[0] == "Project", found
    return found


def check_agent_spans(osprey: Osprey, project: str, expected: dict, ids: dict, *, session_id: str,
                      check_times: bool = True, sdk_events: bool = False) -> dict:
    """Every span of the agent trace, as GET /v1/projects/{p}/spans returns it. `ids` maps the
    fixture's span ids (and trace id under the key "trace") to the ids actually sent."""
    spans = all_spans(osprey, project)
    assert len(spans) == len(expected["spans"]), [s["name"] for s in spans]
    by_id = {s["context"]["span_id"]: s for s in spans}
    for fixture_id, want in expected["spans"].items():
        span_id = ids[fixture_id]
        assert span_id in by_id, f"span {want['name']} ({span_id}) missing"
        got = by_id[span_id]
        where = f"span {want['name']} ({span_id})"
        assert SPAN_FIELDS <= set(got), f"{where}: missing fields {SPAN_FIELDS - set(got)}"
        assert decode_global_id(got["id"])[0] == "Span", f"{where}: id {got['id']}"
        assert got["context"]["trace_id"] == ids["trace"], where
        assert got["name"] == want["name"], where
        assert got["span_kind"] == want["span_kind"], where
        want_parent = ids[want["parent_id"]] if want["parent_id"] else None
        assert got["parent_id"] == want_parent, f"{where}: parent"
        assert got["status_code"] == want["status_code"], where
        assert got["status_message"] == want["status_message"], where
        if check_times:
            assert iso_to_ns(got["start_time"]) == want["start_time_ns"] // 1000 * 1000, f"{where}: {got['start_time']}"
            assert iso_to_ns(got["end_time"]) == want["end_time_ns"] // 1000 * 1000, f"{where}: {got['end_time']}"
            assert got["start_time"].endswith("+00:00"), got["start_time"]
        else:
            assert iso_to_ns(got["start_time"]) <= iso_to_ns(got["end_time"]), where
        attrs = got["attributes"]
        for key, value in want["attributes"].items():
            if key == "session.id":
                value = session_id
            assert key in attrs, f"{where}: attribute {key} missing; have {sorted(attrs)}"
            assert same_value(attrs[key], value), f"{where}: {key}={attrs[key]!r}, want {value!r}"
        assert "openinference.span.kind" not in attrs, f"{where}: span kind not popped out of attributes"
        assert len(got["events"]) == len(want["events"]), f"{where}: events {got['events']}"
        for got_event, want_event in zip(got["events"], want["events"]):
            assert got_event["name"] == want_event["name"], where
            iso_to_ns(got_event["timestamp"])
            event_attrs = got_event["attributes"]
            for key in want_event.get("absent_attributes", []):
                assert key not in event_attrs, f"{where}: exception event kept {key}"
            if sdk_events:
                assert event_attrs.get("exception.type") == want_event["attributes"]["exception.type"], event_attrs
                assert event_attrs.get("exception.message") == want_event["attributes"]["exception.message"]
                stack = event_attrs.get("exception.stacktrace", "")
                assert "Traceback" in stack and "ConnectionError: weather service unavailable" in stack, stack
            else:
                if check_times:
                    assert iso_to_ns(got_event["timestamp"]) == want_event["timestamp_ns"] // 1000 * 1000
                for key, value in want_event["attributes"].items():
                    assert same_value(event_attrs.get(key), value), f"{where}: event {key}={event_attrs.get(key)!r}"
    return by_id


def check_agent_trace(osprey: Osprey, project: str, expected: dict, ids: dict, *, check_times: bool = True) -> dict:
    project_gid = check_project(osprey, project)["id"]
    traces = all_traces(osprey, project, {"include_spans": "true"})
    assert len(traces) == 1, traces
    trace = traces[0]
    want = expected["trace"]
    assert decode_global_id(trace["id"])[0] == "Trace", trace["id"]
    assert trace["trace_id"] == ids["trace"]
    assert trace["project_id"] == project_gid
    assert trace["token_count_prompt"] == want["token_count_prompt"], trace
    assert trace["token_count_completion"] == want["token_count_completion"], trace
    assert trace["token_count_total"] == want["token_count_total"], trace
    if check_times:
        assert iso_to_ns(trace["start_time"]) == want["start_time_ns"] // 1000 * 1000, trace["start_time"]
        assert iso_to_ns(trace["end_time"]) == want["end_time_ns"] // 1000 * 1000, trace["end_time"]
    spans = trace.get("spans") or []
    assert len(spans) == want["span_count"], spans
    for span in spans:
        assert TRACE_SPAN_FIELDS <= set(span), span
    starts = [iso_to_ns(s["start_time"]) for s in spans]
    assert starts == sorted(starts), "include_spans summaries must be sorted by start_time"
    assert {s["span_id"] for s in spans} == {v for k, v in ids.items() if k != "trace"}
    return trace


def check_session(osprey: Osprey, project: str, expected: dict, ids: dict, session_id: str) -> None:
    project_gid = check_project(osprey, project)["id"]
    page = osprey.get_json(f"/v1/projects/{quote(project)}/sessions")
    sessions = page["data"]
    assert [s["session_id"] for s in sessions] == [session_id], sessions
    want = expected["session"]
    listed = sessions[0]
    assert decode_global_id(listed["id"])[0] == "ProjectSession", listed["id"]
    for route in (f"/v1/sessions/{quote(session_id)}", f"/v1/sessions/{quote(listed['id'])}"):
        session = osprey.get_json(route)["data"]
        assert session["session_id"] == session_id, route
        assert session["id"] == listed["id"], route
        assert session["project_id"] == project_gid, route
        assert [t["trace_id"] for t in session["traces"]] == [ids["trace"]], session["traces"]
        assert session["token_count_prompt"] == want["token_count_prompt"], session
        assert session["token_count_completion"] == want["token_count_completion"], session
        assert session["token_count_total"] == want["token_count_total"], session
        iso_to_ns(session["start_time"])
        iso_to_ns(session["end_time"])
