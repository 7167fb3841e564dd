// Upgrading an existing SQLite database across the span-id migration (0006), which rebuilds the
// spans table: stored spans and the annotations that reference them survive, and the new unique key
// still refuses a redelivered span.
#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "migrations.hpp"
#include "osprey/store/sqlite_store.hpp"

namespace {

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO(sql << ": " << (error ? error : ""));
  sqlite3_free(error);
  REQUIRE(rc == SQLITE_OK);
}

int64_t Count(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return n;
}

}  // namespace

TEST_CASE("sqlite upgrade: the span-id migration keeps spans and their annotations", "[sqlite][migrations]") {
  std::string pattern = (std::filesystem::temp_directory_path() / "osprey-upgrade-XXXXXX").string();
  REQUIRE(mkdtemp(pattern.data()) != nullptr);
  const std::filesystem::path dir = pattern;
  const std::string path = (dir / "osprey.db").string();

  int target = 0;
  for (const auto& m : osprey::store::SqliteMigrations()) {
    if (m.name == "span_id_buckets") target = m.version;
  }
  REQUIRE(target > 1);

  // A database as the previous release left it, with a trace, two spans and an annotation.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  Exec(db, "PRAGMA foreign_keys = ON");
  Exec(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  for (const auto& m : osprey::store::SqliteMigrations()) {
    if (m.version >= target) break;
    Exec(db, std::string(m.sql));
    Exec(db, "INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", 0)");
  }
  Exec(db, "INSERT INTO traces (id, project_id, trace_id, start_time, end_time, span_count) "
           "VALUES (1, 1, '0123456789abcdef0123456789abcdef', 10, 20, 2)");
  Exec(db, "INSERT INTO spans (id, trace_rowid, project_id, span_id, name, span_kind, start_time, end_time) VALUES "
           "(1, 1, 1, 'aaaaaaaaaaaaaaaa', 'root', 'CHAIN', 10, 20), "
           "(2, 1, 1, 'bbbbbbbbbbbbbbbb', 'llm', 'LLM', 11, 19)");
  Exec(db, "UPDATE spans SET parent_id = 'aaaaaaaaaaaaaaaa' WHERE id = 2");
  Exec(db, "INSERT INTO span_annotations (span_rowid, name, label, annotator_kind, source, created_at, updated_at) "
           "VALUES (2, 'correctness', 'right', 'HUMAN', 'API', 1, 1)");
  sqlite3_close(db);

  {
    osprey::store::SqliteConfig config;
    config.path = path;
    auto store = osprey::store::OpenSqliteStore(config);
    REQUIRE(store.ok());
    REQUIRE((*store)->Migrate().ok());

    osprey::store::SpanQuery query;
    query.project_id = 1;
    query.span_ids = {"BBBBBBBBBBBBBBBB"};
    auto page = (*store)->ListSpans(query);
    INFO(page.status().ToString());
    REQUIRE(page.ok());
    REQUIRE(page->items.size() == 1);
    CHECK(page->items[0].name == "llm");
    CHECK(page->items[0].parent_id == "aaaaaaaaaaaaaaaa");
  }

  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  CHECK(Count(db, "SELECT max(version) FROM schema_migrations") >= target);
  CHECK(Count(db, "SELECT count(*) FROM spans") == 2);
  CHECK(Count(db, "SELECT count(*) FROM span_annotations WHERE span_rowid = 2") == 1);
  CHECK(Count(db, "SELECT count(*) FROM pragma_index_list('spans') WHERE name = 'spans_span_id_bucket'") == 1);
  // The same span of the same trace is refused; the stored row stays as it was.
  CHECK(sqlite3_exec(db,
                     "INSERT INTO spans (trace_rowid, project_id, span_id, name, span_kind, start_time, end_time) "
                     "VALUES (1, 1, 'bbbbbbbbbbbbbbbb', 'again', 'LLM', 11, 19)",
                     nullptr, nullptr, nullptr) == SQLITE_CONSTRAINT);
  CHECK(Count(db, "SELECT count(*) FROM spans WHERE name = 'again'") == 0);
  // The rebuilt table's references still cascade: deleting the trace deletes its spans and annotations.
  Exec(db, "PRAGMA foreign_keys = ON");
  Exec(db, "DELETE FROM traces WHERE id = 1");
  CHECK(Count(db, "SELECT count(*) FROM spans") == 0);
  CHECK(Count(db, "SELECT count(*) FROM span_annotations") == 0);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
}
