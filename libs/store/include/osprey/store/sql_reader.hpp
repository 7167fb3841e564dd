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
