#pragma once

// Read helpers over one pooled Postgres connection: the per-connection statement cache every read of
// the store goes through, and SqlReader::RunReadQuery as a free function (the PostgresStore member
// leases the connection and maps libpqxx exceptions to Status).

#include <pqxx/pqxx>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "osprey/store/sql_reader.hpp"

namespace osprey::store {

// Read statements prepared once per connection and found again by their text, as the SQLite store's
// statement cache: Postgres then parses and analyzes a statement once per connection instead of on every
// call (the trace-list page: 0.86 -> 0.37 ms per execution in pgbench). Plans stay per call
// (`plan_cache_mode = force_custom_plan`, which every pooled connection starts with), because the right plan
// of a span page depends on the bound values (project size, time window, limit); the store runs lookups by
// a unique key on connections switched to `auto` (postgres_store.cpp, `Planning`). Bounded: past kMaxStatements
// distinct texts a statement runs unnamed. Not thread-safe: it belongs to one pooled connection and is
// used by whoever holds that connection's lease; a reopened connection starts with an empty cache.
class PgStatementCache final {
 public:
  static constexpr size_t kMaxStatements = 256;

  // Runs `sql` with text parameters (NULL-free; each `$n` carries its own cast) on `tx`'s connection.
  pqxx::result Run(pqxx::transaction_base& tx, const std::string& sql, const std::vector<std::string>& params);

 private:
  std::unordered_map<std::string, std::string> names_;  // SQL text -> prepared statement name
};

// Runs `query` in a READ ONLY transaction with `SET LOCAL statement_timeout`, then rolls back: three
// round trips (BEGIN and SET in one simple-protocol message, the statement through `statements`, ROLLBACK).
// Parameters are sent as text (bool "true"/"false", numbers in round-trip form); a text parameter
// holding NUL is INVALID_ARGUMENT (Postgres text cannot hold it). Result types: bool, integer and
// float columns keep their type, NULL is monostate, every other type is its text form.
// Throws libpqxx exceptions for server errors: the caller maps them.
absl::StatusOr<SqlRows> RunPostgresReadQuery(pqxx::connection& connection, PgStatementCache& statements,
                                             const SqlQuery& query);

}  // namespace osprey::store
