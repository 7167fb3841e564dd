#pragma once

// A generic read-only SQL entry point of the Store, for callers that compile their own SQL (the span
// query language, libs/spanquery). The caller writes SQL for the store's dialect(); every value that
// came from a user travels in `params`, never in `sql`.
//
// Placeholders: SQLite `?NNN` / `?`; Postgres `$N` (write an explicit cast, e.g. `$1::text`, because
// parameters are sent untyped). Parameters bind in order, 1-based.
//
// Contract: read-only (SQLite: a query_only connection and a statement SQLite reports as read-only;
// Postgres: a READ ONLY transaction), bounded in time (`timeout_ms`: DEADLINE_EXCEEDED, retryable) and
// in rows (more than `max_rows` rows is RESOURCE_EXHAUSTED). SQL the database refuses is
// INVALID_ARGUMENT; an unreachable or busy database is retryable UNAVAILABLE.
// Thread safety: may be called from any thread; each call uses its own pooled connection.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace osprey::store {

enum class Dialect { kSqlite, kPostgres };

// Finding spans by span id. In SQLite, spans are unique per (trace_rowid >> 8, span_id) (migration
// 0006: a global span-id index was the writer's latency tail), so a lookup by span id alone probes
// every bucket. AND the returned predicate beside `<alias>.span_id = ...` or `IN (...)`, or the query
// scans every span. Postgres keeps UNIQUE(span_id) and needs no predicate ("TRUE").
inline std::string SpanIdProbe(Dialect dialect, const std::string& alias) {
  if (dialect == Dialect::kPostgres) return "TRUE";
  return "(" + alias + ".trace_rowid >> 8) IN (SELECT bucket FROM span_id_buckets)";
}

// The same for a span `other` in the same trace as span `alias` (a parent, a child): one probe.
inline std::string SameTraceSpanProbe(Dialect dialect, const std::string& alias, const std::string& other) {
  std::string same_trace = other + ".trace_rowid = " + alias + ".trace_rowid";
  if (dialect == Dialect::kPostgres) return same_trace;
  return "(" + other + ".trace_rowid >> 8) = (" + alias + ".trace_rowid >> 8) AND " + same_trace;
}

// NULL, boolean, integer, float or text. Postgres results: bool and integer/float types keep their
// type, everything else (text, jsonb, ...) is text.
using SqlValue = std::variant<std::monostate, bool, int64_t, double, std::string>;

struct SqlQuery {
  std::string sql;
  std::vector<SqlValue> params;  // NULL parameters are refused: write NULL in the SQL instead
  int timeout_ms = 10000;
  int64_t max_rows = 100000;
};

struct SqlRows {
  std::vector<std::string> columns;
  std::vector<std::vector<SqlValue>> rows;
};

class SqlReader {
 public:
  virtual ~SqlReader() = default;
  virtual Dialect dialect() const = 0;
  virtual absl::StatusOr<SqlRows> RunReadQuery(const SqlQuery& query) = 0;
};

}  // namespace osprey::store
