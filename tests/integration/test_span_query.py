"""The span query language through Phoenix's own client (arize-phoenix-client, unchanged): traces sent
with arize-phoenix-otel, read back with spans.get_spans_dataframe and SpanQuery, and every dataframe
checked against what was sent. POST /v1/spans answers multipart/mixed pandas tables (one per query)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from phoenix.client import Client
from phoenix.client.types.spans import SpanQuery
from phoenix.otel import register

from harness import VISIBLE_TIMEOUT_S, wait_for_spans


def send_traces(base_url: str, project: str) -> dict:
    """Two traces: an agent (CHAIN) with an LLM child and a retriever child, and a lone LLM root."""
    provider = register(project_name=project, endpoint=base_url + "/v1/traces", batch=False,
                        set_global_tracer_provider=False, verbose=False)
    tracer = provider.get_tracer("osprey-span-query")
    ids = {}
    with tracer.start_as_current_span("agent", openinference_span_kind="chain") as root:
        root.set_attribute("input.value", "Please issue a REFUND for order 42")
        root.set_attribute("metadata", '{"tier": "gold"}')
        ids["agent"] = format(root.get_span_context().span_id, "016x")
        ids["trace"] = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("llm big", openinference_span_kind="llm") as llm:
            llm.set_attribute("llm.model_name", "gpt-4o")
            llm.set_attribute("llm.token_count.prompt", 700)
            llm.set_attribute("llm.token_count.completion", 500)
            llm.set_attribute("llm.token_count.total", 1200)
            ids["llm big"] = format(llm.get_span_context().span_id, "016x")
        with tracer.start_as_current_span("search", openinference_span_kind="retriever") as ret:
            ret.set_attribute("retrieval.documents.0.document.content", "doc one")
            ret.set_attribute("retrieval.documents.1.document.content", "doc two")
            ids["search"] = format(ret.get_span_context().span_id, "016x")
    time.sleep(0.05)
    ids["between"] = datetime.now(timezone.utc)
    time.sleep(0.05)
    with tracer.start_as_current_span("llm small", openinference_span_kind="llm") as small:
        small.set_attribute("llm.model_name", "gpt-4o-mini")
        small.set_attribute("llm.token_count.total", 15)
        ids["llm small"] = format(small.get_span_context().span_id, "016x")
    provider.force_flush()
    provider.shutdown()
    return ids


@pytest.fixture
def sent(osprey, project):
    ids = send_traces(osprey.query_url, project)
    assert len(wait_for_spans(osprey, project, 4)) == 4
    return ids


def frame(client: Client, project: str, query: SpanQuery | None = None, **kwargs):
    return client.spans.get_spans_dataframe(query=query, project_identifier=project, **kwargs)


def test_all_spans_dataframe(osprey, project, sent):
    client = Client(base_url=osprey.query_url)
    df = frame(client, project)
    assert df.index.name == "context.span_id"
    assert set(df.index) == {sent["agent"], sent["llm big"], sent["search"], sent["llm small"]}
    assert df.loc[sent["llm big"], "name"] == "llm big"
    assert df.loc[sent["llm big"], "span_kind"] == "LLM"
    assert df.loc[sent["llm big"], "parent_id"] == sent["agent"]
    assert df.loc[sent["llm big"], "context.trace_id"] == sent["trace"]
    assert df.loc[sent["llm big"], "attributes.llm.model_name"] == "gpt-4o"
    assert df.loc[sent["llm big"], "attributes.llm.token_count.total"] == 1200
    assert df.loc[sent["agent"], "attributes.metadata"] == {"tier": "gold"}
    assert str(df["start_time"].dtype) == "datetime64[ns, UTC]"
    assert df.loc[sent["llm big"], "end_time"] >= df.loc[sent["llm big"], "start_time"]
    # Newest first, as Phoenix orders the frame.
    assert list(df.index)[0] == sent["llm small"]


def test_filters_select_and_index(osprey, project, sent):
    client = Client(base_url=osprey.query_url)
    llm = frame(client, project, SpanQuery().where("span_kind == 'LLM'").select("name", "llm.model_name"))
    assert llm.index.name == "context.span_id"
    assert list(llm.columns) == ["name", "llm.model_name"]
    assert dict(zip(llm["name"], llm["llm.model_name"])) == {"llm big": "gpt-4o", "llm small": "gpt-4o-mini"}

    big = frame(client, project, SpanQuery().where("llm.token_count.total > 1000").select("name"))
    assert list(big["name"]) == ["llm big"]
    model = frame(client, project, SpanQuery().where('attributes["llm.model_name"] == "gpt-4o-mini"').select("name"))
    assert list(model["name"]) == ["llm small"]
    refund = frame(client, project, SpanQuery().where("'refund' in input.value").select("name"))
    assert list(refund["name"]) == ["agent"]
    tier = frame(client, project, SpanQuery().where('metadata["tier"] in ["gold", "platinum"]').select("name"))
    assert list(tier["name"]) == ["agent"]
    roots = frame(client, project, SpanQuery().where("parent_span is None").select("name"))
    assert set(roots["name"]) == {"agent", "llm small"}

    renamed = frame(client, project, SpanQuery().where("name == 'search'").select("name").rename(name="span_name"))
    assert list(renamed.columns) == ["span_name"]
    by_trace = frame(client, project, SpanQuery().where("name == 'search'").select("name").with_index("trace_id"))
    assert by_trace.index.name == "context.trace_id"
    assert list(by_trace.index) == [sent["trace"]]

    docs = frame(client, project, SpanQuery().where("name == 'search'").explode("retrieval.documents",
                                                                                 reference="document.content"))
    assert list(docs.index.names) == ["context.span_id", "document_position"]
    assert list(docs["reference"]) == ["doc one", "doc two"]
    joined = frame(client, project, SpanQuery().where("name == 'search'").concat("retrieval.documents",
                                                                                 reference="document.content"))
    assert list(joined["reference"]) == ["doc one\n\ndoc two"]


def test_root_spans_time_window_and_limit(osprey, project, sent):
    client = Client(base_url=osprey.query_url)
    roots = frame(client, project, root_spans_only=True)
    assert set(roots["name"]) == {"agent", "llm small"}
    late = frame(client, project, start_time=sent["between"])
    assert list(late["name"]) == ["llm small"]
    early = frame(client, project, end_time=sent["between"])
    assert set(early["name"]) == {"agent", "llm big", "search"}
    window = frame(client, project, start_time=sent["between"] - timedelta(hours=1), end_time=sent["between"])
    assert len(window) == 3
    assert len(frame(client, project, limit=2)) == 2


def test_several_queries_in_one_request(osprey, project, sent):
    body = {"queries": [SpanQuery().where("span_kind == 'LLM'").select("name").to_dict(),
                        SpanQuery().where("span_kind == 'RETRIEVER'").select("name").to_dict(), {}],
            "limit": 100}
    response = httpx.post(osprey.query_url + "/v1/spans", params={"project_name": project}, json=body,
                          headers={"accept": "application/json"}, timeout=10)
    assert response.status_code == 200
    boundary = "--" + response.headers["content-type"].split("boundary=")[1]
    parts = [p for p in response.text.split(boundary) if "Content-Type: application/json" in p]
    assert len(parts) == 3
    from phoenix.client.resources.spans import _decode_df_from_json_string
    frames = [_decode_df_from_json_string(p.split("\r\n\r\n", 1)[1].strip()) for p in parts]
    assert set(frames[0]["name"]) == {"llm big", "llm small"}
    assert list(frames[1]["name"]) == ["search"]
    assert len(frames[2]) == 4


def test_eval_filters(osprey, project, sent):
    client = Client(base_url=osprey.query_url)
    try:
        client.spans.add_span_annotation(span_id=sent["llm big"], annotation_name="correctness", label="correct",
                                         score=0.9, annotator_kind="LLM", sync=True)
        client.spans.add_span_annotation(span_id=sent["llm small"], annotation_name="correctness",
                                         label="incorrect", score=0.1, annotator_kind="LLM", sync=True)
    except httpx.HTTPStatusError as e:
        if e.response.status_code in (404, 405):
            pytest.skip("span annotations are not served by this build")
        raise
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while True:  # annotations are written synchronously; the poll only covers a distributed read replica
        good = frame(client, project, SpanQuery().where('evals["correctness"].score > 0.5').select("name"))
        if len(good) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert list(good["name"]) == ["llm big"]
    bad = frame(client, project, SpanQuery().where('evals["correctness"].label == "incorrect"').select("name"))
    assert list(bad["name"]) == ["llm small"]
    unannotated = frame(client, project, SpanQuery().where('not annotations["correctness"]').select("name"))
    assert set(unannotated["name"]) == {"agent", "search"}


def test_bad_filter_is_422_with_the_reason(osprey, project, sent):
    client = Client(base_url=osprey.query_url)
    with pytest.raises(httpx.HTTPStatusError) as error:
        frame(client, project, SpanQuery().where("span_kind = 'LLM'"))
    assert error.value.response.status_code == 422
    assert error.value.response.text == "Invalid query: filter: '=' is an assignment; use '==' to compare at column 11"
    with pytest.raises(httpx.HTTPStatusError) as error:
        frame(client, project, SpanQuery().where('evals["x"].scroe > 1'))
    assert error.value.response.status_code == 422
    assert "did you mean 'score'?" in error.value.response.text
    with pytest.raises(httpx.HTTPStatusError) as error:
        frame(client, project, SpanQuery().where("llm.model_name"))
    assert "is not a condition" in error.value.response.text
