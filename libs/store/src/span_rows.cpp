#include "span_rows.hpp"

#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "rapidjson/reader.h"

namespace osprey::store::internal {
namespace {

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

class DepthHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, DepthHandler> {
 public:
  bool Default() { return true; }
  bool StartObject() { return ++depth_ <= kMaxJsonDepth; }
  bool EndObject(rapidjson::SizeType) { return --depth_ >= 0; }
  bool StartArray() { return ++depth_ <= kMaxJsonDepth; }
  bool EndArray(rapidjson::SizeType) { return --depth_ >= 0; }

 private:
  int depth_ = 0;
};

}  // namespace

// The text is parsed in a scratch copy with 16 NUL bytes of padding: RapidJSON's SIMD string scanner
// (when built with RAPIDJSON_SSE2) reads whole aligned 16-byte blocks, and the padding keeps those
// reads inside the allocation. An embedded NUL ends the parse, and the
// text is then refused, as raw NULs are not valid JSON.
std::optional<std::string> CheckJson(const std::string& text, char open, const char* what) {
  if (text.empty()) return std::nullopt;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != open) {
    return std::string(what) + (open == '{' ? " is not a JSON object" : " is not a JSON array");
  }
  thread_local std::string padded;
  padded.assign(text);
  padded.append(16, '\0');
  // In situ: strings are decoded inside the scratch copy instead of being pushed onto the reader's
  // stack one character at a time: 4.9-5.3 -> 3.6-3.7 us per 1.7 KB attributes document (a one-off
  // A/B of the two parses, three rounds; CheckJson was 16 % of the writer process in perf).
  rapidjson::InsituStringStream stream(padded.data());
  rapidjson::Reader reader;
  DepthHandler handler;
  rapidjson::ParseResult result =
      reader.Parse<rapidjson::kParseInsituFlag | rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(
          stream, handler);
  if (!result) {
    if (result.Code() == rapidjson::kParseErrorTermination) {
      return std::string(what) + " nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    return std::string(what) + " is not valid JSON (offset " + std::to_string(result.Offset()) + ")";
  }
  if (text.find_first_not_of(" \t\r\n", stream.Tell()) != std::string::npos) {
    return std::string(what) + " has text after the JSON value";
  }
  return std::nullopt;
}

std::string_view StatusName(model::v1::StatusCode code) {
  switch (code) {
    case model::v1::STATUS_CODE_OK:
      return "OK";
    case model::v1::STATUS_CODE_ERROR:
      return "ERROR";
    default:
      return "UNSET";
  }
}

absl::StatusOr<SpanRow> ValidateSpan(const model::v1::Span* span, size_t index) {
  std::string where = "span " + std::to_string(index);
  if (span == nullptr) return Invalid(where + " is null");
  if (span->trace_id().size() != 16 || base::IsAllZero(span->trace_id())) {
    return Invalid(where + ": trace_id must be 16 bytes, not all zero");
  }
  if (span->span_id().size() != 8 || base::IsAllZero(span->span_id())) {
    return Invalid(where + ": span_id must be 8 bytes, not all zero");
  }
  SpanRow row;
  row.span = span;
  row.index = index;
  row.trace_id = base::HexEncode(span->trace_id());
  row.span_id = base::HexEncode(span->span_id());
  where += " (span_id " + row.span_id + ")";
  if (!span->parent_span_id().empty()) {
    if (span->parent_span_id().size() != 8) return Invalid(where + ": parent_span_id must be empty or 8 bytes");
    row.parent_id = base::HexEncode(span->parent_span_id());
  }
  if (span->start_time_unix_nano() > static_cast<uint64_t>(kMaxTime) ||
      span->end_time_unix_nano() > static_cast<uint64_t>(kMaxTime)) {
    return Invalid(where + ": time past the year 2262");
  }
  row.start = static_cast<int64_t>(span->start_time_unix_nano());
  row.end = static_cast<int64_t>(span->end_time_unix_nano());
  if (span->llm_token_count_prompt() < 0 || span->llm_token_count_completion() < 0 ||
      span->llm_token_count_total() < 0) {
    return Invalid(where + ": negative token count");
  }
  row.token_total = span->llm_token_count_total() != 0
                        ? span->llm_token_count_total()
                        : span->llm_token_count_prompt() + span->llm_token_count_completion();
  if (auto error = CheckJson(span->attributes_json(), '{', "attributes_json")) return Invalid(where + ": " + *error);
  if (auto error = CheckJson(span->events_json(), '[', "events_json")) return Invalid(where + ": " + *error);
  return row;
}

std::string Where(const SpanRow& row) { return "span " + std::to_string(row.index) + " (span_id " + row.span_id + ")"; }

}  // namespace osprey::store::internal
