// The SQLite Store against the shared conformance suite, plus its configuration checks.
#include "osprey/store/sqlite_store.hpp"

#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "osprey/storetest/store_conformance.hpp"

namespace {

// A fresh database file in its own temporary directory, removed with the harness.
class SqliteHarness final : public osprey::storetest::StoreHarness {
 public:
  SqliteHarness() {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-store-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
  }
  ~SqliteHarness() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<osprey::store::Store>> Open() override {
    osprey::store::SqliteConfig config;
    config.path = (dir_ / "osprey.db").string();
    config.read_connections = 2;
    return osprey::store::OpenSqliteStore(config);
  }

  std::filesystem::path dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace

OSPREY_STORE_CONFORMANCE_TESTS("sqlite", [] { return std::make_unique<SqliteHarness>(); })

TEST_CASE("sqlite: invalid configuration is refused with a precise error", "[sqlite]") {
  SqliteHarness harness;
  osprey::store::SqliteConfig config;
  config.path = (harness.dir() / "x.db").string();

  CHECK(osprey::store::ValidateSqliteConfig(config).ok());
  auto check = [](const osprey::store::SqliteConfig& c, const std::string& needle) {
    CHECK(osprey::store::ValidateSqliteConfig(c).code() == absl::StatusCode::kInvalidArgument);
    auto store = osprey::store::OpenSqliteStore(c);
    REQUIRE(!store.ok());
    CHECK(store.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(store.status().message()), Catch::Contains(needle));
  };
  auto bad = config;
  bad.synchronous = "off";
  check(bad, "synchronous");
  bad = config;
  bad.read_connections = 0;
  check(bad, "read_connections");
  bad = config;
  bad.busy_timeout_ms = -1;
  check(bad, "busy_timeout_ms");
  bad = config;
  bad.path = "";
  check(bad, "path");

  bad = config;
  bad.path = (harness.dir() / "missing-dir" / "x.db").string();
  auto store = osprey::store::OpenSqliteStore(bad);
  REQUIRE(!store.ok());
  CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(store.status().message()), Catch::Contains("missing-dir"));
}

TEST_CASE("sqlite: two stores on one file migrate once and share data", "[sqlite]") {
  SqliteHarness harness;
  auto a = harness.Open();
  auto b = harness.Open();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  // Concurrent migrators: BEGIN IMMEDIATE serializes them and the second finds nothing pending.
  absl::Status status_a;
  absl::Status status_b;
  std::thread thread_a([&] { status_a = (*a)->Migrate(); });
  std::thread thread_b([&] { status_b = (*b)->Migrate(); });
  thread_a.join();
  thread_b.join();
  REQUIRE(status_a.ok());
  REQUIRE(status_b.ok());
  auto created = (*a)->CreateProject("shared", std::nullopt);
  REQUIRE(created.ok());
  auto seen = (*b)->GetProjectByName("shared");
  REQUIRE(seen.ok());
  REQUIRE(seen->has_value());
  auto projects = (*b)->ListProjects({});
  REQUIRE(projects.ok());
  CHECK(projects->items.size() == 2);  // "shared" and one seeded "default"
}

TEST_CASE("sqlite: synchronous=full is accepted", "[sqlite]") {
  SqliteHarness harness;
  osprey::store::SqliteConfig config;
  config.path = (harness.dir() / "full.db").string();
  config.synchronous = "full";
  auto store = osprey::store::OpenSqliteStore(config);
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  CHECK((*store)->Ping().ok());
}

namespace {
osprey::model::v1::Span BigSpan(int i) {
  osprey::model::v1::Span s;
  s.set_project_name("wal");
  std::string trace(16, '\x07');
  trace[0] = static_cast<char>(i & 0xff);
  trace[1] = static_cast<char>((i >> 8) & 0xff);
  trace[2] = static_cast<char>((i >> 16) & 0xff);
  s.set_trace_id(trace);
  std::string span(8, '\x09');
  span[0] = static_cast<char>(i & 0xff);
  span[1] = static_cast<char>((i >> 8) & 0xff);
  span[2] = static_cast<char>((i >> 16) & 0xff);
  s.set_span_id(span);
  s.set_name("llm");
  s.set_span_kind("LLM");
  s.set_start_time_unix_nano(1700000000000000000ULL + static_cast<uint64_t>(i));
  s.set_end_time_unix_nano(1700000000000001000ULL + static_cast<uint64_t>(i));
  s.set_attributes_json("{\"input\":{\"value\":\"" + std::string(8000, 'x') + "\"}}");
  s.set_events_json("[]");
  return s;
}
}  // namespace

TEST_CASE("sqlite: the WAL is checkpointed off the writer's path and stays bounded", "[sqlite]") {
  SqliteHarness harness;
  osprey::store::SqliteConfig config;
  config.path = (harness.dir() / "wal.db").string();
  config.wal_checkpoint_bytes = 32 << 20;
  auto store = osprey::store::OpenSqliteStore(config);
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  // ~260 MiB of WAL, written continuously: far past a 32 MiB bound, at which the checkpointer holds the
  // writer back for a moment so the WAL rewinds. The file grows past the bound by what the writer adds
  // before the checkpointer's next round (every 200 ms, later when the machine is busy; 8 MiB transactions
  // here): 60-100 MiB measured, ~270 MiB without the bound. A rewind trims it to the bound plus 64 MiB.
  const uintmax_t keep = 160ull * 1024 * 1024;
  uintmax_t largest = 0;
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<osprey::model::v1::Span> spans;
    for (int i = 0; i < 1000; ++i) spans.push_back(BigSpan(batch * 1000 + i));
    std::vector<const osprey::model::v1::Span*> pointers;
    for (const auto& s : spans) pointers.push_back(&s);
    REQUIRE((*store)->WriteSpans(pointers).ok());
    largest = std::max(largest, std::filesystem::file_size(config.path + "-wal"));
  }
  CHECK(largest <= keep);
  // The checkpointer runs every 200 ms; give it a few rounds to catch up. The next write rewinds the
  // WAL: it then holds only that write's frames.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto one_more = BigSpan(999999);
  REQUIRE((*store)->WriteSpans({&one_more}).ok());
  CHECK(std::filesystem::file_size(config.path + "-wal") <= keep);
  {
    sqlite3* probe = nullptr;
    REQUIRE(sqlite3_open_v2(config.path.c_str(), &probe, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(probe, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) == SQLITE_OK);
    int log_frames = -1;
    int checkpointed = -1;
    CHECK(sqlite3_wal_checkpoint_v2(probe, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &checkpointed) ==
          SQLITE_OK);
    CHECK(log_frames >= 0);
    CHECK(log_frames < 100);  // a few pages of one span, not the 80,000+ frames of the load
    sqlite3_close_v2(probe);
  }
  (*store)->Close();
  // A clean close leaves no WAL behind: everything is in the database file.
  std::error_code ec;
  auto after_close = std::filesystem::file_size(config.path + "-wal", ec);
  CHECK((ec || after_close == 0));
  auto reopened = osprey::store::OpenSqliteStore(config);
  REQUIRE(reopened.ok());
  auto project = (*reopened)->GetProjectByName("wal");
  REQUIRE(project.ok());
  REQUIRE(project->has_value());
  osprey::store::SpanQuery q;
  q.project_id = (*project)->id;
  q.limit = 1;
  auto page = (*reopened)->ListSpans(q);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 1);
}
