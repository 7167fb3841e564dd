// The Postgres Store against the shared conformance suite, plus Postgres-specific checks. The test
// starts its own private cluster (deploy/postgres/start on a free port in a temporary directory),
// gives every test case a fresh database, and stops the cluster when the process exits.
#include "osprey/store/postgres_store.hpp"

#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "osprey/base/status.hpp"
#include "osprey/storetest/store_conformance.hpp"
#include "postgres_text.hpp"
#include "postgres_write.hpp"

namespace {

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t length = sizeof(addr);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

// psql as the cluster's owner: deploy/postgres/start runs the server as `postgres` when started by root.
std::string PsqlCommand(int port, const std::string& database) {
  return std::string(geteuid() == 0 ? "runuser -u postgres -- " : "") +
         "/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p " + std::to_string(port) + " -U postgres -d " + database +
         " -X -q";
}

// Runs a shell command, returning its exit status and stdout.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// One cluster for the whole test process, started on first use and stopped at exit.
class Cluster final {
 public:
  static Cluster& Get() {
    static Cluster cluster;
    return cluster;
  }
  ~Cluster() {
    Shell(std::string(OSPREY_PG_DEPLOY_DIR) + "/stop '" + dir_.string() + "' 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  int port() const { return port_; }
  std::string Dsn(const std::string& database) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + database;
  }
  // A fresh, empty database, named uniquely in this cluster.
  std::string CreateDatabase() {
    std::lock_guard lock(mu_);
    std::string name = "osprey_t" + std::to_string(++databases_);
    Psql("CREATE DATABASE " + name);
    return name;
  }
  void DropDatabase(const std::string& name) {
    std::lock_guard lock(mu_);
    Psql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }

 private:
  Cluster() {
    std::string pattern = (std::filesystem::temp_directory_path() / "osprey-pg-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    port_ = FreePort();
    auto [status, output] =
        Shell(std::string(OSPREY_PG_DEPLOY_DIR) + "/start '" + dir_.string() + "' " + std::to_string(port_) + " 2>&1");
    INFO(output);
    REQUIRE(status == 0);
  }
  void Psql(const std::string& sql) {
    auto [status, output] = Shell(PsqlCommand(port_, "postgres") + " -v ON_ERROR_STOP=1 -c '" + sql + "' 2>&1");
    INFO(sql << ": " << output);
    REQUIRE(status == 0);
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::mutex mu_;
  int databases_ = 0;
};

class PostgresHarness final : public osprey::storetest::StoreHarness {
 public:
  PostgresHarness() : database_(Cluster::Get().CreateDatabase()) {}
  ~PostgresHarness() override { Cluster::Get().DropDatabase(database_); }

  absl::StatusOr<std::unique_ptr<osprey::store::Store>> Open() override {
    return osprey::store::OpenPostgresStore(Config());
  }

  const std::string& database() const { return database_; }

  osprey::store::PostgresConfig Config() const {
    osprey::store::PostgresConfig config;
    config.dsn = Cluster::Get().Dsn(database_);
    config.pool_size = 3;
    return config;
  }

 private:
  std::string database_;
};

std::unique_ptr<osprey::store::Store> OpenMigrated(const osprey::store::PostgresConfig& config) {
  auto store = osprey::store::OpenPostgresStore(config);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  REQUIRE((*store)->Migrate().ok());
  return std::move(*store);
}

std::unique_ptr<osprey::store::Store> OpenMigrated(PostgresHarness& harness) { return OpenMigrated(harness.Config()); }

osprey::model::v1::Span MakeSpan(uint8_t n, std::string attributes) {
  osprey::model::v1::Span span;
  span.set_project_name("default");
  span.set_trace_id(std::string(15, '\x01') + static_cast<char>(n));
  span.set_span_id(std::string(7, '\x02') + static_cast<char>(n));
  span.set_name("span");
  span.set_start_time_unix_nano(1'700'000'000'000'000'000ULL);
  span.set_end_time_unix_nano(1'700'000'001'000'000'000ULL);
  span.set_attributes_json(std::move(attributes));
  return span;
}

}  // namespace

OSPREY_STORE_CONFORMANCE_TESTS("postgres", [] { return std::make_unique<PostgresHarness>(); })

TEST_CASE("postgres: invalid configuration is refused with a precise error", "[postgres]") {
  osprey::store::PostgresConfig config;
  config.dsn = "host=127.0.0.1";
  CHECK(osprey::store::ValidatePostgresConfig(config).ok());
  auto check = [](const osprey::store::PostgresConfig& c, const std::string& needle) {
    auto store = osprey::store::OpenPostgresStore(c);
    REQUIRE(!store.ok());
    CHECK(store.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(store.status().message()), Catch::Contains(needle));
  };
  auto bad = config;
  bad.dsn = "";
  check(bad, "dsn");
  bad = config;
  bad.pool_size = 0;
  check(bad, "pool_size");
  bad = config;
  bad.statement_timeout_ms = -1;
  check(bad, "statement_timeout_ms");
  bad = config;
  bad.write_retries = -1;
  check(bad, "write_retries");
}

TEST_CASE("postgres: an unreachable server is a retryable UNAVAILABLE", "[postgres]") {
  osprey::store::PostgresConfig config;
  config.dsn = "host=127.0.0.1 port=" + std::to_string(FreePort()) + " user=postgres dbname=osprey connect_timeout=2";
  auto store = osprey::store::OpenPostgresStore(config);
  REQUIRE(!store.ok());
  CHECK(store.status().code() == absl::StatusCode::kUnavailable);
  CHECK(osprey::base::IsRetryable(store.status()));
}

TEST_CASE("postgres: concurrent migrators apply the schema once", "[postgres]") {
  PostgresHarness harness;
  auto a = harness.Open();
  auto b = harness.Open();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  absl::Status status_a;
  absl::Status status_b;
  std::thread thread_a([&] { status_a = (*a)->Migrate(); });
  std::thread thread_b([&] { status_b = (*b)->Migrate(); });
  thread_a.join();
  thread_b.join();
  INFO(status_a.ToString() << " / " << status_b.ToString());
  REQUIRE(status_a.ok());
  REQUIRE(status_b.ok());
  auto projects = (*b)->ListProjects({});
  REQUIRE(projects.ok());
  CHECK(projects->items.size() == 1);  // the seed ran once
}

TEST_CASE("postgres: NUL characters are stored as U+FFFD instead of failing the batch", "[postgres]") {
  PostgresHarness harness;
  auto store = OpenMigrated(harness);
  auto span = MakeSpan(1, R"({"a": "x\u0000y", "b": "back\\u0000slash"})");
  span.set_name(std::string("n\0m", 3));
  auto result = store->WriteSpans({&span});
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  CHECK(result->inserted == 1);
  osprey::store::SpanQuery query;
  query.project_id = 1;
  auto page = store->ListSpans(query);
  REQUIRE(page.ok());
  REQUIRE(page->items.size() == 1);
  CHECK(page->items[0].name == "n\xef\xbf\xbdm");
  CHECK_THAT(page->items[0].attributes_json, Catch::Contains("x\xef\xbf\xbdy"));
  CHECK_THAT(page->items[0].attributes_json, Catch::Contains(R"(back\\u0000slash)"));  // an escaped backslash
}

// Every value is stored through pqxx::stream_to (text COPY, after PgText / PgJson) and through CopyRows
// (binary COPY, the writer's path), and read back as text, so that no type normalizes a difference away.
TEST_CASE("postgres: COPY rows built by CopyRows store exactly what pqxx::stream_to stored", "[postgres]") {
  PostgresHarness harness;
  std::string long_text(5000, 'a');
  for (size_t i = 7; i < long_text.size(); i += 61) long_text[i] = "\\\t\n\r"[i % 4];
  const std::vector<std::string> texts = {"",
                                          "plain",
                                          "tab\there",
                                          "line\nnext\r\nlast\n",
                                          "back\\slash\\",
                                          "\\N",
                                          "\\.",
                                          std::string("nul\0mid\0", 9),
                                          std::string("\0", 1),
                                          "\x01\x02\b\f\v\x1f\x7f controls",
                                          "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x99\x82",
                                          "sixteen bytes...\\then\tthe rest of it past one block",
                                          long_text};
  const std::vector<std::string> jsons = {"",
                                          R"({"a":"x\u0000y"})",
                                          R"({"b":"back\\u0000slash","c":"\\\u0000"})",
                                          "{\"line\":\"one\\ntwo\\ttab\",\n\t\"k\": [1, 2]\r\n}",
                                          R"({"q":"\"quoted\" \/ \\ \u00e9 \ud83d\ude42"})",
                                          R"({"end":"\\"})"};
  pqxx::connection connection(Cluster::Get().Dsn(harness.database()));
  pqxx::work tx(connection);
  // json_value is text (byte for byte); json_doc is jsonb, compared as values (jsonb's own equality).
  for (const char* table : {"old_rows", "new_rows"}) {
    tx.exec(std::string("CREATE TABLE ") + table +
            " (id bigint, nothing text, text_value text, json_value text, json_doc jsonb, cost float8)");
  }
  auto cost = [](size_t i) { return i == 0 ? -0.0 : 1.0 / (static_cast<double>(i) * 7.0) + 1e-300; };
  {
    pqxx::stream_to old_rows(tx, "old_rows",
                             std::vector<std::string>{"id", "nothing", "text_value", "json_value", "json_doc", "cost"});
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::string json = osprey::store::internal::PgJson(jsons[i % jsons.size()], "{}");
      old_rows << std::make_tuple(static_cast<int64_t>(i) - 3, static_cast<const char*>(nullptr),
                                  osprey::store::internal::PgText(texts[i]), json, json, cost(i));
    }
    old_rows.complete();
  }
  {
    osprey::store::internal::CopyRows rows;
    auto row = [&](size_t i) {
      rows.Row(6);
      rows.Int(static_cast<int64_t>(i) - 3);
      rows.Null();
      rows.Text(texts[i]);
      rows.Text(osprey::store::internal::PgJson(jsons[i % jsons.size()], "{}"));
      rows.Json(jsons[i % jsons.size()], "{}");
      rows.Double(cost(i));
    };
    // The stream is cut after the first half of the rows: the rest goes in a second COPY data message.
    osprey::store::internal::BinaryCopy copy(tx, "COPY new_rows FROM STDIN (FORMAT binary)");
    rows.Begin();
    for (size_t i = 0; i < texts.size() / 2; ++i) row(i);
    copy.Send(rows.data());
    rows.Clear();
    for (size_t i = texts.size() / 2; i < texts.size(); ++i) row(i);
    rows.End();
    copy.Send(rows.data());
    copy.Finish();
  }
  const char* select = "SELECT id, nothing, text_value, json_value, json_doc, cost FROM %s ORDER BY id";
  char query[128];
  std::snprintf(query, sizeof(query), select, "old_rows");
  const pqxx::result old_result = tx.exec(query);
  std::snprintf(query, sizeof(query), select, "new_rows");
  const pqxx::result new_result = tx.exec(query);
  REQUIRE(old_result.size() == texts.size());
  REQUIRE(new_result.size() == texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    INFO("row " << i);
    CHECK(new_result[i][0].as<int64_t>() == old_result[i][0].as<int64_t>());
    CHECK(new_result[i][1].is_null());
    CHECK(old_result[i][1].is_null());
    for (int column : {2, 3, 4, 5}) {
      CHECK_FALSE(new_result[i][column].is_null());
      CHECK(std::string(new_result[i][column].c_str(), new_result[i][column].size()) ==
            std::string(old_result[i][column].c_str(), old_result[i][column].size()));
    }
  }
  CHECK(tx.exec("SELECT count(*) FROM old_rows o JOIN new_rows n USING (id) WHERE o.json_doc = n.json_doc "
                "AND o.cost = n.cost")[0][0]
            .as<int64_t>() == static_cast<int64_t>(texts.size()));
  CHECK(std::string(new_result[5][2].c_str()) == "\\N");  // text, not NULL
}

// A batch is COPYed without looking its span ids up until one meets a span stored before; that batch is
// written again with the lookup, and so are the batches after it for a while. Every answer stays exact.
TEST_CASE("postgres: spans stored before are skipped whether or not the batch looked them up", "[postgres]") {
  PostgresHarness harness;
  auto store = OpenMigrated(harness);
  auto write = [&](std::vector<uint8_t> ids) {
    std::vector<osprey::model::v1::Span> spans;
    for (uint8_t id : ids) spans.push_back(MakeSpan(id, "{}"));
    std::vector<const osprey::model::v1::Span*> pointers;
    for (const auto& span : spans) pointers.push_back(&span);
    auto result = store->WriteSpans(pointers);
    REQUIRE(result.ok());
    return std::make_pair(result->inserted, result->duplicates);
  };
  CHECK(write({1, 2, 2}) == std::make_pair<int64_t, int64_t>(2, 1));  // no lookup: a repeat inside the batch
  CHECK(write({2, 3}) == std::make_pair<int64_t, int64_t>(1, 1));     // meets span 2: written again, looked up
  for (uint8_t id = 10; id < 80; ++id) CHECK(write({id}) == std::make_pair<int64_t, int64_t>(1, 0));
  CHECK(write({1, 3, 80}) == std::make_pair<int64_t, int64_t>(1, 2));  // the lookups ran out: met again
  CHECK(write({1, 2, 3}) == std::make_pair<int64_t, int64_t>(0, 3));
  osprey::store::SpanQuery query;
  query.project_id = 1;
  query.limit = 1000;
  auto page = store->ListSpans(query);
  REQUIRE(page.ok());
  CHECK(page->items.size() == 74);  // 1, 2, 3, 10..79, 80
}

// BinaryCopy relies on libpq here: the next statement on the connection (the rollback) ends a COPY left
// unfinished by an exception between its start and Finish, so the pooled connection stays usable.
TEST_CASE("postgres: a binary COPY abandoned midway leaves its connection usable", "[postgres]") {
  PostgresHarness harness;
  pqxx::connection connection(Cluster::Get().Dsn(harness.database()));
  {
    pqxx::work tx(connection);
    tx.exec("CREATE TABLE abandoned (id bigint)");
    tx.commit();
  }
  {
    pqxx::work tx(connection);
    {
      osprey::store::internal::BinaryCopy copy(tx, "COPY abandoned FROM STDIN (FORMAT binary)");
      osprey::store::internal::CopyRows rows;
      rows.Begin();
      rows.Row(1);
      rows.Int(7);
      copy.Send(rows.data());
    }  // no Finish, as when building the rows throws
    tx.abort();
  }
  pqxx::work tx(connection);
  CHECK(tx.exec("SELECT count(*) FROM abandoned")[0][0].as<int64_t>() == 0);
}

TEST_CASE("postgres: invalid UTF-8 fails the batch with a permanent error naming the field", "[postgres]") {
  PostgresHarness harness;
  auto store = OpenMigrated(harness);
  auto span = MakeSpan(2, "{}");
  span.set_status_message("\xff\xfe");
  auto result = store->WriteSpans({&span});
  REQUIRE(!result.ok());
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(!osprey::base::IsRetryable(result.status()));
  CHECK_THAT(std::string(result.status().message()), Catch::Contains("status_message"));
}

TEST_CASE("postgres: a read over statement_timeout is a retryable DEADLINE_EXCEEDED", "[postgres]") {
  PostgresHarness harness;
  auto config = harness.Config();
  config.statement_timeout_ms = 300;
  auto store = OpenMigrated(config);
  // Another session holds an exclusive lock on spans for 3 s: the read waits and is cancelled.
  std::string psql = PsqlCommand(Cluster::Get().port(), harness.database());
  REQUIRE(std::system(
              ("(" + psql + " -c 'BEGIN; LOCK TABLE spans; SELECT pg_sleep(3); COMMIT;' >/dev/null 2>&1 &)").c_str()) ==
          0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  osprey::store::SpanQuery query;
  query.project_id = 1;
  auto started = std::chrono::steady_clock::now();
  auto page = store->ListSpans(query);
  auto waited = std::chrono::steady_clock::now() - started;
  REQUIRE(!page.ok());
  CHECK(page.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(osprey::base::IsRetryable(page.status()));
  CHECK(waited < std::chrono::milliseconds(1500));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the lock is gone: reads work again
  CHECK(store->ListSpans(query).ok());
}

TEST_CASE("postgres: lookups by key and value-planned reads share one connection", "[postgres]") {
  // Lookups switch their connection to plan_cache_mode=auto; span pages and caller-compiled SQL must still be
  // planned for their values on it.
  PostgresHarness harness;
  auto config = harness.Config();
  config.pool_size = 1;
  auto store = OpenMigrated(config);
  osprey::model::v1::Span span = MakeSpan(1, "{}");
  REQUIRE(store->WriteSpans({&span}).ok());
  osprey::store::SqlReader& sql = *store;
  const osprey::store::SqlQuery mode{"SELECT current_setting('plan_cache_mode') AS mode", {}, 1000, 10};
  for (int round = 0; round < 3; ++round) {
    auto project = store->GetProjectByName("default");
    REQUIRE(project.ok());
    REQUIRE(project->has_value());
    osprey::store::SpanQuery by_trace;
    by_trace.project_id = (*project)->id;
    by_trace.trace_ids = {"01010101010101010101010101010101"};  // MakeSpan(1)'s trace
    auto traced = store->ListSpans(by_trace);
    REQUIRE(traced.ok());
    CHECK(traced->items.size() == 1);
    auto setting = sql.RunReadQuery(mode);
    REQUIRE(setting.ok());
    REQUIRE(setting->rows.size() == 1);
    CHECK(std::get<std::string>(setting->rows[0][0]) == "force_custom_plan");
    osprey::store::SpanQuery page;
    page.project_id = (*project)->id;
    auto listed = store->ListSpans(page);
    REQUIRE(listed.ok());
    CHECK(listed->items.size() == 1);
  }
}
