#include <catch2/catch.hpp>

#include "osprey/otlp/otlp.hpp"
#include "test_util.hpp"

namespace osprey::otlp {
namespace {

using testing::AddInt;
using testing::AddString;
using testing::AttributesOf;
using testing::NormalizeOne;
using testing::SameJson;
using testing::ValidSpan;

void CheckFixture(const std::string& name) {
  google::protobuf::Arena arena;
  ExportRequest* request = testing::DecodeFixture(name + ".json", &arena);
  const NormalizeResult result = Normalize(*request, NormalizeOptions{});
  const rapidjson::Document expected = testing::ParseJson(testing::ReadFixture(name + ".normalized.json"));
  REQUIRE(result.spans.size() == expected.Size());
  for (size_t i = 0; i < result.spans.size(); ++i) {
    const std::string actual = testing::SpanToJson(result.spans[i]);
    INFO(name << " span #" << i << ": " << actual);
    CHECK(testing::ParseJson(actual) == expected[static_cast<rapidjson::SizeType>(i)]);
  }
}

TEST_CASE("normalized spans match the fixtures exactly", "[normalize]") {
  CheckFixture("openinference_llm");  // messages, tool calls, retrieval documents, JSON strings
  CheckFixture("genai_chat");         // OTel GenAI semconv → OpenInference
  CheckFixture("exception_event");    // exception event attributes filtered
  CheckFixture("mixed_invalid");      // only the valid spans survive
}

TEST_CASE("NormalizeOnArena gives Normalize's spans and rejections, its spans on the arena", "[normalize]") {
  for (const char* name : {"openinference_llm.json", "genai_chat.json", "exception_event.json", "mixed_invalid.json"}) {
    INFO(name);
    google::protobuf::Arena arena;
    const ExportRequest* request = testing::DecodeFixture(name, &arena);
    const NormalizeResult expected = Normalize(*request, NormalizeOptions{});
    google::protobuf::Arena spans_arena;
    std::vector<model::v1::Span*> spans;
    const std::vector<RejectedSpan> rejected = NormalizeOnArena(*request, NormalizeOptions{}, &spans_arena, &spans);
    REQUIRE(spans.size() == expected.spans.size());
    for (size_t i = 0; i < spans.size(); ++i) {
      CHECK(spans[i]->GetArena() == &spans_arena);
      CHECK(spans[i]->SerializeAsString() == expected.spans[i].SerializeAsString());
    }
    REQUIRE(rejected.size() == expected.rejected.size());
    CHECK(RejectionMessage(rejected) == expected.ErrorMessage());
  }
}

TEST_CASE("invalid spans are rejected with a reason while valid ones are kept", "[normalize]") {
  google::protobuf::Arena arena;
  const NormalizeResult result = Normalize(*testing::DecodeFixture("mixed_invalid.json", &arena), {});
  REQUIRE(result.spans.size() == 2);
  CHECK(result.spans[0].name() == "ok-1");
  CHECK(result.spans[1].name() == "ok-2");
  REQUIRE(result.rejected.size() == 4);
  CHECK(result.rejected[0].reason == "trace_id is all zero");
  CHECK(result.rejected[0].span_id_hex == "0000000000000002");
  CHECK(result.rejected[1].reason == "span_id must be 8 bytes, got 0");
  CHECK(result.rejected[1].trace_id_hex == "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  CHECK(result.rejected[2].reason == "start_time_unix_nano is 0");
  CHECK(result.rejected[3].reason == "end_time_unix_nano 20 is before start_time_unix_nano 30");
  CHECK(result.ErrorMessage() ==
        "4 spans rejected: span 0000000000000002: trace_id is all zero; span <no id>: span_id must be 8 bytes, got "
        "0; span 0000000000000004: start_time_unix_nano is 0; and 1 more");
}

TEST_CASE("each validation rule has a precise reason", "[normalize]") {
  const auto reason_for = [](const testing::OtlpSpan& span) {
    const NormalizeResult result = NormalizeOne(span);
    REQUIRE(result.spans.empty());
    REQUIRE(result.rejected.size() == 1);
    return result.rejected[0].reason;
  };
  auto span = ValidSpan();
  span.set_trace_id("short");
  CHECK(reason_for(span) == "trace_id must be 16 bytes, got 5");
  span = ValidSpan();
  span.set_span_id(std::string(8, '\0'));
  CHECK(reason_for(span) == "span_id is all zero");
  span = ValidSpan();
  span.set_span_id("abc");
  CHECK(reason_for(span) == "span_id must be 8 bytes, got 3");
  span = ValidSpan();
  span.set_parent_span_id("abcd");
  CHECK(reason_for(span) == "parent_span_id must be empty or 8 bytes, got 4");
  span = ValidSpan();
  span.set_name("bad \xff name");
  CHECK(reason_for(span) == "name is not valid UTF-8");
  span = ValidSpan();
  AddString(&span, "input.value", "caf\xc3");
  CHECK(reason_for(span) == "attribute 'input.value': string value is not valid UTF-8");
  span = ValidSpan();
  AddString(&span, "bad\xc0key", "x");
  CHECK(reason_for(span) == "attribute key #0 is not valid UTF-8");
  span = ValidSpan();
  auto* event = span.add_events();
  event->set_name("retry");
  auto* kv = event->add_attributes();
  kv->set_key("why");
  kv->mutable_value()->set_string_value("\xed\xa0\x80");  // a UTF-16 surrogate
  CHECK(reason_for(span) == "event #0 attribute 'why': string value is not valid UTF-8");
  span = ValidSpan();
  span.mutable_status()->set_message("\x80");
  CHECK(reason_for(span) == "status.message is not valid UTF-8");
  span = ValidSpan();
  std::string deep_key = "a";
  for (int i = 0; i < 64; ++i) deep_key += ".a";
  AddString(&span, deep_key, "x");
  CHECK(reason_for(span).find("has more than 64 dot-separated segments") != std::string::npos);
}

TEST_CASE("project resolution: override, then resource attribute, then default", "[normalize]") {
  ExportRequest request;
  auto* with_attr = request.add_resource_spans();
  auto* kv = with_attr->mutable_resource()->add_attributes();
  kv->set_key("openinference.project.name");
  kv->mutable_value()->set_string_value("from-resource");
  *with_attr->add_scope_spans()->add_spans() = ValidSpan();
  auto* blank_attr = request.add_resource_spans();
  kv = blank_attr->mutable_resource()->add_attributes();
  kv->set_key("openinference.project.name");
  kv->mutable_value()->set_string_value(" \t");
  *blank_attr->add_scope_spans()->add_spans() = ValidSpan();
  auto* int_attr = request.add_resource_spans();
  kv = int_attr->mutable_resource()->add_attributes();
  kv->set_key("openinference.project.name");
  kv->mutable_value()->set_int_value(3);
  *int_attr->add_scope_spans()->add_spans() = ValidSpan();

  NormalizeOptions options;
  auto result = Normalize(request, options);
  REQUIRE(result.spans.size() == 3);
  CHECK(result.spans[0].project_name() == "from-resource");
  CHECK(result.spans[1].project_name() == "default");
  CHECK(result.spans[2].project_name() == "default");

  options.default_project = "fallback";
  result = Normalize(request, options);
  CHECK(result.spans[0].project_name() == "from-resource");
  CHECK(result.spans[1].project_name() == "fallback");

  options.default_project = "  ";
  CHECK(Normalize(request, options).spans[1].project_name() == "default");

  options.project_override = "header";
  result = Normalize(request, options);
  for (const auto& span : result.spans) CHECK(span.project_name() == "header");

  options.project_override = "   ";
  CHECK(Normalize(request, options).spans[0].project_name() == "from-resource");
}

TEST_CASE("resource attributes other than the project name are not stored", "[normalize]") {
  google::protobuf::Arena arena;
  const NormalizeResult result = Normalize(*testing::DecodeFixture("openinference_llm.json", &arena), {});
  for (const auto& span : result.spans) {
    CHECK(span.attributes_json().find("chatbot-api") == std::string::npos);
    CHECK(span.attributes_json().find("service") == std::string::npos);
  }
}

TEST_CASE("span kind is upper-cased; missing or unknown kinds become UNKNOWN", "[normalize]") {
  const auto kind_of = [](const char* value) {
    auto span = ValidSpan();
    if (value != nullptr) AddString(&span, "openinference.span.kind", value);
    return NormalizeOne(span).spans.at(0).span_kind();
  };
  CHECK(kind_of("chain") == "CHAIN");
  CHECK(kind_of("Reranker") == "RERANKER");
  CHECK(kind_of("GUARDRAIL") == "GUARDRAIL");
  CHECK(kind_of("workflow") == "UNKNOWN");
  CHECK(kind_of(nullptr) == "UNKNOWN");
  auto span = ValidSpan();
  AddInt(&span, "openinference.span.kind", 1);
  CHECK(NormalizeOne(span).spans.at(0).span_kind() == "UNKNOWN");
}

TEST_CASE("token counts are coerced and lifted for LLM spans only", "[normalize]") {
  auto span = ValidSpan();
  AddString(&span, "openinference.span.kind", "LLM");
  AddString(&span, "llm.token_count.prompt", "12");
  AddString(&span, "llm.token_count.completion", " 30 ");
  NormalizeResult result = NormalizeOne(span);
  REQUIRE(result.spans.size() == 1);
  CHECK(result.spans[0].llm_token_count_prompt() == 12);
  CHECK(result.spans[0].llm_token_count_completion() == 30);
  CHECK(result.spans[0].llm_token_count_total() == 42);
  CHECK(SameJson(result.spans[0].attributes_json(),
                 R"({"openinference":{"span":{"kind":"LLM"}},"llm":{"token_count":{"prompt":12,"completion":30}}})"));

  AddString(&span, "llm.token_count.total", "many");
  result = NormalizeOne(span);
  CHECK(result.spans[0].llm_token_count_total() == 42);  // unparseable total: prompt + completion
  CHECK(result.spans[0].attributes_json().find(R"("total":"many")") != std::string::npos);

  auto chain = ValidSpan();
  AddString(&chain, "openinference.span.kind", "CHAIN");
  AddInt(&chain, "llm.token_count.prompt", 5);
  result = NormalizeOne(chain);
  CHECK(result.spans[0].llm_token_count_prompt() == 0);
  CHECK(result.spans[0].llm_token_count_total() == 0);
}

TEST_CASE("LLM spans are priced from the model, provider and token details", "[normalize]") {
  costs::ModelPrice price;
  price.name = "acme-large";
  price.match = "^acme-large";
  price.provider = "acme";
  price.prompt = {{"input", 2e-6}, {"cache_read", 1e-6}};
  price.completion = {{"output", 10e-6}};
  auto table = costs::PriceTable::Create({price}, /*include_builtin=*/false);
  REQUIRE(table.ok());
  NormalizeOptions options;
  options.prices = table->get();

  auto span = ValidSpan();
  AddString(&span, "openinference.span.kind", "LLM");
  AddString(&span, "llm.model_name", "acme-large-2025");
  AddString(&span, "llm.provider", "acme");
  AddInt(&span, "llm.token_count.prompt", 1000);
  AddInt(&span, "llm.token_count.completion", 100);
  AddInt(&span, "llm.token_count.prompt_details.cache_read", 400);
  NormalizeResult result = NormalizeOne(span, options);
  REQUIRE(result.spans.size() == 1);
  const auto& cost = result.spans[0].cost();
  REQUIRE(cost.has_total());
  CHECK(cost.prompt() == Approx(600 * 2e-6 + 400 * 1e-6));
  CHECK(cost.completion() == Approx(100 * 10e-6));
  CHECK(cost.total() == Approx(0.0026));
  CHECK(cost.details_json().find(R"("token_type":"cache_read","is_prompt":true,"tokens":400)") != std::string::npos);

  // Another provider's model does not match: tokens are kept, the cost is unknown.
  auto other = ValidSpan();
  AddString(&other, "openinference.span.kind", "LLM");
  AddString(&other, "llm.model_name", "acme-large-2025");
  AddString(&other, "llm.provider", "other");
  AddInt(&other, "llm.token_count.prompt", 10);
  result = NormalizeOne(other, options);
  REQUIRE(result.spans[0].has_cost());
  CHECK_FALSE(result.spans[0].cost().has_total());

  // Not an LLM span, or no price table: no cost at all.
  auto chain = ValidSpan();
  AddString(&chain, "openinference.span.kind", "CHAIN");
  AddString(&chain, "llm.model_name", "acme-large");
  CHECK_FALSE(NormalizeOne(chain, options).spans[0].has_cost());
  CHECK_FALSE(NormalizeOne(span).spans[0].has_cost());
}

TEST_CASE("hot fields: session, user, model and previews", "[normalize]") {
  auto span = ValidSpan();
  AddInt(&span, "session.id", 42);
  AddString(&span, "user.id", "u-1");
  AddString(&span, "llm.model_name", "claude");
  AddString(&span, "input.value", "h\xc3\xa9llo w\xc3\xb6rld");             // héllo wörld
  AddString(&span, "output.value", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81xyz");  // two emoji then xyz
  NormalizeOptions options;
  options.preview_chars = 2;
  const NormalizeResult result = NormalizeOne(span, options);
  REQUIRE(result.spans.size() == 1);
  const auto& out = result.spans[0];
  CHECK(out.session_id() == "42");
  CHECK(out.user_id() == "u-1");
  CHECK(out.llm_model_name() == "claude");
  CHECK(out.input_preview() == "h\xc3\xa9");
  CHECK(out.output_preview() == "\xf0\x9f\x98\x80\xf0\x9f\x98\x81");
}

TEST_CASE("a non-string input.value is JSON-dumped with application/json", "[normalize]") {
  auto span = ValidSpan();
  auto* kv = span.add_attributes();
  kv->set_key("input.value");
  auto* list = kv->mutable_value()->mutable_array_value();
  list->add_values()->set_string_value("caf\xc3\xa9");
  list->add_values()->set_int_value(2);
  AddString(&span, "input.mime_type", "text/plain");
  CHECK(SameJson(AttributesOf(span), R"({"input":{"value":"[\"caf\\u00e9\", 2]","mime_type":"application/json"}})"));
}

TEST_CASE("the OpenInference span kind attribute stays in the stored attributes", "[normalize]") {
  auto span = ValidSpan();
  AddString(&span, "openinference.span.kind", "tool");
  CHECK(SameJson(AttributesOf(span), R"({"openinference":{"span":{"kind":"tool"}}})"));
}

TEST_CASE("events carry ISO timestamps; exception events keep only the exception fields", "[normalize]") {
  auto span = ValidSpan();
  auto* event = span.add_events();
  event->set_name("exception");
  event->set_time_unix_nano(1'700'000'000'123'456'789);
  auto* kv = event->add_attributes();
  kv->set_key("exception.message");
  kv->mutable_value()->set_string_value("");
  kv = event->add_attributes();
  kv->set_key("code.lineno");
  kv->mutable_value()->set_int_value(12);
  const NormalizeResult result = NormalizeOne(span);
  REQUIRE(result.spans.size() == 1);
  CHECK(SameJson(result.spans[0].events_json(),
                 R"([{"name":"exception","timestamp":"2023-11-14T22:13:20.123456+00:00",)"
                 R"("attributes":{"exception.message":""}}])"));
}

TEST_CASE("control characters in strings are escaped in the stored JSON", "[normalize]") {
  auto span = ValidSpan();
  std::string controls;
  for (char c = 1; c < 0x20; ++c) controls.push_back(c);
  AddString(&span, "k", controls + controls);  // long enough for RapidJSON's SIMD scan
  const std::string json = AttributesOf(span);
  const rapidjson::Document doc = testing::ParseJson(json);
  CHECK(std::string(doc["k"].GetString()) == controls + controls);
  for (char c : json) CHECK(static_cast<unsigned char>(c) >= 0x20);
}

TEST_CASE("the error message is empty when nothing was rejected", "[normalize]") {
  CHECK(NormalizeOne(ValidSpan()).ErrorMessage().empty());
  auto bad = ValidSpan();
  bad.set_start_time_unix_nano(0);
  CHECK(NormalizeOne(bad).ErrorMessage() == "1 span rejected: span a1a2a3a4a5a6a7a8: start_time_unix_nano is 0");
}

}  // namespace
}  // namespace osprey::otlp
