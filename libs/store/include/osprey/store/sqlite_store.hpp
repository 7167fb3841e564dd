#pragma once

// SQLite implementation of the Store (embedded mode): WAL journal, one writer connection guarded
// by a mutex, a small pool of read-only connections. Durability: with `synchronous=normal` (the
// default) a committed transaction survives kill -9 of the process; `full` also survives power loss.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/store/store.hpp"

namespace osprey::store {

struct SqliteConfig {
  std::string path;                    // database file; its directory must exist
  std::string synchronous = "normal";  // "normal" | "full"
  int read_connections = 4;
  int busy_timeout_ms = 5000;
  // How large the WAL may grow before the checkpointer holds the writer back for a moment so it rewinds
  // (sqlite_store.cpp, RunCheckpoints); the file keeps at most this plus 64 MiB. Tests use small values.
  int64_t wal_checkpoint_bytes = int64_t{256} << 20;
};

// INVALID_ARGUMENT naming the first bad field: empty path, synchronous not "normal"/"full",
// read_connections < 1, busy_timeout_ms < 0, wal_checkpoint_bytes < 1 MiB.
absl::Status ValidateSqliteConfig(const SqliteConfig& config);

// Opens (creating if needed) the database. Does not migrate: call Migrate(). Validates `config`
// first; a directory that does not exist is FAILED_PRECONDITION.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteConfig& config);

}  // namespace osprey::store
