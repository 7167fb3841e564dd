#pragma once

// Postgres implementation of the Store (distributed mode), over libpqxx. Durability: WriteSpans
// returns OK after COMMIT, which with the server's default synchronous_commit=on means the WAL
// record is flushed on the server; a crash of either process loses nothing acknowledged.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/store/store.hpp"

namespace osprey::store {

struct PostgresConfig {
  // libpq connection string or URI, e.g. "host=127.0.0.1 port=5432 user=osprey dbname=osprey".
  std::string dsn;
  // Connections shared by reads and writes; a call blocks while all are busy.
  int pool_size = 4;
  // Server-side statement_timeout of every read (0 = none); a read over it is DEADLINE_EXCEEDED.
  int statement_timeout_ms = 30000;
  // statement_timeout inside a WriteSpans / CreateProject transaction (0 = none).
  int write_timeout_ms = 60000;
  // Extra attempts of a WriteSpans call after a deadlock, serialization failure or lost connection
  // (safe: writes are idempotent). 0 returns the first retryable error to the caller.
  int write_retries = 3;
};

// INVALID_ARGUMENT naming the first bad field: empty dsn, pool_size < 1, negative timeouts or retries.
absl::Status ValidatePostgresConfig(const PostgresConfig& config);

// Connects `pool_size` connections (UNAVAILABLE, retryable, when the server cannot be reached).
// Does not migrate: call Migrate(), which runs the embedded migrations under pg_advisory_xact_lock.
absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresConfig& config);

}  // namespace osprey::store
