#include "osprey/store/postgres_store.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
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
#include "postgres_text.hpp"
#include "postgres_write.hpp"
#include "prompt_sql.hpp"
#include "span_rows.hpp"

namespace osprey::store {
namespace {

using internal::DoubleArray;
using internal::Int;
using internal::IntArray;
using internal::kMaxTime;
using internal::OptionalInt;
using internal::PgJson;
using internal::PgText;
using internal::SpanRow;
using internal::StatusName;
using internal::Text;
using internal::TextArray;
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

// ---------------------------------------------------------------- reading rows

// The columns of a SpanRecord over spans `s`, the FROM clause left to the caller. The trace id is an index
// lookup per returned row (no join whose plan depends on statistics a fresh load does not have yet).
constexpr const char* kSpanColumns =
    "s.id, s.project_id, s.trace_rowid, (SELECT t.trace_id FROM traces t WHERE t.id = s.trace_rowid), s.span_id, "
    "s.parent_id, s.name, s.span_kind, s.start_time, s.end_time, s.status_code, s.status_message, s.attributes::text, "
    "s.events::text, s.llm_token_count_prompt, s.llm_token_count_completion, s.llm_token_count_total, s.session_id, "
    "s.user_id, s.llm_model_name, s.input_preview, s.output_preview, s.cost_prompt, s.cost_completion, s.cost_total, "
    "s.cost_details FROM ";

// float8 text by std::from_chars: libpqxx 6's as<double>() reads through a locale-aware stringstream.
double Double(const pqxx::field& field) {
  double value = 0;
  std::from_chars(field.c_str(), field.c_str() + field.size(), value);
  return value;
}

std::optional<double> OptionalDouble(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return Double(field);
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
  record.cost_total = Double(row[13]);
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
  record.cost_total = Double(row[9]);
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

// How a read's statements are planned: the plan_cache_mode of the connection they run on.
enum class Planning {
  // force_custom_plan (every pooled connection starts so): planned for the bound values on every execution.
  // Span and trace pages, whose right plan depends on the project's size, the time window, the filters and the
  // limit, and caller-compiled SQL.
  kPerCall,
  // auto: Postgres plans the first five executions for their values, then keeps one generic plan when it is
  // estimated no dearer (a page under `LIMIT $n` never is: its generic plan must assume a tenth of the rows).
  // Lookups by a unique key, whose plan is the same for every value: a project by name, a trace's spans page
  // (planned in 0.28 ms per call to execute in 0.2 ms).
  kCached,
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
    return ReadOnLease<absl::StatusOr<SqlRows>>(
        Planning::kPerCall, [&](Lease& lease) { return RunPostgresReadQuery(*lease, lease.statements(), query); });
  }

 private:
  // A pool slot: the connection and the read statements prepared on it (they live and die together).
  struct Pooled {
    explicit Pooled(std::unique_ptr<pqxx::connection> c) : connection(std::move(c)) {}
    std::unique_ptr<pqxx::connection> connection;
    PgStatementCache statements;
    Planning planning = Planning::kPerCall;  // the session's plan_cache_mode (SetUpConnection)
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
    // Sets the session's plan_cache_mode when it differs (one round trip; Acquire prefers a connection that
    // needs none). Throws libpqxx exceptions.
    void UsePlanning(Planning planning) {
      if (pooled_->planning == planning) return;
      pqxx::nontransaction tx(*pooled_->connection);
      tx.exec(planning == Planning::kCached ? "SET plan_cache_mode = auto" : "SET plan_cache_mode = force_custom_plan");
      pooled_->planning = planning;
    }
    bool& broken() { return broken_; }

   private:
    PostgresStore* store_;
    std::unique_ptr<Pooled> pooled_;
    bool broken_ = false;
  };

  // Blocks while every connection is on loan; takes an idle connection already set up for `planning` when
  // there is one. FAILED_PRECONDITION after Close(); UNAVAILABLE when a dropped connection cannot be reopened.
  absl::StatusOr<Lease> Acquire(Planning planning = Planning::kPerCall);
  void Return(std::unique_ptr<Pooled> pooled, bool broken);

  // Runs `fn(call)`: statements without a transaction (one statement, or reads that need no snapshot).
  template <typename T, typename Fn>
  absl::StatusOr<T> Read(Fn&& fn, Planning planning = Planning::kPerCall) {
    return ReadOnLease<absl::StatusOr<T>>(planning, [&](Lease& lease) -> absl::StatusOr<T> {
      ReadCall call(*lease, lease.statements());
      return fn(call);
    });
  }

  // Runs `attempt(lease)` on a pooled connection set up for `planning`. A pooled connection that turns
  // out broken (the server restarted while it sat idle in the pool) is dropped and the read runs again
  // on another, up to once per pool slot: a read is safe to repeat, and a stale pooled connection
  // should not cost the caller an error once the server is back.
  template <typename R, typename Fn>
  R ReadOnLease(Planning planning, Fn&& attempt) {
    for (int i = 0;; ++i) {
      OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire(planning));
      R result = Guard(lease.broken(), [&]() -> R {
        lease.UsePlanning(planning);
        return attempt(lease);
      });
      if (StatusOf(result).ok() || !lease.broken() || i >= config_.pool_size) return result;
    }
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

  absl::StatusOr<WriteResult> WriteOnce(const std::vector<SpanRow>& rows, bool look_up_stored);
  // One annotation read (nontransaction) or write (transaction) on a pooled connection.
  absl::Status RunAnnotationWork(bool write, const AnnotationWork& work);

  const PostgresConfig config_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Idle connections; a null entry is a slot whose connection was dropped. Guarded by mu_.
  std::vector<std::unique_ptr<Pooled>> free_;
  int out_ = 0;          // guarded by mu_
  bool closed_ = false;  // guarded by mu_
  // Batches still to be written with the span id lookup since one met a span stored before (WriteSpans).
  std::atomic<int> look_ups_left_{0};
};

// Session settings of every pooled connection, in one round trip. Prepared read statements are planned
// for their bound values on every execution (see PgStatementCache) until a lookup switches the connection
// to `auto` (Planning::kCached).
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

absl::StatusOr<PostgresStore::Lease> PostgresStore::Acquire(Planning planning) {
  std::unique_ptr<Pooled> pooled;
  {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !free_.empty(); });
    if (closed_) return Closed();
    auto it = std::find_if(free_.rbegin(), free_.rend(), [&](const auto& p) { return p && p->planning == planning; });
    auto taken = it == free_.rend() ? free_.end() - 1 : std::next(it).base();
    pooled = std::move(*taken);
    free_.erase(taken);
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
    OSPREY_ASSIGN_OR_RETURN(SpanRow row, internal::PgValidateSpan(spans[i], i));
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const SpanRow& a, const SpanRow& b) {
    return std::tie(a.trace_id, a.span_id) < std::tie(b.trace_id, b.span_id);
  });
  // Spans stored before come from redeliveries (a writer restarted before committing its offsets, a
  // client resending an acknowledged request): rare, and then in a run of batches. So a batch is first
  // COPYed without looking its span ids up; one that meets a stored span is retried at once with the
  // lookup, and so are the next kLookUpAfterStoredBefore batches.
  constexpr int kLookUpAfterStoredBefore = 64;
  bool look_up = look_ups_left_.load(std::memory_order_relaxed) > 0;
  if (look_up) look_ups_left_.fetch_sub(1, std::memory_order_relaxed);
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<WriteResult> result = WriteOnce(rows, look_up);
    if (!look_up && !result.ok() && internal::IsSpansStoredBefore(result.status())) {
      look_up = true;
      look_ups_left_.store(kLookUpAfterStoredBefore, std::memory_order_relaxed);
      --attempt;  // not a failure: the same batch, now with the lookup
      continue;
    }
    if (result.ok() || !base::IsRetryable(result.status()) || attempt >= config_.write_retries ||
        result.status().code() == absl::StatusCode::kFailedPrecondition) {
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
  }
}

absl::StatusOr<WriteResult> PostgresStore::WriteOnce(const std::vector<SpanRow>& rows, bool look_up_stored) {
  OSPREY_ASSIGN_OR_RETURN(Lease lease, Acquire());
  WriteResult result;
  if (rows.empty()) return result;
  absl::Status status = Guard(lease.broken(), [&]() -> absl::Status {
    pqxx::work tx(*lease);
    // The write statements run once per batch, and planning the foreign-key checks of every COPYed
    // row for its values (the pool's force_custom_plan) cost 40 % of the server's CPU.
    tx.exec("SET LOCAL statement_timeout = " + std::to_string(config_.write_timeout_ms) +
            "; SET LOCAL plan_cache_mode = auto");
    OSPREY_RETURN_IF_ERROR(internal::PgWriteSpans(tx, rows, look_up_stored, result));
    tx.commit();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return result;
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
  if (query.trace_ids.size() == 1) {
    // One trace (a trace's spans page): a scalar subquery, planned in about half the time of the semi-join.
    q.Sql(" AND s.trace_rowid = (SELECT id FROM traces WHERE trace_id = ")
        .Str(absl::AsciiStrToLower(query.trace_ids.front()))
        .Sql(")");
  } else if (!query.trace_ids.empty()) {
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
  // A page of given traces or spans is planned the same for any ids: an index probe per id.
  const bool by_id = !query.trace_ids.empty() || !query.span_ids.empty();
  return Read<Page<SpanRecord>>([&](ReadCall& db) { return ReadPage<SpanRecord>(db.Run(q), query.limit, ReadSpan); },
                                by_id ? Planning::kCached : Planning::kPerCall);
}

absl::StatusOr<Page<TraceRecord>> PostgresStore::ListTraces(const TraceQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  const bool none = query.require_session && query.session_rowids.empty();
  const std::string key = query.sort == TraceSort::kLatency ? "(t.end_time - t.start_time)" : "t.start_time";
  const bool desc = query.order == Order::kDesc;
  // A project's traces without a time window or sessions are a walk down its sort index whatever the project:
  // with the limit written into the text (a generic plan cannot know a bound one and assumes a tenth of the
  // rows), Postgres keeps one generic plan after five executions (planning 0.07-0.12 ms -> 0.015 ms a page).
  const bool plain = !query.start_time_ns && !query.end_time_ns && query.session_rowids.empty();
  return Read<Page<TraceRecord>>(
      [&](ReadCall& db) -> absl::StatusOr<Page<TraceRecord>> {
        if (none) return Page<TraceRecord>{};
        Query q(std::string("SELECT ") + kTraceColumns + " WHERE t.project_id = ");
        q.Int(query.project_id);
        if (query.start_time_ns) q.Sql(" AND t.start_time >= ").Int(*query.start_time_ns);
        if (query.end_time_ns) q.Sql(" AND t.start_time < ").Int(*query.end_time_ns);
        if (!query.session_rowids.empty()) {
          q.Sql(" AND t.session_rowid = ANY(").Arg(IntArray(query.session_rowids), "bigint[]").Sql(")");
        }
        if (query.cursor_id) {
          pqxx::result cursor =
              db.Run(Query("SELECT start_time, end_time FROM traces WHERE id = ").Int(*query.cursor_id));
          if (cursor.empty()) return Invalid("trace cursor " + std::to_string(*query.cursor_id) + " does not exist");
          int64_t cursor_key =
              query.sort == TraceSort::kLatency ? Int(cursor[0][1]) - Int(cursor[0][0]) : Int(cursor[0][0]);
          q.Sql(" AND (" + key + ", t.id) " + (desc ? "<=" : ">=") + " (").Int(cursor_key).Sql(", ");
          q.Int(*query.cursor_id).Sql(")");
        }
        const std::string direction = desc ? " DESC" : " ASC";
        q.Sql(" ORDER BY " + key + direction + ", t.id" + direction + " LIMIT ");
        if (plain) {
          q.Sql(std::to_string(static_cast<int64_t>(query.limit) + 1));
        } else {
          q.Int(static_cast<int64_t>(query.limit) + 1);
        }
        return ReadPage<TraceRecord>(db.Run(q), query.limit, ReadTrace);
      },
      plain ? Planning::kCached : Planning::kPerCall);
}

absl::StatusOr<std::vector<SpanRecord>> PostgresStore::SpansOfTraces(const std::vector<int64_t>& trace_rowids) {
  return Read<std::vector<SpanRecord>>(
      [&](ReadCall& db) {
        if (trace_rowids.empty()) return std::vector<SpanRecord>{};
        Query q(std::string("SELECT ") + kSpanColumns + "spans s WHERE s.trace_rowid = ANY(");
        q.Arg(IntArray(trace_rowids), "bigint[]").Sql(") ORDER BY s.start_time, s.id");
        return ReadAll<SpanRecord>(db.Run(q), ReadSpan);
      },
      Planning::kCached);
}

absl::StatusOr<std::optional<TraceRecord>> PostgresStore::GetTraceById(int64_t id) {
  return Read<std::optional<TraceRecord>>(
      [&](ReadCall& db) {
        return ReadOne<TraceRecord>(db.Run(Query(std::string("SELECT ") + kTraceColumns + " WHERE t.id = ").Int(id)),
                                    ReadTrace);
      },
      Planning::kCached);
}

absl::StatusOr<std::optional<TraceRecord>> PostgresStore::GetTraceByTraceId(const std::string& trace_id_hex) {
  return Read<std::optional<TraceRecord>>(
      [&](ReadCall& db) {
        return ReadOne<TraceRecord>(db.Run(Query(std::string("SELECT ") + kTraceColumns + " WHERE t.trace_id = ")
                                               .Str(absl::AsciiStrToLower(trace_id_hex))),
                                    ReadTrace);
      },
      Planning::kCached);
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
  return Read<std::optional<SessionRecord>>(
      [&](ReadCall& db) {
        return ReadOne<SessionRecord>(db.Run(Query(std::string("SELECT ") + kSessionColumns + " WHERE id = ").Int(id)),
                                      ReadSession);
      },
      Planning::kCached);
}

absl::StatusOr<std::optional<SessionRecord>> PostgresStore::GetSessionBySessionId(const std::string& session_id) {
  return Read<std::optional<SessionRecord>>(
      [&](ReadCall& db) {
        return ReadOne<SessionRecord>(
            db.Run(Query(std::string("SELECT ") + kSessionColumns + " WHERE session_id = ").Str(session_id)),
            ReadSession);
      },
      Planning::kCached);
}

absl::StatusOr<std::vector<TraceRecord>> PostgresStore::TracesOfSession(int64_t session_rowid) {
  return Read<std::vector<TraceRecord>>(
      [&](ReadCall& db) {
        Query q(std::string("SELECT ") + kTraceColumns + " WHERE t.session_rowid = ");
        q.Int(session_rowid).Sql(" ORDER BY t.start_time, t.id");
        return ReadAll<TraceRecord>(db.Run(q), ReadTrace);
      },
      Planning::kCached);
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
  return Read<std::optional<ProjectRecord>>(
      [&](ReadCall& db) {
        return ReadOne<ProjectRecord>(db.Run(Query(std::string("SELECT ") + kProjectColumns + " WHERE id = ").Int(id)),
                                      ReadProject);
      },
      Planning::kCached);
}

absl::StatusOr<std::optional<ProjectRecord>> PostgresStore::GetProjectByName(const std::string& name) {
  return Read<std::optional<ProjectRecord>>(
      [&](ReadCall& db) {
        return ReadOne<ProjectRecord>(
            db.Run(Query(std::string("SELECT ") + kProjectColumns + " WHERE name = ").Str(name)), ReadProject);
      },
      Planning::kCached);
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
