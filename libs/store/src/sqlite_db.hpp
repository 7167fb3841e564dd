#pragma once

// Thin RAII layer over the SQLite C API used by SqliteStore: a connection with a prepared-statement
// cache and a statement wrapper whose errors are absl::Status values (busy/IO errors retryable).
// Thread safety: none. A Connection and its statements are used by one thread at a time.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace osprey::store::sqlite {

// Maps an SQLite result code to a Status: BUSY, LOCKED, IOERR, FULL, CANTOPEN and PROTOCOL are
// retryable (UNAVAILABLE); constraint and type errors are permanent INVALID_ARGUMENT; everything
// else is permanent INTERNAL.
absl::Status ErrorStatus(sqlite3* db, int rc, std::string_view what);

class Statement final {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameter indexes are 1-based. Text is copied unless bound with BindTextNoCopy, whose data must
  // outlive the next Step()/Reset().
  void BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void BindDouble(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  void BindText(int index, std::string_view value) {
    sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  }
  void BindTextNoCopy(int index, std::string_view value) {
    sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
  }
  // NULL when empty.
  void BindTextOrNull(int index, std::string_view value) {
    if (value.empty()) {
      BindNull(index);
    } else {
      BindText(index, value);
    }
  }

  // True when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows.
  absl::Status Run();
  // Makes the statement reusable and drops bindings; called by the owner after each use.
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Double(int column) const { return sqlite3_column_double(stmt_, column); }
  int Type(int column) const { return sqlite3_column_type(stmt_, column); }  // SQLITE_INTEGER, SQLITE_NULL, ...
  int ColumnCount() const { return sqlite3_column_count(stmt_); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string Text(int column) const;
  std::optional<int64_t> OptionalInt(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Int(column);
  }
  std::optional<double> OptionalDouble(int column) const {
    if (IsNull(column)) return std::nullopt;
    return Double(column);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Resets a cached statement when the scope ends, so a failed path never leaves it mid-step.
class ResetGuard final {
 public:
  explicit ResetGuard(Statement* stmt) : stmt_(stmt) {}
  ~ResetGuard() { stmt_->Reset(); }
  ResetGuard(const ResetGuard&) = delete;
  ResetGuard& operator=(const ResetGuard&) = delete;

 private:
  Statement* stmt_;
};

class Connection final {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_*); the connection is in multi-thread mode (no internal
  // mutex): the owner guarantees one thread at a time.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, int flags);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results.
  absl::Status Exec(const std::string& sql);
  // A statement prepared once per connection and kept; the caller Reset()s it after use.
  absl::StatusOr<Statement*> Cached(const std::string& sql);
  // A one-off statement (dynamic SQL).
  absl::StatusOr<std::unique_ptr<Statement>> Prepare(const std::string& sql);
  // The value of a PRAGMA (first column of the first row), empty if none.
  absl::StatusOr<std::string> QueryPragma(const std::string& pragma);

  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;  // finalized before db_ closes
};

}  // namespace osprey::store::sqlite
