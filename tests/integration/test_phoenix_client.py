"""Phoenix's own packages, unchanged, against Osprey: arize-phoenix-otel sends the traces to the gateway's
/v1/traces (its default path on 6006), and arize-phoenix-client reads them back through the REST API."""

from __future__ import annotations

import uuid

from phoenix.client import Client
from phoenix.otel import register

from harness import wait_for_spans


def send_agent_trace(base_url: str, project: str, session_id: str) -> dict:
    provider = register(project_name=project, endpoint=base_url + "/v1/traces", batch=False,
                        set_global_tracer_provider=False, verbose=False)
    tracer = provider.get_tracer("osprey-compat")
    ids = {}
    with tracer.start_as_current_span("agent", openinference_span_kind="chain") as root:
        root.set_attribute("session.id", session_id)
        root.set_attribute("input.value", "What is the weather in Paris?")
        ids["root"] = format(root.get_span_context().span_id, "016x")
        ids["trace"] = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("llm", openinference_span_kind="llm") as llm:
            llm.set_attribute("session.id", session_id)
            llm.set_attribute("llm.model_name", "gpt-4o")
            llm.set_attribute("llm.token_count.prompt", 11)
            llm.set_attribute("llm.token_count.completion", 7)
            llm.set_attribute("llm.input_messages.0.message.role", "user")
            llm.set_attribute("llm.input_messages.0.message.content", "What is the weather in Paris?")
            ids["llm"] = format(llm.get_span_context().span_id, "016x")
    provider.force_flush()  # SimpleSpanProcessor: each export returned after Osprey's commit
    provider.shutdown()
    return ids


def test_phoenix_otel_and_client_round_trip(osprey, project):
    session_id = f"session-{uuid.uuid4().hex[:8]}"
    ids = send_agent_trace(osprey.query_url, project, session_id)
    assert len(wait_for_spans(osprey, project, 2)) == 2
    client = Client(base_url=osprey.query_url)

    assert project in [p["name"] for p in client.projects.list()]
    got = client.projects.get(project_name=project)
    assert got["name"] == project

    spans = client.spans.get_spans(project_identifier=project, limit=100)
    by_name = {s["name"]: s for s in spans}
    assert set(by_name) == {"agent", "llm"}
    assert by_name["agent"]["parent_id"] is None
    assert by_name["llm"]["parent_id"] == ids["root"]
    assert by_name["llm"]["span_kind"] == "LLM"
    assert by_name["llm"]["context"] == {"trace_id": ids["trace"], "span_id": ids["llm"]}
    assert by_name["llm"]["attributes"]["llm.input_messages.0.message.role"] == "user"
    assert by_name["llm"]["attributes"]["llm.token_count.prompt"] == 11

    llm_only = client.spans.get_spans(project_identifier=project, span_kind=["LLM"])
    assert [s["name"] for s in llm_only] == ["llm"]

    traces = client.traces.get_traces(project_identifier=project, include_spans=True)
    assert len(traces) == 1
    assert traces[0]["trace_id"] == ids["trace"]
    assert traces[0]["token_count_prompt"] == 11
    assert traces[0]["token_count_completion"] == 7
    assert traces[0]["token_count_total"] == 18
    assert sorted(s["name"] for s in traces[0]["spans"]) == ["agent", "llm"]

    session = client.sessions.get(session_id=session_id)
    assert session["session_id"] == session_id
    assert [t["trace_id"] for t in session["traces"]] == [ids["trace"]]
    assert session["token_count_total"] == 18
