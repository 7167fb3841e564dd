#include "osprey/query/query_module.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "osprey/http/client.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "osprey/testing/scratch_dir.hpp"

using namespace osprey;

namespace {
std::unique_ptr<store::Store> TempStore() {
  const std::filesystem::path dir = testing::ScratchDir("query-module");
  auto s = store::OpenSqliteStore({(dir / "osprey.db").string()});
  REQUIRE(s.ok());
  REQUIRE((*s)->Migrate().ok());
  return std::move(s).value();
}
config::QueryConfig Loopback() {
  config::QueryConfig cfg;
  cfg.listen = "127.0.0.1:0";
  cfg.handler_threads = 2;
  return cfg;
}
}  // namespace

TEST_CASE("query module lifecycle: create/stop, start/stop, double stop") {
  auto s = TempStore();
  {
    query::QueryModule m(Loopback(), *s, nullptr, 1 << 20);
    m.Stop();
  }
  query::QueryModule m(Loopback(), *s, nullptr, 1 << 20);
  REQUIRE(m.Start().ok());
  CHECK(m.port() != 0);
  CHECK(m.Ready().ok());
  m.Stop();
  m.Stop();
}

TEST_CASE("the query module serves the REST API and the routes the process adds") {
  auto s = TempStore();
  query::QueryModule m(Loopback(), *s, nullptr, 1 << 20, [](http::Router& r) {
    r.Add("GET", "/healthz", [](const http::Request&) { return http::Response::Text(200, "OK"); });
  });
  REQUIRE(m.Start().ok());
  auto version = http::Fetch("127.0.0.1", m.port(), "GET", "/arize_phoenix_version");
  REQUIRE(version.ok());
  CHECK(version->body == "20.3.0");
  auto projects = http::Fetch("127.0.0.1", m.port(), "GET", "/v1/projects");
  REQUIRE(projects.ok());
  CHECK(projects->status == 200);
  CHECK(projects->body.find("\"name\":\"default\"") != std::string::npos);
  auto health = http::Fetch("127.0.0.1", m.port(), "GET", "/healthz");
  REQUIRE(health.ok());
  CHECK(health->body == "OK");
  m.Stop();
}

TEST_CASE("a port already in use fails Start with a clear error") {
  auto s = TempStore();
  query::QueryModule first(Loopback(), *s, nullptr, 1 << 20);
  REQUIRE(first.Start().ok());
  config::QueryConfig same = Loopback();
  same.listen = "127.0.0.1:" + std::to_string(first.port());
  query::QueryModule second(same, *s, nullptr, 1 << 20);
  CHECK_FALSE(second.Start().ok());
  second.Stop();
  first.Stop();
}
