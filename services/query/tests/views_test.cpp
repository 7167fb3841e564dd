#include "osprey/query/views.hpp"

#include <catch2/catch.hpp>

using namespace osprey::query;
using osprey::store::ProjectRecord;
using osprey::store::SessionRecord;
using osprey::store::SpanRecord;
using osprey::store::TraceRecord;

namespace {

template <typename F>
std::string Render(F&& f) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  f(w);
  return std::string(buffer.GetString(), buffer.GetSize());
}

SpanRecord LlmSpan() {
  SpanRecord s;
  s.id = 2;
  s.project_id = 1;
  s.trace_rowid = 1;
  s.trace_id = "0123456789abcdef0123456789abcdef";
  s.span_id = "00000000000000b2";
  s.parent_id = "00000000000000a1";
  s.name = "ChatCompletion";
  s.span_kind = "LLM";
  s.start_time_ns = 1735787045123456000LL;
  s.end_time_ns = 1735787046000000000LL;
  s.status_code = "ERROR";
  s.status_message = "boom";
  s.attributes_json =
      R"({"openinference":{"span":{"kind":"LLM"}},"llm":{"input_messages":[{"message":{"role":"user"}}]},"metadata":{}})";
  s.events_json =
      R"([{"name":"exception","timestamp":1735787045500000000,"attributes":{"exception":{"message":"boom"}}},)"
      R"({"name":"note","timestamp":"2025-01-02T03:04:05.6Z"},{"timestamp":"2025-01-02T03:04:05"}])";
  return s;
}

}  // namespace

TEST_CASE("a project renders as {name, description, id}") {
  ProjectRecord p;
  p.id = 1;
  p.name = "default";
  CHECK(Render([&](JsonWriter& w) { WriteProject(w, p); }) ==
        R"({"name":"default","description":null,"id":"UHJvamVjdDox"})");
  p.description = "d";
  CHECK(Render([&](JsonWriter& w) { WriteProject(w, p); }) ==
        R"({"name":"default","description":"d","id":"UHJvamVjdDox"})");
}

TEST_CASE("a span renders with Phoenix's Span shape") {
  CHECK(Render([](JsonWriter& w) { WriteSpan(w, LlmSpan()); }) ==
        R"({"id":"U3Bhbjoy","name":"ChatCompletion",)"
        R"("context":{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"00000000000000b2"},)"
        R"("span_kind":"LLM","parent_id":"00000000000000a1",)"
        R"("start_time":"2025-01-02T03:04:05.123456+00:00","end_time":"2025-01-02T03:04:06+00:00",)"
        R"("status_code":"ERROR","status_message":"boom",)"
        R"("attributes":{"llm.input_messages.0.message.role":"user"},)"
        R"("events":[{"name":"exception","timestamp":"2025-01-02T03:04:05.500000+00:00",)"
        R"("attributes":{"exception":{"message":"boom"}}},)"
        R"({"name":"note","timestamp":"2025-01-02T03:04:05.600000+00:00","attributes":{}},)"
        R"({"name":"","timestamp":"2025-01-02T03:04:05+00:00","attributes":{}}]})");
}

TEST_CASE("a root span has a null parent_id; unset fields get Phoenix's defaults") {
  SpanRecord s = LlmSpan();
  s.parent_id.clear();
  s.span_kind.clear();
  s.status_code.clear();
  s.status_message.clear();
  s.attributes_json = "not json";
  s.events_json = "";
  std::string json = Render([&](JsonWriter& w) { WriteSpan(w, s); });
  CHECK(json.find(R"("span_kind":"UNKNOWN","parent_id":null,)") != std::string::npos);
  CHECK(json.find(R"("status_code":"UNSET","status_message":"","attributes":{},"events":[]})") != std::string::npos);
}

TEST_CASE("a trace renders TraceData, with spans only when asked") {
  TraceRecord t;
  t.id = 1;
  t.project_id = 1;
  t.trace_id = "0123456789abcdef0123456789abcdef";
  t.start_time_ns = 1735787045000000000LL;
  t.end_time_ns = 1735787047000000000LL;
  t.token_count_prompt = 10;
  t.token_count_completion = 5;
  t.token_count_total = 15;
  const std::string head = R"({"id":"VHJhY2U6MQ==","trace_id":"0123456789abcdef0123456789abcdef",)"
                           R"("project_id":"UHJvamVjdDox","start_time":"2025-01-02T03:04:05+00:00",)"
                           R"("end_time":"2025-01-02T03:04:07+00:00","token_count_prompt":10,)"
                           R"("token_count_completion":5,"token_count_total":15,)";
  CHECK(Render([&](JsonWriter& w) { WriteTrace(w, t, nullptr); }) == head + R"("spans":null})");
  std::vector<SpanRecord> spans = {LlmSpan()};
  spans[0].parent_id.clear();
  CHECK(Render([&](JsonWriter& w) { WriteTrace(w, t, &spans); }) ==
        head + R"("spans":[{"id":"U3Bhbjoy","span_id":"00000000000000b2","parent_id":null,"name":"ChatCompletion",)"
               R"("span_kind":"LLM","status_code":"ERROR","start_time":"2025-01-02T03:04:05.123456+00:00",)"
               R"("end_time":"2025-01-02T03:04:06+00:00"}]})");
}

TEST_CASE("a session renders SessionData with its traces") {
  SessionRecord s;
  s.id = 1;
  s.session_id = "sess-1";
  s.project_id = 1;
  s.start_time_ns = 1735787045000000000LL;
  s.end_time_ns = 1735787047000000000LL;
  s.token_count_prompt = 1;
  s.token_count_completion = 2;
  s.token_count_total = 3;
  s.cost_total = 0.25;
  TraceRecord t;
  t.id = 1;
  t.trace_id = "0123456789abcdef0123456789abcdef";
  t.start_time_ns = 1735787045000000000LL;
  t.end_time_ns = 1735787047000000000LL;
  CHECK(Render([&](JsonWriter& w) { WriteSession(w, s, {t}); }) ==
        R"({"id":"UHJvamVjdFNlc3Npb246MQ==","session_id":"sess-1","project_id":"UHJvamVjdDox",)"
        R"("start_time":"2025-01-02T03:04:05+00:00","end_time":"2025-01-02T03:04:07+00:00",)"
        R"("traces":[{"id":"VHJhY2U6MQ==","trace_id":"0123456789abcdef0123456789abcdef",)"
        R"("start_time":"2025-01-02T03:04:05+00:00","end_time":"2025-01-02T03:04:07+00:00"}],)"
        R"("token_count_prompt":1,"token_count_completion":2,"token_count_total":3,"cost_total":0.25})");
}
