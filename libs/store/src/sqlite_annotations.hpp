#pragma once

// The AnnotationStore of the SQLite store: annotation_sql.cpp's statements run over one connection
// (the SqliteStore hooks only lease a reader or take the writer mutex).

#include "annotation_sql.hpp"
#include "sqlite_db.hpp"

namespace osprey::store {

// Runs `work` on a read connection (no transaction: each statement sees a consistent snapshot).
absl::Status RunSqliteAnnotationRead(sqlite::Connection& reader,
                                     const std::function<absl::Status(internal::SqlExecutor&)>& work);

// Runs `work` in one BEGIN IMMEDIATE transaction on the writer connection; COMMIT when it returns OK,
// ROLLBACK otherwise. The caller holds the writer mutex.
absl::Status RunSqliteAnnotationWrite(sqlite::Connection& writer,
                                      const std::function<absl::Status(internal::SqlExecutor&)>& work);

}  // namespace osprey::store
