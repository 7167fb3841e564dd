#pragma once

// The Postgres write path: validation of a span for this server, and one WriteSpans transaction
// over an open transaction of a pooled connection (the store retries it and commits it). May throw
// libpqxx exceptions; the caller maps them to a Status.

#include <cstddef>
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/model/v1/span.pb.h"
#include "osprey/store/store.hpp"
#include "span_rows.hpp"

namespace osprey::store::internal {

// The shared checks, plus UTF-8 in every text field: the server's encoding refuses anything else.
absl::StatusOr<SpanRow> PgValidateSpan(const model::v1::Span* span, size_t index);

// Rows of a text-format COPY built in one buffer: fields separated by tabs, \N for NULL, and a
// backslash, tab, newline or carriage return in a value escaped with a backslash. The values stored
// are those pqxx::stream_to stores for the same fields (after PgText / PgJson), without its
// per-character escaper and per-field strings. Rows are separated by a newline, and the buffer never
// ends with one, so it can be sent as one COPY "line" (COPY data messages need not end at rows).
class CopyRows final {
 public:
  // Starts a row (fields of the previous one are complete).
  void Row();
  void Null();
  void Int(int64_t value);
  // As PgText: NUL bytes become U+FFFD.
  void Text(std::string_view text);
  // As PgJson: the JSON escape \u0000 becomes \ufffd, and `empty` stands for an empty document.
  void Json(std::string_view json, std::string_view empty);

  const std::string& data() const { return data_; }
  void Clear() { data_.clear(); }

 private:
  void Separate();
  void Append(std::string_view text, bool json);

  std::string data_;
  bool row_start_ = true;
};

// Writes `rows` (sorted by trace id, then span id) in `tx`, filling `result`.
absl::Status PgWriteSpans(pqxx::work& tx, const std::vector<SpanRow>& rows, WriteResult& result);

}  // namespace osprey::store::internal
