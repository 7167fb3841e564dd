"""Phoenix's mutation routes driven by the pinned arize-phoenix-client (and plain HTTP where the client has no
method: trace delete and transfer) against a running Osprey: projects, POST spans, span/trace/session deletes,
trace transfer. Every result is checked against what was sent, through the read routes."""

from __future__ import annotations

import uuid

import httpx
import pytest
import requests
from phoenix.client import Client
from phoenix.client.exceptions import SpanCreationError

from harness import all_traces, decode_global_id, quote, stored_spans, wait_for_span_ids, wait_for_spans
from test_phoenix_client import send_agent_trace


def hex_id(digits: int) -> str:
    return uuid.uuid4().hex[:digits]


def rest_span(trace_id: str, span_id: str, name: str, parent_id: str | None = None, **extra) -> dict:
    span = {
        "name": name,
        "context": {"trace_id": trace_id, "span_id": span_id},
        "span_kind": "llm" if parent_id else "chain",
        "parent_id": parent_id,
        "start_time": "2025-03-04T05:06:07.123456+00:00",
        "end_time": "2025-03-04T05:06:08+00:00",
        "status_code": "OK",
    }
    span.update(extra)
    return span


def test_projects_create_update_delete(osprey, project):
    client = Client(base_url=osprey.query_url)
    created = client.projects.create(name=project, description="first words")
    assert created["name"] == project
    assert created["description"] == "first words"
    assert decode_global_id(created["id"])[0] == "Project"

    listed = client.projects.list(name_contains=project.upper())
    assert [p["name"] for p in listed] == [project]
    with pytest.raises(httpx.HTTPStatusError) as duplicate:
        client.projects.create(name=project)
    assert duplicate.value.response.status_code == 409

    updated = client.projects.update(project_name=project, description="second words")
    assert updated == {"name": project, "description": "second words", "id": created["id"]}
    assert client.projects.get(project_id=created["id"])["description"] == "second words"

    with pytest.raises(httpx.HTTPStatusError) as default:
        client.projects.delete(project_name="default")
    assert default.value.response.status_code == 403
    assert default.value.response.text == "The default project cannot be deleted"

    client.projects.delete(project_id=created["id"])
    with pytest.raises(httpx.HTTPStatusError) as gone:
        client.projects.get(project_name=project)
    assert gone.value.response.status_code == 404
    assert project not in [p["name"] for p in client.projects.list(name_contains=project)]


def test_log_spans_then_delete_spans(osprey, project):
    client = Client(base_url=osprey.query_url)
    trace_id, root_id, child_id = hex_id(32), hex_id(16), hex_id(16)
    spans = [
        rest_span(trace_id, root_id, "agent", attributes={"input.value": "hello", "session.id": f"s-{project}"}),
        rest_span(trace_id, child_id, "llm", parent_id=root_id,
                  attributes={"llm": {"model_name": "gpt-4o", "token_count": {"prompt": 12, "completion": 8}},
                              "llm.input_messages": [{"message.role": "user", "message.content": "hello"}]},
                  events=[{"name": "first token", "timestamp": "2025-03-04T05:06:07.5+00:00", "attributes": {}}]),
    ]
    result = client.spans.log_spans(project_identifier=project, spans=spans)
    assert result == {"total_received": 2, "total_queued": 2}

    stored = {s["context"]["span_id"]: s for s in wait_for_span_ids(osprey, project, [root_id, child_id])}
    llm = stored[child_id]
    assert llm["name"] == "llm"
    assert llm["span_kind"] == "LLM"
    assert llm["parent_id"] == root_id
    assert llm["start_time"] == "2025-03-04T05:06:07.123456+00:00"
    assert llm["attributes"]["llm.model_name"] == "gpt-4o"
    assert llm["attributes"]["llm.token_count.prompt"] == 12
    assert llm["attributes"]["llm.input_messages.0.message.role"] == "user"
    assert [e["name"] for e in llm["events"]] == ["first token"]
    assert stored[root_id]["span_kind"] == "CHAIN"
    traces = client.traces.get_traces(project_identifier=project)
    assert [(t["trace_id"], t["token_count_total"]) for t in traces] == [(trace_id, 20)]

    # Resent: the whole batch is refused and the duplicate named; a new span in it is not stored.
    extra_id = hex_id(16)
    with pytest.raises(SpanCreationError) as refused:
        client.spans.log_spans(project_identifier=project,
                               spans=[spans[0], rest_span(trace_id, extra_id, "late", parent_id=root_id)])
    assert [d["span_id"] for d in refused.value.duplicate_spans] == [root_id]
    with pytest.raises(SpanCreationError) as invalid:
        client.spans.log_spans(project_identifier=project, spans=[rest_span("not-hex", extra_id, "bad")])
    assert [i["span_id"] for i in invalid.value.invalid_spans] == [extra_id]
    assert extra_id not in {s["context"]["span_id"] for s in stored_spans(osprey, project)}

    # The LLM child by OTel id: the trace loses its tokens; then the root by GlobalID: the trace goes.
    client.spans.delete(span_identifier=child_id)
    assert {s["context"]["span_id"] for s in stored_spans(osprey, project)} == {root_id}
    assert client.traces.get_traces(project_identifier=project)[0]["token_count_total"] == 0
    client.spans.delete(span_identifier=stored[root_id]["id"])
    assert stored_spans(osprey, project) == []
    assert client.traces.get_traces(project_identifier=project) == []
    with pytest.raises(httpx.HTTPStatusError) as missing:
        client.spans.delete(span_identifier=child_id)
    assert missing.value.response.status_code == 404


def test_list_and_delete_sessions(osprey, project):
    client = Client(base_url=osprey.query_url)
    sessions = [f"chat-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    traces = {session: send_agent_trace(osprey.query_url, project, session)["trace"] for session in sessions}
    assert len(wait_for_spans(osprey, project, 6)) == 6
    listed = client.sessions.list(project_name=project)
    assert sorted(s["session_id"] for s in listed) == sorted(sessions)
    by_id = {s["session_id"]: s for s in listed}
    assert [t["trace_id"] for t in by_id[sessions[0]]["traces"]] == [traces[sessions[0]]]

    client.sessions.delete(session_id=sessions[0])
    with pytest.raises(httpx.HTTPStatusError) as gone:
        client.sessions.get(session_id=sessions[0])
    assert gone.value.response.status_code == 404
    # Bulk, by GlobalID, with one unknown id skipped; the sessions' traces and spans go too.
    unknown = "UHJvamVjdFNlc3Npb246OTk5OTk5OQ=="  # ProjectSession:9999999
    client.sessions.bulk_delete(session_ids=[by_id[sessions[1]]["id"], by_id[sessions[2]]["id"], unknown])
    assert client.sessions.list(project_name=project) == []
    assert all_traces(osprey, project) == []
    assert stored_spans(osprey, project) == []
    with pytest.raises(httpx.HTTPStatusError) as mixed:
        client.sessions.bulk_delete(session_ids=["some-session", by_id[sessions[1]]["id"]])
    assert mixed.value.response.status_code == 422


def test_delete_and_transfer_traces(osprey, project):
    client = Client(base_url=osprey.query_url)
    destination = client.projects.create(name=project + "-dst")
    session = f"moving-{uuid.uuid4().hex[:8]}"
    first = send_agent_trace(osprey.query_url, project, session)
    second = send_agent_trace(osprey.query_url, project, session)
    doomed = send_agent_trace(osprey.query_url, project, f"doomed-{uuid.uuid4().hex[:8]}")
    assert len(wait_for_spans(osprey, project, 6)) == 6
    base = osprey.query_url

    # Delete one trace by its OTel id: its spans and its (now empty) session go.
    assert requests.delete(f"{base}/v1/traces/{doomed['trace']}", timeout=10).status_code == 204
    assert {t["trace_id"] for t in all_traces(osprey, project)} == {first["trace"], second["trace"]}
    assert requests.delete(f"{base}/v1/traces/{doomed['trace']}", timeout=10).status_code == 404

    # Refusals change nothing.
    bad = requests.post(f"{base}/v1/traces/transfer", timeout=10,
                        json={"trace_identifiers": [first["trace"]], "destination_project_identifier": "nowhere-x"})
    assert bad.status_code == 404
    bad = requests.post(f"{base}/v1/traces/transfer", timeout=10, json={"trace_identifiers": [first["trace"]]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "destination_project_identifier"]

    # Both traces of the session, one by GlobalID: they move with their spans, and the session with them.
    second_gid = next(t["id"] for t in all_traces(osprey, project) if t["trace_id"] == second["trace"])
    moved = requests.post(f"{base}/v1/traces/transfer", timeout=10,
                          json={"trace_identifiers": [first["trace"], second_gid],
                                "destination_project_identifier": destination["id"]})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"data": {"transferred_trace_count": 2, "destination_project_id": destination["id"]}}
    assert all_traces(osprey, project) == []
    dst_name = quote(destination["name"])
    assert {t["trace_id"] for t in all_traces(osprey, destination["name"])} == {first["trace"], second["trace"]}
    assert len(stored_spans(osprey, destination["name"])) == 4
    moved_session = client.sessions.get(session_id=session)
    assert moved_session["project_id"] == destination["id"]
    assert moved_session["token_count_total"] == 36
    assert osprey.get(f"/v1/projects/{dst_name}/sessions").json()["data"][0]["session_id"] == session
    client.projects.delete(project_id=destination["id"])
