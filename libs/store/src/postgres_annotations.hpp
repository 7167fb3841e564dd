#pragma once

// The AnnotationStore of the Postgres store: annotation_sql.cpp's statements run over one pooled
// connection. libpqxx errors propagate as exceptions; the PostgresStore hooks translate them (Guard).

#include <pqxx/pqxx>

#include "annotation_sql.hpp"

namespace osprey::store {

// Runs `work` in a nontransaction (reads) or in one transaction committed when `work` returns OK
// (writes; rolled back otherwise). `statement_timeout_ms` applies to the write transaction (0 = none).
absl::Status RunPostgresAnnotationWork(pqxx::connection& connection, bool write, int statement_timeout_ms,
                                       const std::function<absl::Status(internal::SqlExecutor&)>& work);

}  // namespace osprey::store
