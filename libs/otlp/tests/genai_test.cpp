#include "genai.hpp"

#include <catch2/catch.hpp>

#include "test_util.hpp"

namespace osprey::otlp::internal {
namespace {

using testing::AddInt;
using testing::AddString;
using testing::AttributesOf;
using testing::NormalizeOne;
using testing::SameJson;
using testing::ValidSpan;

TEST_CASE("GenAI chat attributes become OpenInference attributes", "[genai]") {
  google::protobuf::Arena arena;
  const NormalizeResult result = Normalize(*testing::DecodeFixture("genai_chat.json", &arena), {});
  REQUIRE(result.spans.size() == 1);
  const auto& span = result.spans[0];
  CHECK(span.span_kind() == "LLM");
  CHECK(span.session_id() == "conv-1");
  CHECK(span.llm_token_count_prompt() == 20);
  CHECK(span.llm_token_count_completion() == 5);
  CHECK(span.llm_token_count_total() == 25);
  // The client's own llm.model_name wins over gen_ai.request.model.
  CHECK(span.llm_model_name() == "gpt-4o-2024-08-06");
}

TEST_CASE("existing OpenInference keys win over translated ones", "[genai]") {
  auto span = ValidSpan();
  AddString(&span, "gen_ai.operation.name", "chat");
  AddString(&span, "openinference.span.kind", "CHAIN");
  AddInt(&span, "gen_ai.usage.input_tokens", 3);
  AddInt(&span, "llm.token_count.prompt", 100);
  AddString(&span, "gen_ai.conversation.id", "c");
  AddString(&span, "session.id", "s");
  const auto result = NormalizeOne(span);
  REQUIRE(result.spans.size() == 1);
  CHECK(result.spans[0].span_kind() == "CHAIN");
  CHECK(result.spans[0].session_id() == "s");
  CHECK(result.spans[0].attributes_json().find(R"("prompt":100)") != std::string::npos);
}

TEST_CASE("the span kind is inferred from gen_ai.operation.name", "[genai]") {
  const auto kind_for = [](const char* operation) {
    auto span = ValidSpan();
    AddString(&span, "gen_ai.operation.name", operation);
    return NormalizeOne(span).spans.at(0).span_kind();
  };
  CHECK(kind_for("chat") == "LLM");
  CHECK(kind_for("text_completion") == "LLM");
  CHECK(kind_for("embeddings") == "EMBEDDING");
  CHECK(kind_for("execute_tool") == "TOOL");
  CHECK(kind_for("retrieval") == "RETRIEVER");
  CHECK(kind_for("invoke_agent") == "AGENT");
  CHECK(kind_for("dance") == "UNKNOWN");
  auto span = ValidSpan();
  AddString(&span, "gen_ai.tool.name", "search");
  CHECK(NormalizeOne(span).spans.at(0).span_kind() == "TOOL");
}

TEST_CASE("tool execution spans map name, id, arguments and result", "[genai]") {
  auto span = ValidSpan();
  AddString(&span, "gen_ai.operation.name", "execute_tool");
  AddString(&span, "gen_ai.tool.name", "get_weather");
  AddString(&span, "gen_ai.tool.call.id", "call_9");
  AddString(&span, "gen_ai.tool.call.arguments", R"({"city":"Paris"})");
  AddString(&span, "gen_ai.tool.call.result", R"({"temp": 21})");
  AddString(&span, "gen_ai.system", "Anthropic");
  CHECK(SameJson(AttributesOf(span), R"({
    "gen_ai": {"operation": {"name": "execute_tool"}, "tool": {"name": "get_weather",
               "call": {"id": "call_9", "arguments": "{\"city\":\"Paris\"}", "result": "{\"temp\": 21}"}},
               "system": "Anthropic"},
    "openinference": {"span": {"kind": "TOOL"}},
    "llm": {"provider": "anthropic", "system": "anthropic"},
    "tool": {"name": "get_weather", "id": "call_9", "parameters": {"city": "Paris"}},
    "output": {"value": "{\"temp\": 21}", "mime_type": "application/json"}})"));
}

TEST_CASE("retrieval spans map query and documents; cache tokens map to prompt details", "[genai]") {
  rapidjson::Document doc;
  auto& allocator = doc.GetAllocator();
  FlatAttributes in;
  in.Set("gen_ai.operation.name", rapidjson::Value("retrieval"));
  in.Set("gen_ai.retrieval.query.text", rapidjson::Value("paris"));
  in.Set("gen_ai.retrieval.documents",
         rapidjson::Value(R"([{"id": "d1", "score": 0.9, "content": "Sunny", "metadata": {"k": 1}}])"));
  in.Set("gen_ai.usage.cache_read.input_tokens", rapidjson::Value("4"));
  in.Set("gen_ai.provider.name", rapidjson::Value("somecloud"));
  const FlatAttributes out = GenAiToOpenInference(in, allocator);
  REQUIRE(out.Find("input.value") != nullptr);
  CHECK(std::string(out.Find("input.value")->GetString()) == "paris");
  CHECK(std::string(out.Find("input.mime_type")->GetString()) == "text/plain");
  CHECK(std::string(out.Find("retrieval.documents.0.document.id")->GetString()) == "d1");
  CHECK(out.Find("retrieval.documents.0.document.score")->GetDouble() == 0.9);
  CHECK(std::string(out.Find("retrieval.documents.0.document.metadata")->GetString()) == R"({"k": 1})");
  CHECK(out.Find("llm.token_count.prompt_details.cache_read")->GetInt64() == 4);
  CHECK(std::string(out.Find("llm.system")->GetString()) == "somecloud");
  CHECK(out.Find("llm.provider") == nullptr);
}

TEST_CASE("malformed GenAI message payloads are skipped, not fatal", "[genai]") {
  auto span = ValidSpan();
  AddString(&span, "gen_ai.input.messages", "[{\"role\": \"user\"}]");  // no parts
  AddString(&span, "gen_ai.output.messages", "not json");
  const auto result = NormalizeOne(span);
  REQUIRE(result.spans.size() == 1);
  CHECK(result.spans[0].attributes_json().find("input_messages") == std::string::npos);
}

TEST_CASE("multi-part messages become message.contents", "[genai]") {
  rapidjson::Document doc;
  FlatAttributes in;
  in.Set("gen_ai.input.messages",
         rapidjson::Value(R"([{"role": "user", "parts": [{"type": "text", "content": "Look"},)"
                          R"({"type": "uri", "uri": "https://x/cat.png", "modality": "image"}]}])"));
  const FlatAttributes out = GenAiToOpenInference(in, doc.GetAllocator());
  CHECK(std::string(out.Find("llm.input_messages.0.message.contents.0.message_content.type")->GetString()) == "text");
  CHECK(std::string(out.Find("llm.input_messages.0.message.contents.1.message_content.image.image.url")->GetString()) ==
        "https://x/cat.png");
  CHECK(std::string(out.Find("openinference.span.kind")->GetString()) == "LLM");
}

TEST_CASE("spans without gen_ai keys are untouched", "[genai]") {
  rapidjson::Document doc;
  FlatAttributes in;
  in.Set("gen_ai", rapidjson::Value("not a prefix match"));
  in.Set("llm.model_name", rapidjson::Value("m"));
  CHECK(GenAiToOpenInference(in, doc.GetAllocator()).size() == 0);
}

}  // namespace
}  // namespace osprey::otlp::internal
