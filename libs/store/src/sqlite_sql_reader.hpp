#pragma once

// SqlReader::RunReadQuery for SQLite, as a free function over one pooled read connection (the
// SqliteStore member only leases the connection).

#include "osprey/store/sql_reader.hpp"
#include "sqlite_db.hpp"

namespace osprey::store {

// Runs `query` on `connection` (a query_only reader). Refuses a statement SQLite does not report as
// read-only, more than one statement, and NULL parameters. The timeout is enforced with a progress
// handler (DEADLINE_EXCEEDED, retryable); the handler is removed before returning.
absl::StatusOr<SqlRows> RunSqliteReadQuery(sqlite::Connection& connection, const SqlQuery& query);

}  // namespace osprey::store
