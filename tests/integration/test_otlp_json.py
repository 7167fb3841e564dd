"""Raw OTLP/JSON posts (hex ids, int64 as decimal strings) and the x-project-name header override."""

from __future__ import annotations

import uuid

import checks
from harness import (fixture_spans, load_fixture, parse_export_response, post_json, project_named, quote,
                     wait_for_spans)


def fixture_ids(document: dict, mapping: dict) -> dict:
    spans = fixture_spans(document)
    ids = {old: new for old, new in mapping.items() if len(old) == 16}
    ids["trace"] = spans[0]["traceId"]
    return ids


def test_json_agent_trace_is_stored_exactly(osprey, project):
    session_id = f"session-{uuid.uuid4().hex}"
    document, mapping = load_fixture("agent_trace.json", project=project, replace_attributes={"session.id": session_id})
    response = post_json(osprey.ingest_url, document)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    reply = parse_export_response(response)
    assert reply.partial_success.rejected_spans == 0, reply

    ids = fixture_ids(document, mapping)
    expected = checks.load_expected()
    wait_for_spans(osprey, project, len(expected["spans"]))
    checks.check_agent_spans(osprey, project, expected, ids, session_id=session_id)
    checks.check_agent_trace(osprey, project, expected, ids)
    checks.check_session(osprey, project, expected, ids, session_id)


def test_x_project_name_header_wins_over_resource_attribute(osprey, project):
    resource_project = f"{project}-from-resource"
    session_id = f"session-{uuid.uuid4().hex}"
    document, mapping = load_fixture("agent_trace.json", project=resource_project,
                                     replace_attributes={"session.id": session_id})
    # Phoenix's own OTLP/HTTP endpoint lives on the query port (6006); gzip as exporters send it.
    response = post_json(osprey.query_url, document, gzip_body=True, headers={"x-project-name": project})
    assert response.status_code == 200, response.text
    assert parse_export_response(response).partial_success.rejected_spans == 0

    ids = fixture_ids(document, mapping)
    wait_for_spans(osprey, project, len(checks.load_expected()["spans"]))
    osprey.settle()  # nothing may turn up under the resource attribute's project later either
    checks.check_agent_spans(osprey, project, checks.load_expected(), ids, session_id=session_id)
    assert project_named(osprey, resource_project) is None, "the resource attribute's project was created"
    assert osprey.get(f"/v1/projects/{quote(resource_project)}/spans").status_code == 404


def test_span_without_project_attribute_goes_to_default_project(osprey):
    document, _ = load_fixture("mixed_validity.json")
    spans = fixture_spans(document)
    valid = [s for s in spans if s["name"].startswith("valid")]
    document["resourceSpans"][0]["scopeSpans"][0]["spans"] = valid
    response = post_json(osprey.ingest_url, document)
    assert response.status_code == 200, response.text
    trace_id = valid[0]["traceId"]
    found = wait_for_spans(osprey, "default", 2, params=[("trace_id", trace_id)])
    assert sorted(s["name"] for s in found) == ["valid-child", "valid-root"]
