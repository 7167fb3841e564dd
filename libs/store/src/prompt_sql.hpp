#pragma once

// The PromptStore logic, written once for both dialects over annotation_sql.hpp's builder and executor
// (every user value is a bound parameter). Each store supplies the connection and the transaction
// through two hooks, like SqlAnnotationStore:
//   class SqliteStore final : public internal::SqlAnnotationStore<internal::SqlPromptStore<Store>> {
//     ... RunPromptRead/Write ... };

#include <functional>

#include "annotation_sql.hpp"
#include "osprey/store/prompts.hpp"

namespace osprey::store::internal {

// The write operations expect the executor to be inside one transaction that the caller commits when
// they return OK and rolls back otherwise.
absl::StatusOr<CreatePromptVersionResult> CreatePromptVersion(SqlExecutor& db, const CreatePromptVersionInput& input,
                                                              int64_t now_ns);
absl::StatusOr<std::optional<PromptRecord>> GetPromptById(SqlExecutor& db, int64_t id);
absl::StatusOr<std::optional<PromptRecord>> GetPromptByName(SqlExecutor& db, const std::string& name);
absl::StatusOr<Page<PromptRecord>> ListPrompts(SqlExecutor& db, std::optional<int64_t> cursor_id, int limit);
absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersion(SqlExecutor& db, int64_t version_id);
absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersionByTag(SqlExecutor& db, int64_t prompt_id,
                                                                        const std::string& tag_name);
absl::StatusOr<std::optional<PromptVersionRecord>> GetLatestPromptVersion(SqlExecutor& db, int64_t prompt_id);
absl::StatusOr<Page<PromptVersionRecord>> ListPromptVersions(SqlExecutor& db, int64_t prompt_id,
                                                           std::optional<int64_t> cursor_id, int limit);
absl::StatusOr<Page<PromptTagRecord>> ListPromptTags(SqlExecutor& db, const PromptTagQuery& query);
absl::StatusOr<PromptTagRecord> SetPromptTag(SqlExecutor& db, int64_t version_id, const std::string& name,
                                             const std::optional<std::string>& description);
absl::StatusOr<bool> DeletePromptTag(SqlExecutor& db, int64_t version_id, const std::string& name);
absl::StatusOr<PromptRecord> PatchPrompt(SqlExecutor& db, int64_t id, const PromptPatch& patch, int64_t now_ns);
absl::StatusOr<bool> DeletePrompt(SqlExecutor& db, int64_t id);

// Every PromptStore method of a Store over two hooks the concrete store provides.
template <typename Base>
class SqlPromptStore : public Base {
 public:
  absl::StatusOr<CreatePromptVersionResult> CreatePromptVersion(const CreatePromptVersionInput& input) override {
    const auto now = static_cast<int64_t>(base::NowUnixNanos());
    return Run<CreatePromptVersionResult>(true, [&](SqlExecutor& db) { return internal::CreatePromptVersion(db, input, now); });
  }
  absl::StatusOr<std::optional<PromptRecord>> GetPromptById(int64_t id) override {
    return Run<std::optional<PromptRecord>>(false, [&](SqlExecutor& db) { return internal::GetPromptById(db, id); });
  }
  absl::StatusOr<std::optional<PromptRecord>> GetPromptByName(const std::string& name) override {
    return Run<std::optional<PromptRecord>>(false, [&](SqlExecutor& db) { return internal::GetPromptByName(db, name); });
  }
  absl::StatusOr<Page<PromptRecord>> ListPrompts(std::optional<int64_t> cursor_id, int limit) override {
    return Run<Page<PromptRecord>>(false, [&](SqlExecutor& db) { return internal::ListPrompts(db, cursor_id, limit); });
  }
  absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersion(int64_t version_id) override {
    return Run<std::optional<PromptVersionRecord>>(
        false, [&](SqlExecutor& db) { return internal::GetPromptVersion(db, version_id); });
  }
  absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersionByTag(int64_t prompt_id,
                                                                          const std::string& tag_name) override {
    return Run<std::optional<PromptVersionRecord>>(
        false, [&](SqlExecutor& db) { return internal::GetPromptVersionByTag(db, prompt_id, tag_name); });
  }
  absl::StatusOr<std::optional<PromptVersionRecord>> GetLatestPromptVersion(int64_t prompt_id) override {
    return Run<std::optional<PromptVersionRecord>>(
        false, [&](SqlExecutor& db) { return internal::GetLatestPromptVersion(db, prompt_id); });
  }
  absl::StatusOr<Page<PromptVersionRecord>> ListPromptVersions(int64_t prompt_id, std::optional<int64_t> cursor_id,
                                                             int limit) override {
    return Run<Page<PromptVersionRecord>>(
        false, [&](SqlExecutor& db) { return internal::ListPromptVersions(db, prompt_id, cursor_id, limit); });
  }
  absl::StatusOr<Page<PromptTagRecord>> ListPromptTags(const PromptTagQuery& query) override {
    return Run<Page<PromptTagRecord>>(false, [&](SqlExecutor& db) { return internal::ListPromptTags(db, query); });
  }
  absl::StatusOr<PromptTagRecord> SetPromptTag(int64_t version_id, const std::string& name,
                                               const std::optional<std::string>& description) override {
    return Run<PromptTagRecord>(
        true, [&](SqlExecutor& db) { return internal::SetPromptTag(db, version_id, name, description); });
  }
  absl::StatusOr<bool> DeletePromptTag(int64_t version_id, const std::string& name) override {
    return Run<bool>(true, [&](SqlExecutor& db) { return internal::DeletePromptTag(db, version_id, name); });
  }
  absl::StatusOr<PromptRecord> PatchPrompt(int64_t id, const PromptPatch& patch) override {
    const auto now = static_cast<int64_t>(base::NowUnixNanos());
    return Run<PromptRecord>(true, [&](SqlExecutor& db) { return internal::PatchPrompt(db, id, patch, now); });
  }
  absl::StatusOr<bool> DeletePrompt(int64_t id) override {
    return Run<bool>(true, [&](SqlExecutor& db) { return internal::DeletePrompt(db, id); });
  }

 protected:
  using PromptWork = std::function<absl::Status(SqlExecutor&)>;
  // Runs `work` on one read connection.
  virtual absl::Status RunPromptRead(const PromptWork& work) = 0;
  // Runs `work` inside one write transaction, committed when `work` returns OK, rolled back otherwise.
  virtual absl::Status RunPromptWrite(const PromptWork& work) = 0;

 private:
  template <typename T, typename Fn>
  absl::StatusOr<T> Run(bool write, Fn fn) {
    std::optional<T> out;
    const PromptWork work = [&](SqlExecutor& db) -> absl::Status {
      absl::StatusOr<T> result = fn(db);
      if (!result.ok()) return result.status();
      out = std::move(*result);
      return absl::OkStatus();
    };
    absl::Status status = write ? RunPromptWrite(work) : RunPromptRead(work);
    if (!status.ok()) return status;
    return std::move(*out);
  }
};

}  // namespace osprey::store::internal
