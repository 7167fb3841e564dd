"""Token costs: LLM spans are priced from the built-in table or the configured one, and the cost is
shown per span and rolled up per trace, session and project (Osprey's /osprey/v1 routes and the
session JSON)."""

from __future__ import annotations

import time

import pytest
import requests

from harness import make_request, make_span, new_span_id, new_trace_id, post_request, wait_for_span_ids

SECOND = 1_000_000_000


def llm_span(trace, span_id, model, prompt, completion, start, *, parent=None, provider=None, extra=None):
    attributes = {"llm.model_name": model, "llm.token_count.prompt": prompt,
                  "llm.token_count.completion": completion, "session.id": extra.pop("session") if extra else None}
    if provider:
        attributes["llm.provider"] = provider
    attributes.update(extra or {})
    attributes = {k: v for k, v in attributes.items() if v is not None}
    return make_span(trace, span_id, "llm", start, start + SECOND, parent=parent, kind="LLM", attributes=attributes)


def span_json(osprey, project, span_id):
    response = osprey.get(f"/osprey/v1/projects/{project}/spans/{span_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_llm_spans_are_priced_and_rolled_up(osprey, project):
    t = (time.time_ns() // SECOND - 600) * SECOND
    trace, other = new_trace_id(), new_trace_id()
    root, mini, haiku, unknown, lone = (new_span_id() for _ in range(5))
    session = f"chat-{project}"
    spans = [
        make_span(trace, root, "agent", t, t + 10 * SECOND, kind="CHAIN", attributes={"session.id": session}),
        # built-in prices (libs/costs/data/model_prices.yaml): gpt-4o-mini(-2024-07-18) $0.15 / $0.60 per
        # 1M tokens, cache reads $0.075; claude-3-haiku-20240307 $0.25 / $1.25.
        llm_span(trace, mini, "gpt-4o-mini-2024-07-18", 1_000_000, 100_000, t + SECOND, parent=root,
                 extra={"session": session, "llm.token_count.prompt_details.cache_read": 400_000}),
        llm_span(trace, haiku, "claude-3-haiku-20240307", 2_000_000, 1_000_000, t + 2 * SECOND, parent=root),
        llm_span(trace, unknown, "in-house-model-x", 50, 50, t + 3 * SECOND, parent=root),
        llm_span(other, lone, "gpt-4o-mini", 1_000_000, 0, t + 20 * SECOND, extra={"session": session}),
    ]
    response = post_request(osprey.ingest_url, make_request(spans, project=project))
    assert response.status_code == 200, response.text
    wait_for_span_ids(osprey, project, [s.span_id.hex() for s in spans])

    mini_cost = 600_000 * 0.15e-6 + 400_000 * 0.075e-6 + 100_000 * 0.6e-6
    got = span_json(osprey, project, mini.hex())
    assert got["cost_total"] == pytest.approx(mini_cost)
    assert got["cost_prompt"] == pytest.approx(600_000 * 0.15e-6 + 400_000 * 0.075e-6)
    assert got["cost_details"]["model"] == "gpt-4o-mini-2024-07-18"  # the most specific matching entry
    details = {(d["token_type"], d["is_prompt"]): d for d in got["cost_details"]["details"]}
    assert details[("cache_read", True)]["tokens"] == 400_000
    assert details[("input", True)]["tokens"] == 600_000

    haiku_cost = 2 * 0.25 + 1.25
    assert span_json(osprey, project, haiku.hex())["cost_total"] == pytest.approx(haiku_cost)
    no_price = span_json(osprey, project, unknown.hex())
    assert no_price["cost_total"] is None and no_price["token_count_total"] == 100
    assert span_json(osprey, project, root.hex())["cost_total"] is None  # not an LLM span

    traces = {t["trace_id"]: t for t in osprey.get_json(f"/osprey/v1/projects/{project}/traces")["data"]}
    assert traces[trace.hex()]["cost_total"] == pytest.approx(mini_cost + haiku_cost)
    assert traces[other.hex()]["cost_total"] == pytest.approx(0.15)

    sessions = osprey.get_json(f"/v1/projects/{project}/sessions")["data"]
    assert [s["session_id"] for s in sessions] == [session]
    assert sessions[0]["cost_total"] == pytest.approx(mini_cost + haiku_cost + 0.15)

    summaries = {p["name"]: p for p in osprey.get_json("/osprey/v1/project_summaries")["data"]}
    assert summaries[project]["cost_total"] == pytest.approx(mini_cost + haiku_cost + 0.15)


def test_configured_prices_win_over_built_in_ones(osprey_factory, project):
    server = osprey_factory("prices", {"ingest": {"model_prices": [
        {"name": "our-mini", "match": "^gpt-4o-mini", "prompt": {"input": 10}, "completion": {"output": 20}},
        {"name": "in-house", "match": "in-house", "provider": "acme", "prompt": {"input": 1}},
    ]}})
    t = (time.time_ns() // SECOND - 600) * SECOND
    trace = new_trace_id()
    mini, acme, other_provider = new_span_id(), new_span_id(), new_span_id()
    spans = [llm_span(trace, mini, "gpt-4o-mini", 1_000_000, 1_000_000, t),
             llm_span(trace, acme, "in-house-v2", 3_000_000, 0, t, parent=mini, provider="acme"),
             llm_span(trace, other_provider, "in-house-v2", 3_000_000, 0, t, parent=mini, provider="other")]
    response = post_request(server.ingest_url, make_request(spans, project=project))
    assert response.status_code == 200, response.text
    wait_for_span_ids(server, project, [s.span_id.hex() for s in spans])
    assert span_json(server, project, mini.hex())["cost_total"] == pytest.approx(30.0)
    assert span_json(server, project, acme.hex())["cost_total"] == pytest.approx(3.0)
    assert span_json(server, project, other_provider.hex())["cost_total"] is None


def test_a_bad_price_configuration_is_refused_with_its_field(osprey_factory):
    from harness import OspreyError

    with pytest.raises(OspreyError) as error:
        osprey_factory("bad-prices", {"ingest": {"model_prices": [{"name": "x", "match": "gpt-(4",
                                                                   "prompt": {"input": 1}}]}})
    assert "ingest.model_prices" in str(error.value) and "does not compile" in str(error.value)
