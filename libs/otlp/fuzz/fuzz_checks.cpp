#include "fuzz_checks.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "google/protobuf/stubs/logging.h"
#include "osprey/base/encoding.hpp"
#include "rapidjson/document.h"

namespace osprey::otlp::fuzz {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}

void Require(bool condition, const char* what) {
  if (!condition) Fail(what);
}

}  // namespace

void CheckNormalized(const ExportRequest& request, const NormalizeResult& result) {
  size_t total = 0;
  for (const auto& rs : request.resource_spans()) {
    for (const auto& ss : rs.scope_spans()) total += static_cast<size_t>(ss.spans_size());
  }
  Require(result.spans.size() + result.rejected.size() == total, "every span is either kept or rejected");
  Require(result.ErrorMessage().empty() == result.rejected.empty(), "ErrorMessage empty iff nothing rejected");
  for (const auto& r : result.rejected) Require(!r.reason.empty(), "rejections carry a reason");
  for (const auto& span : result.spans) {
    Require(span.trace_id().size() == 16 && !base::IsAllZero(span.trace_id()), "trace_id valid");
    Require(span.span_id().size() == 8 && !base::IsAllZero(span.span_id()), "span_id valid");
    Require(span.parent_span_id().empty() || span.parent_span_id().size() == 8, "parent_span_id valid");
    Require(span.start_time_unix_nano() > 0 && span.end_time_unix_nano() >= span.start_time_unix_nano(), "times");
    Require(!span.project_name().empty(), "project resolved");
    for (const std::string* s : {&span.project_name(), &span.name(), &span.span_kind(), &span.status_message(),
                                 &span.attributes_json(), &span.events_json(), &span.session_id(), &span.user_id(),
                                 &span.llm_model_name(), &span.input_preview(), &span.output_preview()}) {
      Require(base::IsValidUtf8(*s), "strings are valid UTF-8");
    }
    static const char* const kKinds[] = {"TOOL",  "CHAIN",    "LLM",       "PROMPT",    "RETRIEVER", "EMBEDDING",
                                         "AGENT", "RERANKER", "EVALUATOR", "GUARDRAIL", "UNKNOWN"};
    bool known_kind = false;
    for (const char* kind : kKinds) known_kind = known_kind || span.span_kind() == kind;
    Require(known_kind, "span kind known");
    rapidjson::Document attributes;
    attributes.Parse<rapidjson::kParseIterativeFlag>(span.attributes_json().data(), span.attributes_json().size());
    if (attributes.HasParseError() || !attributes.IsObject()) {
      const size_t at = attributes.GetErrorOffset();
      std::fprintf(stderr, "attributes_json invalid at %zu: ...%s\n", at,
                   span.attributes_json().substr(at > 80 ? at - 80 : 0, 160).c_str());
      Fail("attributes_json is a JSON object");
    }
    rapidjson::Document events;
    events.Parse<rapidjson::kParseIterativeFlag>(span.events_json().data(), span.events_json().size());
    Require(!events.HasParseError() && events.IsArray(), "events_json is a JSON array");
    if (span.span_kind() != "LLM") {
      Require(span.llm_token_count_prompt() == 0 && span.llm_token_count_completion() == 0 &&
                  span.llm_token_count_total() == 0,
              "token counts only for LLM spans");
    }
  }
}

void CheckSameResult(const NormalizeResult& a, const NormalizeResult& b) {
  Require(a.spans.size() == b.spans.size(), "same number of spans");
  Require(a.rejected.size() == b.rejected.size(), "same number of rejections");
  for (size_t i = 0; i < a.spans.size(); ++i) {
    Require(a.spans[i].SerializeAsString() == b.spans[i].SerializeAsString(), "same normalized span");
  }
  for (size_t i = 0; i < a.rejected.size(); ++i) Require(a.rejected[i].reason == b.rejected[i].reason, "same reason");
}

void CheckSameOnArena(const ExportRequest& request, const NormalizeOptions& options, const NormalizeResult& expected) {
  google::protobuf::Arena arena;
  std::vector<model::v1::Span*> spans;
  NormalizeResult on_arena;
  on_arena.rejected = NormalizeOnArena(request, options, &arena, &spans);
  for (const model::v1::Span* span : spans) on_arena.spans.push_back(*span);
  CheckSameResult(expected, on_arena);
}

void QuietProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

}  // namespace osprey::otlp::fuzz
