#pragma once

// Osprey's configuration: one YAML file, one section per module, every field with a default.
//
//   - `${env:NAME}` and `${env:NAME:-default}` are expanded in the YAML text before parsing.
//   - Unknown keys are errors, reported with their path ("ingest.grpc_listn: unknown key").
//   - No file at all means the embedded default: every module in one process, SQLite in
//     `data_dir`, the in-process bus.
//   - Common settings can also come from OSPREY_* environment variables (ApplyEnvironment), which
//     win over the file.
//   - Validate() checks each section and the mode rule: SQLite and the in-process bus need every
//     module in one process.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/costs/costs.hpp"

namespace osprey::config {

struct LogConfig {
  std::string level = "info";  // debug | info | warn | error
  absl::Status Validate() const;
};

struct InProcessBusConfig {
  uint64_t capacity_bytes = 256ull << 20;  // payload bytes queued or in flight, per topic
  int partitions = 1;
  absl::Status Validate() const;
};

struct KafkaConfig {
  std::string brokers;  // "host:port[,host:port...]"; required when bus.kind is kafka
  std::string client_id = "osprey";
  std::string namespace_prefix;  // prefixes every topic and consumer group (shared clusters, tests)
  int partitions = 4;            // of osprey.spans.v1 when Osprey creates it
  int linger_ms = 10;
  absl::Status Validate() const;
};

struct BusConfig {
  std::string kind = "inprocess";  // inprocess | kafka
  InProcessBusConfig inprocess;
  KafkaConfig kafka;
  absl::Status Validate() const;
};

struct SqliteConfig {
  std::string path;                    // default: <data_dir>/osprey.db
  std::string synchronous = "normal";  // normal | full
  int read_connections = 4;
  absl::Status Validate() const;
};

struct PostgresConfig {
  std::string dsn;  // libpq connection string or URI; required when store.kind is postgres
  int pool_size = 4;
  int statement_timeout_ms = 30000;  // reads
  absl::Status Validate() const;
};

struct StoreConfig {
  std::string kind = "sqlite";  // sqlite | postgres
  SqliteConfig sqlite;
  PostgresConfig postgres;
  absl::Status Validate() const;
};

struct IngestConfig {
  std::string grpc_listen = "0.0.0.0:4317";
  std::string http_listen = "0.0.0.0:4318";
  uint64_t max_request_bytes = 64ull << 20;  // per request, after decompression; gRPC too
  uint64_t inflight_bytes = 256ull << 20;    // decoded request bytes being processed or awaiting commit
  uint64_t max_message_bytes = 64ull << 20;  // bus message size limit; trace groups are chunked under it
  int ack_timeout_ms = 30000;                // longest wait for the commit before answering retryable
  int http_handler_threads = 32;
  std::string default_project = "default";
  // Prices of LLM spans (libs/costs): these user-defined models rank before the built-in table,
  // which `builtin_model_prices: false` switches off.
  std::vector<costs::ModelPrice> model_prices;
  bool builtin_model_prices = true;
  absl::Status Validate() const;
};

struct WriterConfig {
  int max_batch_messages = 2000;  // bus messages (trace groups) per transaction
  uint64_t max_batch_bytes = 32ull << 20;
  int max_wait_ms = 2;  // how long the consumer waits to fill a batch once it has one message
  // Consumers of the group in this process, each committing its own partitions' batches on its own
  // store connection (more than one needs Kafka and Postgres). On the 2-core benchmark machine a second
  // one gained nothing (docs/benchmarks.md); it is for writers with cores to spare.
  int consumers = 1;
  // /healthz, /readyz and /metrics of a process that runs the writer alone (with ingest or query in
  // the process, their listeners serve them instead).
  std::string admin_listen = "0.0.0.0:6008";
  absl::Status Validate() const;
};

struct QueryConfig {
  std::string listen = "0.0.0.0:6006";
  int handler_threads = 16;
  // The prompt registry's gRPC address, used when this process does not run the registry itself
  // (services/prompt-registry/include/osprey/prompt_registry/channel.hpp).
  std::string prompt_registry_endpoint = "127.0.0.1:6010";
  absl::Status Validate() const;
};

// The prompt registry (services/prompt-registry). In the embedded mode it has no port: the query
// gateway reaches it through an in-process channel. Run alone (or without every module) it serves
// gRPC on `listen`, and /healthz, /readyz, /metrics on `admin_listen` unless ingest or query serve them.
struct PromptsConfig {
  std::string listen = "127.0.0.1:6010";
  std::string admin_listen = "127.0.0.1:6011";
  absl::Status Validate() const;
};

struct Config {
  std::string data_dir = "./data";
  LogConfig log;
  BusConfig bus;
  StoreConfig store;
  IngestConfig ingest;
  WriterConfig writer;
  QueryConfig query;
  PromptsConfig prompts;

  // Checks every section, and the mode rule against the modules this process runs.
  absl::Status Validate(const std::vector<std::string>& targets) const;
  // The SQLite path with the data_dir default applied.
  std::string SqlitePath() const;
};

// The module names `--target` accepts (besides "all").
const std::vector<std::string>& AllTargets();
// Parses "all" or a comma list ("ingest,writer") into module names; INVALID_ARGUMENT on unknown names.
absl::StatusOr<std::vector<std::string>> ParseTargets(const std::string& text);

// Expands ${env:NAME} and ${env:NAME:-default}. INVALID_ARGUMENT for an unset variable without a
// default or an unterminated reference.
absl::StatusOr<std::string> ExpandEnvironment(const std::string& text);

absl::StatusOr<Config> LoadFromString(const std::string& yaml_text);
absl::StatusOr<Config> LoadFromFile(const std::string& path);

// OSPREY_DATA_DIR, OSPREY_LOG_LEVEL, OSPREY_INGEST_GRPC_LISTEN, OSPREY_INGEST_HTTP_LISTEN,
// OSPREY_QUERY_LISTEN override the corresponding fields when set.
void ApplyEnvironment(Config& config);

struct HostPort {
  std::string host;
  uint16_t port = 0;
};
// "host:port", "[v6]:port" or ":port" (host defaults to 0.0.0.0).
absl::StatusOr<HostPort> ParseHostPort(const std::string& text);

}  // namespace osprey::config
