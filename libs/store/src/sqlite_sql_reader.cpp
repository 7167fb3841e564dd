#include "sqlite_sql_reader.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "osprey/base/status.hpp"

namespace osprey::store {
namespace {

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

// Progress-handler state: interrupts the statement once the deadline has passed.
struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool expired = false;
};

int CheckDeadline(void* arg) {
  auto* deadline = static_cast<Deadline*>(arg);
  if (std::chrono::steady_clock::now() >= deadline->at) {
    deadline->expired = true;
    return 1;
  }
  return 0;
}

// Removes the progress handler when the call ends, whatever the path.
class ProgressGuard final {
 public:
  // A null deadline installs nothing.
  ProgressGuard(sqlite3* db, Deadline* deadline) : db_(db) {
    if (deadline != nullptr) sqlite3_progress_handler(db_, 1000, CheckDeadline, deadline);
  }
  ~ProgressGuard() { sqlite3_progress_handler(db_, 0, nullptr, nullptr); }
  ProgressGuard(const ProgressGuard&) = delete;
  ProgressGuard& operator=(const ProgressGuard&) = delete;

 private:
  sqlite3* db_;
};

SqlValue Column(sqlite3_stmt* stmt, int column) {
  switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(stmt, column));
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt, column);
    case SQLITE_NULL:
      return std::monostate{};
    default: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
      if (text == nullptr) return std::string();
      return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
    }
  }
}

}  // namespace

absl::StatusOr<SqlRows> RunSqliteReadQuery(sqlite::Connection& connection, const SqlQuery& query) {
  sqlite3* db = connection.handle();
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v2(db, query.sql.data(), static_cast<int>(query.sql.size()), &raw, &tail);
  if (rc != SQLITE_OK) return Invalid(std::string("sqlite: cannot prepare query: ") + sqlite3_errmsg(db));
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
  if (stmt == nullptr) return Invalid("sqlite: empty query");
  for (const char* p = tail; p != nullptr && p < query.sql.data() + query.sql.size(); ++p) {
    if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r' && *p != ';')
      return Invalid("sqlite: more than one statement");
  }
  if (!sqlite3_stmt_readonly(stmt.get())) return Invalid("sqlite: not a read-only statement");
  if (static_cast<int>(query.params.size()) != sqlite3_bind_parameter_count(stmt.get())) {
    return Invalid("sqlite: query has " + std::to_string(sqlite3_bind_parameter_count(stmt.get())) +
                   " placeholders but " + std::to_string(query.params.size()) + " parameters");
  }
  for (size_t i = 0; i < query.params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    const SqlValue& value = query.params[i];
    if (std::holds_alternative<std::monostate>(value))
      return Invalid("sqlite: NULL parameter " + std::to_string(index));
    if (const auto* b = std::get_if<bool>(&value)) sqlite3_bind_int64(stmt.get(), index, *b ? 1 : 0);
    if (const auto* n = std::get_if<int64_t>(&value)) sqlite3_bind_int64(stmt.get(), index, *n);
    if (const auto* d = std::get_if<double>(&value)) sqlite3_bind_double(stmt.get(), index, *d);
    if (const auto* s = std::get_if<std::string>(&value)) {
      sqlite3_bind_text64(stmt.get(), index, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
  }

  Deadline deadline{std::chrono::steady_clock::now() + std::chrono::milliseconds(query.timeout_ms)};
  ProgressGuard progress(db, query.timeout_ms > 0 ? &deadline : nullptr);

  SqlRows result;
  int columns = sqlite3_column_count(stmt.get());
  for (int c = 0; c < columns; ++c) result.columns.emplace_back(sqlite3_column_name(stmt.get(), c));
  while (true) {
    rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if (deadline.expired) {
        return base::Retryable(absl::StatusCode::kDeadlineExceeded,
                               "sqlite: query exceeded its time limit of " + std::to_string(query.timeout_ms) + " ms");
      }
      int primary = rc & 0xff;
      if (primary == SQLITE_ERROR || primary == SQLITE_MISMATCH || primary == SQLITE_TOOBIG) {
        return Invalid(std::string("sqlite: query failed: ") + sqlite3_errmsg(db));
      }
      return sqlite::ErrorStatus(db, rc, "sqlite: query failed");
    }
    if (static_cast<int64_t>(result.rows.size()) >= query.max_rows) {
      return base::Permanent(absl::StatusCode::kResourceExhausted,
                             "sqlite: query returned more than " + std::to_string(query.max_rows) + " rows");
    }
    std::vector<SqlValue> row;
    row.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) row.push_back(Column(stmt.get(), c));
    result.rows.push_back(std::move(row));
  }
  return result;
}

}  // namespace osprey::store
