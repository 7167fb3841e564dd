// libFuzzer target: a filter condition (the whole input) parsed and compiled for both dialects, and
// the same text used as a select key. Invariants checked on every input:
//  - the result is either OK or INVALID_ARGUMENT whose message says where ("at column N") or what
//    limit was exceeded; never another code, never a crash;
//  - compiled SQL is printable ASCII (user text never reaches it), its parentheses balance outside
//    SQL string literals, and its placeholders are exactly 1..params.size();
//  - the SQLite SQL prepares and runs against an in-memory copy of the schema (a compiler bug shows
//    up as an SQL error).
#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "osprey/spanquery/compiler.hpp"

namespace {

using osprey::store::Dialect;

[[noreturn]] void Fail(const std::string& what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "invariant violated: %s\ninput: %.*s\ndetail: %s\n", what.c_str(),
               static_cast<int>(input.size()), input.data(), detail.c_str());
  std::abort();
}

void CheckError(const absl::Status& status, std::string_view input) {
  if (status.code() != absl::StatusCode::kInvalidArgument) Fail("unexpected status code", input, status.ToString());
  std::string message(status.message());
  if (message.find("at column ") == std::string::npos && message.find("too long") == std::string::npos &&
      message.find("must name a list") == std::string::npos) {
    Fail("error message without a position", input, message);
  }
}

void CheckSql(const osprey::store::SqlQuery& query, Dialect dialect, std::string_view input) {
  int depth = 0;
  bool quoted = false;
  size_t max_placeholder = 0;
  const std::string& sql = query.sql;
  for (size_t i = 0; i < sql.size(); ++i) {
    auto c = static_cast<unsigned char>(sql[i]);
    if (c < 0x20 || c > 0x7e) Fail("non-printable byte in SQL", input, sql);
    if (c == '\'') quoted = !quoted;
    if (quoted) continue;
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) Fail("unbalanced parentheses", input, sql);
    if ((c == '?' && dialect == Dialect::kSqlite) || (c == '$' && dialect == Dialect::kPostgres)) {
      size_t n = 0;
      size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + static_cast<size_t>(sql[j++] - '0');
      if (n == 0) Fail("placeholder without a number", input, sql);
      max_placeholder = std::max(max_placeholder, n);
    }
  }
  if (depth != 0 || quoted) Fail("unbalanced SQL", input, sql);
  if (max_placeholder != query.params.size()) Fail("placeholders and parameters differ", input, sql);
}

sqlite3* Database() {
  static sqlite3* db = [] {
    sqlite3* handle = nullptr;
    sqlite3_open(":memory:", &handle);
    const char* schema =
        "CREATE TABLE traces (id INTEGER PRIMARY KEY, trace_id TEXT);"
        "CREATE TABLE spans (id INTEGER PRIMARY KEY, trace_rowid INTEGER, project_id INTEGER, span_id TEXT, "
        "parent_id TEXT, name TEXT, span_kind TEXT, start_time INTEGER, end_time INTEGER, status_code TEXT, "
        "status_message TEXT, llm_token_count_prompt INTEGER, llm_token_count_completion INTEGER, "
        "llm_token_count_total INTEGER, attributes TEXT, events TEXT);"
        "CREATE TABLE span_annotations (id INTEGER PRIMARY KEY, span_rowid INTEGER, name TEXT, label TEXT, "
        "score REAL, explanation TEXT);"
        "CREATE TABLE trace_annotations (id INTEGER PRIMARY KEY, trace_rowid INTEGER, name TEXT, label TEXT, "
        "score REAL, explanation TEXT);"
        "INSERT INTO traces VALUES (1, 't1');"
        "INSERT INTO spans VALUES (1, 1, 1, 'a', NULL, 'root', 'CHAIN', 1, 5, 'OK', '', 0, 0, 0, "
        "'{\"llm\":{\"model_name\":\"m\",\"token_count\":{\"total\":3}},\"x\":[1,{\"y\":\"2\"}],\"b\":true}', '[]');"
        "INSERT INTO spans VALUES (2, 1, 1, 'b', 'a', 'child', 'LLM', 2, 4, 'ERROR', 'e', 1, 2, 3, '{}', '[]');"
        "INSERT INTO span_annotations VALUES (1, 2, 'c', 'l', 0.5, 'e');";
    sqlite3_exec(handle, schema, nullptr, nullptr, nullptr);
    return handle;
  }();
  return db;
}

int Interrupt(void* counter) { return ++*static_cast<int*>(counter) > 2000 ? 1 : 0; }

void RunSqlite(const osprey::store::SqlQuery& query, std::string_view input) {
  sqlite3* db = Database();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, query.sql.c_str(), static_cast<int>(query.sql.size()), &stmt, nullptr) != SQLITE_OK) {
    Fail("SQLite refused the compiled SQL", input, query.sql + " :: " + sqlite3_errmsg(db));
  }
  for (size_t i = 0; i < query.params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    const auto& p = query.params[i];
    if (const auto* n = std::get_if<int64_t>(&p)) sqlite3_bind_int64(stmt, index, *n);
    if (const auto* d = std::get_if<double>(&p)) sqlite3_bind_double(stmt, index, *d);
    if (const auto* b = std::get_if<bool>(&p)) sqlite3_bind_int(stmt, index, *b ? 1 : 0);
    if (const auto* s = std::get_if<std::string>(&p)) {
      sqlite3_bind_text64(stmt, index, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    }
  }
  int counter = 0;
  sqlite3_progress_handler(db, 100, Interrupt, &counter);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  sqlite3_progress_handler(db, 0, nullptr, nullptr);
  if (rc != SQLITE_DONE && rc != SQLITE_INTERRUPT) {
    Fail("compiled SQL failed on SQLite", input, query.sql + " :: " + sqlite3_errmsg(db));
  }
  sqlite3_finalize(stmt);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) { return 0; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (Dialect dialect : {Dialect::kSqlite, Dialect::kPostgres}) {
    auto condition = osprey::spanquery::CompileCondition(input, dialect);
    if (!condition.ok()) {
      CheckError(condition.status(), input);
    } else {
      CheckSql(*condition, dialect, input);
    }
    osprey::spanquery::QuerySpec spec;
    spec.select = {{"v", std::string(input)}};
    spec.filter = "name != 'x'";
    osprey::spanquery::QueryWindow window;
    window.project_id = 1;
    window.limit = 5;
    auto query = osprey::spanquery::CompileQuery(spec, window, dialect);
    if (!query.ok()) {
      CheckError(query.status(), input);
      continue;
    }
    CheckSql(query->sql, dialect, input);
    if (dialect == Dialect::kSqlite) RunSqlite(query->sql, input);
    if (condition.ok() && dialect == Dialect::kSqlite) {
      spec.select.clear();
      spec.filter = std::string(input);
      auto filtered = osprey::spanquery::CompileQuery(spec, window, dialect);
      if (filtered.ok()) RunSqlite(filtered->sql, input);
    }
  }
  return 0;
}
