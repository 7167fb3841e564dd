#include "osprey/store/sqlite_store.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "migrations.hpp"
#include "mutation_common.hpp"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "prompt_sql.hpp"
#include "span_rows.hpp"
#include "sqlite_annotations.hpp"
#include "sqlite_db.hpp"
#include "sqlite_mutations.hpp"
#include "sqlite_sql_reader.hpp"

namespace osprey::store {
namespace {

using sqlite::Connection;
using sqlite::ResetGuard;
using sqlite::Statement;

using internal::kMaxTime;
using internal::LiftedModelNameFilter;
using internal::SpanRow;
using internal::StatusName;
using internal::ValidateSpan;

absl::Status Closed() { return base::Permanent(absl::StatusCode::kFailedPrecondition, "store is closed"); }

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

int64_t Now() { return static_cast<int64_t>(base::NowUnixNanos()); }

// ---------------------------------------------------------------- rollup state of one write

struct TraceDelta {
  int64_t rowid = 0;
  int64_t project_id = 0;
  std::optional<int64_t> session_rowid;  // as found before this write
  bool created = false;                  // the trace row was inserted by this write
  int64_t spans = 0;                     // new spans of this write
  int64_t min_start = kMaxTime;
  int64_t max_end = std::numeric_limits<int64_t>::min();
  int64_t errors = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
  double cost_total = 0;     // US dollars over the new spans that have a known cost
  std::string root_span_id;  // lowest new root span id
  std::string root_span_name;
  std::string session_id;  // from the first new span carrying one, in (trace_id, span_id) order
  std::optional<int64_t> new_session_rowid;
};

// What one write adds to a project: activity and rollups (migration 0007).
struct ProjectDelta {
  int64_t last_span_start = std::numeric_limits<int64_t>::min();
  internal::ProjectTotals totals;
};

struct SessionDelta {
  int64_t min_start = kMaxTime;
  int64_t max_end = std::numeric_limits<int64_t>::min();
  int64_t traces = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
};

// ---------------------------------------------------------------- reading rows

constexpr const char* kSpanColumns =
    "s.id, s.project_id, s.trace_rowid, t.trace_id, s.span_id, s.parent_id, s.name, s.span_kind, s.start_time, "
    "s.end_time, s.status_code, s.status_message, s.attributes, s.events, s.llm_token_count_prompt, "
    "s.llm_token_count_completion, s.llm_token_count_total, s.session_id, s.user_id, s.llm_model_name, "
    "s.input_preview, s.output_preview, s.cost_prompt, s.cost_completion, s.cost_total, s.cost_details "
    "FROM spans s JOIN traces t ON t.id = s.trace_rowid";

SpanRecord ReadSpan(const Statement& stmt) {
  SpanRecord record;
  record.id = stmt.Int(0);
  record.project_id = stmt.Int(1);
  record.trace_rowid = stmt.Int(2);
  record.trace_id = stmt.Text(3);
  record.span_id = stmt.Text(4);
  record.parent_id = stmt.Text(5);
  record.name = stmt.Text(6);
  record.span_kind = stmt.Text(7);
  record.start_time_ns = stmt.Int(8);
  record.end_time_ns = stmt.Int(9);
  record.status_code = stmt.Text(10);
  record.status_message = stmt.Text(11);
  record.attributes_json = stmt.Text(12);
  record.events_json = stmt.Text(13);
  record.llm_token_count_prompt = stmt.Int(14);
  record.llm_token_count_completion = stmt.Int(15);
  record.llm_token_count_total = stmt.Int(16);
  record.session_id = stmt.Text(17);
  record.user_id = stmt.Text(18);
  record.llm_model_name = stmt.Text(19);
  record.input_preview = stmt.Text(20);
  record.output_preview = stmt.Text(21);
  record.cost_prompt = stmt.OptionalDouble(22);
  record.cost_completion = stmt.OptionalDouble(23);
  record.cost_total = stmt.OptionalDouble(24);
  record.cost_details_json = stmt.Text(25);
  return record;
}

constexpr const char* kTraceColumns =
    "t.id, t.project_id, t.trace_id, t.start_time, t.end_time, t.root_span_id, t.root_span_name, t.span_count, "
    "t.error_count, t.token_count_prompt, t.token_count_completion, t.token_count_total, t.session_rowid, "
    "t.cost_total FROM traces t";

TraceRecord ReadTrace(const Statement& stmt) {
  TraceRecord record;
  record.id = stmt.Int(0);
  record.project_id = stmt.Int(1);
  record.trace_id = stmt.Text(2);
  record.start_time_ns = stmt.Int(3);
  record.end_time_ns = stmt.Int(4);
  record.root_span_id = stmt.Text(5);
  record.root_span_name = stmt.Text(6);
  record.span_count = stmt.Int(7);
  record.error_count = stmt.Int(8);
  record.token_count_prompt = stmt.Int(9);
  record.token_count_completion = stmt.Int(10);
  record.token_count_total = stmt.Int(11);
  record.session_rowid = stmt.OptionalInt(12);
  record.cost_total = stmt.Double(13);
  return record;
}

constexpr const char* kSessionColumns =
    "id, session_id, project_id, start_time, end_time, trace_count, token_count_prompt, token_count_completion, "
    "token_count_total, "
    "(SELECT coalesce(sum(t.cost_total), 0) FROM traces t WHERE t.session_rowid = sessions.id) FROM sessions";

SessionRecord ReadSession(const Statement& stmt) {
  SessionRecord record;
  record.id = stmt.Int(0);
  record.session_id = stmt.Text(1);
  record.project_id = stmt.Int(2);
  record.start_time_ns = stmt.Int(3);
  record.end_time_ns = stmt.Int(4);
  record.trace_count = stmt.Int(5);
  record.token_count_prompt = stmt.Int(6);
  record.token_count_completion = stmt.Int(7);
  record.token_count_total = stmt.Int(8);
  record.cost_total = stmt.Double(9);
  return record;
}

constexpr const char* kProjectColumns = "id, name, description, created_at, updated_at, last_span_at FROM projects";

ProjectRecord ReadProject(const Statement& stmt) {
  ProjectRecord record;
  record.id = stmt.Int(0);
  record.name = stmt.Text(1);
  if (!stmt.IsNull(2)) record.description = stmt.Text(2);
  record.created_at_ns = stmt.Int(3);
  record.updated_at_ns = stmt.Int(4);
  record.last_span_at_ns = stmt.OptionalInt(5);
  return record;
}

// Dynamic SQL with its parameters: user text only ever travels as a bound value.
class Query final {
 public:
  using Value = std::variant<int64_t, double, std::string>;

  explicit Query(std::string sql) : sql_(std::move(sql)) {}
  Query& Sql(std::string_view fragment) {
    sql_ += fragment;
    return *this;
  }
  Query& Arg(Value value) {
    sql_ += '?';
    args_.push_back(std::move(value));
    return *this;
  }
  // " AND <column> IN (?, ?, ...)"
  template <typename T>
  Query& AndIn(std::string_view column, const std::vector<T>& values) {
    sql_ += " AND ";
    sql_ += column;
    sql_ += " IN (";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) sql_ += ", ";
      Arg(values[i]);
    }
    sql_ += ')';
    return *this;
  }

  absl::StatusOr<std::unique_ptr<Statement>> Prepare(Connection& connection) const {
    auto stmt = connection.Prepare(sql_);
    if (!stmt.ok()) return stmt.status();
    for (size_t i = 0; i < args_.size(); ++i) {
      int index = static_cast<int>(i + 1);
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              (*stmt)->BindInt(index, value);
            } else if constexpr (std::is_same_v<T, double>) {
              (*stmt)->BindDouble(index, value);
            } else {
              (*stmt)->BindText(index, value);
            }
          },
          args_[i]);
    }
    return stmt;
  }

 private:
  std::string sql_;
  std::vector<Value> args_;
};

// SQLite JSON path for a key path: every key double-quoted ($."llm"."model_name"). SQLite's path
// syntax has no escape for '"' inside a quoted key, so such a key cannot be addressed: nullopt.
// Backslashes are doubled because SQLite compares the key with the raw (escaped) JSON text.
std::optional<std::string> JsonPath(const std::vector<std::string>& keys) {
  std::string path = "$";
  for (const std::string& key : keys) {
    if (key.find('"') != std::string::npos) return std::nullopt;
    path += ".\"";
    for (char c : key) {
      if (c == '\\') path += '\\';
      path += c;
    }
    path += '"';
  }
  return path;
}

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

// Runs `stmt` collecting up to limit+1 rows: the extra row's id becomes next_cursor.
template <typename T, typename Reader>
absl::StatusOr<Page<T>> ReadPage(Statement& stmt, int limit, Reader read) {
  Page<T> page;
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    T item = read(stmt);
    if (static_cast<int64_t>(page.items.size()) == limit) {
      page.next_cursor = item.id;
      break;
    }
    page.items.push_back(std::move(item));
  }
  return page;
}

template <typename T, typename Reader>
absl::StatusOr<std::vector<T>> ReadAll(Statement& stmt, Reader read) {
  std::vector<T> items;
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    items.push_back(read(stmt));
  }
  return items;
}

template <typename T, typename Reader>
absl::StatusOr<std::optional<T>> ReadOne(Statement& stmt, Reader read) {
  OSPREY_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<T>();
  return std::optional<T>(read(stmt));
}

// ---------------------------------------------------------------- migrations

class SqliteMigrationTarget final : public MigrationTarget {
 public:
  explicit SqliteMigrationTarget(Connection& connection) : connection_(connection) {}

  // IMMEDIATE takes the write lock now, so a concurrent migrator waits (busy_timeout) and then sees
  // the versions this one committed. Foreign keys are off while migrations run (they cannot change
  // inside a transaction): rebuilding a table (SQLite's documented way to change a constraint) drops
  // the old one, which with foreign keys on would cascade-delete every row that references it.
  // Commit() checks the references before committing instead.
  absl::Status Begin() override {
    OSPREY_RETURN_IF_ERROR(connection_.Exec("PRAGMA foreign_keys = OFF"));
    absl::Status begun = connection_.Exec("BEGIN IMMEDIATE");
    // The runner calls Rollback() only after a successful Begin(): restore the connection here.
    if (!begun.ok()) (void)connection_.Exec("PRAGMA foreign_keys = ON");
    return begun;
  }
  absl::Status EnsureVersionTable() override {
    return connection_.Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  }
  absl::StatusOr<std::vector<int>> AppliedVersions() override {
    OSPREY_ASSIGN_OR_RETURN(auto stmt, connection_.Prepare("SELECT version FROM schema_migrations ORDER BY version"));
    std::vector<int> versions;
    while (true) {
      OSPREY_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      versions.push_back(static_cast<int>(stmt->Int(0)));
    }
    return versions;
  }
  absl::Status Apply(const Migration& migration) override {
    OSPREY_RETURN_IF_ERROR(connection_.Exec(std::string(migration.sql)));
    OSPREY_ASSIGN_OR_RETURN(auto stmt,
                            connection_.Prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"));
    stmt->BindInt(1, migration.version);
    stmt->BindInt(2, Now());
    return stmt->Run();
  }
  absl::Status Commit() override {
    OSPREY_ASSIGN_OR_RETURN(auto check, connection_.Prepare("PRAGMA foreign_key_check"));
    OSPREY_ASSIGN_OR_RETURN(bool violation, check->Step());
    if (violation) {
      return base::Permanent(absl::StatusCode::kInternal,
                             "migrations left a row in " + check->Text(0) + " referencing a missing row");
    }
    OSPREY_RETURN_IF_ERROR(connection_.Exec("COMMIT"));
    return connection_.Exec("PRAGMA foreign_keys = ON");
  }
  void Rollback() override {
    (void)connection_.Exec("ROLLBACK");
    (void)connection_.Exec("PRAGMA foreign_keys = ON");
  }

 private:
  Connection& connection_;
};

// ---------------------------------------------------------------- the store

class SqliteStore final : public internal::SqlAnnotationStore<internal::SqlPromptStore<Store>> {
 public:
  SqliteStore(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
              std::unique_ptr<Connection> checkpointer, int64_t wal_checkpoint_pages)
      : writer_(std::move(writer)),
        free_readers_(std::move(readers)),
        checkpointer_(std::move(checkpointer)),
        wal_checkpoint_pages_(wal_checkpoint_pages) {
    checkpoint_thread_ = std::thread([this] { RunCheckpoints(); });
  }
  ~SqliteStore() override { Close(); }

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
  // MutationStore: the SQL is in sqlite_mutations.cpp; each call holds the writer like WriteSpans.
  absl::Status UpdateProjectDescription(int64_t id, const std::optional<std::string>& description) override {
    return WithWriter<absl::Status>(
        [&](Connection& db) { return internal::SqliteUpdateProjectDescription(db, id, description); });
  }
  absl::Status DeleteProject(int64_t id) override {
    return WithWriter<absl::Status>([&](Connection& db) { return internal::SqliteDeleteProject(db, id); });
  }
  absl::Status RenameProject(int64_t id, const std::string& name) override {
    return WithWriter<absl::Status>([&](Connection& db) { return internal::SqliteRenameProject(db, id, name); });
  }
  absl::StatusOr<std::vector<std::string>> StoredSpanIds(const std::vector<std::string>& span_ids) override {
    return WithWriter<absl::StatusOr<std::vector<std::string>>>(
        [&](Connection& db) { return internal::SqliteStoredSpanIds(db, span_ids); });
  }
  absl::Status DeleteSpan(const RowKey& span) override {
    return WithWriter<absl::Status>([&](Connection& db) { return internal::SqliteDeleteSpan(db, span); });
  }
  absl::Status DeleteTrace(const RowKey& trace) override {
    return WithWriter<absl::Status>([&](Connection& db) { return internal::SqliteDeleteTrace(db, trace); });
  }
  absl::StatusOr<int64_t> DeleteSessions(const std::vector<RowKey>& sessions) override {
    return WithWriter<absl::StatusOr<int64_t>>(
        [&](Connection& db) { return internal::SqliteDeleteSessions(db, sessions); });
  }
  absl::StatusOr<TransferResult> TransferTraces(const std::vector<RowKey>& traces, int64_t destination) override {
    return WithWriter<absl::StatusOr<TransferResult>>(
        [&](Connection& db) { return internal::SqliteTransferTraces(db, traces, destination); });
  }
  absl::Status Migrate() override;
  absl::Status Ping() override;
  void Close() override;

 protected:
  absl::Status RunAnnotationRead(const AnnotationWork& work) override;
  absl::Status RunAnnotationWrite(const AnnotationWork& work) override;
  // PromptStore: prompt_sql.cpp's statements on the same connections as the annotations.
  absl::Status RunPromptRead(const PromptWork& work) override { return RunAnnotationRead(work); }
  absl::Status RunPromptWrite(const PromptWork& work) override { return RunAnnotationWrite(work); }
  Dialect dialect() const override { return Dialect::kSqlite; }
  absl::StatusOr<SqlRows> RunReadQuery(const SqlQuery& query) override {
    OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
    return RunSqliteReadQuery(*db, query);
  }

 private:
  // A read-only connection borrowed from the pool for one call; returned on destruction.
  class Lease final {
   public:
    Lease(SqliteStore* store, std::unique_ptr<Connection> connection)
        : store_(store), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept : store_(other.store_), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection_) store_->Return(std::move(connection_));
    }
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }

   private:
    SqliteStore* store_;
    std::unique_ptr<Connection> connection_;
  };

  // Blocks while every reader is busy. FAILED_PRECONDITION after Close().
  absl::StatusOr<Lease> AcquireReader();
  void Return(std::unique_ptr<Connection> connection);

  // Runs `fn` on the writer connection under writer_mu_; FAILED_PRECONDITION once closed.
  template <typename R, typename Fn>
  R WithWriter(Fn&& fn) {
    std::lock_guard lock(writer_mu_);
    if (!writer_) return Closed();
    return fn(*writer_);
  }

  // Body of WriteSpans inside the open transaction.
  absl::Status WriteLocked(Connection& db, const std::vector<SpanRow>& rows, WriteResult& result);
  absl::StatusOr<int64_t> ProjectIdForName(Connection& db, const std::string& name,
                                           std::map<std::string, int64_t>& cache);

  // Copies the WAL back into the database off the writer's path. The writer connection never
  // checkpoints (wal_autocheckpoint=0): a checkpoint of tens of MiB inside a commit was the ack-latency
  // p99. PASSIVE checkpoints run beside the writer every 200 ms; when the WAL file passes wal_checkpoint_pages_
  // one checkpoint holds the writer back briefly, so the file rewinds and stays bounded.
  void RunCheckpoints();

  std::mutex writer_mu_;
  std::unique_ptr<Connection> writer_;  // guarded by writer_mu_; null once closed

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> free_readers_;  // guarded by readers_mu_
  int readers_out_ = 0;                                    // guarded by readers_mu_
  bool closed_ = false;                                    // guarded by readers_mu_

  std::unique_ptr<Connection> checkpointer_;  // used only by checkpoint_thread_
  const int64_t wal_checkpoint_pages_;        // SqliteConfig::wal_checkpoint_bytes in 4 KiB pages
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_stop_ = false;  // guarded by checkpoint_mu_
  std::thread checkpoint_thread_;
};

// SqliteConfig::wal_checkpoint_bytes (256 MiB) sets how often the writer pauses for the locked catch-up in
// RunCheckpoints. That pause was 80-115 ms at 10k spans/s (ack p99 220-250 ms with 20 clients) until the
// thread flushed the database file after every unlocked round and ran a second unlocked round right before
// taking the lock: now 5-19 ms, most of it the two syncs of the frames that arrived meanwhile
// (bench/embedded.sh, docs/benchmarks.md). At 10k spans/s 256 MiB of WAL fills in ~4 s (each commit writes
// every page it touched, index pages included).
constexpr int64_t kPageBytes = 4096;  // SQLite's default page size, kept (ApplyPragmas)

void SqliteStore::RunCheckpoints() {
  pthread_setname_np(pthread_self(), "sqlite-ckpt");
  // SQLite syncs the database file only after a checkpoint that caught up with the writer, which under load
  // is only the locked one below; everything the unlocked ones copied waited in the OS cache for that sync
  // (80-115 ms of the writer's pause at 10k spans/s). This descriptor lets the thread flush what each
  // checkpoint copied right away, off the writer's path; fdatasync flushes the file whichever descriptor
  // wrote it.
  const char* db_file = sqlite3_db_filename(checkpointer_->handle(), "main");
  int db_fd = (db_file != nullptr && *db_file != '\0') ? ::open(db_file, O_RDONLY | O_CLOEXEC) : -1;
  int synced = 0;  // the backfill count the database file was last flushed at
  auto flush_copied = [&](int copied) {
    if (db_fd >= 0 && copied != synced) {
      (void)::fdatasync(db_fd);
      synced = copied;
    }
  };
  std::unique_lock lock(checkpoint_mu_);
  while (!checkpoint_stop_) {
    checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (checkpoint_stop_) break;
    lock.unlock();
    int wal_pages = 0;
    int copied = 0;
    int rc =
        sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
    if (rc == SQLITE_OK) flush_copied(copied);
    // The WAL file only rewinds after a checkpoint that caught up with the writer; under steady load
    // passive checkpoints never do. Once the file passes the bound, the checkpointer takes the writer
    // mutex (so the writer waits on a mutex, not in SQLite's sleeping busy handler) and copies the few
    // frames the unlocked run left; the writer's next transaction then rewinds the WAL (the comment above
    // RunCheckpoints says what that pause costs).
    if (rc == SQLITE_OK && wal_pages > wal_checkpoint_pages_) {
      // One more unlocked round first, so the locked one copies and syncs only what arrives meanwhile.
      if (sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied) ==
          SQLITE_OK) {
        flush_copied(copied);
      }
      std::lock_guard writer_lock(writer_mu_);
      if (writer_) {
        sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
    }
    lock.lock();
  }
  lock.unlock();
  // A last full checkpoint so a cleanly stopped store leaves a small WAL behind.
  sqlite3_wal_checkpoint_v2(checkpointer_->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  if (db_fd >= 0) ::close(db_fd);
}

absl::StatusOr<SqliteStore::Lease> SqliteStore::AcquireReader() {
  std::unique_lock lock(readers_mu_);
  readers_cv_.wait(lock, [this] { return closed_ || !free_readers_.empty(); });
  if (closed_) return Closed();
  std::unique_ptr<Connection> connection = std::move(free_readers_.back());
  free_readers_.pop_back();
  ++readers_out_;
  return Lease(this, std::move(connection));
}

void SqliteStore::Return(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(readers_mu_);
  --readers_out_;
  if (!closed_) free_readers_.push_back(std::move(connection));
  readers_cv_.notify_all();
}

void SqliteStore::Close() {
  {
    std::lock_guard lock(checkpoint_mu_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
  checkpointer_.reset();
  {
    std::lock_guard lock(writer_mu_);
    writer_.reset();
  }
  std::unique_lock lock(readers_mu_);
  closed_ = true;
  readers_cv_.notify_all();
  // Connections on loan are closed by their borrowers' Lease when they come back.
  readers_cv_.wait(lock, [this] { return readers_out_ == 0; });
  free_readers_.clear();
}

absl::Status SqliteStore::Migrate() {
  std::lock_guard lock(writer_mu_);
  if (!writer_) return Closed();
  SqliteMigrationTarget target(*writer_);
  return RunMigrations(target, SqliteMigrations());
}

absl::Status SqliteStore::RunAnnotationRead(const AnnotationWork& work) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  return RunSqliteAnnotationRead(*db, work);
}

absl::Status SqliteStore::RunAnnotationWrite(const AnnotationWork& work) {
  std::lock_guard lock(writer_mu_);
  if (!writer_) return Closed();
  return RunSqliteAnnotationWrite(*writer_, work);
}

absl::Status SqliteStore::Ping() {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db->Cached("SELECT 1"));
  ResetGuard reset(stmt);
  return stmt->Run();
}

// ---------------------------------------------------------------- write path

absl::StatusOr<WriteResult> SqliteStore::WriteSpans(const std::vector<const model::v1::Span*>& spans) {
  std::vector<SpanRow> rows;
  rows.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    OSPREY_ASSIGN_OR_RETURN(SpanRow row, ValidateSpan(spans[i], i));
    rows.push_back(std::move(row));
  }
  // Deterministic order: rollups are applied trace by trace, and a trace's spans by span id.
  std::stable_sort(rows.begin(), rows.end(), [](const SpanRow& a, const SpanRow& b) {
    return std::tie(a.trace_id, a.span_id) < std::tie(b.trace_id, b.span_id);
  });

  WriteResult result;
  if (rows.empty()) {
    std::lock_guard lock(writer_mu_);
    if (!writer_) return Closed();
    return result;
  }
  std::lock_guard lock(writer_mu_);
  if (!writer_) return Closed();
  OSPREY_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
  absl::Status status = WriteLocked(*writer_, rows, result);
  if (status.ok()) status = writer_->Exec("COMMIT");
  if (!status.ok()) {
    (void)writer_->Exec("ROLLBACK");
    return status;
  }
  return result;
}

absl::StatusOr<int64_t> SqliteStore::ProjectIdForName(Connection& db, const std::string& name,
                                                      std::map<std::string, int64_t>& cache) {
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  OSPREY_ASSIGN_OR_RETURN(Statement * select, db.Cached("SELECT id FROM projects WHERE name = ?"));
  ResetGuard reset_select(select);
  select->BindText(1, name);
  OSPREY_ASSIGN_OR_RETURN(bool found, select->Step());
  int64_t id = 0;
  if (found) {
    id = select->Int(0);
  } else {
    OSPREY_ASSIGN_OR_RETURN(Statement * insert,
                            db.Cached("INSERT INTO projects (name, created_at, updated_at) VALUES (?, ?, ?)"));
    ResetGuard reset_insert(insert);
    int64_t now = Now();
    insert->BindText(1, name);
    insert->BindInt(2, now);
    insert->BindInt(3, now);
    OSPREY_RETURN_IF_ERROR(insert->Run());
    id = db.LastInsertRowid();
  }
  cache.emplace(name, id);
  return id;
}

absl::Status SqliteStore::WriteLocked(Connection& db, const std::vector<SpanRow>& rows, WriteResult& result) {
  OSPREY_ASSIGN_OR_RETURN(Statement * find_trace,
                          db.Cached("SELECT id, project_id, session_rowid FROM traces WHERE trace_id = ?"));
  OSPREY_ASSIGN_OR_RETURN(
      Statement * insert_trace,
      db.Cached("INSERT INTO traces (project_id, trace_id, start_time, end_time) VALUES (?, ?, ?, ?)"));
  OSPREY_ASSIGN_OR_RETURN(
      Statement * insert_span,
      db.Cached("INSERT INTO spans (trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, "
                "end_time, status_code, status_message, session_id, user_id, llm_model_name, llm_token_count_prompt, "
                "llm_token_count_completion, llm_token_count_total, input_preview, output_preview, attributes, events, "
                "cost_prompt, cost_completion, cost_total, cost_details) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING"));

  std::map<std::string, int64_t> projects_by_name;
  std::map<std::string, TraceDelta> traces;  // by trace id: iteration order is the rollup order
  std::map<int64_t, ProjectDelta> projects;  // by project id

  // 1. Insert the spans; remember what each new one adds to its trace.
  for (const SpanRow& row : rows) {
    const model::v1::Span& span = *row.span;
    auto [it, first_of_trace] = traces.try_emplace(row.trace_id);
    TraceDelta& trace = it->second;
    if (first_of_trace) {
      ResetGuard reset(find_trace);
      find_trace->BindText(1, row.trace_id);
      OSPREY_ASSIGN_OR_RETURN(bool found, find_trace->Step());
      if (found) {
        trace.rowid = find_trace->Int(0);
        trace.project_id = find_trace->Int(1);
        trace.session_rowid = find_trace->OptionalInt(2);
      } else {
        const std::string project = span.project_name().empty() ? "default" : span.project_name();
        OSPREY_ASSIGN_OR_RETURN(trace.project_id, ProjectIdForName(db, project, projects_by_name));
        ResetGuard reset_insert(insert_trace);
        insert_trace->BindInt(1, trace.project_id);
        insert_trace->BindText(2, row.trace_id);
        insert_trace->BindInt(3, row.start);
        insert_trace->BindInt(4, row.end);
        OSPREY_RETURN_IF_ERROR(insert_trace->Run());
        trace.rowid = db.LastInsertRowid();
        trace.created = true;
      }
    }

    {
      ResetGuard reset(insert_span);
      Statement& s = *insert_span;
      s.BindInt(1, trace.rowid);
      s.BindInt(2, trace.project_id);
      s.BindTextNoCopy(3, row.span_id);
      if (row.parent_id.empty()) {
        s.BindNull(4);
      } else {
        s.BindTextNoCopy(4, row.parent_id);
      }
      s.BindTextNoCopy(5, span.name());
      s.BindTextNoCopy(6, span.span_kind().empty() ? std::string_view("UNKNOWN") : std::string_view(span.span_kind()));
      s.BindInt(7, row.start);
      s.BindInt(8, row.end);
      s.BindTextNoCopy(9, StatusName(span.status_code()));
      s.BindTextNoCopy(10, span.status_message());
      s.BindTextOrNull(11, span.session_id());
      s.BindTextOrNull(12, span.user_id());
      s.BindTextOrNull(13, span.llm_model_name());
      s.BindInt(14, span.llm_token_count_prompt());
      s.BindInt(15, span.llm_token_count_completion());
      s.BindInt(16, row.token_total);
      s.BindTextOrNull(17, span.input_preview());
      s.BindTextOrNull(18, span.output_preview());
      s.BindTextNoCopy(
          19, span.attributes_json().empty() ? std::string_view("{}") : std::string_view(span.attributes_json()));
      s.BindTextNoCopy(20, span.events_json().empty() ? std::string_view("[]") : std::string_view(span.events_json()));
      const model::v1::SpanCost& cost = span.cost();
      auto bind_cost = [&s](int index, bool has, double value) {
        if (has) {
          s.BindDouble(index, value);
        } else {
          s.BindNull(index);
        }
      };
      bind_cost(21, cost.has_prompt(), cost.prompt());
      bind_cost(22, cost.has_completion(), cost.completion());
      bind_cost(23, cost.has_total(), cost.total());
      s.BindTextOrNull(24, cost.details_json());
      OSPREY_RETURN_IF_ERROR(s.Run());
    }
    if (db.Changes() == 0) {
      ++result.duplicates;
      continue;
    }
    ++result.inserted;
    ++trace.spans;
    trace.min_start = std::min(trace.min_start, row.start);
    trace.max_end = std::max(trace.max_end, row.end);
    if (span.status_code() == model::v1::STATUS_CODE_ERROR) ++trace.errors;
    trace.tokens_prompt += span.llm_token_count_prompt();
    trace.tokens_completion += span.llm_token_count_completion();
    trace.tokens_total += row.token_total;
    trace.cost_total += span.cost().total();
    if (row.parent_id.empty() && trace.root_span_id.empty()) {  // rows are sorted: the lowest root span id
      trace.root_span_id = row.span_id;
      trace.root_span_name = span.name();
    }
    if (trace.session_id.empty() && !span.session_id().empty()) trace.session_id = span.session_id();
    int64_t& last_span_start = projects[trace.project_id].last_span_start;
    last_span_start = std::max(last_span_start, row.start);
  }

  // 2. Sessions that traces join in this write, created in session id order.
  std::map<std::string, int64_t> joined_sessions;
  for (auto& [trace_id, trace] : traces) {
    if (trace.spans > 0 && !trace.session_rowid && !trace.session_id.empty()) {
      joined_sessions.emplace(trace.session_id, 0);
    }
  }
  if (!joined_sessions.empty()) {
    OSPREY_ASSIGN_OR_RETURN(Statement * find_session, db.Cached("SELECT id FROM sessions WHERE session_id = ?"));
    OSPREY_ASSIGN_OR_RETURN(
        Statement * insert_session,
        db.Cached("INSERT INTO sessions (session_id, project_id, start_time, end_time) VALUES (?, ?, ?, ?)"));
    for (auto& [session_id, rowid] : joined_sessions) {
      ResetGuard reset(find_session);
      find_session->BindText(1, session_id);
      OSPREY_ASSIGN_OR_RETURN(bool found, find_session->Step());
      if (found) {
        rowid = find_session->Int(0);
        continue;
      }
      // A new session belongs to the project of the first trace (by trace id) that joins it; its
      // times are widened by the trace rollups below.
      const TraceDelta* first = nullptr;
      for (const auto& [trace_id, trace] : traces) {
        if (trace.spans > 0 && !trace.session_rowid && trace.session_id == session_id) {
          first = &trace;
          break;
        }
      }
      ResetGuard reset_insert(insert_session);
      insert_session->BindText(1, session_id);
      insert_session->BindInt(2, first->project_id);
      insert_session->BindInt(3, first->min_start);
      insert_session->BindInt(4, first->max_end);
      OSPREY_RETURN_IF_ERROR(insert_session->Run());
      rowid = db.LastInsertRowid();
    }
  }

  // 3. Trace rollups, in trace id order.
  OSPREY_ASSIGN_OR_RETURN(
      Statement * update_trace,
      db.Cached("UPDATE traces SET start_time = min(start_time, ?1), end_time = max(end_time, ?2), "
                "span_count = span_count + ?3, error_count = error_count + ?4, "
                "token_count_prompt = token_count_prompt + ?5, token_count_completion = token_count_completion + ?6, "
                "token_count_total = token_count_total + ?7, "
                "root_span_name = CASE WHEN ?8 IS NOT NULL AND (root_span_id IS NULL OR ?8 < root_span_id) "
                "THEN ?9 ELSE root_span_name END, "
                "root_span_id = CASE WHEN ?8 IS NOT NULL AND (root_span_id IS NULL OR ?8 < root_span_id) "
                "THEN ?8 ELSE root_span_id END, "
                "session_rowid = coalesce(session_rowid, ?10), cost_total = cost_total + ?12 "
                "WHERE id = ?11 "
                "RETURNING start_time, end_time, token_count_prompt, token_count_completion, token_count_total, "
                "error_count"));
  OSPREY_ASSIGN_OR_RETURN(Statement * delete_trace, db.Cached("DELETE FROM traces WHERE id = ?"));
  std::map<int64_t, SessionDelta> sessions;  // by row id
  for (auto& [trace_id, trace] : traces) {
    if (trace.spans == 0) {
      if (trace.created) {  // every span of a new trace was a duplicate stored under another trace
        ResetGuard reset(delete_trace);
        delete_trace->BindInt(1, trace.rowid);
        OSPREY_RETURN_IF_ERROR(delete_trace->Run());
      }
      continue;
    }
    std::optional<int64_t> joins;
    if (!trace.session_rowid && !trace.session_id.empty()) joins = joined_sessions.at(trace.session_id);
    ResetGuard reset(update_trace);
    Statement& u = *update_trace;
    u.BindInt(1, trace.min_start);
    u.BindInt(2, trace.max_end);
    u.BindInt(3, trace.spans);
    u.BindInt(4, trace.errors);
    u.BindInt(5, trace.tokens_prompt);
    u.BindInt(6, trace.tokens_completion);
    u.BindInt(7, trace.tokens_total);
    if (trace.root_span_id.empty()) {
      u.BindNull(8);
      u.BindNull(9);
    } else {
      u.BindTextNoCopy(8, trace.root_span_id);
      u.BindTextNoCopy(9, trace.root_span_name);
    }
    if (joins) {
      u.BindInt(10, *joins);
    } else {
      u.BindNull(10);
    }
    u.BindInt(11, trace.rowid);
    u.BindDouble(12, trace.cost_total);
    OSPREY_ASSIGN_OR_RETURN(bool row, u.Step());
    if (!row) return base::Permanent(absl::StatusCode::kInternal, "trace row vanished: " + trace_id);
    internal::AddWrittenTrace(projects[trace.project_id].totals, trace, u.Int(5));
    if (trace.session_rowid) {
      SessionDelta& delta = sessions[*trace.session_rowid];
      delta.min_start = std::min(delta.min_start, u.Int(0));
      delta.max_end = std::max(delta.max_end, u.Int(1));
      delta.tokens_prompt += trace.tokens_prompt;
      delta.tokens_completion += trace.tokens_completion;
      delta.tokens_total += trace.tokens_total;
    } else if (joins) {  // the whole trace, including spans stored before, joins the session
      SessionDelta& delta = sessions[*joins];
      delta.min_start = std::min(delta.min_start, u.Int(0));
      delta.max_end = std::max(delta.max_end, u.Int(1));
      delta.traces += 1;
      delta.tokens_prompt += u.Int(2);
      delta.tokens_completion += u.Int(3);
      delta.tokens_total += u.Int(4);
    }
    OSPREY_RETURN_IF_ERROR(u.Run());
  }

  // 4. Session rollups, in row id order.
  if (!sessions.empty()) {
    OSPREY_ASSIGN_OR_RETURN(
        Statement * update_session,
        db.Cached("UPDATE sessions SET start_time = min(start_time, ?), end_time = max(end_time, ?), "
                  "trace_count = trace_count + ?, token_count_prompt = token_count_prompt + ?, "
                  "token_count_completion = token_count_completion + ?, token_count_total = token_count_total + ? "
                  "WHERE id = ?"));
    for (const auto& [rowid, delta] : sessions) {
      ResetGuard reset(update_session);
      update_session->BindInt(1, delta.min_start);
      update_session->BindInt(2, delta.max_end);
      update_session->BindInt(3, delta.traces);
      update_session->BindInt(4, delta.tokens_prompt);
      update_session->BindInt(5, delta.tokens_completion);
      update_session->BindInt(6, delta.tokens_total);
      update_session->BindInt(7, rowid);
      OSPREY_RETURN_IF_ERROR(update_session->Run());
    }
  }

  // 5. Project activity and rollups, in project id order.
  if (!projects.empty()) {
    OSPREY_ASSIGN_OR_RETURN(
        Statement * update_project,
        db.Cached("UPDATE projects SET last_span_at = max(coalesce(last_span_at, ?2), ?2), "
                  "trace_count = trace_count + ?3, span_count = span_count + ?4, "
                  "error_trace_count = error_trace_count + ?5, token_count_prompt = token_count_prompt + ?6, "
                  "token_count_completion = token_count_completion + ?7, token_count_total = token_count_total + ?8, "
                  "cost_total = cost_total + ?9 WHERE id = ?1"));
    for (const auto& [project_id, delta] : projects) {
      const internal::ProjectTotals& t = delta.totals;
      ResetGuard reset(update_project);
      update_project->BindInt(1, project_id);
      update_project->BindInt(2, delta.last_span_start);
      update_project->BindInt(3, t.traces);
      update_project->BindInt(4, t.spans);
      update_project->BindInt(5, t.error_traces);
      update_project->BindInt(6, t.tokens_prompt);
      update_project->BindInt(7, t.tokens_completion);
      update_project->BindInt(8, t.tokens_total);
      update_project->BindDouble(9, t.cost);
      OSPREY_RETURN_IF_ERROR(update_project->Run());
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- read path

absl::StatusOr<Page<SpanRecord>> SqliteStore::ListSpans(const SpanQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  // With trace ids, `+` keeps the planner off the project index: without statistics (the store runs no
  // ANALYZE) it walked every span of the project instead of the trace index (605 ms vs 1 ms at 1M spans).
  Query q(std::string("SELECT ") + kSpanColumns +
          (query.trace_ids.empty() ? " WHERE s.project_id = " : " WHERE +s.project_id = "));
  q.Arg(query.project_id);
  if (query.start_time_ns) q.Sql(" AND s.start_time >= ").Arg(*query.start_time_ns);
  if (query.end_time_ns) q.Sql(" AND s.start_time < ").Arg(*query.end_time_ns);
  if (!query.trace_ids.empty()) {
    q.Sql(" AND s.trace_rowid IN (SELECT id FROM traces WHERE 1");
    q.AndIn("trace_id", LowerAll(query.trace_ids));
    q.Sql(")");
  }
  if (!query.span_ids.empty()) {
    q.AndIn("s.span_id", LowerAll(query.span_ids));
    q.Sql(" AND " + SpanIdProbe(Dialect::kSqlite, "s"));
  }
  if (query.parent_id) {
    if (query.parent_id->empty()) {
      q.Sql(" AND s.parent_id IS NULL");
    } else {
      q.Sql(" AND s.parent_id = ").Arg(absl::AsciiStrToLower(*query.parent_id));
    }
  }
  if (!query.names.empty()) q.AndIn("s.name", query.names);
  if (!query.span_kinds.empty()) q.AndIn("s.span_kind", query.span_kinds);
  if (!query.status_codes.empty()) q.AndIn("s.status_code", query.status_codes);
  for (const AttributeFilter& filter : query.attributes) {
    if (filter.path.empty()) return Invalid("attribute filter with an empty key");
    if (const std::string* model = LiftedModelNameFilter(filter.path, filter.value)) {
      q.Sql(" AND s.llm_model_name = ").Arg(*model);
      continue;
    }
    std::optional<std::string> path = JsonPath(filter.path);
    if (!path) {  // a key SQLite cannot address matches no stored attribute
      q.Sql(" AND 0");
      continue;
    }
    std::visit(
        [&](const auto& value) {
          using T = std::decay_t<decltype(value)>;
          if constexpr (std::is_same_v<T, bool>) {
            q.Sql(" AND json_type(s.attributes, ").Arg(*path).Sql(") = ").Arg(std::string(value ? "true" : "false"));
          } else if constexpr (std::is_same_v<T, std::string>) {
            q.Sql(" AND json_type(s.attributes, ").Arg(*path).Sql(") = 'text'");
            q.Sql(" AND json_extract(s.attributes, ").Arg(*path).Sql(") = ").Arg(value);
          } else {  // int64_t or double: numeric equality with a stored integer or real
            q.Sql(" AND json_type(s.attributes, ").Arg(*path).Sql(") IN ('integer', 'real')");
            q.Sql(" AND json_extract(s.attributes, ").Arg(*path).Sql(") = ").Arg(value);
          }
        },
        filter.value);
  }
  if (query.cursor_id) q.Sql(" AND s.id <= ").Arg(*query.cursor_id);
  q.Sql(" ORDER BY s.id DESC LIMIT ").Arg(static_cast<int64_t>(query.limit) + 1);

  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(auto stmt, q.Prepare(*db));
  return ReadPage<SpanRecord>(*stmt, query.limit, ReadSpan);
}

absl::StatusOr<Page<TraceRecord>> SqliteStore::ListTraces(const TraceQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  if (query.require_session && query.session_rowids.empty()) {
    OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());  // still fail after Close()
    return Page<TraceRecord>{};
  }
  // The key expressions match the index definitions so the keyset walks an index.
  const std::string key = query.sort == TraceSort::kLatency ? "(t.end_time - t.start_time)" : "t.start_time";
  const bool desc = query.order == Order::kDesc;

  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  Query q(std::string("SELECT ") + kTraceColumns + " WHERE t.project_id = ");
  q.Arg(query.project_id);
  if (query.start_time_ns) q.Sql(" AND t.start_time >= ").Arg(*query.start_time_ns);
  if (query.end_time_ns) q.Sql(" AND t.start_time < ").Arg(*query.end_time_ns);
  if (!query.session_rowids.empty()) q.AndIn("t.session_rowid", query.session_rowids);
  if (query.cursor_id) {
    OSPREY_ASSIGN_OR_RETURN(Statement * cursor, db->Cached("SELECT start_time, end_time FROM traces WHERE id = ?"));
    ResetGuard reset(cursor);
    cursor->BindInt(1, *query.cursor_id);
    OSPREY_ASSIGN_OR_RETURN(bool found, cursor->Step());
    if (!found) return Invalid("trace cursor " + std::to_string(*query.cursor_id) + " does not exist");
    int64_t cursor_key = query.sort == TraceSort::kLatency ? cursor->Int(1) - cursor->Int(0) : cursor->Int(0);
    q.Sql(" AND (" + key + ", t.id) " + (desc ? "<=" : ">=") + " (").Arg(cursor_key).Sql(", ");
    q.Arg(*query.cursor_id).Sql(")");
  }
  const std::string direction = desc ? " DESC" : " ASC";
  q.Sql(" ORDER BY " + key + direction + ", t.id" + direction + " LIMIT ").Arg(static_cast<int64_t>(query.limit) + 1);
  OSPREY_ASSIGN_OR_RETURN(auto stmt, q.Prepare(*db));
  return ReadPage<TraceRecord>(*stmt, query.limit, ReadTrace);
}

absl::StatusOr<std::vector<SpanRecord>> SqliteStore::SpansOfTraces(const std::vector<int64_t>& trace_rowids) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  if (trace_rowids.empty()) return std::vector<SpanRecord>{};
  Query q(std::string("SELECT ") + kSpanColumns + " WHERE 1");
  q.AndIn("s.trace_rowid", trace_rowids);
  q.Sql(" ORDER BY s.start_time, s.id");
  OSPREY_ASSIGN_OR_RETURN(auto stmt, q.Prepare(*db));
  return ReadAll<SpanRecord>(*stmt, ReadSpan);
}

absl::StatusOr<std::optional<TraceRecord>> SqliteStore::GetTraceById(int64_t id) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db->Cached(std::string("SELECT ") + kTraceColumns + " WHERE t.id = ?"));
  ResetGuard reset(stmt);
  stmt->BindInt(1, id);
  return ReadOne<TraceRecord>(*stmt, ReadTrace);
}

absl::StatusOr<std::optional<TraceRecord>> SqliteStore::GetTraceByTraceId(const std::string& trace_id_hex) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt,
                          db->Cached(std::string("SELECT ") + kTraceColumns + " WHERE t.trace_id = ?"));
  ResetGuard reset(stmt);
  stmt->BindText(1, absl::AsciiStrToLower(trace_id_hex));
  return ReadOne<TraceRecord>(*stmt, ReadTrace);
}

absl::StatusOr<Page<SessionRecord>> SqliteStore::ListSessions(const SessionQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  const bool desc = query.order == Order::kDesc;
  Query q(std::string("SELECT ") + kSessionColumns + " WHERE project_id = ");
  q.Arg(query.project_id);
  if (query.cursor_id) q.Sql(desc ? " AND id <= " : " AND id >= ").Arg(*query.cursor_id);
  q.Sql(desc ? " ORDER BY id DESC" : " ORDER BY id ASC").Sql(" LIMIT ").Arg(static_cast<int64_t>(query.limit) + 1);
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(auto stmt, q.Prepare(*db));
  return ReadPage<SessionRecord>(*stmt, query.limit, ReadSession);
}

absl::StatusOr<std::optional<SessionRecord>> SqliteStore::GetSessionById(int64_t id) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db->Cached(std::string("SELECT ") + kSessionColumns + " WHERE id = ?"));
  ResetGuard reset(stmt);
  stmt->BindInt(1, id);
  return ReadOne<SessionRecord>(*stmt, ReadSession);
}

absl::StatusOr<std::optional<SessionRecord>> SqliteStore::GetSessionBySessionId(const std::string& session_id) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt,
                          db->Cached(std::string("SELECT ") + kSessionColumns + " WHERE session_id = ?"));
  ResetGuard reset(stmt);
  stmt->BindText(1, session_id);
  return ReadOne<SessionRecord>(*stmt, ReadSession);
}

absl::StatusOr<std::vector<TraceRecord>> SqliteStore::TracesOfSession(int64_t session_rowid) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db->Cached(std::string("SELECT ") + kTraceColumns +
                                                       " WHERE t.session_rowid = ? ORDER BY t.start_time, t.id"));
  ResetGuard reset(stmt);
  stmt->BindInt(1, session_rowid);
  return ReadAll<TraceRecord>(*stmt, ReadTrace);
}

absl::StatusOr<Page<ProjectRecord>> SqliteStore::ListProjects(const ProjectQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  Query q(std::string("SELECT ") + kProjectColumns + " WHERE 1");
  if (query.cursor_id) q.Sql(" AND id <= ").Arg(*query.cursor_id);
  if (query.name_contains) {
    std::string pattern = "%";
    for (char c : *query.name_contains) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    // LIKE is case-insensitive for ASCII letters.
    q.Sql(" AND name LIKE ").Arg(pattern).Sql(" ESCAPE '\\'");
  }
  q.Sql(" ORDER BY id DESC LIMIT ").Arg(static_cast<int64_t>(query.limit) + 1);
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(auto stmt, q.Prepare(*db));
  return ReadPage<ProjectRecord>(*stmt, query.limit, ReadProject);
}

absl::StatusOr<std::optional<ProjectRecord>> SqliteStore::GetProjectById(int64_t id) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db->Cached(std::string("SELECT ") + kProjectColumns + " WHERE id = ?"));
  ResetGuard reset(stmt);
  stmt->BindInt(1, id);
  return ReadOne<ProjectRecord>(*stmt, ReadProject);
}

absl::StatusOr<std::optional<ProjectRecord>> SqliteStore::GetProjectByName(const std::string& name) {
  OSPREY_ASSIGN_OR_RETURN(Lease db, AcquireReader());
  OSPREY_ASSIGN_OR_RETURN(Statement * stmt, db->Cached(std::string("SELECT ") + kProjectColumns + " WHERE name = ?"));
  ResetGuard reset(stmt);
  stmt->BindText(1, name);
  return ReadOne<ProjectRecord>(*stmt, ReadProject);
}

absl::StatusOr<ProjectRecord> SqliteStore::CreateProject(const std::string& name,
                                                         const std::optional<std::string>& description) {
  if (name.empty()) return Invalid("project name must not be empty");
  std::lock_guard lock(writer_mu_);
  if (!writer_) return Closed();
  OSPREY_ASSIGN_OR_RETURN(
      Statement * stmt,
      writer_->Cached("INSERT INTO projects (name, description, created_at, updated_at) VALUES (?, ?, ?, ?) "
                      "ON CONFLICT (name) DO NOTHING"));
  ResetGuard reset(stmt);
  ProjectRecord record;
  record.name = name;
  record.description = description;
  record.created_at_ns = record.updated_at_ns = Now();
  stmt->BindText(1, name);
  if (description) {
    stmt->BindText(2, *description);
  } else {
    stmt->BindNull(2);
  }
  stmt->BindInt(3, record.created_at_ns);
  stmt->BindInt(4, record.updated_at_ns);
  OSPREY_RETURN_IF_ERROR(stmt->Run());
  if (writer_->Changes() == 0) {
    return base::Permanent(absl::StatusCode::kAlreadyExists, "project \"" + name + "\" already exists");
  }
  record.id = writer_->LastInsertRowid();
  return record;
}

// ---------------------------------------------------------------- opening

absl::Status ApplyPragmas(Connection& connection, const SqliteConfig& config, bool writer) {
  sqlite3_busy_timeout(connection.handle(), config.busy_timeout_ms);
  if (writer) {
    // The page size stays SQLite's 4 KiB: 16 KiB pages were faster per CPU-second in store_write_bench but
    // doubled the end-to-end ack p99 in bench/embedded.sh (~195 vs ~101 ms at max rate, two A/B pairs;
    // docs/benchmarks.md): each random index insert then writes a 16 KiB WAL frame.
    OSPREY_ASSIGN_OR_RETURN(std::string mode, connection.QueryPragma("journal_mode = WAL"));
    if (absl::AsciiStrToLower(mode) != "wal") {
      return base::Permanent(absl::StatusCode::kFailedPrecondition,
                             "cannot enable WAL journal mode on " + config.path + " (got \"" + mode + "\")");
    }
  }
  OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA synchronous = " + absl::AsciiStrToUpper(config.synchronous)));
  OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA foreign_keys = ON"));
  // The writer's inserts land at random places in the span_id and trace_id indexes; a large cache and
  // memory-mapped reads keep those lookups out of read() syscalls as the database grows.
  OSPREY_RETURN_IF_ERROR(connection.Exec(writer ? "PRAGMA cache_size = -262144" : "PRAGMA cache_size = -16384"));
  OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA mmap_size = 1073741824"));
  OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA temp_store = MEMORY"));
  // The writer never checkpoints; SqliteStore::RunCheckpoints does, on its own connection.
  if (writer) OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA wal_autocheckpoint = 0"));
  // When the WAL rewinds, the file keeps its size up to the bound plus 64 MiB: trimming it to 64 MiB on
  // every rewind made that commit free ~200 MiB of blocks, a 100 ms stall on this machine's disk.
  if (writer) {
    int64_t keep = config.wal_checkpoint_bytes + (int64_t{64} << 20);
    OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA journal_size_limit = " + std::to_string(keep)));
  }
  if (!writer) OSPREY_RETURN_IF_ERROR(connection.Exec("PRAGMA query_only = ON"));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateSqliteConfig(const SqliteConfig& config) {
  if (config.path.empty()) return Invalid("sqlite: path must not be empty");
  if (config.synchronous != "normal" && config.synchronous != "full") {
    return Invalid("sqlite: synchronous must be \"normal\" or \"full\", got \"" + config.synchronous + "\"");
  }
  if (config.read_connections < 1) return Invalid("sqlite: read_connections must be at least 1");
  if (config.busy_timeout_ms < 0) return Invalid("sqlite: busy_timeout_ms must not be negative");
  if (config.wal_checkpoint_bytes < (int64_t{1} << 20)) {
    return Invalid("sqlite: wal_checkpoint_bytes must be at least 1 MiB");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const SqliteConfig& config) {
  OSPREY_RETURN_IF_ERROR(ValidateSqliteConfig(config));

  auto writer = Connection::Open(config.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!writer.ok()) {
    return base::Permanent(absl::StatusCode::kFailedPrecondition, std::string(writer.status().message()));
  }
  OSPREY_RETURN_IF_ERROR(ApplyPragmas(**writer, config, /*writer=*/true));
  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < config.read_connections; ++i) {
    OSPREY_ASSIGN_OR_RETURN(auto reader, Connection::Open(config.path, SQLITE_OPEN_READWRITE));
    OSPREY_RETURN_IF_ERROR(ApplyPragmas(*reader, config, /*writer=*/false));
    readers.push_back(std::move(reader));
  }
  OSPREY_ASSIGN_OR_RETURN(auto checkpointer, Connection::Open(config.path, SQLITE_OPEN_READWRITE));
  sqlite3_busy_timeout(checkpointer->handle(), config.busy_timeout_ms);
  OSPREY_RETURN_IF_ERROR(checkpointer->Exec("PRAGMA synchronous = " + absl::AsciiStrToUpper(config.synchronous)));
  return std::unique_ptr<Store>(new SqliteStore(std::move(*writer), std::move(readers), std::move(checkpointer),
                                                config.wal_checkpoint_bytes / kPageBytes));
}

}  // namespace osprey::store
