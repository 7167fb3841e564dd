#include "osprey/store/postgres_store.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "migrations.hpp"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "pg_migrations.hpp"
#include "postgres_annotations.hpp"
#include "postgres_mutations.hpp"
#include "postgres_sql_reader.hpp"
#include "prompt_sql.hpp"
#include "span_rows.hpp"

namespace osprey::store {
namespace {

using internal::kMaxTime;
using internal::SpanRow;
using internal::StatusName;
// pg_advisory_xact_lock key of Migrate(): "osprey" in ASCII.
constexpr int64_t kMigrationLockKey = 0x6f7370726579;

absl::Status Closed() { return base::Permanent(absl::StatusCode::kFailedPrecondition, "store is closed"); }

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

int64_t Now() { return static_cast<int64_t>(base::NowUnixNanos()); }

// ---------------------------------------------------------------- errors

// Maps a libpqxx exception to a Status: retryable for what may succeed later (connection lost,
// server shutting down, deadlock, serialization failure, timeout, resources), permanent for data
// the server refused. `broken` is set when the connection cannot be reused.
absl::Status FromSqlState(const std::string& state, const std::string& what, bool& broken) {
  const std::string message = "postgres: " + what + (state.empty() ? "" : " [" + state + "]");
  auto cls = state.substr(0, 2);
  if (cls == "08" || state.rfind("57P", 0) == 0) {
    broken = true;
    return base::Retryable(absl::StatusCode::kUnavailable, message);
  }
  if (cls == "40") return base::Retryable(absl::StatusCode::kAborted, message);
  if (state == "57014") return base::Retryable(absl::StatusCode::kDeadlineExceeded, message);
  if (cls == "53" || state == "55P03") return base::Retryable(absl::StatusCode::kUnavailable, message);
  if (cls == "22" || cls == "23") return Invalid(message);
  return base::Permanent(absl::StatusCode::kInternal, message);
}

template <typename Fn>
auto Guard(bool& broken, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(e.sqlstate(), e.what(), broken);
  } catch (const pqxx::broken_connection& e) {
    broken = true;
    return base::Retryable(absl::StatusCode::kUnavailable, std::string("postgres: connection lost: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    broken = true;
    return base::Retryable(absl::StatusCode::kUnavailable, std::string("postgres: commit in doubt: ") + e.what());
  } catch (const pqxx::transaction_rollback& e) {
    return base::Retryable(absl::StatusCode::kAborted, std::string("postgres: ") + e.what());
  } catch (const std::exception& e) {
    return base::Permanent(absl::StatusCode::kInternal, std::string("postgres: ") + e.what());
  }
}

// ---------------------------------------------------------------- text the server accepts

// Postgres text cannot hold NUL bytes and jsonb refuses the escape \u0000: both become U+FFFD, so a
// span SQLite would store is stored here too (documented in the README).
std::string PgText(std::string_view text) {
  if (text.find('\0') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == '\0') {
      out += "\xef\xbf\xbd";
    } else {
      out += c;
    }
  }
  return out;
}

// Rewrites the JSON escape \u0000 as \ufffd. In valid JSON a backslash only occurs inside strings
// and always starts an escape, so skipping escaped characters keeps "\\u0000" (a literal
// backslash followed by u0000) intact.
std::string PgJson(std::string_view json, std::string_view empty) {
  if (json.empty()) return std::string(empty);
  if (json.find("\\u0000") == std::string_view::npos) return std::string(json);
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      if (json.compare(i, 6, "\\u0000") == 0) {
        out += "\\ufffd";
        i += 5;
      } else {
        out += json[i];
        out += json[i + 1];
        ++i;
      }
      continue;
    }
    out += json[i];
  }
  return out;
}

// A Postgres array literal ('{"a","b",NULL}') for a text[] parameter: every element quoted, '"' and
// '\' escaped. Bound as a parameter, never spliced into SQL.
std::string TextArray(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string TextArray(const std::vector<std::string>& values) {
  std::vector<std::optional<std::string>> optional(values.begin(), values.end());
  return TextArray(optional);
}

template <typename Int>
std::string IntArray(const std::vector<Int>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}

std::string IntArray(const std::vector<std::optional<int64_t>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += values[i] ? std::to_string(*values[i]) : "NULL";
  }
  out += '}';
  return out;
}

// Exact decimal text of a double ("%.17g" round-trips).
std::string DoubleText(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

std::string DoubleArray(const std::vector<double>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += DoubleText(values[i]);
  }
  out += '}';
  return out;
}

// JSON text of a filter value, compared with jsonb equality: numbers compare by value (12 = 12.0),
// a string never equals a number, a bool never equals 1. nullopt when no stored value can match.
std::optional<std::string> JsonValue(const std::variant<bool, int64_t, double, std::string>& value) {
  if (const bool* b = std::get_if<bool>(&value)) return std::string(*b ? "true" : "false");
  if (const int64_t* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const double* d = std::get_if<double>(&value)) {
    if (!std::isfinite(*d)) return std::nullopt;
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%.17g", *d);
    return std::string(buffer);
  }
  const std::string& s = std::get<std::string>(value);
  if (s.find('\0') != std::string::npos) return std::nullopt;  // stored text never holds NUL
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
      out += buffer;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------- input validation

// The shared checks, plus UTF-8 in every text field: the server's encoding refuses anything else.
absl::StatusOr<SpanRow> ValidatePostgresSpan(const model::v1::Span* span, size_t index) {
  OSPREY_ASSIGN_OR_RETURN(SpanRow row, internal::ValidateSpan(span, index));
  const std::string where = internal::Where(row);
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"name", &span->name()},
                                    {"span_kind", &span->span_kind()},
                                    {"status_message", &span->status_message()},
                                    {"session_id", &span->session_id()},
                                    {"user_id", &span->user_id()},
                                    {"llm_model_name", &span->llm_model_name()},
                                    {"input_preview", &span->input_preview()},
                                    {"output_preview", &span->output_preview()},
                                    {"project_name", &span->project_name()},
                                    {"attributes_json", &span->attributes_json()},
                                    {"events_json", &span->events_json()}}) {
    if (!base::IsValidUtf8(*text)) return Invalid(where + ": " + field + " is not valid UTF-8");
  }
  return row;
}

// ---------------------------------------------------------------- rollup state of one write

struct TraceState {
  int64_t rowid = 0;
  int64_t project_id = 0;
  std::optional<int64_t> session_rowid;  // as found (under the row lock) before this write
  std::string current_session_id;        // session_id text of session_rowid
  bool created = false;
  int64_t spans = 0;
  int64_t min_start = kMaxTime;
  int64_t max_end = std::numeric_limits<int64_t>::min();
  int64_t errors = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
  double cost_total = 0;  // US dollars over the new spans with a known cost
  std::optional<std::string> root_span_id;
  std::optional<std::string> root_span_name;
  std::string session_id;  // of the first new span carrying one, in span id order
};

struct SessionDelta {
  int64_t min_start = kMaxTime;
  int64_t max_end = std::numeric_limits<int64_t>::min();
  int64_t traces = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
};

using TraceStates = std::map<std::string, TraceState, std::less<>>;

// COPYs `rows` (new span ids, in span_id order) into `spans`, each under its trace's row id and project.
void CopySpans(pqxx::work& tx, const std::vector<const SpanRow*>& rows, const TraceStates& traces) {
  pqxx::stream_to copy(tx, "spans",
                       std::vector<std::string>{"trace_rowid",
                                                "project_id",
                                                "span_id",
                                                "parent_id",
                                                "name",
                                                "span_kind",
                                                "start_time",
                                                "end_time",
                                                "status_code",
                                                "status_message",
                                                "session_id",
                                                "user_id",
                                                "llm_model_name",
                                                "llm_token_count_prompt",
                                                "llm_token_count_completion",
                                                "llm_token_count_total",
                                                "input_preview",
                                                "output_preview",
                                                "attributes",
                                                "events",
                                                "cost_prompt",
                                                "cost_completion",
                                                "cost_total",
                                                "cost_details"});
  auto nullable = [](const std::string& text, std::string& holder) -> const char* {
    if (text.empty()) return nullptr;
    holder = PgText(text);
    return holder.c_str();
  };
  std::string session, user, model, input, output, cost_prompt, cost_completion, cost_total, cost_details;
  auto cost_text = [](bool has, double value, std::string& holder) -> const char* {
    if (!has) return nullptr;
    holder = DoubleText(value);
    return holder.c_str();
  };
  for (const SpanRow* row : rows) {
    const model::v1::Span& span = *row->span;
    const TraceState& trace = traces.find(row->trace_id)->second;
    copy << std::make_tuple(
        trace.rowid, trace.project_id, row->span_id,
        row->parent_id.empty() ? static_cast<const char*>(nullptr) : row->parent_id.c_str(), PgText(span.name()),
        span.span_kind().empty() ? std::string("UNKNOWN") : PgText(span.span_kind()), row->start, row->end,
        std::string(StatusName(span.status_code())), PgText(span.status_message()),
        nullable(span.session_id(), session), nullable(span.user_id(), user), nullable(span.llm_model_name(), model),
        span.llm_token_count_prompt(), span.llm_token_count_completion(), row->token_total,
        nullable(span.input_preview(), input), nullable(span.output_preview(), output),
        PgJson(span.attributes_json(), "{}"), PgJson(span.events_json(), "[]"),
        cost_text(span.cost().has_prompt(), span.cost().prompt(), cost_prompt),
        cost_text(span.cost().has_completion(), span.cost().completion(), cost_completion),
        cost_text(span.cost().has_total(), span.cost().total(), cost_total),
        nullable(span.cost().details_json(), cost_details));
  }
  copy.complete();
}

// ---------------------------------------------------------------- reading rows

// The columns of a SpanRecord over spans `s`, the FROM clause left to the caller. The trace id is an index
// lookup per returned row (no join whose plan depends on statistics a fresh load does not have yet).
constexpr const char* kSpanColumns =
    "s.id, s.project_id, s.trace_rowid, (SELECT t.trace_id FROM traces t WHERE t.id = s.trace_rowid), s.span_id, "
    "s.parent_id, s.name, s.span_kind, s.start_time, s.end_time, s.status_code, s.status_message, s.attributes::text, "
    "s.events::text, s.llm_token_count_prompt, s.llm_token_count_completion, s.llm_token_count_total, s.session_id, "
    "s.user_id, s.llm_model_name, s.input_preview, s.output_preview, s.cost_prompt, s.cost_completion, s.cost_total, "
    "s.cost_details FROM ";

std::string Text(const pqxx::field& field) {
  return field.is_null() ? std::string() : std::string(field.c_str(), field.size());
}
int64_t Int(const pqxx::field& field) { return field.as<int64_t>(); }
std::optional<int64_t> OptionalInt(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<int64_t>();
}
std::optional<double> OptionalDouble(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<double>();
}

SpanRecord ReadSpan(const pqxx::row& row) {
  SpanRecord record;
  record.id = Int(row[0]);
  record.project_id = Int(row[1]);
  record.trace_rowid = Int(row[2]);
  record.trace_id = Text(row[3]);
  record.span_id = Text(row[4]);
  record.parent_id = Text(row[5]);
  record.name = Text(row[6]);
  record.span_kind = Text(row[7]);
  record.start_time_ns = Int(row[8]);
  record.end_time_ns = Int(row[9]);
  record.status_code = Text(row[10]);
  record.status_message = Text(row[11]);
  record.attributes_json = Text(row[12]);
  record.events_json = Text(row[13]);
  record.llm_token_count_prompt = Int(row[14]);
  record.llm_token_count_completion = Int(row[15]);
  record.llm_token_count_total = Int(row[16]);
  record.session_id = Text(row[17]);
  record.user_id = Text(row[18]);
  record.llm_model_name = Text(row[19]);
  record.input_preview = Text(row[20]);
  record.output_preview = Text(row[21]);
  record.cost_prompt = OptionalDouble(row[22]);
  record.cost_completion = OptionalDouble(row[23]);
  record.cost_total = OptionalDouble(row[24]);
  record.cost_details_json = Text(row[25]);
  return record;
}

constexpr const char* kTraceColumns =
    "t.id, t.project_id, t.trace_id, t.start_time, t.end_time, t.root_span_id, t.root_span_name, t.span_count, "
    "t.error_count, t.token_count_prompt, t.token_count_completion, t.token_count_total, t.session_rowid, "
    "t.cost_total FROM traces t";

TraceRecord ReadTrace(const pqxx::row& row) {
  TraceRecord record;
  record.id = Int(row[0]);
  record.project_id = Int(row[1]);
  record.trace_id = Text(row[2]);
  record.start_time_ns = Int(row[3]);
  record.end_time_ns = Int(row[4]);
  record.root_span_id = Text(row[5]);
  record.root_span_name = Text(row[6]);
  record.span_count = Int(row[7]);
  record.error_count = Int(row[8]);
  record.token_count_prompt = Int(row[9]);
  record.token_count_completion = Int(row[10]);
  record.token_count_total = Int(row[11]);
  record.session_rowid = OptionalInt(row[12]);
  record.cost_total = row[13].as<double>();
  return record;
}

constexpr const char* kSessionColumns =
    "id, session_id, project_id, start_time, end_time, trace_count, token_count_prompt, token_count_completion, "
    "token_count_total, "
    "(SELECT coalesce(sum(t.cost_total), 0) FROM traces t WHERE t.session_rowid = sessions.id) FROM sessions";

SessionRecord ReadSession(const pqxx::row& row) {
  SessionRecord record;
  record.id = Int(row[0]);
  record.session_id = Text(row[1]);
  record.project_id = Int(row[2]);
  record.start_time_ns = Int(row[3]);
  record.end_time_ns = Int(row[4]);
  record.trace_count = Int(row[5]);
  record.token_count_prompt = Int(row[6]);
  record.token_count_completion = Int(row[7]);
  record.token_count_total = Int(row[8]);
  record.cost_total = row[9].as<double>();
  return record;
}

constexpr const char* kProjectColumns = "id, name, description, created_at, updated_at, last_span_at FROM projects";

ProjectRecord ReadProject(const pqxx::row& row) {
  ProjectRecord record;
  record.id = Int(row[0]);
  record.name = Text(row[1]);
  if (!row[2].is_null()) record.description = Text(row[2]);
  record.created_at_ns = Int(row[3]);
  record.updated_at_ns = Int(row[4]);
  record.last_span_at_ns = OptionalInt(row[5]);
  return record;
}

// Dynamic SQL with its parameters ($1, $2, ... with explicit casts): user text only ever travels
// as a bound value.
class Query final {
 public:
  explicit Query(std::string sql) : sql_(std::move(sql)) {}
  Query& Sql(std::string_view fragment) {
    sql_ += fragment;
    return *this;
  }
  Query& Arg(std::string value, std::string_view type) {
    args_.push_back(std::move(value));
    sql_ += '$';
    sql_ += std::to_string(args_.size());
    sql_ += "::";
    sql_ += type;
    return *this;
  }
  Query& Int(int64_t value) { return Arg(std::to_string(value), "bigint"); }
  Query& Str(const std::string& value) { return Arg(PgText(value), "text"); }
  Query& Strs(const std::vector<std::string>& values) {
    std::vector<std::string> sanitized;
    for (const std::string& value : values) sanitized.push_back(PgText(value));
    return Arg(TextArray(sanitized), "text[]");
  }
  // `column = $n` for one value, `column = ANY($n)` for several: with a single value the planner can
  // walk an index whose next key column is the ORDER BY (spans_project_kind_id for one span kind);
  // `= ANY` of a one-element array does not give it that order.
  Query& In(std::string_view column, const std::vector<std::string>& values) {
    Sql(column);
    if (values.size() == 1) return Sql(" = ").Str(values.front());
    return Sql(" = ANY(").Strs(values).Sql(")");
  }

  const std::string& sql() const { return sql_; }
  const std::vector<std::string>& args() const { return args_; }

 private:
  std::string sql_;
  std::vector<std::string> args_;
};

// One read call's statements on a leased connection (no transaction: each is one statement), run as the
// connection's prepared statements.
class ReadCall final {
 public:
  ReadCall(pqxx::connection& connection, PgStatementCache& statements) : tx_(connection), statements_(statements) {}
  pqxx::result Run(const Query& query) { return statements_.Run(tx_, query.sql(), query.args()); }

 private:
  pqxx::nontransaction tx_;
  PgStatementCache& statements_;
};

std::vector<std::string> LowerAll(const std::vector<std::string>& values) {
  std::vector<std::string> lowered;
  lowered.reserve(values.size());
  for (const std::string& value : values) lowered.push_back(absl::AsciiStrToLower(value));
  return lowered;
}

absl::Status CheckLimit(int limit) {
  if (limit < 1) return Invalid("limit must be at least 1, got " + std::to_string(limit));
  return absl::OkStatus();
}

template <typename T, typename Reader>
Page<T> ReadPage(const pqxx::result& result, int limit, Reader read) {
  Page<T> page;
  for (const pqxx::row& row : result) {
    T item = read(row);
    if (static_cast<int64_t>(page.items.size()) == limit) {
      page.next_cursor = item.id;
      break;
    }
    page.items.push_back(std::move(item));
  }
  return page;
}

template <typename T, typename Reader>
std::vector<T> ReadAll(const pqxx::result& result, Reader read) {
  std::vector<T> items;
  items.reserve(result.size());
  for (const pqxx::row& row : result) items.push_back(read(row));
  return items;
}

template <typename T, typename Reader>
std::optional<T> ReadOne(const pqxx::result& result, Reader read) {
  if (result.empty()) return std::nullopt;
  return read(result[0]);
}

// ---------------------------------------------------------------- migrations

class PostgresMigrationTarget final : public MigrationTarget {
 public:
  explicit PostgresMigrationTarget(pqxx::connection& connection) : connection_(connection) {}

  absl::Status Begin() override {
    return Run([&] {
      tx_ = std::make_unique<pqxx::work>(connection_);
      tx_->exec("SET LOCAL statement_timeout = 0");
      // Serializes concurrent migrators (other processes included) until this transaction ends.
      tx_->exec_params("SELECT pg_advisory_xact_lock($1::bigint)", kMigrationLockKey);
    });
  }
  absl::Status EnsureVersionTable() override {
    return Run([&] {
      tx_->exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
    });
  }
  absl::StatusOr<std::vector<int>> AppliedVersions() override {
    std::vector<int> versions;
    OSPREY_RETURN_IF_ERROR(Run([&] {
      for (const pqxx::row& row : tx_->exec("SELECT version FROM schema_migrations ORDER BY version")) {
        versions.push_back(row[0].as<int>());
      }
    }));
    return versions;
  }
  absl::Status Apply(const Migration& migration) override {
    return Run([&] {
      tx_->exec(std::string(migration.sql));
      tx_->exec_params("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", migration.version, Now());
    });
  }
  absl::Status Commit() override {
    absl::Status status = Run([&] { tx_->commit(); });
    tx_.reset();
    return status;
  }
  void Rollback() override {
    if (!tx_) return;
    try {
      tx_->abort();
    } catch (...) {
    }
    tx_.reset();
  }

  bool broken() const { return broken_; }

 private:
  template <typename Fn>
  absl::Status Run(Fn&& fn) {
    return Guard(broken_, [&]() -> absl::Status {
      fn();
      return absl::OkStatus();
    });
  }

  pqxx::connection& connection_;
  std::unique_ptr<pqxx::work> tx_;
  bool broken_ = false;
};

// ---------------------------------------------------------------- the store

class PostgresStore final : public internal::SqlAnnotationStore<internal::SqlPromptStore<Store>> {
 public:
  PostgresStore(PostgresConfig config, std::vector<std::unique_ptr<pqxx::connection>> connections)
      : config_(std::move(config)) {
    for (auto& connection : connections) free_.push_back(std::make_unique<Pooled>(std::move(connection)));
  }
  ~PostgresStore() override { Close(); }

  absl::StatusOr<WriteResult> WriteSpans(const std::vector<const model::v1::Span*>& spans) override;
  absl::StatusOr<Page<SpanRecord>> ListSpans(const SpanQuery& query) override;
  absl::StatusOr<Page<TraceRecord>> ListTraces(const TraceQuery& query) override;
  absl::StatusOr<std::vector<SpanRecord>> SpansOfTraces(const std::vector<int64_t>& trace_rowids) override;
  absl::StatusOr<std::optional<TraceRecord>> GetTraceById(int64_t id) override;
  absl::StatusOr<std::optional<TraceRecord>> GetTraceByTraceId(const std::string& trace_id_hex) override;
  absl::StatusOr<Page<SessionRecord>> ListSessions(const SessionQuery& query) override;
  absl::StatusOr<std::optional<SessionRecord>> GetSessionById(int64_t id) override;
  absl::StatusOr<std::optional<SessionRecord>> GetSessionBySessionId(const std::string& session_id) override;
  absl::StatusOr<std::vector<TraceRecord>> TracesOfSession(int64_t session_rowid) override;
  absl::StatusOr<Page<ProjectRecord>> ListProjects(const ProjectQuery& query) override;
  absl::StatusOr<std::optional<ProjectRecord>> GetProjectById(int64_t id) override;
  absl::StatusOr<std::optional<ProjectRecord>> GetProjectByName(const std::string& name) override;
  absl::StatusOr<ProjectRecord> CreateProject(const std::string& name,
                                              const std::optional<std::string>& description) override;
  // MutationStore: the SQL is in postgres_mutations.cpp; one transaction per call, retried like WriteSpans.
  absl::Status UpdateProjectDescription(int64_t id, const std::optional<std::string>& description) override {
    return Mutate<absl::Status>(
        [&](pqxx::work& tx) { return internal::PgUpdateProjectDescription(tx, id, description); });
  }
  absl::Status DeleteProject(int64_t id) override {
    return Mutate<absl::Status>([&](pqxx::work& tx) { return internal::PgDeleteProject(tx, id); });
  }
  absl::Status RenameProject(int64_t id, const std::string& name) override {
    return Mutate<absl::Status>([&](pqxx::work& tx) { return internal::PgRenameProject(tx, id, name); });
  }
  absl::StatusOr<std::vector<std::string>> StoredSpanIds(const std::vector<std::string>& span_ids) override {
    return Mutate<absl::StatusOr<std::vector<std::string>>>(
        [&](pqxx::work& tx) { return internal::PgStoredSpanIds(tx, span_ids); });
  }
  absl::Status DeleteSpan(const RowKey& span) override {
    return Mutate<absl::Status>([&](pqxx::work& tx) { return internal::PgDeleteSpan(tx, span); });
  }
  absl::Status DeleteTrace(const RowKey& trace) override {
    return Mutate<absl::Status>([&](pqxx::work& tx) { return internal::PgDeleteTrace(tx, trace); });
  }
  absl::StatusOr<int64_t> DeleteSessions(const std::vector<RowKey>& sessions) override {
    return Mutate<absl::StatusOr<int64_t>>([&](pqxx::work& tx) { return internal::PgDeleteSessions(tx, sessions); });
  }
  absl::StatusOr<TransferResult> TransferTraces(const std::vector<RowKey>& traces, int64_t destination) override {
    return Mutate<absl::StatusOr<TransferResult>>(
        [&](pqxx::work& tx) { return internal::PgTransferTraces(tx, traces, destination); });
  }
  absl::Status Migrate() override;
  absl::Status Ping() override;
  void Close() override;

 protected:
  absl::Status RunAnnotationRead(const AnnotationWork& work) override { return RunAnnotationWork(false, work); }
  absl::Status RunAnnotationWrite(const AnnotationWork& work) override { return RunAnnotationWork(true, work); }
  // PromptStore: prompt_sql.cpp's statements, run like the annotations'.
  absl::Status RunPromptRead(const PromptWork& work) override { return RunAnnotationWork(false, work); }
  absl::Status RunPromptWrite(const PromptWork& work) override { return RunAnnotationWork(true, work); }
  Dialect dialect() const override { return Dialect::kPostgres; }
  absl::StatusOr<SqlRows> RunReadQuery(const SqlQuery& query) override {
    OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
    return Guard(lease.broken(), [&] { return RunPostgresReadQuery(*lease, lease.statements(), query); });
  }

 private:
  // A pool slot: the connection and the read statements prepared on it (they live and die together).
  struct Pooled {
    explicit Pooled(std::unique_ptr<pqxx::connection> c) : connection(std::move(c)) {}
    std::unique_ptr<pqxx::connection> connection;
    PgStatementCache statements;
  };

  // A pooled connection borrowed for one call; returned on destruction, or dropped (and reopened by
  // a later Acquire) when the call found it broken.
  class Lease final {
   public:
    Lease(PostgresStore* store, std::unique_ptr<Pooled> pooled) : store_(store), pooled_(std::move(pooled)) {}
    Lease(Lease&& other) noexcept : store_(other.store_), pooled_(std::move(other.pooled_)), broken_(other.broken_) {
      other.store_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (store_ != nullptr) store_->Return(std::move(pooled_), broken_);
    }
    pqxx::connection& operator*() { return *pooled_->connection; }
    PgStatementCache& statements() { return pooled_->statements; }
    bool& broken() { return broken_; }

   private:
    PostgresStore* store_;
    std::unique_ptr<Pooled> pooled_;
    bool broken_ = false;
  };

  // Blocks while every connection is on loan. FAILED_PRECONDITION after Close(); UNAVAILABLE when a
  // dropped connection cannot be reopened.
  absl::StatusOr<Lease> Acquire();
  void Return(std::unique_ptr<Pooled> pooled, bool broken);

  // Runs `fn(call)`: statements without a transaction (one statement, or reads that need no snapshot).
  template <typename T, typename Fn>
  absl::StatusOr<T> Read(Fn&& fn) {
    OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
    return Guard(lease.broken(), [&]() -> absl::StatusOr<T> {
      ReadCall call(*lease, lease.statements());
      return fn(call);
    });
  }

  // Runs `fn(tx)` in one transaction, committed only when it returns OK; retryable failures
  // (deadlock, serialization, lost connection) are retried up to config_.write_retries times.
  template <typename R, typename Fn>
  R Mutate(Fn&& fn) {
    for (int attempt = 0;; ++attempt) {
      R result = [&]() -> R {
        OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
        return Guard(lease.broken(), [&]() -> R {
          pqxx::work tx(*lease);
          tx.exec("SET LOCAL statement_timeout = " + std::to_string(config_.write_timeout_ms));
          R r = fn(tx);
          if (r.ok()) tx.commit();
          return r;
        });
      }();
      const absl::Status& status = StatusOf(result);
      if (status.ok() || !base::IsRetryable(status) || attempt >= config_.write_retries ||
          status.code() == absl::StatusCode::kFailedPrecondition) {
        return result;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
    }
  }
  static const absl::Status& StatusOf(const absl::Status& status) { return status; }
  template <typename T>
  static const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
    return result.status();
  }

  absl::StatusOr<WriteResult> WriteOnce(const std::vector<SpanRow>& rows);
  // One annotation read (nontransaction) or write (transaction) on a pooled connection.
  absl::Status RunAnnotationWork(bool write, const AnnotationWork& work);
  absl::Status WriteLocked(pqxx::work& tx, const std::vector<SpanRow>& rows, WriteResult& result);

  const PostgresConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Idle connections; a null entry is a slot whose connection was dropped. Guarded by mu_.
  std::vector<std::unique_ptr<Pooled>> free_;
  int out_ = 0;          // guarded by mu_
  bool closed_ = false;  // guarded by mu_
};

// Session settings of every pooled connection, in one round trip. Prepared read statements are planned
// for their bound values on every execution (see PgStatementCache).
void SetUpConnection(pqxx::connection& connection, const PostgresConfig& config) {
  pqxx::nontransaction tx(connection);
  tx.exec("SET statement_timeout = " + std::to_string(config.statement_timeout_ms) +
          "; SET application_name = 'osprey'; SET plan_cache_mode = force_custom_plan");
}

absl::StatusOr<std::unique_ptr<pqxx::connection>> Connect(const PostgresConfig& config) {
  bool broken = false;
  std::unique_ptr<pqxx::connection> connection;
  absl::Status status = Guard(broken, [&]() -> absl::Status {
    connection = std::make_unique<pqxx::connection>(config.dsn);
    SetUpConnection(*connection, config);
    return absl::OkStatus();
  });
  if (!status.ok()) {
    // A refused connection attempt is the server being unreachable or not ready: retry later.
    if (status.code() == absl::StatusCode::kInternal || broken) {
      return base::Retryable(absl::StatusCode::kUnavailable, std::string(status.message()));
    }
    return status;
  }
  return connection;
}

absl::StatusOr<PostgresStore::Lease> PostgresStore::Acquire() {
  std::unique_ptr<Pooled> pooled;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !free_.empty(); });
    if (closed_) return Closed();
    pooled = std::move(free_.back());
    free_.pop_back();
    ++out_;
  }
  if (pooled == nullptr || !pooled->connection->is_open()) {
    auto reopened = Connect(config_);
    if (!reopened.ok()) {
      Return(nullptr, true);
      return reopened.status();
    }
    pooled = std::make_unique<Pooled>(std::move(*reopened));
  }
  return Lease(this, std::move(pooled));
}

void PostgresStore::Return(std::unique_ptr<Pooled> pooled, bool broken) {
  std::lock_guard lock(mu_);
  --out_;
  if (!closed_) free_.push_back(broken ? nullptr : std::move(pooled));
  cv_.notify_all();
}

void PostgresStore::Close() {
  std::unique_lock lock(mu_);
  closed_ = true;
  cv_.notify_all();
  // Connections on loan are closed by their borrowers' Lease when they come back.
  cv_.wait(lock, [this] { return out_ == 0; });
  free_.clear();
}

absl::Status PostgresStore::Migrate() {
  OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
  PostgresMigrationTarget target(*lease);
  absl::Status status = RunMigrations(target, PostgresMigrations());
  if (target.broken()) lease.broken() = true;
  return status;
}

absl::Status PostgresStore::RunAnnotationWork(bool write, const AnnotationWork& work) {
  OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
  return Guard(lease.broken(), [&]() -> absl::Status {
    return RunPostgresAnnotationWork(*lease, write, config_.write_timeout_ms, work);
  });
}

absl::Status PostgresStore::Ping() {
  return Read<bool>([](ReadCall& db) {
           db.Run(Query("SELECT 1"));
           return true;
         })
      .status();
}

// ---------------------------------------------------------------- write path

absl::StatusOr<WriteResult> PostgresStore::WriteSpans(const std::vector<const model::v1::Span*>& spans) {
  std::vector<SpanRow> rows;
  rows.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    OSPREY_ASSIGN_OR_RETURN(SpanRow row, ValidatePostgresSpan(spans[i], i));
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const SpanRow& a, const SpanRow& b) {
    return std::tie(a.trace_id, a.span_id) < std::tie(b.trace_id, b.span_id);
  });
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<WriteResult> result = WriteOnce(rows);
    if (result.ok() || !base::IsRetryable(result.status()) || attempt >= config_.write_retries ||
        result.status().code() == absl::StatusCode::kFailedPrecondition) {
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
  }
}

absl::StatusOr<WriteResult> PostgresStore::WriteOnce(const std::vector<SpanRow>& rows) {
  OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
  WriteResult result;
  if (rows.empty()) return result;
  absl::Status status = Guard(lease.broken(), [&]() -> absl::Status {
    pqxx::work tx(*lease);
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(config_.write_timeout_ms));
    OSPREY_RETURN_IF_ERROR(WriteLocked(tx, rows, result));
    tx.commit();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
}

// One WriteSpans transaction. Row locks are taken in one global order by every writer — traces by
// trace_id, then spans by span_id, then sessions by session_id, then projects by id — so concurrent
// writers of the same traces queue instead of deadlocking. Rollups are computed from the rows the
// span INSERT really inserted (RETURNING) and applied as commutative increments.
absl::Status PostgresStore::WriteLocked(pqxx::work& tx, const std::vector<SpanRow>& rows, WriteResult& result) {
  const int64_t now = Now();

  // Per trace (sorted): the project a new trace is created in (its first span's, in span id order)
  // and the time range of its spans in this call.
  std::vector<std::string> trace_ids;
  std::vector<std::string> trace_projects;
  std::vector<int64_t> trace_starts;
  std::vector<int64_t> trace_ends;
  for (const SpanRow& row : rows) {
    if (trace_ids.empty() || trace_ids.back() != row.trace_id) {
      trace_ids.push_back(row.trace_id);
      trace_projects.push_back(row.span->project_name().empty() ? "default" : PgText(row.span->project_name()));
      trace_starts.push_back(row.start);
      trace_ends.push_back(row.end);
    } else {
      trace_starts.back() = std::min(trace_starts.back(), row.start);
      trace_ends.back() = std::max(trace_ends.back(), row.end);
    }
  }
  const std::string trace_ids_param = TextArray(trace_ids);

  // 2. Projects of traces this call creates, in name order.
  tx.exec_params(
      "INSERT INTO projects (name, created_at, updated_at) "
      "SELECT DISTINCT u.project, $3::bigint, $3::bigint FROM unnest($1::text[], $2::text[]) AS u(trace_id, project) "
      "WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = u.trace_id) ORDER BY 1 "
      "ON CONFLICT (name) DO NOTHING",
      trace_ids_param, TextArray(trace_projects), now);

  // 3. Every trace of the call exists and is row-locked, in trace_id order (DO UPDATE ... WHERE false
  //    locks the existing row without writing a new version). RETURNING lists the created ones.
  TraceStates traces;
  {
    pqxx::result created = tx.exec_params(
        "INSERT INTO traces (project_id, trace_id, start_time, end_time) "
        "SELECT coalesce(p.id, 0), u.trace_id, u.start_time, u.end_time "
        "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(trace_id, project, start_time, end_time) "
        "LEFT JOIN projects p ON p.name = u.project ORDER BY u.trace_id "
        "ON CONFLICT (trace_id) DO UPDATE SET span_count = traces.span_count WHERE false "
        "RETURNING trace_id",
        trace_ids_param, TextArray(trace_projects), IntArray(trace_starts), IntArray(trace_ends));
    pqxx::result found = tx.exec_params(
        "SELECT t.trace_id, t.id, t.project_id, t.session_rowid, s.session_id FROM traces t "
        "LEFT JOIN sessions s ON s.id = t.session_rowid WHERE t.trace_id = ANY($1::text[])",
        trace_ids_param);
    for (const pqxx::row& row : found) {
      TraceState& trace = traces[Text(row[0])];
      trace.rowid = Int(row[1]);
      trace.project_id = Int(row[2]);
      trace.session_rowid = OptionalInt(row[3]);
      trace.current_session_id = Text(row[4]);
    }
    for (const pqxx::row& row : created) traces[Text(row[0])].created = true;
    if (traces.size() != trace_ids.size()) {
      return base::Retryable(absl::StatusCode::kAborted, "postgres: a trace row of the batch vanished");
    }
  }

  // 4. The spans never stored before: one row per span id (the first in (trace_id, input order)),
  //    less those already in the table, then COPY them straight into `spans` in span_id order. A
  //    span id another writer stores under another trace between the check and the COPY fails the
  //    unique index: the whole call is retried, and the retry's check sees it.
  std::vector<const SpanRow*> fresh;
  {
    std::vector<std::string> span_ids;
    span_ids.reserve(rows.size());
    for (const SpanRow& row : rows) span_ids.push_back(row.span_id);
    std::set<std::string> stored;
    for (const pqxx::row& row :
         tx.exec_params("SELECT span_id FROM spans WHERE span_id = ANY($1::text[])", TextArray(span_ids))) {
      stored.insert(Text(row[0]));
    }
    fresh.reserve(rows.size());
    for (const SpanRow& row : rows) fresh.push_back(&row);
    // rows are in (trace_id, span_id, input order): a stable sort by span id keeps each id's first.
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const SpanRow* a, const SpanRow* b) { return a->span_id < b->span_id; });
    fresh.erase(std::unique(fresh.begin(), fresh.end(),
                            [](const SpanRow* a, const SpanRow* b) { return a->span_id == b->span_id; }),
                fresh.end());
    std::erase_if(fresh, [&](const SpanRow* row) { return stored.contains(row->span_id); });
  }
  result.inserted = static_cast<int64_t>(fresh.size());
  result.duplicates = static_cast<int64_t>(rows.size()) - result.inserted;
  if (!fresh.empty()) {
    try {
      CopySpans(tx, fresh, traces);
    } catch (const pqxx::unique_violation& e) {
      return base::Retryable(absl::StatusCode::kAborted,
                             std::string("postgres: a span of the batch was stored concurrently: ") + e.what());
    }
  }

  // Rollups from the new rows, in (trace_id, span_id) order: a trace's root is its lowest new root span
  // id and its session the first new span id carrying one.
  std::vector<const SpanRow*> new_spans = fresh;
  std::sort(new_spans.begin(), new_spans.end(), [](const SpanRow* a, const SpanRow* b) {
    return std::tie(a->trace_id, a->span_id) < std::tie(b->trace_id, b->span_id);
  });
  std::map<int64_t, int64_t> project_last_span;
  for (const SpanRow* row : new_spans) {
    const model::v1::Span& span = *row->span;
    TraceState& trace = traces.find(row->trace_id)->second;
    ++trace.spans;
    trace.min_start = std::min(trace.min_start, row->start);
    trace.max_end = std::max(trace.max_end, row->end);
    if (span.status_code() == model::v1::STATUS_CODE_ERROR) ++trace.errors;
    trace.tokens_prompt += span.llm_token_count_prompt();
    trace.tokens_completion += span.llm_token_count_completion();
    trace.tokens_total += row->token_total;
    trace.cost_total += span.cost().has_total() ? span.cost().total() : 0;
    if (row->parent_id.empty() && !trace.root_span_id) {  // sorted: the lowest new root span id
      trace.root_span_id = row->span_id;
      trace.root_span_name = PgText(span.name());
    }
    if (trace.session_id.empty() && !span.session_id().empty()) trace.session_id = PgText(span.session_id());
    auto [last, first] = project_last_span.try_emplace(trace.project_id, row->start);
    if (!first) last->second = std::max(last->second, row->start);
  }

  // 5. Sessions: those traces join in this call (created if new, in the project of the first
  //    joining trace by trace id) and those of traces already in one; all locked in session_id order.
  std::map<std::string, int64_t> session_rowids;  // session_id -> row id, filled below
  std::map<std::string, const TraceState*> joining;
  for (const auto& [trace_id, trace] : traces) {
    if (trace.spans == 0) continue;
    if (trace.session_rowid) {
      session_rowids.emplace(trace.current_session_id, *trace.session_rowid);
    } else if (!trace.session_id.empty()) {
      joining.try_emplace(trace.session_id, &trace);
      session_rowids.emplace(trace.session_id, 0);
    }
  }
  if (!session_rowids.empty()) {
    std::vector<std::string> ids;
    std::vector<int64_t> projects;
    std::vector<int64_t> starts;
    std::vector<int64_t> ends;
    for (const auto& [session_id, rowid] : session_rowids) {
      ids.push_back(session_id);
      auto it = joining.find(session_id);
      // Only the insert path uses these values; an existing session keeps its own.
      projects.push_back(it != joining.end() ? it->second->project_id : 0);
      starts.push_back(it != joining.end() ? it->second->min_start : 0);
      ends.push_back(it != joining.end() ? it->second->max_end : 0);
    }
    const std::string ids_param = TextArray(ids);
    tx.exec_params(
        "INSERT INTO sessions (session_id, project_id, start_time, end_time) "
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) ORDER BY 1 "
        "ON CONFLICT (session_id) DO UPDATE SET trace_count = sessions.trace_count WHERE false",
        ids_param, IntArray(projects), IntArray(starts), IntArray(ends));
    for (const pqxx::row& row :
         tx.exec_params("SELECT session_id, id FROM sessions WHERE session_id = ANY($1::text[])", ids_param)) {
      session_rowids[Text(row[0])] = Int(row[1]);
    }
  }

  // 6. Trace rollups as one upsert in trace_id order (every row exists: the conflict path runs).
  std::map<int64_t, SessionDelta> sessions;
  std::vector<int64_t> empty_created;
  {
    std::vector<int64_t> projects, starts, ends, counts, errors, prompts, completions, totals;
    std::vector<double> costs;
    std::vector<std::string> ids;
    std::vector<std::optional<std::string>> root_ids, root_names;
    std::vector<std::optional<int64_t>> joins;
    for (const auto& [trace_id, trace] : traces) {
      if (trace.spans == 0) {
        // Every span of a trace this call created was stored before under another trace.
        if (trace.created) empty_created.push_back(trace.rowid);
        continue;
      }
      ids.push_back(trace_id);
      projects.push_back(trace.project_id);
      starts.push_back(trace.min_start);
      ends.push_back(trace.max_end);
      counts.push_back(trace.spans);
      errors.push_back(trace.errors);
      prompts.push_back(trace.tokens_prompt);
      completions.push_back(trace.tokens_completion);
      totals.push_back(trace.tokens_total);
      costs.push_back(trace.cost_total);
      root_ids.push_back(trace.root_span_id);
      root_names.push_back(trace.root_span_name);
      std::optional<int64_t> join;
      if (!trace.session_rowid && !trace.session_id.empty()) join = session_rowids.at(trace.session_id);
      joins.push_back(join);
    }
    if (!ids.empty()) {
      pqxx::result updated = tx.exec_params(
          "INSERT INTO traces AS t (project_id, trace_id, start_time, end_time, span_count, error_count, "
          "token_count_prompt, token_count_completion, token_count_total, root_span_id, root_span_name, "
          "session_rowid, cost_total) "
          "SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
          "$7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::float8[]) "
          "AS u(project_id, trace_id, start_time, end_time, span_count, error_count, token_count_prompt, "
          "token_count_completion, token_count_total, root_span_id, root_span_name, session_rowid, cost_total) "
          "ORDER BY u.trace_id "
          "ON CONFLICT (trace_id) DO UPDATE SET "
          "start_time = least(t.start_time, excluded.start_time), end_time = greatest(t.end_time, excluded.end_time), "
          "span_count = t.span_count + excluded.span_count, error_count = t.error_count + excluded.error_count, "
          "token_count_prompt = t.token_count_prompt + excluded.token_count_prompt, "
          "token_count_completion = t.token_count_completion + excluded.token_count_completion, "
          "token_count_total = t.token_count_total + excluded.token_count_total, "
          "root_span_name = CASE WHEN excluded.root_span_id IS NOT NULL AND "
          "(t.root_span_id IS NULL OR excluded.root_span_id < t.root_span_id) "
          "THEN excluded.root_span_name ELSE t.root_span_name END, "
          "root_span_id = CASE WHEN excluded.root_span_id IS NOT NULL AND "
          "(t.root_span_id IS NULL OR excluded.root_span_id < t.root_span_id) "
          "THEN excluded.root_span_id ELSE t.root_span_id END, "
          "session_rowid = coalesce(t.session_rowid, excluded.session_rowid), "
          "cost_total = t.cost_total + excluded.cost_total "
          "RETURNING t.trace_id, t.start_time, t.end_time, t.token_count_prompt, t.token_count_completion, "
          "t.token_count_total",
          IntArray(projects), TextArray(ids), IntArray(starts), IntArray(ends), IntArray(counts), IntArray(errors),
          IntArray(prompts), IntArray(completions), IntArray(totals), TextArray(root_ids), TextArray(root_names),
          IntArray(joins), DoubleArray(costs));
      for (const pqxx::row& row : updated) {
        const TraceState& trace = traces.at(Text(row[0]));
        if (trace.session_rowid) {
          SessionDelta& delta = sessions[*trace.session_rowid];
          delta.min_start = std::min(delta.min_start, Int(row[1]));
          delta.max_end = std::max(delta.max_end, Int(row[2]));
          delta.tokens_prompt += trace.tokens_prompt;
          delta.tokens_completion += trace.tokens_completion;
          delta.tokens_total += trace.tokens_total;
        } else if (!trace.session_id.empty()) {  // the whole trace joins, spans stored before included
          SessionDelta& delta = sessions[session_rowids.at(trace.session_id)];
          delta.min_start = std::min(delta.min_start, Int(row[1]));
          delta.max_end = std::max(delta.max_end, Int(row[2]));
          delta.traces += 1;
          delta.tokens_prompt += Int(row[3]);
          delta.tokens_completion += Int(row[4]);
          delta.tokens_total += Int(row[5]);
        }
      }
    }
  }
  if (!empty_created.empty()) {
    tx.exec_params("DELETE FROM traces WHERE id = ANY($1::bigint[]) AND span_count = 0", IntArray(empty_created));
  }

  // 7. Session rollups (rows locked in step 5).
  if (!sessions.empty()) {
    std::vector<int64_t> ids, starts, ends, counts, prompts, completions, totals;
    for (const auto& [rowid, delta] : sessions) {
      ids.push_back(rowid);
      starts.push_back(delta.min_start);
      ends.push_back(delta.max_end);
      counts.push_back(delta.traces);
      prompts.push_back(delta.tokens_prompt);
      completions.push_back(delta.tokens_completion);
      totals.push_back(delta.tokens_total);
    }
    tx.exec_params(
        "UPDATE sessions s SET start_time = least(s.start_time, d.start_time), "
        "end_time = greatest(s.end_time, d.end_time), trace_count = s.trace_count + d.traces, "
        "token_count_prompt = s.token_count_prompt + d.prompt, "
        "token_count_completion = s.token_count_completion + d.completion, "
        "token_count_total = s.token_count_total + d.total "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
        "$7::bigint[]) AS d(id, start_time, end_time, traces, prompt, completion, total) WHERE s.id = d.id",
        IntArray(ids), IntArray(starts), IntArray(ends), IntArray(counts), IntArray(prompts), IntArray(completions),
        IntArray(totals));
  }

  // 8. Project activity, locked and updated in id order.
  if (!project_last_span.empty()) {
    std::vector<int64_t> ids, lasts;
    for (const auto& [id, last] : project_last_span) {
      ids.push_back(id);
      lasts.push_back(last);
    }
    const std::string ids_param = IntArray(ids);
    if (ids.size() > 1) {
      tx.exec_params("SELECT 1 FROM projects WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", ids_param);
    }
    tx.exec_params(
        "UPDATE projects p SET last_span_at = greatest(coalesce(p.last_span_at, d.last), d.last) "
        "FROM unnest($1::bigint[], $2::bigint[]) AS d(id, last) WHERE p.id = d.id",
        ids_param, IntArray(lasts));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- read path

absl::StatusOr<Page<SpanRecord>> PostgresStore::ListSpans(const SpanQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  // The filters, order and LIMIT run in a subquery over the stored columns; the outer SELECT converts
  // jsonb to text and looks up trace ids for the returned rows only. (In one flat SELECT, Postgres
  // computes attributes::text for every matching row before its top-N sort: ~20 us a row, 393 rows for
  // one attribute filter on 1,000 spans.)
  Query q(std::string("SELECT ") + kSpanColumns + "(SELECT s.* FROM spans s WHERE s.project_id = ");
  q.Int(query.project_id);
  if (query.start_time_ns) q.Sql(" AND s.start_time >= ").Int(*query.start_time_ns);
  if (query.end_time_ns) q.Sql(" AND s.start_time < ").Int(*query.end_time_ns);
  if (!query.trace_ids.empty()) {
    q.Sql(" AND s.trace_rowid IN (SELECT id FROM traces WHERE trace_id = ANY(").Strs(LowerAll(query.trace_ids));
    q.Sql("))");
  }
  if (!query.span_ids.empty()) q.Sql(" AND s.span_id = ANY(").Strs(LowerAll(query.span_ids)).Sql(")");
  if (query.parent_id) {
    if (query.parent_id->empty()) {
      q.Sql(" AND s.parent_id IS NULL");
    } else {
      q.Sql(" AND s.parent_id = ").Str(absl::AsciiStrToLower(*query.parent_id));
    }
  }
  if (!query.names.empty()) q.Sql(" AND ").In("s.name", query.names);
  if (!query.span_kinds.empty()) q.Sql(" AND ").In("s.span_kind", query.span_kinds);
  if (!query.status_codes.empty()) q.Sql(" AND ").In("s.status_code", query.status_codes);
  for (const AttributeFilter& filter : query.attributes) {
    if (filter.path.empty()) return Invalid("attribute filter with an empty key");
    // Not LiftedModelNameFilter here: measured at 1M spans, the column comparison made Postgres's planner
    // walk the id index (p99 743 ms) where the jsonb comparison uses the time window (181 ms).
    std::optional<std::string> value = JsonValue(filter.value);
    // Keys containing '"' match nothing, as in the SQLite store (whose JSON path syntax cannot
    // address them): the same filter gives the same answer on both backends.
    bool addressable = value.has_value();
    for (const std::string& key : filter.path) {
      if (key.find('"') != std::string::npos || key.find('\0') != std::string::npos) addressable = false;
    }
    if (!addressable) {
      q.Sql(" AND false");
      continue;
    }
    // jsonb equality is type-aware: numbers by value, strings and bools only with their own kind.
    q.Sql(" AND s.attributes #> ").Arg(TextArray(filter.path), "text[]").Sql(" = ").Arg(*value, "jsonb");
  }
  if (query.cursor_id) q.Sql(" AND s.id <= ").Int(*query.cursor_id);
  q.Sql(" ORDER BY s.id DESC LIMIT ").Int(static_cast<int64_t>(query.limit) + 1).Sql(") s ORDER BY s.id DESC");
  return Read<Page<SpanRecord>>([&](ReadCall& db) { return ReadPage<SpanRecord>(db.Run(q), query.limit, ReadSpan); });
}

absl::StatusOr<Page<TraceRecord>> PostgresStore::ListTraces(const TraceQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  const bool none = query.require_session && query.session_rowids.empty();
  const std::string key = query.sort == TraceSort::kLatency ? "(t.end_time - t.start_time)" : "t.start_time";
  const bool desc = query.order == Order::kDesc;
  return Read<Page<TraceRecord>>([&](ReadCall& db) -> absl::StatusOr<Page<TraceRecord>> {
    if (none) return Page<TraceRecord>{};
    Query q(std::string("SELECT ") + kTraceColumns + " WHERE t.project_id = ");
    q.Int(query.project_id);
    if (query.start_time_ns) q.Sql(" AND t.start_time >= ").Int(*query.start_time_ns);
    if (query.end_time_ns) q.Sql(" AND t.start_time < ").Int(*query.end_time_ns);
    if (!query.session_rowids.empty()) {
      q.Sql(" AND t.session_rowid = ANY(").Arg(IntArray(query.session_rowids), "bigint[]").Sql(")");
    }
    if (query.cursor_id) {
      pqxx::result cursor = db.Run(Query("SELECT start_time, end_time FROM traces WHERE id = ").Int(*query.cursor_id));
      if (cursor.empty()) return Invalid("trace cursor " + std::to_string(*query.cursor_id) + " does not exist");
      int64_t cursor_key =
          query.sort == TraceSort::kLatency ? Int(cursor[0][1]) - Int(cursor[0][0]) : Int(cursor[0][0]);
      q.Sql(" AND (" + key + ", t.id) " + (desc ? "<=" : ">=") + " (").Int(cursor_key).Sql(", ");
      q.Int(*query.cursor_id).Sql(")");
    }
    const std::string direction = desc ? " DESC" : " ASC";
    q.Sql(" ORDER BY " + key + direction + ", t.id" + direction + " LIMIT ").Int(static_cast<int64_t>(query.limit) + 1);
    return ReadPage<TraceRecord>(db.Run(q), query.limit, ReadTrace);
  });
}

absl::StatusOr<std::vector<SpanRecord>> PostgresStore::SpansOfTraces(const std::vector<int64_t>& trace_rowids) {
  return Read<std::vector<SpanRecord>>([&](ReadCall& db) {
    if (trace_rowids.empty()) return std::vector<SpanRecord>{};
    Query q(std::string("SELECT ") + kSpanColumns + "spans s WHERE s.trace_rowid = ANY(");
    q.Arg(IntArray(trace_rowids), "bigint[]").Sql(") ORDER BY s.start_time, s.id");
    return ReadAll<SpanRecord>(db.Run(q), ReadSpan);
  });
}

absl::StatusOr<std::optional<TraceRecord>> PostgresStore::GetTraceById(int64_t id) {
  return Read<std::optional<TraceRecord>>([&](ReadCall& db) {
    return ReadOne<TraceRecord>(db.Run(Query(std::string("SELECT ") + kTraceColumns + " WHERE t.id = ").Int(id)),
                                ReadTrace);
  });
}

absl::StatusOr<std::optional<TraceRecord>> PostgresStore::GetTraceByTraceId(const std::string& trace_id_hex) {
  return Read<std::optional<TraceRecord>>([&](ReadCall& db) {
    return ReadOne<TraceRecord>(db.Run(Query(std::string("SELECT ") + kTraceColumns + " WHERE t.trace_id = ")
                                           .Str(absl::AsciiStrToLower(trace_id_hex))),
                                ReadTrace);
  });
}

absl::StatusOr<Page<SessionRecord>> PostgresStore::ListSessions(const SessionQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  const bool desc = query.order == Order::kDesc;
  Query q(std::string("SELECT ") + kSessionColumns + " WHERE project_id = ");
  q.Int(query.project_id);
  if (query.cursor_id) q.Sql(desc ? " AND id <= " : " AND id >= ").Int(*query.cursor_id);
  q.Sql(desc ? " ORDER BY id DESC" : " ORDER BY id ASC").Sql(" LIMIT ").Int(static_cast<int64_t>(query.limit) + 1);
  return Read<Page<SessionRecord>>(
      [&](ReadCall& db) { return ReadPage<SessionRecord>(db.Run(q), query.limit, ReadSession); });
}

absl::StatusOr<std::optional<SessionRecord>> PostgresStore::GetSessionById(int64_t id) {
  return Read<std::optional<SessionRecord>>([&](ReadCall& db) {
    return ReadOne<SessionRecord>(db.Run(Query(std::string("SELECT ") + kSessionColumns + " WHERE id = ").Int(id)),
                                  ReadSession);
  });
}

absl::StatusOr<std::optional<SessionRecord>> PostgresStore::GetSessionBySessionId(const std::string& session_id) {
  return Read<std::optional<SessionRecord>>([&](ReadCall& db) {
    return ReadOne<SessionRecord>(
        db.Run(Query(std::string("SELECT ") + kSessionColumns + " WHERE session_id = ").Str(session_id)), ReadSession);
  });
}

absl::StatusOr<std::vector<TraceRecord>> PostgresStore::TracesOfSession(int64_t session_rowid) {
  return Read<std::vector<TraceRecord>>([&](ReadCall& db) {
    Query q(std::string("SELECT ") + kTraceColumns + " WHERE t.session_rowid = ");
    q.Int(session_rowid).Sql(" ORDER BY t.start_time, t.id");
    return ReadAll<TraceRecord>(db.Run(q), ReadTrace);
  });
}

absl::StatusOr<Page<ProjectRecord>> PostgresStore::ListProjects(const ProjectQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  Query q(std::string("SELECT ") + kProjectColumns + " WHERE true");
  if (query.cursor_id) q.Sql(" AND id <= ").Int(*query.cursor_id);
  if (query.name_contains) {
    std::string pattern = "%";
    for (char c : *query.name_contains) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    q.Sql(" AND name ILIKE ").Str(pattern).Sql(" ESCAPE '\\'");
  }
  q.Sql(" ORDER BY id DESC LIMIT ").Int(static_cast<int64_t>(query.limit) + 1);
  return Read<Page<ProjectRecord>>(
      [&](ReadCall& db) { return ReadPage<ProjectRecord>(db.Run(q), query.limit, ReadProject); });
}

absl::StatusOr<std::optional<ProjectRecord>> PostgresStore::GetProjectById(int64_t id) {
  return Read<std::optional<ProjectRecord>>([&](ReadCall& db) {
    return ReadOne<ProjectRecord>(db.Run(Query(std::string("SELECT ") + kProjectColumns + " WHERE id = ").Int(id)),
                                  ReadProject);
  });
}

absl::StatusOr<std::optional<ProjectRecord>> PostgresStore::GetProjectByName(const std::string& name) {
  return Read<std::optional<ProjectRecord>>([&](ReadCall& db) {
    return ReadOne<ProjectRecord>(db.Run(Query(std::string("SELECT ") + kProjectColumns + " WHERE name = ").Str(name)),
                                  ReadProject);
  });
}

absl::StatusOr<ProjectRecord> PostgresStore::CreateProject(const std::string& name,
                                                           const std::optional<std::string>& description) {
  if (name.empty()) return Invalid("project name must not be empty");
  if (!base::IsValidUtf8(name) || (description && !base::IsValidUtf8(*description))) {
    return Invalid("project name and description must be valid UTF-8");
  }
  OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
  ProjectRecord record;
  record.name = name;
  record.description = description;
  record.created_at_ns = record.updated_at_ns = Now();
  return Guard(lease.broken(), [&]() -> absl::StatusOr<ProjectRecord> {
    pqxx::nontransaction tx(*lease);
    const char* description_param = nullptr;
    std::string description_text;
    if (description) {
      description_text = PgText(*description);
      description_param = description_text.c_str();
    }
    pqxx::result created = tx.exec_params(
        "INSERT INTO projects (name, description, created_at, updated_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (name) DO NOTHING RETURNING id",
        PgText(name), description_param, record.created_at_ns, record.updated_at_ns);
    if (created.empty()) {
      return base::Permanent(absl::StatusCode::kAlreadyExists, "project \"" + name + "\" already exists");
    }
    record.id = Int(created[0][0]);
    return record;
  });
}

}  // namespace

absl::Status ValidatePostgresConfig(const PostgresConfig& config) {
  if (config.dsn.empty()) return Invalid("postgres: dsn must not be empty");
  if (config.pool_size < 1) return Invalid("postgres: pool_size must be at least 1");
  if (config.statement_timeout_ms < 0) return Invalid("postgres: statement_timeout_ms must not be negative");
  if (config.write_timeout_ms < 0) return Invalid("postgres: write_timeout_ms must not be negative");
  if (config.write_retries < 0) return Invalid("postgres: write_retries must not be negative");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> OpenPostgresStore(const PostgresConfig& config) {
  OSPREY_RETURN_IF_ERROR(ValidatePostgresConfig(config));
  std::vector<std::unique_ptr<pqxx::connection>> connections;
  for (int i = 0; i < config.pool_size; ++i) {
    OSPREY_ASSIGN_OR_RETURN(auto connection, Connect(config));
    connections.push_back(std::move(connection));
  }
  return std::unique_ptr<Store>(new PostgresStore(config, std::move(connections)));
}

}  // namespace osprey::store
