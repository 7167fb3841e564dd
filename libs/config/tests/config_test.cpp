#include "osprey/config/config.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "osprey/testing/scratch_dir.hpp"

using namespace osprey::config;

namespace {
std::string Msg(const absl::Status& st) { return std::string(st.message()); }
}  // namespace

TEST_CASE("no configuration means the embedded default") {
  auto c = LoadFromString("");
  REQUIRE(c.ok());
  CHECK(c->bus.kind == "inprocess");
  CHECK(c->store.kind == "sqlite");
  CHECK(c->ingest.grpc_listen == "0.0.0.0:4317");
  CHECK(c->ingest.http_listen == "0.0.0.0:4318");
  CHECK(c->query.listen == "0.0.0.0:6006");
  CHECK(c->ingest.max_request_bytes == 64ull << 20);
  CHECK(c->SqlitePath() == "./data/osprey.db");
  CHECK(c->Validate(AllTargets()).ok());
}

TEST_CASE("sections override defaults") {
  auto c = LoadFromString(R"(
data_dir: /tmp/osprey-x
ingest:
  grpc_listen: "127.0.0.1:0"
  max_request_bytes: 1048576
  inflight_bytes: 2097152
store:
  sqlite: {synchronous: full}
)");
  REQUIRE(c.ok());
  CHECK(c->data_dir == "/tmp/osprey-x");
  CHECK(c->ingest.grpc_listen == "127.0.0.1:0");
  CHECK(c->ingest.max_request_bytes == 1048576);
  CHECK(c->store.sqlite.synchronous == "full");
  CHECK(c->SqlitePath() == "/tmp/osprey-x/osprey.db");
}

TEST_CASE("unknown keys are errors with their path") {
  auto c = LoadFromString("ingest:\n  grpc_listn: x\n");
  REQUIRE_FALSE(c.ok());
  CHECK(Msg(c.status()) == "ingest.grpc_listn: unknown key");
  auto top = LoadFromString("ingestt: {}\n");
  REQUIRE_FALSE(top.ok());
  CHECK(Msg(top.status()) == "ingestt: unknown key");
  auto nested = LoadFromString("store:\n  sqlite:\n    pth: x\n");
  REQUIRE_FALSE(nested.ok());
  CHECK(Msg(nested.status()) == "store.sqlite.pth: unknown key");
}

TEST_CASE("wrong value types name the field") {
  auto c = LoadFromString("ingest:\n  max_request_bytes: lots\n");
  REQUIRE_FALSE(c.ok());
  CHECK(Msg(c.status()) == "ingest.max_request_bytes: invalid value 'lots'");
  auto not_map = LoadFromString("ingest: 3\n");
  REQUIRE_FALSE(not_map.ok());
  CHECK(Msg(not_map.status()) == "ingest: expected a mapping");
  auto bad_yaml = LoadFromString("ingest: [\n");
  REQUIRE_FALSE(bad_yaml.ok());
  CHECK(Msg(bad_yaml.status()).rfind("config: invalid YAML", 0) == 0);
}

TEST_CASE("environment references are expanded") {
  ::setenv("OSPREY_TEST_DIR", "/srv/osprey", 1);
  ::unsetenv("OSPREY_TEST_UNSET");
  auto c = LoadFromString(
      "data_dir: ${env:OSPREY_TEST_DIR}\nquery: {listen: \"${env:OSPREY_TEST_UNSET:-127.0.0.1:7000}\"}\n");
  REQUIRE(c.ok());
  CHECK(c->data_dir == "/srv/osprey");
  CHECK(c->query.listen == "127.0.0.1:7000");
  auto missing = LoadFromString("data_dir: ${env:OSPREY_TEST_UNSET}\n");
  REQUIRE_FALSE(missing.ok());
  CHECK(Msg(missing.status()) == "environment variable OSPREY_TEST_UNSET is not set and has no default");
  CHECK_FALSE(ExpandEnvironment("x ${env:ABC").ok());
}

TEST_CASE("OSPREY_ environment variables win over the file") {
  ::setenv("OSPREY_QUERY_LISTEN", "127.0.0.1:9999", 1);
  auto c = LoadFromString("query: {listen: \"127.0.0.1:1\"}\n");
  REQUIRE(c.ok());
  ApplyEnvironment(*c);
  CHECK(c->query.listen == "127.0.0.1:9999");
  ::unsetenv("OSPREY_QUERY_LISTEN");
}

TEST_CASE("validation reports the offending field") {
  Config c;
  c.log.level = "loud";
  CHECK(Msg(c.Validate(AllTargets())) == "log.level: must be debug, info, warn or error, got 'loud'");
  c = Config{};
  c.ingest.grpc_listen = "localhost";
  CHECK(Msg(c.Validate(AllTargets())) == "ingest.grpc_listen: 'localhost' is not host:port");
  c = Config{};
  c.ingest.inflight_bytes = 1024 * 1024;
  CHECK(Msg(c.Validate(AllTargets())) == "ingest.inflight_bytes: must be >= ingest.max_request_bytes");
  c = Config{};
  c.store.kind = "mysql";
  CHECK(Msg(c.Validate(AllTargets())) == "store.kind: unsupported 'mysql' (supported: sqlite, postgres)");
}

TEST_CASE("the mode rule refuses SQLite and the in-process bus in a split deployment") {
  Config c;
  auto st = c.Validate({"ingest"});
  REQUIRE_FALSE(st.ok());
  CHECK(Msg(st).find("need every module in one process") != std::string::npos);
}

TEST_CASE("targets parse as all or a comma list") {
  CHECK(*ParseTargets("all") == AllTargets());
  CHECK(*ParseTargets("") == AllTargets());
  CHECK(*ParseTargets("ingest,writer,ingest") == std::vector<std::string>{"ingest", "writer"});
  auto bad = ParseTargets("ingest,evaluatr");
  REQUIRE_FALSE(bad.ok());
  CHECK(Msg(bad.status()) == "--target: unknown module 'evaluatr' (known: all, ingest, writer, query, prompt-registry)");
  CHECK(*ParseTargets("prompt-registry") == std::vector<std::string>{"prompt-registry"});
}

TEST_CASE("the prompts section and the gateway's registry endpoint") {
  Config defaults;
  CHECK(defaults.prompts.listen == "127.0.0.1:6010");
  CHECK(defaults.prompts.admin_listen == "127.0.0.1:6011");
  CHECK(defaults.query.prompt_registry_endpoint == "127.0.0.1:6010");
  auto c = LoadFromString(
      "prompts: {listen: \"127.0.0.1:7010\", admin_listen: \"127.0.0.1:0\"}\n"
      "query: {prompt_registry_endpoint: \"registry.internal:7010\"}\n");
  REQUIRE(c.ok());
  CHECK(c->prompts.listen == "127.0.0.1:7010");
  CHECK(c->prompts.admin_listen == "127.0.0.1:0");
  CHECK(c->query.prompt_registry_endpoint == "registry.internal:7010");
  CHECK(c->Validate(AllTargets()).ok());
  CHECK(Msg(LoadFromString("prompts: {listn: x}\n").status()) == "prompts.listn: unknown key");
  Config bad;
  bad.prompts.listen = "nowhere";
  CHECK(Msg(bad.Validate(AllTargets())) == "prompts.listen: 'nowhere' is not host:port");
  bad = Config{};
  bad.query.prompt_registry_endpoint = "registry";
  CHECK(Msg(bad.Validate(AllTargets())) == "query.prompt_registry_endpoint: 'registry' is not host:port");
}

TEST_CASE("host:port parsing") {
  CHECK(ParseHostPort("127.0.0.1:0")->port == 0);
  CHECK(ParseHostPort(":4317")->host == "0.0.0.0");
  CHECK(ParseHostPort("[::1]:6006")->host == "::1");
  CHECK_FALSE(ParseHostPort("host:99999").ok());
  CHECK_FALSE(ParseHostPort("host:").ok());
  CHECK_FALSE(ParseHostPort("host:12a").ok());
}

TEST_CASE("config files load and report their path") {
  const std::string path = (osprey::testing::ScratchDir("config-test") / "osprey.yaml").string();
  {
    std::ofstream out(path);
    out << "log: {level: debug}\n";
  }
  auto c = LoadFromFile(path);
  REQUIRE(c.ok());
  CHECK(c->log.level == "debug");
  auto missing = LoadFromFile("/nonexistent/osprey.yaml");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("the distributed mode takes kafka and postgres sections") {
  auto c = LoadFromString(R"(
bus: {kind: kafka, kafka: {brokers: "127.0.0.1:9092", partitions: 8}}
store: {kind: postgres, postgres: {dsn: "host=127.0.0.1 dbname=osprey"}}
)");
  REQUIRE(c.ok());
  CHECK(c->bus.kafka.partitions == 8);
  CHECK(c->Validate({"ingest"}).ok());  // separate services are fine with kafka and postgres
  c->bus.kafka.brokers.clear();
  CHECK(Msg(c->Validate({"ingest"})) == "bus.kafka.brokers: required when bus.kind is kafka");
  auto missing_dsn = LoadFromString("store: {kind: postgres}\nbus: {kind: kafka, kafka: {brokers: x:1}}\n");
  REQUIRE(missing_dsn.ok());
  CHECK(Msg(missing_dsn->Validate({"writer"})) == "store.postgres.dsn: required when store.kind is postgres");
  auto unknown = LoadFromString("bus: {kafka: {brokerz: x}}\n");
  CHECK(Msg(unknown.status()) == "bus.kafka.brokerz: unknown key");
}

TEST_CASE("writer consumers: one by default, more only over kafka and postgres") {
  Config embedded;
  CHECK(embedded.writer.consumers == 1);
  auto distributed = LoadFromString(R"(
bus: {kind: kafka, kafka: {brokers: "127.0.0.1:9092"}}
store: {kind: postgres, postgres: {dsn: "host=127.0.0.1 dbname=osprey"}}
writer: {consumers: 3}
)");
  REQUIRE(distributed.ok());
  CHECK(distributed->writer.consumers == 3);
  CHECK(distributed->Validate({"writer"}).ok());

  auto sqlite = LoadFromString("writer: {consumers: 2}\n");
  REQUIRE(sqlite.ok());
  CHECK(Msg(sqlite->Validate(AllTargets())).find("writer.consumers: more than one needs bus.kind=kafka") == 0);
  embedded.writer.consumers = 0;
  CHECK(Msg(embedded.Validate(AllTargets())) == "writer.consumers: must be between 1 and 64");
}

TEST_CASE("user-defined model prices are read, and their errors name the entry") {
  auto c = LoadFromString(
      "ingest:\n"
      "  builtin_model_prices: false\n"
      "  model_prices:\n"
      "    - name: in-house-llm\n"
      "      match: '^in-house'\n"
      "      prompt: {input: 1.5}\n"
      "      completion: {output: 6}\n");
  REQUIRE(c.ok());
  CHECK_FALSE(c->ingest.builtin_model_prices);
  REQUIRE(c->ingest.model_prices.size() == 1);
  CHECK(c->ingest.model_prices[0].name == "in-house-llm");
  CHECK(c->ingest.model_prices[0].prompt[0].usd_per_token == Approx(1.5e-6));

  auto bad = LoadFromString("ingest:\n  model_prices:\n    - {name: x, match: x, prompt: {input: -2}}\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(Msg(bad.status()) == "ingest.model_prices[0].prompt.input: must be a non-negative number");
  auto not_list = LoadFromString("ingest:\n  model_prices: {name: x}\n");
  CHECK(Msg(not_list.status()) == "ingest.model_prices: expected a list of models");
}
