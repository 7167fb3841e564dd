#pragma once

// SqlReader::RunReadQuery for Postgres, as a free function over one pooled connection (the
// PostgresStore member leases the connection and maps libpqxx exceptions to Status).

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "osprey/store/sql_reader.hpp"

namespace osprey::store {

// Runs `query` in a READ ONLY transaction with `SET LOCAL statement_timeout`, then rolls back.
// Parameters are sent as text (bool "true"/"false", numbers in round-trip form); a text parameter
// holding NUL is INVALID_ARGUMENT (Postgres text cannot hold it). Result types: bool, integer and
// float columns keep their type, NULL is monostate, every other type is its text form.
// Throws libpqxx exceptions for server errors: the caller maps them.
absl::StatusOr<SqlRows> RunPostgresReadQuery(pqxx::connection& connection, const SqlQuery& query);

}  // namespace osprey::store
