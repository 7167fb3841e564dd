#include "trace_factory.hpp"

#include <algorithm>
#include <string_view>
#include <utility>

namespace osprey::bench {
namespace {

using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::Span;

constexpr std::string_view kCorpus =
    "The quick brown fox jumps over the lazy dog while the retrieval system ranks forty documents about "
    "weather patterns in western Europe; the assistant must cite sources, keep answers short, refuse to "
    "guess temperatures it cannot verify, and call the get_weather tool with a city and a unit. ";

constexpr std::string_view kSystemPrompt =
    "You are a careful travel assistant. Answer in at most three sentences. When the user asks about the "
    "weather, call the get_weather tool with the city name and the unit the user prefers; never invent a "
    "temperature. Cite the retrieved documents by id when you use them.";

void AddString(Span* span, std::string key, std::string value) {
  KeyValue* kv = span->add_attributes();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

void AddInt(Span* span, std::string key, int64_t value) {
  KeyValue* kv = span->add_attributes();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_int_value(value);
}

void AddDouble(Span* span, std::string key, double value) {
  KeyValue* kv = span->add_attributes();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_double_value(value);
}

}  // namespace

TraceFactory::TraceFactory(TraceShape shape, uint64_t seed) : shape_(std::move(shape)), rng_(seed) {}

std::string TraceFactory::RandomBytes(size_t n) {
  std::string out(n, '\0');
  do {
    for (auto& c : out) c = static_cast<char>(rng_() & 0xff);
  } while (std::all_of(out.begin(), out.end(), [](char c) { return c == 0; }));
  return out;
}

std::string TraceFactory::Text(size_t n) {
  std::string out;
  out.reserve(n);
  size_t pos = rng_() % kCorpus.size();
  while (out.size() < n) {
    const size_t take = std::min(n - out.size(), kCorpus.size() - pos);
    out.append(kCorpus.substr(pos, take));
    pos = 0;
  }
  return out;
}

void TraceFactory::Fill(size_t spans, uint64_t now_unix_nanos,
                        opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest* request) {
  request->Clear();
  auto* resource_spans = request->add_resource_spans();
  auto* resource = resource_spans->mutable_resource();
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"service.name", "osprey-loadgen"},
                                   {"openinference.project.name", shape_.project}}) {
    KeyValue* kv = resource->add_attributes();
    kv->set_key(key);
    kv->mutable_value()->set_string_value(value);
  }
  auto* scope_spans = resource_spans->add_scope_spans();
  scope_spans->mutable_scope()->set_name("osprey.loadgen");

  size_t made = 0;
  while (made < spans) {
    const size_t trace_len = 5 + rng_() % 6;  // 5..10
    const std::string trace_id = RandomBytes(16);
    const std::string root_id = RandomBytes(8);
    const std::string session =
        "loadgen-session-" + std::to_string(rng_() % 1000) + "-" + std::to_string(session_counter_++ % 7);
    const std::string user = "user-" + std::to_string(rng_() % 500);
    uint64_t t = now_unix_nanos - 2'000'000'000ull;  // the trace started ~2 s ago
    const uint64_t trace_start = t;
    for (size_t i = 0; i < trace_len && made < spans; ++i, ++made) {
      Span* span = scope_spans->add_spans();
      span->set_trace_id(trace_id);
      const uint64_t duration = 1'000'000 + rng_() % 50'000'000;  // 1–51 ms
      span->set_start_time_unix_nano(t);
      span->set_end_time_unix_nano(t + duration);
      span->set_kind(Span::SPAN_KIND_INTERNAL);
      AddString(span, "session.id", session);
      AddString(span, "user.id", user);
      if (i == 0) {
        span->set_span_id(root_id);
        span->set_name("agent.run");
        span->set_end_time_unix_nano(trace_start + 1'800'000'000ull);
        AddString(span, "openinference.span.kind", "CHAIN");
        AddString(span, "input.value", Text(120));
        AddString(span, "output.value", Text(200));
        AddString(span, "metadata", R"({"tenant":"bench","tier":2})");
        span->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK);
        t += 1'000'000;
        continue;
      }
      span->set_span_id(RandomBytes(8));
      span->set_parent_span_id(root_id);
      const size_t role = (i - 1) % 4;  // RETRIEVER, LLM, TOOL, LLM, RETRIEVER, ...
      if (role == 0) {
        span->set_name("vector.search");
        AddString(span, "openinference.span.kind", "RETRIEVER");
        AddString(span, "input.value", Text(60));
        for (int d = 0; d < 3; ++d) {
          const std::string prefix = "retrieval.documents." + std::to_string(d) + ".document.";
          AddString(span, prefix + "id", "doc-" + std::to_string(rng_() % 100000));
          AddString(span, prefix + "content", Text(180));
          AddDouble(span, prefix + "score", static_cast<double>(rng_() % 1000) / 1000.0);
        }
      } else if (role == 2) {
        span->set_name("get_weather");
        AddString(span, "openinference.span.kind", "TOOL");
        AddString(span, "tool.name", "get_weather");
        AddString(span, "tool.parameters", R"({"city":"Paris","unit":"celsius"})");
        AddString(span, "input.value", R"({"city":"Paris","unit":"celsius"})");
        AddString(span, "output.value", R"({"temperature_c":18,"conditions":"cloudy"})");
      } else {
        ++llm_spans_;
        span->set_name("ChatCompletion");
        span->set_kind(Span::SPAN_KIND_CLIENT);
        AddString(span, "openinference.span.kind", "LLM");
        AddString(span, "llm.model_name", "gpt-4o-mini");
        AddString(span, "llm.provider", "openai");
        AddString(span, "llm.invocation_parameters", R"({"temperature":0.2,"max_tokens":512})");
        AddString(span, "llm.input_messages.0.message.role", "system");
        AddString(span, "llm.input_messages.0.message.content", std::string(kSystemPrompt));
        AddString(span, "llm.input_messages.1.message.role", "user");
        AddString(span, "llm.input_messages.1.message.content", Text(420));
        AddString(span, "llm.output_messages.0.message.role", "assistant");
        AddString(span, "llm.output_messages.0.message.content", Text(380));
        AddString(span, "llm.output_messages.0.message.tool_calls.0.tool_call.id",
                  "call_" + std::to_string(rng_() % 1000000));
        AddString(span, "llm.output_messages.0.message.tool_calls.0.tool_call.function.name", "get_weather");
        AddString(span, "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments",
                  R"({"city":"Paris","unit":"celsius"})");
        AddInt(span, "llm.token_count.prompt", 300 + static_cast<int64_t>(rng_() % 400));
        AddInt(span, "llm.token_count.completion", 20 + static_cast<int64_t>(rng_() % 200));
        if (shape_.large_every > 0 && llm_spans_ % shape_.large_every == 0) {
          ++large_spans_;
          AddString(span, "llm.input_messages.2.message.role", "user");
          size_t bytes = shape_.large_bytes;
          if (shape_.large_bytes_max > shape_.large_bytes) bytes += rng_() % (shape_.large_bytes_max - bytes + 1);
          AddString(span, "llm.input_messages.2.message.content", Text(bytes));
        }
        span->mutable_status()->set_code(opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK);
      }
      t += duration + 100'000;
    }
  }
}

}  // namespace osprey::bench
