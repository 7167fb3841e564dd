#pragma once

// The AnnotationStore logic, written once for both dialects: the SQL is built with a dialect-aware
// builder (SQLite `?`, Postgres `$n::type`), every user value travels as a bound parameter, and the
// statements run through a small executor that sqlite_annotations.cpp / postgres_annotations.cpp
// implement over one connection (the caller owns the transaction).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/base/time.hpp"
#include "osprey/store/annotations.hpp"
#include "osprey/store/store.hpp"

namespace osprey::store::internal {

using osprey::store::Dialect;

// A bound value: NULL, integer, double or text (`type` is the Postgres cast, ignored by SQLite).
struct SqlArg {
  std::variant<std::monostate, int64_t, double, std::string> value;
  std::string_view type;
};

class SqlBuilder final {
 public:
  explicit SqlBuilder(Dialect dialect) : dialect_(dialect) {}
  SqlBuilder& Sql(std::string_view fragment) {
    sql_ += fragment;
    return *this;
  }
  SqlBuilder& Int(int64_t value) { return Arg({value, "bigint"}); }
  SqlBuilder& Double(double value) { return Arg({value, "double precision"}); }
  SqlBuilder& Str(std::string value) { return Arg({std::move(value), "text"}); }
  SqlBuilder& OptStr(const std::optional<std::string>& value);
  SqlBuilder& OptDouble(const std::optional<double>& value);
  SqlBuilder& OptInt(const std::optional<int64_t>& value);
  SqlBuilder& Json(std::string value) { return Arg({std::move(value), "jsonb"}); }
  // "<column> IN (...)" over text values; never empty (the caller checks).
  SqlBuilder& InStrs(std::string_view column, const std::vector<std::string>& values);
  SqlBuilder& InInts(std::string_view column, const std::vector<int64_t>& values);

  Dialect dialect() const { return dialect_; }
  const std::string& sql() const { return sql_; }
  const std::vector<SqlArg>& args() const { return args_; }

 private:
  SqlBuilder& Arg(SqlArg arg);

  Dialect dialect_;
  std::string sql_;
  std::vector<SqlArg> args_;
};

// One result row. SQLite fills typed cells; Postgres fills text (or NULL) that the accessors parse.
struct SqlRow {
  std::vector<std::variant<std::monostate, int64_t, double, std::string>> cells;

  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(cells[i]); }
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  std::string Text(size_t i) const;
  std::optional<int64_t> OptInt(size_t i) const;
  std::optional<double> OptDouble(size_t i) const;
  std::optional<std::string> OptText(size_t i) const;
};

// Runs one statement on the caller's connection (inside the caller's transaction, if any) and
// returns its rows. Errors are the dialect's Status mapping (the Postgres one throws pqxx errors,
// translated by the store's Guard).
class SqlExecutor {
 public:
  virtual ~SqlExecutor() = default;
  virtual absl::StatusOr<std::vector<SqlRow>> Run(const SqlBuilder& query) = 0;
  virtual Dialect dialect() const = 0;
};

// The AnnotationStore operations over an executor. The write operations expect the executor to be
// inside one transaction that the caller commits when they return OK and rolls back otherwise.
absl::StatusOr<UpsertAnnotationsResult> UpsertAnnotations(SqlExecutor& db, AnnotationKind kind,
                                                          const std::vector<AnnotationInput>& items,
                                                          bool require_all_targets, int64_t now_ns);
absl::StatusOr<Page<AnnotationRecord>> ListAnnotations(SqlExecutor& db, const AnnotationQuery& query);
absl::StatusOr<bool> AnyAnnotationTargetExists(SqlExecutor& db, AnnotationKind kind, int64_t project_id,
                                               const std::vector<std::string>& targets);
absl::StatusOr<int64_t> DeleteAnnotations(SqlExecutor& db, const AnnotationDeleteFilter& filter);

absl::StatusOr<Page<AnnotationConfigRecord>> ListAnnotationConfigs(SqlExecutor& db, std::optional<int64_t> project_id,
                                                                  std::optional<int64_t> cursor_id, int limit);
absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigById(SqlExecutor& db, int64_t id);
absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigByName(SqlExecutor& db,
                                                                                const std::string& name);
absl::StatusOr<AnnotationConfigRecord> CreateAnnotationConfig(SqlExecutor& db, const AnnotationConfigRecord& config);
absl::StatusOr<AnnotationConfigRecord> UpdateAnnotationConfig(SqlExecutor& db, const AnnotationConfigRecord& config);
absl::StatusOr<std::optional<AnnotationConfigRecord>> DeleteAnnotationConfig(SqlExecutor& db, int64_t id);
absl::Status AssignAnnotationConfig(SqlExecutor& db, int64_t project_id, int64_t config_id);
absl::StatusOr<bool> UnassignAnnotationConfig(SqlExecutor& db, int64_t project_id, int64_t config_id);
absl::Status SetProjectAnnotationConfigs(SqlExecutor& db, int64_t project_id, const std::vector<int64_t>& config_ids);

// Every AnnotationStore method of a Store, implemented over two hooks the concrete store provides:
//   class SqliteStore final : public internal::SqlAnnotationStore<Store> { ... RunAnnotationRead/Write ... };
template <typename Base>
class SqlAnnotationStore : public Base {
 public:
  absl::StatusOr<UpsertAnnotationsResult> UpsertAnnotations(AnnotationKind kind, const std::vector<AnnotationInput>& items,
                                                            bool require_all_targets) override {
    const auto now = static_cast<int64_t>(base::NowUnixNanos());
    return Write<UpsertAnnotationsResult>(
        [&](SqlExecutor& db) { return internal::UpsertAnnotations(db, kind, items, require_all_targets, now); });
  }
  absl::StatusOr<Page<AnnotationRecord>> ListAnnotations(const AnnotationQuery& query) override {
    return Read<Page<AnnotationRecord>>([&](SqlExecutor& db) { return internal::ListAnnotations(db, query); });
  }
  absl::StatusOr<bool> AnyAnnotationTargetExists(AnnotationKind kind, int64_t project_id,
                                                 const std::vector<std::string>& targets) override {
    return Read<bool>(
        [&](SqlExecutor& db) { return internal::AnyAnnotationTargetExists(db, kind, project_id, targets); });
  }
  absl::StatusOr<int64_t> DeleteAnnotations(const AnnotationDeleteFilter& filter) override {
    return Write<int64_t>([&](SqlExecutor& db) { return internal::DeleteAnnotations(db, filter); });
  }
  absl::StatusOr<Page<AnnotationConfigRecord>> ListAnnotationConfigs(std::optional<int64_t> project_id,
                                                                    std::optional<int64_t> cursor_id,
                                                                    int limit) override {
    return Read<Page<AnnotationConfigRecord>>(
        [&](SqlExecutor& db) { return internal::ListAnnotationConfigs(db, project_id, cursor_id, limit); });
  }
  absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigById(int64_t id) override {
    return Read<std::optional<AnnotationConfigRecord>>(
        [&](SqlExecutor& db) { return internal::GetAnnotationConfigById(db, id); });
  }
  absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigByName(const std::string& name) override {
    return Read<std::optional<AnnotationConfigRecord>>(
        [&](SqlExecutor& db) { return internal::GetAnnotationConfigByName(db, name); });
  }
  absl::StatusOr<AnnotationConfigRecord> CreateAnnotationConfig(const AnnotationConfigRecord& config) override {
    return Write<AnnotationConfigRecord>([&](SqlExecutor& db) { return internal::CreateAnnotationConfig(db, config); });
  }
  absl::StatusOr<AnnotationConfigRecord> UpdateAnnotationConfig(const AnnotationConfigRecord& config) override {
    return Write<AnnotationConfigRecord>([&](SqlExecutor& db) { return internal::UpdateAnnotationConfig(db, config); });
  }
  absl::StatusOr<std::optional<AnnotationConfigRecord>> DeleteAnnotationConfig(int64_t id) override {
    return Write<std::optional<AnnotationConfigRecord>>(
        [&](SqlExecutor& db) { return internal::DeleteAnnotationConfig(db, id); });
  }
  absl::Status AssignAnnotationConfig(int64_t project_id, int64_t config_id) override {
    return RunAnnotationWrite([&](SqlExecutor& db) { return internal::AssignAnnotationConfig(db, project_id, config_id); });
  }
  absl::StatusOr<bool> UnassignAnnotationConfig(int64_t project_id, int64_t config_id) override {
    return Write<bool>([&](SqlExecutor& db) { return internal::UnassignAnnotationConfig(db, project_id, config_id); });
  }
  absl::Status SetProjectAnnotationConfigs(int64_t project_id, const std::vector<int64_t>& config_ids) override {
    return RunAnnotationWrite(
        [&](SqlExecutor& db) { return internal::SetProjectAnnotationConfigs(db, project_id, config_ids); });
  }

 protected:
  using AnnotationWork = std::function<absl::Status(SqlExecutor&)>;
  // Runs `work` on one read connection.
  virtual absl::Status RunAnnotationRead(const AnnotationWork& work) = 0;
  // Runs `work` inside one write transaction, committed when `work` returns OK, rolled back otherwise.
  virtual absl::Status RunAnnotationWrite(const AnnotationWork& work) = 0;

 private:
  template <typename T, typename Fn>
  static absl::StatusOr<T> Capture(const std::function<absl::Status(const AnnotationWork&)>& run, Fn fn) {
    std::optional<T> out;
    absl::Status status = run([&](SqlExecutor& db) -> absl::Status {
      absl::StatusOr<T> result = fn(db);
      if (!result.ok()) return result.status();
      out = std::move(*result);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return std::move(*out);
  }
  template <typename T, typename Fn>
  absl::StatusOr<T> Read(Fn fn) {
    return Capture<T>([this](const AnnotationWork& work) { return RunAnnotationRead(work); }, fn);
  }
  template <typename T, typename Fn>
  absl::StatusOr<T> Write(Fn fn) {
    return Capture<T>([this](const AnnotationWork& work) { return RunAnnotationWrite(work); }, fn);
  }
};

}  // namespace osprey::store::internal
