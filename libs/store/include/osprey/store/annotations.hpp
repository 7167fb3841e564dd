#pragma once

// The annotation part of the Store seam: annotations on spans, traces, sessions and span documents,
// annotation configs and their assignment to projects (Phoenix's annotation model, see
// services/query/README.md for the REST side). Every Store implements it; the conformance cases are in
// libs/store/testing (annotations_conformance.hpp).
//
// Thread safety: every method may be called from any thread. Writes are synchronous and durable on
// OK (one transaction per call).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace osprey::store {

template <typename T>
struct Page;

// What an annotation is attached to. Span and document annotations name a span by its hex span_id,
// trace annotations a trace by its hex trace_id, session annotations a session by its session_id.
enum class AnnotationKind { kSpan, kTrace, kSession, kDocument };

std::string_view AnnotationKindName(AnnotationKind kind);  // "span", "trace", "session", "document"

struct AnnotationInput {
  std::string target;             // span_id / trace_id (hex, any case) or session_id
  int64_t document_position = 0;  // kDocument only
  std::string name;
  std::string annotator_kind;  // "LLM" | "CODE" | "HUMAN"
  std::optional<std::string> label;
  std::optional<double> score;
  std::optional<std::string> explanation;
  std::string metadata_json = "{}";  // a JSON object
  std::string identifier;            // "" by default; part of the upsert key
  std::string source = "API";        // "API" | "APP"
  std::optional<int64_t> user_id;
};

struct AnnotationRecord {
  int64_t id = 0;  // row id: GlobalID "SpanAnnotation:<id>" etc. and cursor key
  std::string target;  // span_id / trace_id hex, or session_id
  int64_t target_rowid = 0;
  int64_t document_position = 0;  // document annotations only
  std::string name;
  std::string annotator_kind;
  std::optional<std::string> label;
  std::optional<double> score;
  std::optional<std::string> explanation;
  std::string metadata_json;
  std::string identifier;
  std::string source;
  std::optional<int64_t> user_id;
  int64_t created_at_ns = 0;
  int64_t updated_at_ns = 0;
};

struct UpsertAnnotationsResult {
  // One entry per input item, in input order: the row id inserted or updated, nullopt for an item
  // whose target does not exist. Items with the same key get the same id (the last one wins).
  std::vector<std::optional<int64_t>> ids;
  // Distinct targets that do not exist, in input order.
  std::vector<std::string> missing_targets;
};

// GET /v1/projects/{id}/{span,trace,session}_annotations: rows of one project whose target is in
// `targets` (when non-empty) AND whose identifier is in `identifiers` (when non-empty), filtered by
// name, ordered by id DESC.
struct AnnotationQuery {
  AnnotationKind kind = AnnotationKind::kSpan;  // kDocument is not listed
  int64_t project_id = 0;
  std::vector<std::string> targets;  // ORed
  std::vector<std::string> identifiers;  // ORed
  std::vector<std::string> include_names;  // when non-empty, only these names
  std::vector<std::string> exclude_names;
  std::optional<int64_t> cursor_id;  // id <= cursor_id
  int limit = 10;
};

// Bulk delete in one project; every present field narrows (AND). Created-at window [start, end).
struct AnnotationDeleteFilter {
  AnnotationKind kind = AnnotationKind::kSpan;
  int64_t project_id = 0;
  std::optional<std::string> name;
  std::optional<std::string> identifier;
  std::optional<std::string> annotator_kind;
  std::optional<int64_t> created_from_ns;
  std::optional<int64_t> created_before_ns;
};

// An annotation config. The store keeps `config_json` (the type-specific fields as a JSON object)
// opaque; the query service validates and renders it.
struct AnnotationConfigRecord {
  int64_t id = 0;
  std::string name;
  std::string type;  // "CATEGORICAL" | "CONTINUOUS" | "FREEFORM"
  std::string config_json;
};

class AnnotationStore {
 public:
  virtual ~AnnotationStore() = default;

  // Inserts or updates (on (name, target, identifier), plus document_position for documents) every
  // item in one transaction; an update replaces label, score, explanation, metadata, annotator_kind,
  // source and user_id and sets updated_at. When `require_all_targets` is set and any target is
  // missing, nothing is written and the result lists the missing targets (ids empty); otherwise the
  // items whose target exists are written and the others reported. INVALID_ARGUMENT for an item the
  // store cannot hold (bad annotator_kind/source, metadata not a JSON object).
  virtual absl::StatusOr<UpsertAnnotationsResult> UpsertAnnotations(AnnotationKind kind,
                                                                    const std::vector<AnnotationInput>& items,
                                                                    bool require_all_targets) = 0;
  virtual absl::StatusOr<Page<AnnotationRecord>> ListAnnotations(const AnnotationQuery& query) = 0;
  // True when at least one of `targets` exists in the project.
  virtual absl::StatusOr<bool> AnyAnnotationTargetExists(AnnotationKind kind, int64_t project_id,
                                                         const std::vector<std::string>& targets) = 0;
  // Returns the number of rows deleted.
  virtual absl::StatusOr<int64_t> DeleteAnnotations(const AnnotationDeleteFilter& filter) = 0;

  // Configs ordered by id DESC; with `project_id`, only the configs assigned to it.
  virtual absl::StatusOr<Page<AnnotationConfigRecord>> ListAnnotationConfigs(std::optional<int64_t> project_id,
                                                                            std::optional<int64_t> cursor_id,
                                                                            int limit) = 0;
  virtual absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigById(int64_t id) = 0;
  virtual absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigByName(const std::string& name) = 0;
  // ALREADY_EXISTS when the name is taken.
  virtual absl::StatusOr<AnnotationConfigRecord> CreateAnnotationConfig(const AnnotationConfigRecord& config) = 0;
  // Replaces name, type and config of `config.id`. NOT_FOUND when it does not exist; ALREADY_EXISTS
  // when the new name belongs to another config.
  virtual absl::StatusOr<AnnotationConfigRecord> UpdateAnnotationConfig(const AnnotationConfigRecord& config) = 0;
  // The deleted config (its project assignments go with it), nullopt when it did not exist.
  virtual absl::StatusOr<std::optional<AnnotationConfigRecord>> DeleteAnnotationConfig(int64_t id) = 0;
  // Idempotent. NOT_FOUND when the project or the config does not exist.
  virtual absl::Status AssignAnnotationConfig(int64_t project_id, int64_t config_id) = 0;
  // False when the config was not assigned to the project.
  virtual absl::StatusOr<bool> UnassignAnnotationConfig(int64_t project_id, int64_t config_id) = 0;
  // Makes `config_ids` the project's exact set in one transaction. NOT_FOUND (nothing changed) when
  // the project or any config does not exist.
  virtual absl::Status SetProjectAnnotationConfigs(int64_t project_id, const std::vector<int64_t>& config_ids) = 0;
};

}  // namespace osprey::store
