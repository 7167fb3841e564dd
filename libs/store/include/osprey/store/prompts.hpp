#pragma once

// The prompt part of the Store seam: named prompts, their immutable versions and moving tags (Phoenix's
// prompt model, reference §8). Every Store implements it (migration 0004); the conformance cases are in
// libs/store/testing (prompts_conformance.hpp). The service over it is services/prompt-registry.
//
// The store keeps the version payloads (template, invocation parameters, tools, response format) and the
// prompt metadata as opaque JSON text, byte for byte; validating them is the registry's job
// (libs/prompts). The store refuses only what it cannot hold (text that is not UTF-8 or contains NUL)
// with INVALID_ARGUMENT.
//
// Ids: prompts and versions get increasing ids that are never reused, even after deletes, so "latest"
// is the version with the highest id and an old id never names a new row.
//
// Thread safety: every method may be called from any thread. Writes are synchronous and durable on OK
// (one transaction per call).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace osprey::store {

template <typename T>
struct Page;

struct PromptRecord {
  int64_t id = 0;
  std::string name;  // unique
  std::optional<std::string> description;
  std::string metadata_json = "{}";  // a JSON object
  std::optional<int64_t> source_prompt_id;
  int64_t created_at_ns = 0;
  int64_t updated_at_ns = 0;  // creation, patch, or the last version added
  int64_t version_count = 0;
  std::optional<int64_t> latest_version_id;  // highest version id
};

struct PromptVersionRecord {
  int64_t id = 0;
  int64_t prompt_id = 0;
  std::optional<std::string> description;
  std::string model_provider;  // OPENAI, ANTHROPIC, ...
  std::string model_name;
  std::string template_type;    // "CHAT" | "STR"
  std::string template_format;  // "MUSTACHE" | "F_STRING" | "NONE"
  std::string template_json;
  std::string invocation_parameters_json;
  std::optional<std::string> tools_json;
  std::optional<std::string> response_format_json;
  int64_t created_at_ns = 0;
};

struct PromptTagRecord {
  int64_t id = 0;
  std::string name;  // unique per prompt
  std::optional<std::string> description;
  int64_t prompt_id = 0;
  int64_t prompt_version_id = 0;
};

struct CreatePromptVersionInput {
  std::string name;
  // Used only when the prompt is created by this call; an existing prompt keeps its own (as Phoenix).
  std::optional<std::string> description;
  std::string metadata_json = "{}";
  std::optional<int64_t> source_prompt_id;  // must name an existing prompt (NOT_FOUND otherwise)
  // ALREADY_EXISTS (nothing written) when the name is taken, instead of adding a version.
  bool fail_if_exists = false;
  PromptVersionRecord version;  // id, prompt_id and created_at_ns are ignored
};

struct CreatePromptVersionResult {
  PromptRecord prompt;  // after the version was added
  PromptVersionRecord version;
  bool created_prompt = false;  // the name was new
};

// Fields present replace the stored ones; absent fields stay.
struct PromptPatch {
  std::optional<std::optional<std::string>> description;  // {nullopt}: set to null
  std::optional<std::string> metadata_json;                // full replace
};

// Tags of one version, or of every version of one prompt (exactly one of the two is set).
struct PromptTagQuery {
  std::optional<int64_t> version_id;
  std::optional<int64_t> prompt_id;
  std::optional<int64_t> cursor_id;  // id <= cursor_id, ordered by id DESC
  int limit = 100;
};

class PromptStore {
 public:
  virtual ~PromptStore() = default;

  // Creates the prompt if its name is new, then appends a version, in one transaction. Concurrent
  // calls with one new name create one prompt and two versions.
  virtual absl::StatusOr<CreatePromptVersionResult> CreatePromptVersion(const CreatePromptVersionInput& input) = 0;
  virtual absl::StatusOr<std::optional<PromptRecord>> GetPromptById(int64_t id) = 0;
  virtual absl::StatusOr<std::optional<PromptRecord>> GetPromptByName(const std::string& name) = 0;
  // Ordered by id DESC; keyset: rows with id <= cursor_id. INVALID_ARGUMENT for a limit outside 1..1000.
  virtual absl::StatusOr<Page<PromptRecord>> ListPrompts(std::optional<int64_t> cursor_id, int limit) = 0;

  virtual absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersion(int64_t version_id) = 0;
  // The version tag `tag_name` of the prompt points at; nullopt when the prompt or the tag does not exist.
  virtual absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersionByTag(int64_t prompt_id,
                                                                                  const std::string& tag_name) = 0;
  // The version with the highest id; nullopt when the prompt does not exist.
  virtual absl::StatusOr<std::optional<PromptVersionRecord>> GetLatestPromptVersion(int64_t prompt_id) = 0;
  // Newest first (id DESC); keyset like ListPrompts. NOT_FOUND when the prompt does not exist.
  virtual absl::StatusOr<Page<PromptVersionRecord>> ListPromptVersions(int64_t prompt_id,
                                                                     std::optional<int64_t> cursor_id,
                                                                     int limit) = 0;

  // NOT_FOUND when the version (or prompt) does not exist.
  virtual absl::StatusOr<Page<PromptTagRecord>> ListPromptTags(const PromptTagQuery& query) = 0;
  // Points tag `name` of the version's prompt at the version: creates it, or moves it (keeping its id)
  // and replaces its description. NOT_FOUND when the version does not exist.
  virtual absl::StatusOr<PromptTagRecord> SetPromptTag(int64_t version_id, const std::string& name,
                                                       const std::optional<std::string>& description) = 0;
  // Deletes tag `name` when it points at this version. False when it does not (or the version does
  // not exist).
  virtual absl::StatusOr<bool> DeletePromptTag(int64_t version_id, const std::string& name) = 0;

  // NOT_FOUND when the prompt does not exist. Sets updated_at.
  virtual absl::StatusOr<PromptRecord> PatchPrompt(int64_t id, const PromptPatch& patch) = 0;
  // Deletes the prompt with its versions and tags. False when it did not exist.
  virtual absl::StatusOr<bool> DeletePrompt(int64_t id) = 0;
};

}  // namespace osprey::store
