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

// Rows of a binary-format COPY (PGCOPY, https://www.postgresql.org/docs/15/sql-copy.html) built in one
// buffer: a row is its field count, a field its byte length (-1 for NULL) and its bytes, int8 and float8
// big-endian. The server takes each field as it is: no per-byte scan for line ends and escapes, no
// number text (measured on 50k loadgen spans into the spans table with its indexes: 19 % less server
// time than text COPY of the same rows). The values stored are those of PgText / PgJson: a NUL byte in
// text becomes U+FFFD, the JSON escape \u0000 becomes \ufffd. The stream is Begin(), the rows, End();
// data() may be sent and Clear()ed at any point in between (COPY data messages need not end at rows).
class CopyRows final {
 public:
  void Begin();  // the 19-byte header
  void End();    // the trailer
  // Starts a row of `fields` fields (those of the previous row are complete).
  void Row(int16_t fields);
  void Null();
  void Int(int64_t value);     // int8
  void Double(double value);   // float8
  void Text(std::string_view text);  // text, varchar
  // jsonb (format version 1: the JSON text); `empty` stands for an empty document.
  void Json(std::string_view json, std::string_view empty);

  const std::string& data() const { return data_; }
  void Clear() { data_.clear(); }

 private:
  void Length(int32_t length);
  // Appends `text` as a field's bytes after its length; `json`: rewrites \u0000 outside escaped backslashes.
  void Append(std::string_view text, bool json);

  std::string data_;
};

// A binary COPY on `tx`'s connection: `statement` (COPY ... FROM STDIN (FORMAT binary)) runs through the
// transaction, so libpqxx sees it; the data and the end go through libpq (libpqxx 6.4 sends COPY data only
// as newline-terminated text lines). Errors are thrown as the libpqxx exceptions the store maps
// (pqxx::unique_violation for a duplicate key), after the connection has left the COPY state.
class BinaryCopy final {
 public:
  BinaryCopy(pqxx::work& tx, std::string statement);
  void Send(const std::string& data);
  void Finish();

 private:
  std::string statement_;
  pqxx::internal::pq::PGconn* connection_;
};

// Writes `rows` (sorted by trace id, then span id) in `tx`, filling `result`. With `look_up_stored`, the span
// ids already in the table are looked up first and skipped. Without it they are not (one index probe per span
// saved, ~4 % of the server's time for a batch): the COPY then fails on the first span stored before, and
// the call returns a retryable status IsSpansStoredBefore recognizes; the caller then retries the batch with
// the lookup.
absl::Status PgWriteSpans(pqxx::work& tx, const std::vector<SpanRow>& rows, bool look_up_stored, WriteResult& result);

// The retryable status PgWriteSpans returns when a COPY without the lookup met a span stored before.
bool IsSpansStoredBefore(const absl::Status& status);

}  // namespace osprey::store::internal
