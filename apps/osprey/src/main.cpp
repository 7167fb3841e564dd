// osprey: every Osprey module in one binary. `--target` picks the modules this process runs
// (default `all`: the embedded mode — SQLite, the in-process bus, OTLP on 4317/4318, UI and REST on
// 6006, the prompt registry in-process). Startup order is store, bus, writer, prompt-registry, query,
// ingest; shutdown is the exact reverse, so ingest stops accepting first, the gateway stops calling the
// registry before it goes, and the writer commits what it was handed before the store closes.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "admin_routes.hpp"
#include "infra_modules.hpp"
#include "osprey/bus/inprocess_bus.hpp"
#include "osprey/ingest/otlp_http.hpp"
#include "osprey/config/config.hpp"
#include "osprey/ingest/ingest_module.hpp"
#include "osprey/log/log.hpp"
#include "osprey/metrics/metrics.hpp"
#include "osprey/prompt_registry/module.hpp"
#include "osprey/query/query_module.hpp"
#include "osprey/runtime/runtime.hpp"
#include "osprey/store/sqlite_store.hpp"
#include "osprey/writer/writer_module.hpp"
#ifdef OSPREY_HAVE_KAFKA
#include "osprey/bus/kafka_bus.hpp"
#endif
#ifdef OSPREY_HAVE_POSTGRES
#include "osprey/store/postgres_store.hpp"
#endif

namespace {

constexpr char kUsage[] = R"(usage: osprey [--target=all|ingest,writer,query,prompt-registry] [--config=FILE] [--data-dir=DIR]
              [--ports-file=FILE] [--check-config] [--version]
       osprey migrate [--config=FILE] [--data-dir=DIR]

With no configuration, osprey runs every module in one process: OTLP/gRPC on :4317, OTLP/HTTP on
:4318 and :6006/v1/traces, the REST API on :6006, SQLite in ./data; the prompt registry runs in-process.
--target=prompt-registry (osprey-prompt-registry) serves it over gRPC on prompts.listen (127.0.0.1:6010).
)";

#ifndef OSPREY_DEFAULT_TARGET
#define OSPREY_DEFAULT_TARGET "all"
#endif

struct Flags {
  std::string target = OSPREY_DEFAULT_TARGET;
  std::string config_path;
  std::string data_dir;
  std::string ports_file;
  bool check_config = false;
  bool migrate = false;  // `osprey migrate`: apply pending store migrations and exit
};

bool ParseFlags(int argc, char** argv, Flags& flags, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value_of = [&](const std::string& name, std::string& out) {
      std::string prefix = "--" + name + "=";
      if (arg.rfind(prefix, 0) == 0) {
        out = arg.substr(prefix.size());
        return true;
      }
      if (arg == "--" + name && i + 1 < argc) {
        out = argv[++i];
        return true;
      }
      return false;
    };
    if (value_of("target", flags.target) || value_of("config", flags.config_path) ||
        value_of("data-dir", flags.data_dir) || value_of("ports-file", flags.ports_file)) {
      continue;
    }
    if (arg == "--check-config") {
      flags.check_config = true;
      continue;
    }
    if (arg == "migrate" && i == 1) {
      flags.migrate = true;
      continue;
    }
    error = "unknown argument: " + arg;
    return false;
  }
  return true;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Written once every module has started; write-then-rename so readers never see half a file.
bool WritePortsFile(const std::string& path, uint16_t grpc, uint16_t ingest_http, uint16_t query_http,
                    uint16_t admin_http, uint16_t prompts_grpc) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "{\"ingest_grpc\": " << grpc << ", \"ingest_http\": " << ingest_http << ", \"query_http\": " << query_http
        << ", \"admin_http\": " << admin_http << ", \"prompts_grpc\": " << prompts_grpc << ", \"pid\": " << getpid()
        << "}\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// The store this process needs: none for a lone ingest, else SQLite (embedded) or Postgres.
absl::StatusOr<std::unique_ptr<osprey::store::Store>> OpenStore(const osprey::config::Config& config, bool needed) {
  if (!needed) return std::unique_ptr<osprey::store::Store>();
  if (config.store.kind == "postgres") {
#ifdef OSPREY_HAVE_POSTGRES
    osprey::store::PostgresConfig pg;
    pg.dsn = config.store.postgres.dsn;
    pg.pool_size = config.store.postgres.pool_size;
    pg.statement_timeout_ms = config.store.postgres.statement_timeout_ms;
    return osprey::store::OpenPostgresStore(pg);
#else
    return absl::UnimplementedError("this build has no Postgres store (libpqxx was not found)");
#endif
  }
  osprey::store::SqliteConfig sqlite;
  sqlite.path = config.SqlitePath();
  sqlite.synchronous = config.store.sqlite.synchronous;
  sqlite.read_connections = config.store.sqlite.read_connections;
  return osprey::store::OpenSqliteStore(sqlite);
}

absl::StatusOr<std::unique_ptr<osprey::bus::Bus>> OpenBus(const osprey::config::Config& config,
                                                         osprey::metrics::Registry* metrics) {
  if (config.bus.kind == "kafka") {
#ifdef OSPREY_HAVE_KAFKA
    osprey::bus::KafkaBusConfig kafka;
    kafka.brokers = config.bus.kafka.brokers;
    kafka.client_id = config.bus.kafka.client_id;
    kafka.namespace_prefix = config.bus.kafka.namespace_prefix;
    kafka.linger_ms = config.bus.kafka.linger_ms;
    kafka.message_max_bytes = static_cast<size_t>(config.ingest.max_message_bytes);
    return osprey::bus::NewKafkaBus(kafka, metrics);
#else
    return absl::UnimplementedError("this build has no Kafka bus (librdkafka was not found)");
#endif
  }
  osprey::bus::InProcessBusConfig inprocess;
  inprocess.capacity_bytes = config.bus.inprocess.capacity_bytes;
  inprocess.default_partitions = config.bus.inprocess.partitions;
  return osprey::bus::NewInProcessBus(inprocess, metrics);
}

int Run(int argc, char** argv) {
  osprey::runtime::BlockShutdownSignals();
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg == "--version") {
      std::cout << "osprey 0.1.0\n";
      return 0;
    }
  }
  Flags flags;
  std::string error;
  if (!ParseFlags(argc, argv, flags, error)) {
    std::cerr << "osprey: " << error << "\n" << kUsage;
    return 2;
  }
  auto targets = osprey::config::ParseTargets(flags.target);
  if (!targets.ok()) {
    std::cerr << "osprey: " << targets.status().message() << "\n";
    return 2;
  }
  auto loaded =
      flags.config_path.empty() ? osprey::config::LoadFromString("") : osprey::config::LoadFromFile(flags.config_path);
  if (!loaded.ok()) {
    std::cerr << "osprey: " << loaded.status().message() << "\n";
    return 2;
  }
  osprey::config::Config config = *loaded;
  osprey::config::ApplyEnvironment(config);
  if (!flags.data_dir.empty()) config.data_dir = flags.data_dir;
  // Migrating touches only the store, so the one-process rule of the embedded mode does not apply.
  if (auto st = config.Validate(flags.migrate ? osprey::config::AllTargets() : *targets); !st.ok()) {
    std::cerr << "osprey: invalid configuration: " << st.message() << "\n";
    return 2;
  }
  if (flags.check_config) {
    std::cout << "configuration OK\n";
    return 0;
  }
  osprey::log::Level level;
  osprey::log::ParseLevel(config.log.level, level);
  osprey::log::SetLevel(level);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) {
    osprey::log::Error("cannot create the data directory", {{"data_dir", config.data_dir}, {"error", ec.message()}});
    return 1;
  }

  if (flags.migrate) {
    auto store = OpenStore(config, /*needed=*/true);
    absl::Status st = store.ok() ? (*store)->Migrate() : store.status();
    if (store.ok()) (*store)->Close();
    if (!st.ok()) {
      osprey::log::Error("migration failed", {{"kind", config.store.kind}, {"error", std::string(st.message())}});
      return 1;
    }
    osprey::log::Info("store migrated", {{"kind", config.store.kind}});
    return 0;
  }

  osprey::metrics::Registry metrics;
  const bool run_ingest = Contains(*targets, "ingest");
  const bool run_writer = Contains(*targets, "writer");
  const bool run_query = Contains(*targets, "query");
  const bool run_registry = Contains(*targets, "prompt-registry");
  bool all_in_one = true;
  for (const auto& t : osprey::config::AllTargets()) all_in_one = all_in_one && Contains(*targets, t);
  // A lone prompt registry needs the store but no bus.
  const bool need_bus = run_ingest || run_writer || run_query;

  auto store = OpenStore(config, run_writer || run_query || run_registry);
  if (!store.ok()) {
    osprey::log::Error("cannot open the store", {{"kind", config.store.kind}, {"error", std::string(store.status().message())}});
    return 1;
  }
  absl::StatusOr<std::unique_ptr<osprey::bus::Bus>> bus = std::unique_ptr<osprey::bus::Bus>();
  if (need_bus) bus = OpenBus(config, &metrics);
  if (!bus.ok()) {
    osprey::log::Error("cannot create the bus", {{"kind", config.bus.kind}, {"error", std::string(bus.status().message())}});
    return 1;
  }

  osprey::runtime::Runtime runtime;
  auto admin = [&](osprey::http::Router& router) { osprey::app::AddAdminRoutes(router, runtime, metrics); };
  std::unique_ptr<osprey::ingest::IngestModule> ingest;
  if (run_ingest) ingest = std::make_unique<osprey::ingest::IngestModule>(config.ingest, **bus, &metrics, admin);
  // A query gateway without ingest in its process still takes POST /v1/traces (phoenix-otel's default
  // endpoint) and publishes to the bus itself.
  std::unique_ptr<osprey::bus::Producer> gateway_producer;
  std::unique_ptr<osprey::ingest::Ingestor> gateway_ingestor;
  if (run_query && !run_ingest) {
    gateway_producer = (*bus)->NewProducer();
    gateway_ingestor = std::make_unique<osprey::ingest::Ingestor>(config.ingest, *gateway_producer, &metrics);
  }
  if (*store) runtime.Add(std::make_unique<osprey::app::StoreModule>(**store));
  const int partitions = config.bus.kind == "kafka" ? config.bus.kafka.partitions : config.bus.inprocess.partitions;
  if (need_bus) {
    runtime.Add(std::make_unique<osprey::app::BusModule>(
        **bus, std::vector<osprey::bus::TopicSpec>{
                   {osprey::bus::kSpansTopic, partitions, static_cast<size_t>(config.ingest.max_message_bytes)}}));
  }
  if (run_writer) runtime.Add(std::make_unique<osprey::writer::WriterModule>(config.writer, **bus, **store, &metrics));
  // Before the query gateway, which reaches it through PromptRegistryChannel: in-process only (no port)
  // in the embedded mode, on prompts.listen when it serves other processes.
  osprey::prompt_registry::PromptRegistryModule* registry = nullptr;
  if (run_registry) {
    registry = runtime.Add(std::make_unique<osprey::prompt_registry::PromptRegistryModule>(
        all_in_one ? std::string() : config.prompts.listen, **store, &metrics));
  }
  osprey::query::QueryModule* query = nullptr;
  if (run_query) {
    auto gateway_routes = [&](osprey::http::Router& router) {
      admin(router);
      if (ingest) ingest->RegisterRoutes(router);  // POST /v1/traces on 6006, as Phoenix serves it
      if (gateway_ingestor) router.Add("POST", "/v1/traces", osprey::ingest::MakeOtlpHttpHandler(*gateway_ingestor));
    };
    // Spans posted through the REST API are priced with the same configuration as OTLP spans
    // (validated above, so Create cannot fail on it).
    auto prices =
        osprey::costs::PriceTable::Create(config.ingest.model_prices, config.ingest.builtin_model_prices);
    query = runtime.Add(std::make_unique<osprey::query::QueryModule>(
        config.query, **store, &metrics, config.ingest.max_request_bytes, gateway_routes,
        prices.ok() ? *prices : nullptr));
  }
  osprey::ingest::IngestModule* ingest_module = ingest ? runtime.Add(std::move(ingest)) : nullptr;
  osprey::app::AdminServerModule* admin_server = nullptr;
  if (!run_ingest && !run_query) {
    admin_server = runtime.Add(std::make_unique<osprey::app::AdminServerModule>(
        run_writer ? config.writer.admin_listen : config.prompts.admin_listen, runtime, metrics));
  }

  if (auto st = runtime.StartAll(); !st.ok()) {
    osprey::log::Error("startup failed", {{"error", std::string(st.message())}});
    return 1;
  }
  uint16_t grpc_port = ingest_module ? ingest_module->grpc_port() : 0;
  uint16_t ingest_http_port = ingest_module ? ingest_module->http_port() : 0;
  uint16_t query_port = query ? query->port() : 0;
  uint16_t admin_port = admin_server ? admin_server->port() : 0;
  uint16_t prompts_port = registry ? registry->port() : 0;
  if (!flags.ports_file.empty() &&
      !WritePortsFile(flags.ports_file, grpc_port, ingest_http_port, query_port, admin_port, prompts_port)) {
    osprey::log::Error("cannot write the ports file", {{"path", flags.ports_file}});
    runtime.StopAll();
    return 1;
  }
  osprey::log::Info("osprey started", {{"target", flags.target},
                                       {"data_dir", config.data_dir},
                                       {"otlp_grpc_port", static_cast<int64_t>(grpc_port)},
                                       {"otlp_http_port", static_cast<int64_t>(ingest_http_port)},
                                       {"http_port", static_cast<int64_t>(query_port)},
                                       {"admin_port", static_cast<int64_t>(admin_port)},
                                       {"prompts_grpc_port", static_cast<int64_t>(prompts_port)}});
  int sig = osprey::runtime::WaitForShutdownSignal();
  osprey::log::Info("shutting down", {{"signal", sig}});
  runtime.StopAll();
  osprey::log::Info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
