"""Annotations through Phoenix's own client, unchanged: phoenix-otel sends a trace, arize-phoenix-client logs
span, trace and session annotations from pandas dataframes and notes, reads them back (list and dataframe),
and every field is checked against what was sent. Trace and session annotations have no reader in the
client, so they are read through the REST route it would use."""

from __future__ import annotations

import base64
import math
import time
import uuid

import pandas as pd
import pytest
import requests
from phoenix.client import Client
from phoenix.otel import register

from harness import VISIBLE_TIMEOUT_S, wait_for_span_ids


def send_trace(base_url: str, project: str, session_id: str) -> dict:
    """A root CHAIN span with an LLM and a RETRIEVER child, all in one session."""
    provider = register(project_name=project, endpoint=base_url + "/v1/traces", batch=False,
                        set_global_tracer_provider=False, verbose=False)
    tracer = provider.get_tracer("osprey-annotations")
    ids = {}
    with tracer.start_as_current_span("agent", openinference_span_kind="chain") as root:
        root.set_attribute("session.id", session_id)
        ids["root"] = format(root.get_span_context().span_id, "016x")
        ids["trace"] = format(root.get_span_context().trace_id, "032x")
        for name, kind in (("llm", "llm"), ("retrieve", "retriever")):
            with tracer.start_as_current_span(name, openinference_span_kind=kind) as child:
                child.set_attribute("session.id", session_id)
                ids[name] = format(child.get_span_context().span_id, "016x")
    provider.force_flush()
    provider.shutdown()
    return ids


def global_id_type(gid: str) -> str:
    return base64.b64decode(gid).decode().split(":", 1)[0]


def rest(osprey, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, osprey.query_url + path, timeout=10, **kwargs)


def poll(fetch, accept, timeout: float = VISIBLE_TIMEOUT_S):
    """fetch() until accept(result) holds or the deadline passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        result = fetch()
        if accept(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


@pytest.fixture
def traced(osprey, project):
    session_id = f"session-{uuid.uuid4().hex[:8]}"
    ids = send_trace(osprey.query_url, project, session_id)
    spans = wait_for_span_ids(osprey, project, [ids["root"], ids["llm"], ids["retrieve"]])
    assert len(spans) == 3
    return ids, session_id, Client(base_url=osprey.query_url)


def test_span_annotations_from_a_dataframe_read_back_field_by_field(osprey, project, traced):
    ids, _, client = traced
    sent = pd.DataFrame({
        "span_id": [ids["llm"], ids["llm"], ids["retrieve"]],
        "name": ["correctness", "correctness", "relevance"],
        "annotator_kind": ["LLM", "CODE", "HUMAN"],
        "label": ["correct", "incorrect", "relevant"],
        "score": [0.9, 0.125, 1.0],
        "explanation": ["matches the reference", "regex check failed", "on topic"],
        "metadata": [{"model": "judge-1"}, {"rule": "r7", "n": 3}, {}],
        "identifier": ["", "regex", ""],
    })
    inserted = client.spans.log_span_annotations_dataframe(dataframe=sent, sync=True)
    assert len(inserted) == 3
    assert all(global_id_type(item["id"]) == "SpanAnnotation" for item in inserted)
    assert len({item["id"] for item in inserted}) == 3

    got = client.spans.get_span_annotations(span_ids=[ids["llm"], ids["retrieve"], ids["root"]],
                                            project_identifier=project)
    assert len(got) == 3
    by_key = {(a["span_id"], a["name"], a["identifier"]): a for a in got}
    for row in sent.itertuples():
        annotation = by_key[(row.span_id, row.name, row.identifier)]
        assert annotation["annotator_kind"] == row.annotator_kind
        assert annotation["result"] == {"label": row.label, "score": row.score, "explanation": row.explanation}
        assert annotation["metadata"] == row.metadata
        assert annotation["source"] == "API"
        assert annotation["user_id"] is None
        assert annotation["created_at"].endswith("+00:00")
    assert {a["id"] for a in got} == {item["id"] for item in inserted}

    frame = client.spans.get_span_annotations_dataframe(span_ids=[ids["llm"], ids["retrieve"]],
                                                        project_identifier=project)
    assert len(frame) == 3
    assert set(frame.index) == {ids["llm"], ids["retrieve"]}
    relevance = frame[frame["annotation_name"] == "relevance"].iloc[0]
    assert relevance["result.label"] == "relevant"
    assert relevance["result.score"] == 1.0
    assert relevance["result.explanation"] == "on topic"
    assert relevance["annotator_kind"] == "HUMAN"

    only = client.spans.get_span_annotations(span_ids=[ids["llm"]], project_identifier=project,
                                             include_annotation_names=["correctness"])
    assert sorted(a["identifier"] for a in only) == ["", "regex"]
    none = client.spans.get_span_annotations(span_ids=[ids["llm"], ids["retrieve"]], project_identifier=project,
                                             exclude_annotation_names=["correctness", "relevance"])
    assert none == []


def test_same_key_updates_in_place_and_async_writes_become_visible(osprey, project, traced):
    ids, _, client = traced
    first = client.spans.add_span_annotation(span_id=ids["llm"], annotation_name="tone", annotator_kind="LLM",
                                             label="polite", score=0.5, sync=True)
    # Default async path: the reply carries no ids; the update shows up in place (same id).
    assert client.spans.add_span_annotation(span_id=ids["llm"], annotation_name="tone", annotator_kind="HUMAN",
                                            label="rude", explanation="said so") is None

    def tone():
        return client.spans.get_span_annotations(span_ids=[ids["llm"]], project_identifier=project,
                                                 include_annotation_names=["tone"])
    got = poll(tone, lambda rows: rows and rows[0]["result"]["label"] == "rude")
    assert len(got) == 1
    assert got[0]["id"] == first["id"]
    assert got[0]["annotator_kind"] == "HUMAN"
    assert got[0]["result"] == {"label": "rude", "score": None, "explanation": "said so"}
    assert got[0]["updated_at"] >= got[0]["created_at"]


def test_annotation_sent_before_its_span_is_written_once_the_span_arrives(osprey, project):
    """Phoenix postpones an async annotation whose span is not stored yet; so does Osprey."""
    client = Client(base_url=osprey.query_url)
    provider = register(project_name=project, endpoint=osprey.query_url + "/v1/traces", batch=False,
                        set_global_tracer_provider=False, verbose=False)
    tracer = provider.get_tracer("osprey-annotations")
    span = tracer.start_span("late")
    span_id = format(span.get_span_context().span_id, "016x")
    client.spans.add_span_annotation(span_id=span_id, annotation_name="early", annotator_kind="CODE", score=2.0)
    span.end()
    provider.force_flush()
    provider.shutdown()
    wait_for_span_ids(osprey, project, [span_id])

    got = poll(lambda: client.spans.get_span_annotations(span_ids=[span_id], project_identifier=project),
               lambda rows: len(rows) == 1)
    assert [(a["name"], a["result"]["score"]) for a in got] == [("early", 2.0)]


def test_notes_append_and_are_hidden_by_the_client_default(osprey, project, traced):
    ids, session_id, client = traced
    one = client.spans.add_span_note(span_id=ids["root"], note="looks wrong")
    two = client.spans.add_span_note(span_id=ids["root"], note="fixed upstream")
    assert one["id"] != two["id"]
    assert client.spans.get_span_annotations(span_ids=[ids["root"]], project_identifier=project) == []
    notes = client.spans.get_span_annotations(span_ids=[ids["root"]], project_identifier=project,
                                              include_annotation_names=["note"], exclude_annotation_names=[])
    assert sorted(n["result"]["explanation"] for n in notes) == ["fixed upstream", "looks wrong"]
    assert all(n["name"] == "note" and n["annotator_kind"] == "HUMAN" for n in notes)
    assert all(n["identifier"].startswith("px-span-note:") for n in notes)

    trace_note = rest(osprey, "POST", "/v1/trace_notes", json={"data": {"trace_id": ids["trace"], "note": "t"}})
    assert trace_note.status_code == 200, trace_note.text
    session_note = rest(osprey, "POST", "/v1/session_notes", json={"data": {"session_id": session_id, "note": "s"}})
    assert session_note.status_code == 200, session_note.text
    listed = osprey.get_json(f"/v1/projects/{project}/session_annotations", {"session_ids": session_id})["data"]
    assert [(a["name"], a["result"]["explanation"]) for a in listed] == [("note", "s")]
    assert listed[0]["identifier"].startswith("px-session-note:")

    missing = rest(osprey, "POST", "/v1/span_notes", json={"data": {"span_id": "00000000000000ff", "note": "x"}})
    assert missing.status_code == 404


def test_trace_and_session_annotations_from_dataframes(osprey, project, traced):
    ids, session_id, client = traced
    traces = pd.DataFrame({"trace_id": [ids["trace"]], "label": ["resolved"], "score": [1.0],
                           "explanation": ["user happy"], "metadata": [{"by": "grader"}]})
    inserted = client.traces.log_trace_annotations_dataframe(dataframe=traces, annotation_name="outcome",
                                                             annotator_kind="LLM", sync=True)
    assert [global_id_type(i["id"]) for i in inserted] == ["TraceAnnotation"]
    got = osprey.get_json(f"/v1/projects/{project}/trace_annotations", {"trace_ids": ids["trace"]})
    assert got["next_cursor"] is None
    [trace_annotation] = got["data"]
    assert trace_annotation["id"] == inserted[0]["id"]
    assert trace_annotation["trace_id"] == ids["trace"]
    assert trace_annotation["name"] == "outcome"
    assert trace_annotation["annotator_kind"] == "LLM"
    assert trace_annotation["result"] == {"label": "resolved", "score": 1.0, "explanation": "user happy"}
    assert trace_annotation["metadata"] == {"by": "grader"}
    assert trace_annotation["identifier"] == ""

    sessions = pd.DataFrame({"session_id": [session_id, session_id], "name": ["frustration", "turns"],
                             "annotator_kind": ["HUMAN", "CODE"], "score": [0.25, 3.0],
                             "label": ["low", "many"]})
    inserted = client.sessions.log_session_annotations_dataframe(dataframe=sessions, sync=True)
    assert [global_id_type(i["id"]) for i in inserted] == ["ProjectSessionAnnotation"] * 2
    got = osprey.get_json(f"/v1/projects/{project}/session_annotations", {"session_ids": session_id})["data"]
    by_name = {a["name"]: a for a in got}
    assert set(by_name) == {"frustration", "turns"}
    assert by_name["frustration"]["session_id"] == session_id
    assert by_name["frustration"]["annotator_kind"] == "HUMAN"
    assert by_name["frustration"]["result"]["score"] == 0.25
    assert by_name["frustration"]["result"]["label"] == "low"
    assert by_name["turns"]["result"]["label"] == "many"
    assert by_name["turns"]["annotator_kind"] == "CODE"
    assert math.isclose(by_name["turns"]["result"]["score"], 3.0)


def test_bulk_delete_filters_and_bad_requests_change_nothing(osprey, project, traced):
    ids, _, client = traced
    client.spans.log_span_annotations(span_annotations=[
        {"span_id": ids["llm"], "name": "keep", "annotator_kind": "LLM", "result": {"score": 1}},
        {"span_id": ids["llm"], "name": "drop", "annotator_kind": "CODE", "result": {"score": 0}},
    ], sync=True)

    def names():
        rows = client.spans.get_span_annotations(span_ids=[ids["llm"]], project_identifier=project)
        return sorted(a["name"] for a in rows)

    bad = [
        ("POST", "/v1/span_annotations?sync=true", {"data": "nope"}, 422),
        ("POST", "/v1/span_annotations?sync=true",
         {"data": [{"span_id": ids["llm"], "name": "x", "annotator_kind": "ROBOT"}]}, 422),
        ("POST", "/v1/span_annotations?sync=true",
         {"data": [{"span_id": ids["llm"], "name": "note", "annotator_kind": "HUMAN"}]}, 400),
        ("POST", "/v1/span_annotations?sync=true",
         {"data": [{"span_id": ids["llm"], "name": "keep", "annotator_kind": "LLM"},
                   {"span_id": "00000000000000ff", "name": "keep", "annotator_kind": "LLM"}]}, 404),
        ("DELETE", f"/v1/projects/{project}/span_annotations?name=drop", None, 422),
        ("DELETE", "/v1/projects/no-such-project/span_annotations?delete_all=true", None, 404),
    ]
    for method, path, body, status in bad:
        response = rest(osprey, method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert names() == ["drop", "keep"]

    deleted = rest(osprey, "DELETE", f"/v1/projects/{project}/span_annotations",
                   params={"delete_all": "true", "name": "drop", "annotator_kind": "CODE"})
    assert deleted.status_code == 204
    assert names() == ["keep"]


def test_annotation_configs_and_project_assignment(osprey, project, traced):
    configs = osprey.get_json("/v1/annotation_configs", {"limit": 1000})["data"]
    assert "user_feedback" in [c["name"] for c in configs]

    name = f"helpfulness-{uuid.uuid4().hex[:8]}"
    created = rest(osprey, "POST", "/v1/annotation_configs",
                   json={"type": "CATEGORICAL", "name": name, "optimization_direction": "MAXIMIZE",
                         "values": [{"label": "yes", "score": 1}, {"label": "no", "score": 0}]})
    assert created.status_code == 200, created.text
    config = created.json()["data"]
    assert global_id_type(config["id"]) == "CategoricalAnnotationConfig"
    assert config["values"] == [{"label": "yes", "score": 1.0}, {"label": "no", "score": 0.0}]
    assert rest(osprey, "POST", "/v1/annotation_configs",
                json={"type": "FREEFORM", "name": "note"}).status_code == 400

    assigned = rest(osprey, "PUT", f"/v1/projects/{project}/annotation_configs/{config['id']}")
    assert assigned.status_code == 200, assigned.text
    listed = osprey.get_json(f"/v1/projects/{project}/annotation_configs")["data"]
    assert [c["name"] for c in listed] == [name]
    assert rest(osprey, "DELETE", f"/v1/projects/{project}/annotation_configs/{name}").status_code == 204
    assert osprey.get_json(f"/v1/projects/{project}/annotation_configs")["data"] == []
    assert rest(osprey, "DELETE", f"/v1/annotation_configs/{config['id']}").status_code == 200


def test_span_query_filters_on_logged_annotations(osprey, project, traced):
    """The span query language reads the annotations logged above: evals["name"].score / .label."""
    from phoenix.client.types.spans import SpanQuery

    ids, _, client = traced
    client.spans.log_span_annotations(span_annotations=[
        {"span_id": ids["llm"], "name": "hallucination", "annotator_kind": "LLM",
         "result": {"label": "factual", "score": 0.1}},
        {"span_id": ids["retrieve"], "name": "hallucination", "annotator_kind": "LLM",
         "result": {"label": "hallucinated", "score": 0.9}},
    ], sync=True)
    frame = client.spans.get_spans_dataframe(
        query=SpanQuery().where("evals['hallucination'].score > 0.5"), project_identifier=project)
    assert list(frame.index) == [ids["retrieve"]]
    frame = client.spans.get_spans_dataframe(
        query=SpanQuery().where("evals['hallucination'].label == 'factual'"), project_identifier=project)
    assert list(frame.index) == [ids["llm"]]
