#include "osprey/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "osprey/base/status.hpp"

namespace osprey::config {
namespace {

// Reads one YAML mapping, remembering which keys were consumed so leftovers can be reported.
class Section final {
 public:
  Section(const YAML::Node& node, std::string path) : node_(node), path_(std::move(path)) {}

  absl::Status CheckIsMap() const {
    if (!node_ || node_.IsNull() || node_.IsMap()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(Name(), ": expected a mapping"));
  }

  template <typename T>
  absl::Status Read(const std::string& key, T& out) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return absl::OkStatus();
    YAML::Node child = node_[key];
    if (!child || child.IsNull()) return absl::OkStatus();
    try {
      out = child.as<T>();
    } catch (const YAML::Exception&) {
      return absl::InvalidArgumentError(absl::StrCat(Child(key), ": invalid value '", Scalar(child), "'"));
    }
    return absl::OkStatus();
  }

  absl::Status ReadModelPrices(const std::string& key, std::vector<costs::ModelPrice>& out) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap()) return absl::OkStatus();
    YAML::Node child = node_[key];
    if (!child || child.IsNull()) return absl::OkStatus();
    if (!child.IsSequence()) return absl::InvalidArgumentError(absl::StrCat(Child(key), ": expected a list of models"));
    OSPREY_ASSIGN_OR_RETURN(out, costs::ParseModelPrices(YAML::Dump(child), Child(key)));
    return absl::OkStatus();
  }

  Section Sub(const std::string& key) {
    seen_.insert(key);
    return Section(node_ && node_.IsMap() ? node_[key] : YAML::Node(), Child(key));
  }

  absl::Status CheckNoUnknownKeys() const {
    if (!node_ || !node_.IsMap()) return absl::OkStatus();
    for (const auto& kv : node_) {
      auto key = kv.first.as<std::string>();
      if (!seen_.count(key)) return absl::InvalidArgumentError(absl::StrCat(Child(key), ": unknown key"));
    }
    return absl::OkStatus();
  }

 private:
  std::string Name() const { return path_.empty() ? "config" : path_; }
  std::string Child(const std::string& key) const { return path_.empty() ? key : absl::StrCat(path_, ".", key); }
  static std::string Scalar(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : "<non-scalar>"; }

  YAML::Node node_;
  std::string path_;
  std::set<std::string> seen_;
};

absl::Status Finish(Section& s) { return s.CheckNoUnknownKeys(); }

absl::Status ParseLog(Section s, LogConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("level", c.level));
  return Finish(s);
}

absl::Status ParseBus(Section s, BusConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("kind", c.kind));
  Section in = s.Sub("inprocess");
  OSPREY_RETURN_IF_ERROR(in.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(in.Read("capacity_bytes", c.inprocess.capacity_bytes));
  OSPREY_RETURN_IF_ERROR(in.Read("partitions", c.inprocess.partitions));
  OSPREY_RETURN_IF_ERROR(Finish(in));
  Section k = s.Sub("kafka");
  OSPREY_RETURN_IF_ERROR(k.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(k.Read("brokers", c.kafka.brokers));
  OSPREY_RETURN_IF_ERROR(k.Read("client_id", c.kafka.client_id));
  OSPREY_RETURN_IF_ERROR(k.Read("namespace_prefix", c.kafka.namespace_prefix));
  OSPREY_RETURN_IF_ERROR(k.Read("partitions", c.kafka.partitions));
  OSPREY_RETURN_IF_ERROR(k.Read("linger_ms", c.kafka.linger_ms));
  OSPREY_RETURN_IF_ERROR(Finish(k));
  return Finish(s);
}

absl::Status ParseStore(Section s, StoreConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("kind", c.kind));
  Section sq = s.Sub("sqlite");
  OSPREY_RETURN_IF_ERROR(sq.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(sq.Read("path", c.sqlite.path));
  OSPREY_RETURN_IF_ERROR(sq.Read("synchronous", c.sqlite.synchronous));
  OSPREY_RETURN_IF_ERROR(sq.Read("read_connections", c.sqlite.read_connections));
  OSPREY_RETURN_IF_ERROR(Finish(sq));
  Section pg = s.Sub("postgres");
  OSPREY_RETURN_IF_ERROR(pg.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(pg.Read("dsn", c.postgres.dsn));
  OSPREY_RETURN_IF_ERROR(pg.Read("pool_size", c.postgres.pool_size));
  OSPREY_RETURN_IF_ERROR(pg.Read("statement_timeout_ms", c.postgres.statement_timeout_ms));
  OSPREY_RETURN_IF_ERROR(Finish(pg));
  return Finish(s);
}

absl::Status ParseIngest(Section s, IngestConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("grpc_listen", c.grpc_listen));
  OSPREY_RETURN_IF_ERROR(s.Read("http_listen", c.http_listen));
  OSPREY_RETURN_IF_ERROR(s.Read("max_request_bytes", c.max_request_bytes));
  OSPREY_RETURN_IF_ERROR(s.Read("inflight_bytes", c.inflight_bytes));
  OSPREY_RETURN_IF_ERROR(s.Read("max_message_bytes", c.max_message_bytes));
  OSPREY_RETURN_IF_ERROR(s.Read("ack_timeout_ms", c.ack_timeout_ms));
  OSPREY_RETURN_IF_ERROR(s.Read("http_handler_threads", c.http_handler_threads));
  OSPREY_RETURN_IF_ERROR(s.Read("default_project", c.default_project));
  OSPREY_RETURN_IF_ERROR(s.Read("builtin_model_prices", c.builtin_model_prices));
  OSPREY_RETURN_IF_ERROR(s.ReadModelPrices("model_prices", c.model_prices));
  return Finish(s);
}

absl::Status ParseWriter(Section s, WriterConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("max_batch_messages", c.max_batch_messages));
  OSPREY_RETURN_IF_ERROR(s.Read("max_batch_bytes", c.max_batch_bytes));
  OSPREY_RETURN_IF_ERROR(s.Read("max_wait_ms", c.max_wait_ms));
  OSPREY_RETURN_IF_ERROR(s.Read("consumers", c.consumers));
  OSPREY_RETURN_IF_ERROR(s.Read("admin_listen", c.admin_listen));
  return Finish(s);
}

absl::Status ParseQuery(Section s, QueryConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("listen", c.listen));
  OSPREY_RETURN_IF_ERROR(s.Read("handler_threads", c.handler_threads));
  OSPREY_RETURN_IF_ERROR(s.Read("prompt_registry_endpoint", c.prompt_registry_endpoint));
  return Finish(s);
}

absl::Status ParsePrompts(Section s, PromptsConfig& c) {
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("listen", c.listen));
  OSPREY_RETURN_IF_ERROR(s.Read("admin_listen", c.admin_listen));
  return Finish(s);
}

absl::Status CheckListen(const std::string& field, const std::string& value) {
  auto hp = ParseHostPort(value);
  if (!hp.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", hp.status().message()));
  return absl::OkStatus();
}

}  // namespace

absl::Status LogConfig::Validate() const {
  if (level != "debug" && level != "info" && level != "warn" && level != "error") {
    return absl::InvalidArgumentError(absl::StrCat("log.level: must be debug, info, warn or error, got '", level, "'"));
  }
  return absl::OkStatus();
}

absl::Status InProcessBusConfig::Validate() const {
  if (capacity_bytes < (1u << 20)) return absl::InvalidArgumentError("bus.inprocess.capacity_bytes: must be >= 1 MiB");
  if (partitions < 1 || partitions > 1024) {
    return absl::InvalidArgumentError("bus.inprocess.partitions: must be between 1 and 1024");
  }
  return absl::OkStatus();
}

absl::Status KafkaConfig::Validate() const {
  if (brokers.empty()) return absl::InvalidArgumentError("bus.kafka.brokers: required when bus.kind is kafka");
  if (partitions < 1 || partitions > 10000) {
    return absl::InvalidArgumentError("bus.kafka.partitions: must be between 1 and 10000");
  }
  if (linger_ms < 0) return absl::InvalidArgumentError("bus.kafka.linger_ms: must not be negative");
  return absl::OkStatus();
}

absl::Status BusConfig::Validate() const {
  if (kind == "inprocess") return inprocess.Validate();
  if (kind == "kafka") return kafka.Validate();
  return absl::InvalidArgumentError(absl::StrCat("bus.kind: unsupported '", kind, "' (supported: inprocess, kafka)"));
}

absl::Status SqliteConfig::Validate() const {
  if (synchronous != "normal" && synchronous != "full") {
    return absl::InvalidArgumentError("store.sqlite.synchronous: must be normal or full");
  }
  if (read_connections < 1 || read_connections > 64) {
    return absl::InvalidArgumentError("store.sqlite.read_connections: must be between 1 and 64");
  }
  return absl::OkStatus();
}

absl::Status PostgresConfig::Validate() const {
  if (dsn.empty()) return absl::InvalidArgumentError("store.postgres.dsn: required when store.kind is postgres");
  if (pool_size < 1 || pool_size > 256) {
    return absl::InvalidArgumentError("store.postgres.pool_size: must be between 1 and 256");
  }
  if (statement_timeout_ms < 0) {
    return absl::InvalidArgumentError("store.postgres.statement_timeout_ms: must not be negative");
  }
  return absl::OkStatus();
}

absl::Status StoreConfig::Validate() const {
  if (kind == "sqlite") return sqlite.Validate();
  if (kind == "postgres") return postgres.Validate();
  return absl::InvalidArgumentError(absl::StrCat("store.kind: unsupported '", kind, "' (supported: sqlite, postgres)"));
}

absl::Status IngestConfig::Validate() const {
  OSPREY_RETURN_IF_ERROR(CheckListen("ingest.grpc_listen", grpc_listen));
  OSPREY_RETURN_IF_ERROR(CheckListen("ingest.http_listen", http_listen));
  if (max_request_bytes < 1024 || max_request_bytes > (1ull << 31)) {
    return absl::InvalidArgumentError("ingest.max_request_bytes: must be between 1 KiB and 2 GiB");
  }
  if (inflight_bytes < max_request_bytes) {
    return absl::InvalidArgumentError("ingest.inflight_bytes: must be >= ingest.max_request_bytes");
  }
  if (max_message_bytes < 64 * 1024) return absl::InvalidArgumentError("ingest.max_message_bytes: must be >= 64 KiB");
  if (ack_timeout_ms < 1) return absl::InvalidArgumentError("ingest.ack_timeout_ms: must be positive");
  if (http_handler_threads < 1) return absl::InvalidArgumentError("ingest.http_handler_threads: must be positive");
  if (default_project.empty()) return absl::InvalidArgumentError("ingest.default_project: must not be empty");
  return absl::OkStatus();
}

absl::Status WriterConfig::Validate() const {
  if (max_batch_messages < 1) return absl::InvalidArgumentError("writer.max_batch_messages: must be positive");
  if (max_batch_bytes < 1024) return absl::InvalidArgumentError("writer.max_batch_bytes: must be >= 1 KiB");
  if (max_wait_ms < 0) return absl::InvalidArgumentError("writer.max_wait_ms: must not be negative");
  if (consumers < 1 || consumers > 64) return absl::InvalidArgumentError("writer.consumers: must be between 1 and 64");
  OSPREY_RETURN_IF_ERROR(CheckListen("writer.admin_listen", admin_listen));
  return absl::OkStatus();
}

absl::Status QueryConfig::Validate() const {
  OSPREY_RETURN_IF_ERROR(CheckListen("query.listen", listen));
  if (handler_threads < 1) return absl::InvalidArgumentError("query.handler_threads: must be positive");
  OSPREY_RETURN_IF_ERROR(CheckListen("query.prompt_registry_endpoint", prompt_registry_endpoint));
  return absl::OkStatus();
}

absl::Status PromptsConfig::Validate() const {
  OSPREY_RETURN_IF_ERROR(CheckListen("prompts.listen", listen));
  OSPREY_RETURN_IF_ERROR(CheckListen("prompts.admin_listen", admin_listen));
  return absl::OkStatus();
}

absl::Status Config::Validate(const std::vector<std::string>& targets) const {
  if (data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  OSPREY_RETURN_IF_ERROR(log.Validate());
  OSPREY_RETURN_IF_ERROR(bus.Validate());
  OSPREY_RETURN_IF_ERROR(store.Validate());
  OSPREY_RETURN_IF_ERROR(ingest.Validate());
  OSPREY_RETURN_IF_ERROR(writer.Validate());
  OSPREY_RETURN_IF_ERROR(query.Validate());
  OSPREY_RETURN_IF_ERROR(prompts.Validate());
  if (writer.consumers > 1 && (store.kind == "sqlite" || bus.kind == "inprocess")) {
    return absl::InvalidArgumentError(
        "writer.consumers: more than one needs bus.kind=kafka and store.kind=postgres (SQLite has one writer "
        "connection; the in-process bus has one consumer per group)");
  }
  std::set<std::string> running(targets.begin(), targets.end());
  bool all_in_one = true;
  for (const auto& t : AllTargets()) all_in_one = all_in_one && running.count(t);
  if (!all_in_one && (store.kind == "sqlite" || bus.kind == "inprocess")) {
    return absl::InvalidArgumentError(
        "mode: store.kind=sqlite and bus.kind=inprocess need every module in one process (--target=all); "
        "separate services need kafka and postgres");
  }
  return absl::OkStatus();
}

std::string Config::SqlitePath() const {
  if (!store.sqlite.path.empty()) return store.sqlite.path;
  return data_dir + "/osprey.db";
}

const std::vector<std::string>& AllTargets() {
  static const std::vector<std::string> kTargets = {"ingest", "writer", "query", "prompt-registry"};
  return kTargets;
}

absl::StatusOr<std::vector<std::string>> ParseTargets(const std::string& text) {
  if (text.empty() || text == "all") return AllTargets();
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    std::string name(part);
    if (name == "all") return AllTargets();
    bool known = false;
    for (const auto& t : AllTargets()) known = known || t == name;
    if (!known) {
      return absl::InvalidArgumentError(
          absl::StrCat("--target: unknown module '", name, "' (known: all, ingest, writer, query, prompt-registry)"));
    }
    bool dup = false;
    for (const auto& t : out) dup = dup || t == name;
    if (!dup) out.push_back(name);
  }
  return out;
}

absl::StatusOr<std::string> ExpandEnvironment(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find("${env:", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, start - i);
    size_t end = text.find('}', start);
    if (end == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("unterminated ${env:...} at offset ", start));
    }
    std::string body = text.substr(start + 6, end - start - 6);
    std::string name = body;
    std::optional<std::string> fallback;
    if (auto sep = body.find(":-"); sep != std::string::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    if (name.empty()) return absl::InvalidArgumentError("empty variable name in ${env:}");
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("environment variable ", name, " is not set and has no default"));
    }
    i = end + 1;
  }
  return out;
}

absl::StatusOr<Config> LoadFromString(const std::string& yaml_text) {
  auto expanded = ExpandEnvironment(yaml_text);
  if (!expanded.ok()) return expanded.status();
  YAML::Node root;
  try {
    root = YAML::Load(*expanded);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("config: invalid YAML: ", e.what()));
  }
  Config c;
  Section s(root, "");
  OSPREY_RETURN_IF_ERROR(s.CheckIsMap());
  OSPREY_RETURN_IF_ERROR(s.Read("data_dir", c.data_dir));
  OSPREY_RETURN_IF_ERROR(ParseLog(s.Sub("log"), c.log));
  OSPREY_RETURN_IF_ERROR(ParseBus(s.Sub("bus"), c.bus));
  OSPREY_RETURN_IF_ERROR(ParseStore(s.Sub("store"), c.store));
  OSPREY_RETURN_IF_ERROR(ParseIngest(s.Sub("ingest"), c.ingest));
  OSPREY_RETURN_IF_ERROR(ParseWriter(s.Sub("writer"), c.writer));
  OSPREY_RETURN_IF_ERROR(ParseQuery(s.Sub("query"), c.query));
  OSPREY_RETURN_IF_ERROR(ParsePrompts(s.Sub("prompts"), c.prompts));
  OSPREY_RETURN_IF_ERROR(s.CheckNoUnknownKeys());
  return c;
}

absl::StatusOr<Config> LoadFromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("config file not readable: ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = LoadFromString(ss.str());
  if (!c.ok()) return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

void ApplyEnvironment(Config& config) {
  auto set = [](const char* name, std::string& field) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') field = v;
  };
  set("OSPREY_DATA_DIR", config.data_dir);
  set("OSPREY_LOG_LEVEL", config.log.level);
  set("OSPREY_INGEST_GRPC_LISTEN", config.ingest.grpc_listen);
  set("OSPREY_INGEST_HTTP_LISTEN", config.ingest.http_listen);
  set("OSPREY_QUERY_LISTEN", config.query.listen);
}

absl::StatusOr<HostPort> ParseHostPort(const std::string& text) {
  HostPort hp;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not [host]:port"));
    }
    hp.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not host:port"));
    hp.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  if (hp.host.empty()) hp.host = "0.0.0.0";
  if (port_text.empty() || port_text.size() > 5) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' has no valid port"));
  }
  int port = 0;
  for (char ch : port_text) {
    if (ch < '0' || ch > '9') return absl::InvalidArgumentError(absl::StrCat("'", text, "' has no valid port"));
    port = port * 10 + (ch - '0');
  }
  if (port > 65535) return absl::InvalidArgumentError(absl::StrCat("'", text, "': port out of range"));
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

}  // namespace osprey::config
