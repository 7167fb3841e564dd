"""Phoenix's prompt management against Osprey: arize-phoenix-client's prompts API (create with several
providers and template formats, versions, tags that move, get by tag / latest / version id, format(),
patch, delete) and the REST routes' 422 and 404 answers over raw HTTP. The gateway reaches the prompt
registry in-process (embedded) or over gRPC (distributed)."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests
from phoenix.client import Client
from phoenix.client.types.prompts import PromptVersion

from harness import HTTP_TIMEOUT_S


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def gid(type_name: str, row_id: int) -> str:
    return base64.b64encode(f"{type_name}:{row_id}".encode()).decode()


def row_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":")[1])


def post(osprey, path: str, body) -> requests.Response:
    return requests.post(osprey.query_url + path, json=body, timeout=HTTP_TIMEOUT_S)


def valid_body(name: str, **version_overrides) -> dict:
    version = {
        "model_provider": "OPENAI",
        "model_name": "gpt-4o-mini",
        "template_type": "CHAT",
        "template_format": "MUSTACHE",
        "template": {"type": "chat", "messages": [{"role": "user", "content": "Hi {{name}}"}]},
        "invocation_parameters": {"type": "openai", "openai": {"temperature": 0.2}},
    }
    version.update(version_overrides)
    return {"prompt": {"name": name}, "version": version}


@pytest.fixture
def client(osprey) -> Client:
    return Client(base_url=osprey.query_url)


def test_versions_of_several_providers_format_move_tags_patch_and_delete(osprey, client):
    name = unique("support")

    # v1: OpenAI from SDK kwargs, mustache, with tools and a JSON-schema response format.
    openai_version = PromptVersion.from_openai(
        {
            "model": "gpt-4o-mini",
            "temperature": 0.3,
            "messages": [
                {"role": "system", "content": "You are {{persona}}."},
                {"role": "user", "content": "Question: {{ question }}"},
            ],
            "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}},
        },
        description="first",
    )
    v1 = client.prompts.create(name=name, version=openai_version, prompt_description="support bot",
                               prompt_metadata={"team": "cx"})
    assert v1.id is not None and base64.b64decode(v1.id).startswith(b"PromptVersion:")

    # v2: Anthropic, F_STRING.
    anthropic_version = PromptVersion(
        [{"role": "user", "content": "Summarize {text} for {audience}"}],
        model_name="claude-3-5-haiku-latest", model_provider="ANTHROPIC", template_format="F_STRING",
        description="second")
    v2 = client.prompts.create(name=name, version=anthropic_version)

    # v3: Google, NONE (braces are literal).
    google_version = PromptVersion(
        [{"role": "user", "content": "Reply with {{literally}} {this}"}],
        model_name="gemini-2.0-flash", model_provider="GOOGLE", template_format="NONE")
    v3 = client.prompts.create(name=name, version=google_version)
    assert row_id(v1.id) < row_id(v2.id) < row_id(v3.id)

    # Latest is v3; each version reads back by id with its provider's parameters.
    latest = client.prompts.get(prompt_identifier=name)
    assert latest.id == v3.id
    assert latest._model_provider == "GOOGLE"
    formatted = latest.format(variables={"literally": "x", "this": "y"}, sdk="openai")
    assert formatted.messages == [{"role": "user", "content": "Reply with {{literally}} {this}"}]

    got_v1 = client.prompts.get(prompt_version_id=v1.id)
    assert got_v1._invocation_parameters == {"type": "openai", "openai": {"temperature": 0.3}}
    assert got_v1._tools["tools"][0]["function"]["name"] == "lookup"
    assert got_v1._response_format["json_schema"]["name"] == "answer"
    openai_prompt = got_v1.format(variables={"persona": "a librarian", "question": "where are the maps?"})
    assert openai_prompt.messages == [
        {"role": "system", "content": "You are a librarian."},
        {"role": "user", "content": "Question: where are the maps?"},
    ]
    assert openai_prompt.kwargs["model"] == "gpt-4o-mini"
    assert openai_prompt.kwargs["temperature"] == 0.3
    assert openai_prompt.kwargs["tools"][0]["function"]["name"] == "lookup"
    assert openai_prompt.kwargs["response_format"]["json_schema"]["name"] == "answer"

    got_v2 = client.prompts.get(prompt_version_id=v2.id)
    anthropic_prompt = got_v2.format(variables={"text": "the report", "audience": "executives"})
    assert anthropic_prompt.messages == [{"role": "user", "content": "Summarize the report for executives"}]
    assert anthropic_prompt.kwargs["model"] == "claude-3-5-haiku-latest"
    assert anthropic_prompt.kwargs["max_tokens"] == 1000

    # Versions, newest first, over REST with Phoenix's cursor pagination.
    page = osprey.get_json(f"/v1/prompts/{name}/versions", {"limit": 2})
    assert [v["id"] for v in page["data"]] == [v3.id, v2.id]
    assert page["next_cursor"] == v1.id
    rest = osprey.get_json(f"/v1/prompts/{name}/versions", {"limit": 2, "cursor": page["next_cursor"]})
    assert [v["id"] for v in rest["data"]] == [v1.id] and rest["next_cursor"] is None
    assert [v.get("description") for v in page["data"] + rest["data"]] == [None, "second", "first"]

    # Tag v1 as production, then move the tag to v2.
    client.prompts.tags.create(prompt_version_id=v1.id, name="production", description="live traffic")
    assert client.prompts.get(prompt_identifier=name, tag="production").id == v1.id
    assert [t["name"] for t in client.prompts.tags.list(prompt_version_id=v1.id)] == ["production"]
    client.prompts.tags.create(prompt_version_id=v2.id, name="production")
    client.prompts.tags.create(prompt_version_id=v3.id, name="staging")
    assert client.prompts.get(prompt_identifier=name, tag="production").id == v2.id
    assert client.prompts.tags.list(prompt_version_id=v1.id) == []
    assert [t["name"] for t in client.prompts.tags.list(prompt_version_id=v2.id)] == ["production"]

    # The prompt by its GlobalID; patch its description and metadata.
    listed = {p["name"]: p for p in osprey.get_json("/v1/prompts", {"limit": 1000})["data"]}
    prompt = listed[name]
    assert prompt["description"] == "support bot" and prompt["metadata"] == {"team": "cx"}
    assert client.prompts.get(prompt_identifier=prompt["id"], tag="staging").id == v3.id
    updated = client.prompts.update(prompt_identifier=name, prompt_description="support bot v2",
                                    prompt_metadata={"team": "cx", "tier": 1})
    assert updated["description"] == "support bot v2"
    assert updated["metadata"] == {"team": "cx", "tier": 1}
    cleared = client.prompts.update(prompt_identifier=prompt["id"], prompt_description=None)
    assert cleared.get("description") is None and cleared["metadata"] == {"team": "cx", "tier": 1}

    # Delete a tag over REST, then the prompt with its versions and tags.
    assert requests.delete(f"{osprey.query_url}/v1/prompt_versions/{v3.id}/tags/staging",
                           timeout=HTTP_TIMEOUT_S).status_code == 204
    assert osprey.get(f"/v1/prompts/{name}/tags/staging").status_code == 404
    client.prompts.delete(prompt_identifier=name)
    with pytest.raises(ValueError, match="Prompt not found"):
        client.prompts.get(prompt_identifier=name)
    with pytest.raises(ValueError, match="Prompt not found"):
        client.prompts.get(prompt_version_id=v1.id)
    with pytest.raises(ValueError, match="Prompt not found"):
        client.prompts.update(prompt_identifier=name, prompt_description="gone")


def test_mustache_variables_by_the_client_formatter(client):
    name = unique("mustache")
    version = PromptVersion(
        [{"role": "system", "content": "Answer in {{ language }}."},
         {"role": "user", "content": [{"type": "text", "text": "{{question}} (ref {{ref}})"}]}],
        model_name="gpt-4o", model_provider="OPENAI")
    created = client.prompts.create(name=name, version=version)
    fetched = client.prompts.get(prompt_version_id=created.id)
    messages = fetched.format(variables={"language": "French", "question": "Why?", "ref": "7"}).messages
    assert messages[0] == {"role": "system", "content": "Answer in French."}
    assert messages[1]["role"] == "user"
    text = messages[1]["content"] if isinstance(messages[1]["content"], str) else messages[1]["content"][0]["text"]
    assert text == "Why? (ref 7)"


def detail(response: requests.Response) -> list:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["detail"]


def test_invalid_prompts_are_422_with_the_field(osprey):
    name = unique("invalid")

    issues = detail(post(osprey, "/v1/prompts", valid_body("Not An Identifier")))
    assert issues[0]["loc"] == ["body", "prompt", "name"]
    assert issues[0]["type"] == "string_pattern_mismatch"

    body = valid_body(name, invocation_parameters={"type": "openai", "openai": {"temperature": 0.2, "foo": 1}})
    issues = detail(post(osprey, "/v1/prompts", body))
    assert issues[0]["loc"] == ["body", "version", "invocation_parameters", "openai", "foo"]
    assert issues[0]["type"] == "extra_forbidden"

    body = valid_body(name, model_provider="ANTHROPIC")
    issues = detail(post(osprey, "/v1/prompts", body))
    assert issues[0]["loc"] == ["body", "version", "invocation_parameters", "type"]
    assert "ANTHROPIC" in issues[0]["msg"]

    body = valid_body(name, model_provider="ANTHROPIC",
                      invocation_parameters={"type": "anthropic", "anthropic": {"temperature": 1}})
    issues = detail(post(osprey, "/v1/prompts", body))
    assert issues[0]["loc"] == ["body", "version", "invocation_parameters", "anthropic", "max_tokens"]
    assert issues[0]["type"] == "missing"

    body = valid_body(name, template={"type": "chat", "messages": [{"role": "robot", "content": "x"}]})
    issues = detail(post(osprey, "/v1/prompts", body))
    assert issues[0]["loc"] == ["body", "version", "template", "messages", 0, "role"]

    body = valid_body(name, tools={"type": "tools", "tools": []})
    assert detail(post(osprey, "/v1/prompts", body))[0]["loc"] == ["body", "version", "tools", "tools"]

    body = valid_body(name, response_format={"type": "json_schema", "json_schema": {"strict": True}})
    issues = detail(post(osprey, "/v1/prompts", body))
    assert issues[0]["loc"] == ["body", "version", "response_format", "json_schema", "name"]

    body = valid_body(name, model_provider="MISTRAL")
    assert detail(post(osprey, "/v1/prompts", body))[0]["type"] == "enum"

    response = requests.post(osprey.query_url + "/v1/prompts", data="{not json", timeout=HTTP_TIMEOUT_S,
                             headers={"content-type": "application/json"})
    assert detail(response)[0]["type"] == "json_invalid"

    body = valid_body(name, template_type="STR", template={"type": "string", "template": "Hi {{name}}"})
    response = post(osprey, "/v1/prompts", body)
    assert response.status_code == 422
    assert response.text == "Only CHAT template type is supported for prompts"

    # None of the refused posts created the prompt.
    assert osprey.get(f"/v1/prompts/{name}/latest").status_code == 404


def test_unknown_and_malformed_ids(osprey):
    name = unique("ids")
    created = post(osprey, "/v1/prompts", valid_body(name))
    assert created.status_code == 200, created.text
    version_id = created.json()["data"]["id"]

    assert osprey.get("/v1/prompts/no-such-prompt/latest").status_code == 404
    assert osprey.get(f"/v1/prompts/{name}/tags/no-such-tag").status_code == 404
    assert osprey.get("/v1/prompts/no-such-prompt/versions").status_code == 404
    assert osprey.get(f"/v1/prompt_versions/{gid('PromptVersion', 10**9)}").status_code == 404
    assert osprey.get("/v1/prompt_versions/12").status_code == 422
    assert osprey.get(f"/v1/prompt_versions/{gid('Prompt', 1)}").status_code == 422
    assert osprey.get("/v1/prompts", {"cursor": "garbage"}).status_code == 422
    assert osprey.get("/v1/prompts", {"limit": 0}).status_code == 422

    response = post(osprey, f"/v1/prompt_versions/{version_id}/tags", {"name": "Bad Tag"})
    assert detail(response)[0]["loc"] == ["body", "name"]
    assert post(osprey, f"/v1/prompt_versions/{gid('PromptVersion', 10**9)}/tags", {"name": "x"}).status_code == 404
    assert requests.delete(f"{osprey.query_url}/v1/prompt_versions/{version_id}/tags/never",
                           timeout=HTTP_TIMEOUT_S).status_code == 404
    assert requests.patch(f"{osprey.query_url}/v1/prompts/no-such-prompt", json={"description": "x"},
                          timeout=HTTP_TIMEOUT_S).status_code == 404
    assert requests.delete(f"{osprey.query_url}/v1/prompts/no-such-prompt", timeout=HTTP_TIMEOUT_S).status_code == 404
