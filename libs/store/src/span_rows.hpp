#pragma once

// Input validation shared by every Store implementation: a WriteSpans call is checked span by span
// before its transaction opens, so one bad span stores nothing and the error names it.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "osprey/model/v1/span.pb.h"

namespace osprey::store::internal {

// Time columns are signed 64-bit nanoseconds.
inline constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
// Deeper JSON documents are refused: SQLite's JSON functions stop at 2000 levels.
inline constexpr int kMaxJsonDepth = 1000;

// One input span, validated and with its ids in lowercase hex.
struct SpanRow {
  const model::v1::Span* span = nullptr;
  size_t index = 0;  // position in the WriteSpans call
  std::string trace_id;
  std::string span_id;
  std::string parent_id;  // empty for a root span
  int64_t start = 0;
  int64_t end = 0;
  int64_t token_total = 0;  // llm_token_count_total, or prompt + completion when unset
};

// "span 3 (span_id 00f0...)": the prefix of every validation message about `row`.
std::string Where(const SpanRow& row);

// Ids, times, token counts and the attributes/events documents; a permanent INVALID_ARGUMENT naming
// the span otherwise.
absl::StatusOr<SpanRow> ValidateSpan(const model::v1::Span* span, size_t index);

// Empty is accepted (stored as the empty document). Otherwise the text must be one JSON value whose
// first character is `open` ('{' or '[') nesting at most kMaxJsonDepth levels. Returns the problem.
std::optional<std::string> CheckJson(const std::string& text, char open, const char* what);

std::string_view StatusName(model::v1::StatusCode code);

// `attribute=llm.model_name:<non-empty string>` is answered from the lifted `llm_model_name` column,
// which holds exactly the string attribute (ingest lifts it only when it is a string): the same rows as
// the JSON comparison without parsing each span's attributes. Returns that string, else null.
inline const std::string* LiftedModelNameFilter(const std::vector<std::string>& path,
                                                const std::variant<bool, int64_t, double, std::string>& value) {
  const std::string* text = std::get_if<std::string>(&value);
  if (text == nullptr || text->empty() || path.size() != 2 || path[0] != "llm" || path[1] != "model_name") {
    return nullptr;
  }
  return text;
}

}  // namespace osprey::store::internal
