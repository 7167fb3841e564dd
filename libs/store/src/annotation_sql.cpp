#include "annotation_sql.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "span_rows.hpp"

namespace osprey::store {

std::string_view AnnotationKindName(AnnotationKind kind) {
  switch (kind) {
    case AnnotationKind::kSpan:
      return "span";
    case AnnotationKind::kTrace:
      return "trace";
    case AnnotationKind::kSession:
      return "session";
    case AnnotationKind::kDocument:
      return "document";
  }
  return "span";
}

namespace internal {
namespace {

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

absl::Status NotFound(const std::string& message) { return base::Permanent(absl::StatusCode::kNotFound, message); }

// Where each kind of annotation lives and how its target is found. All names are constants.
struct KindInfo {
  const char* table;
  const char* fk;            // annotation column referencing the target row
  const char* target_table;  // spans | traces | sessions
  const char* target_key;    // the user-facing id column of target_table
  bool hex;                  // target ids are hex (compared lower-case)
  bool document;
  // FROM/JOIN clause giving alias `a` for annotations and `x` for the target, and the project column.
  const char* from;
  const char* project_column;
};

const KindInfo& Info(AnnotationKind kind) {
  static const KindInfo kSpan{"span_annotations", "span_rowid", "spans", "span_id", true, false,
                              "span_annotations a JOIN spans x ON x.id = a.span_rowid "
                              "JOIN traces t ON t.id = x.trace_rowid",
                              "t.project_id"};
  static const KindInfo kTrace{"trace_annotations", "trace_rowid", "traces", "trace_id", true, false,
                               "trace_annotations a JOIN traces x ON x.id = a.trace_rowid", "x.project_id"};
  static const KindInfo kSession{"session_annotations", "session_rowid", "sessions", "session_id", false, false,
                                 "session_annotations a JOIN sessions x ON x.id = a.session_rowid", "x.project_id"};
  static const KindInfo kDocument{"document_annotations", "span_rowid", "spans", "span_id", true, true,
                                  "document_annotations a JOIN spans x ON x.id = a.span_rowid "
                                  "JOIN traces t ON t.id = x.trace_rowid",
                                  "t.project_id"};
  switch (kind) {
    case AnnotationKind::kSpan:
      return kSpan;
    case AnnotationKind::kTrace:
      return kTrace;
    case AnnotationKind::kSession:
      return kSession;
    case AnnotationKind::kDocument:
      return kDocument;
  }
  return kSpan;
}

bool IsSpanTarget(const KindInfo& info) { return std::string_view(info.target_table) == "spans"; }

// Rows of the target table that belong to a project, as a subquery for bulk deletes.
std::string TargetsOfProject(AnnotationKind kind) {
  switch (kind) {
    case AnnotationKind::kSpan:
    case AnnotationKind::kDocument:
      return "SELECT s.id FROM spans s JOIN traces t ON t.id = s.trace_rowid WHERE t.project_id = ";
    case AnnotationKind::kTrace:
      return "SELECT id FROM traces WHERE project_id = ";
    case AnnotationKind::kSession:
      return "SELECT id FROM sessions WHERE project_id = ";
  }
  return {};
}

std::string JsonColumn(Dialect dialect, std::string_view column) {
  std::string out(column);
  if (dialect == Dialect::kPostgres) out += "::text";
  return out;
}

std::string NormalizeTarget(const KindInfo& info, const std::string& target) {
  return info.hex ? absl::AsciiStrToLower(target) : target;
}

std::vector<std::string> NormalizeTargets(const KindInfo& info, const std::vector<std::string>& targets) {
  std::vector<std::string> out;
  out.reserve(targets.size());
  for (const std::string& target : targets) out.push_back(NormalizeTarget(info, target));
  return out;
}

// Text both dialects can store: valid UTF-8 without NUL (Postgres text cannot hold NUL).
absl::Status CheckText(std::string_view field, const std::string& text) {
  if (!base::IsValidUtf8(text)) return Invalid(std::string(field) + " is not valid UTF-8");
  if (text.find('\0') != std::string::npos) return Invalid(std::string(field) + " contains a NUL character");
  return absl::OkStatus();
}

absl::Status CheckOptText(std::string_view field, const std::optional<std::string>& text) {
  return text ? CheckText(field, *text) : absl::OkStatus();
}

absl::Status CheckJsonObject(std::string_view field, const std::string& json) {
  OSPREY_RETURN_IF_ERROR(CheckText(field, json));
  // jsonb refuses the escape \u0000 as well.
  if (json.find("\\u0000") != std::string::npos) return Invalid(std::string(field) + " contains \\u0000");
  if (std::optional<std::string> problem = CheckJson(json, '{', std::string(field).c_str())) return Invalid(*problem);
  return absl::OkStatus();
}

absl::Status ValidateInput(const AnnotationInput& item, size_t index) {
  const std::string where = "annotation " + std::to_string(index) + ": ";
  auto prefixed = [&](absl::Status status) {
    if (status.ok()) return status;
    return Invalid(where + std::string(status.message()));
  };
  if (item.annotator_kind != "LLM" && item.annotator_kind != "CODE" && item.annotator_kind != "HUMAN") {
    return Invalid(where + "annotator_kind must be LLM, CODE or HUMAN");
  }
  if (item.source != "API" && item.source != "APP") return Invalid(where + "source must be API or APP");
  if (item.score && !std::isfinite(*item.score)) return Invalid(where + "score must be a finite number");
  OSPREY_RETURN_IF_ERROR(prefixed(CheckText("target", item.target)));
  OSPREY_RETURN_IF_ERROR(prefixed(CheckText("name", item.name)));
  OSPREY_RETURN_IF_ERROR(prefixed(CheckText("identifier", item.identifier)));
  OSPREY_RETURN_IF_ERROR(prefixed(CheckOptText("label", item.label)));
  OSPREY_RETURN_IF_ERROR(prefixed(CheckOptText("explanation", item.explanation)));
  if (!item.metadata_json.empty()) OSPREY_RETURN_IF_ERROR(prefixed(CheckJsonObject("metadata", item.metadata_json)));
  return absl::OkStatus();
}

absl::Status CheckLimit(int limit) {
  if (limit < 1) return Invalid("limit must be at least 1, got " + std::to_string(limit));
  return absl::OkStatus();
}

absl::Status ValidateConfig(const AnnotationConfigRecord& config) {
  if (config.name.empty()) return Invalid("annotation config name must not be empty");
  OSPREY_RETURN_IF_ERROR(CheckText("name", config.name));
  if (config.type != "CATEGORICAL" && config.type != "CONTINUOUS" && config.type != "FREEFORM") {
    return Invalid("annotation config type must be CATEGORICAL, CONTINUOUS or FREEFORM");
  }
  return CheckJsonObject("config", config.config_json.empty() ? "{}" : config.config_json);
}

template <typename T, typename Reader>
Page<T> ToPage(const std::vector<SqlRow>& rows, int limit, Reader read) {
  Page<T> page;
  for (const SqlRow& row : rows) {
    T item = read(row);
    if (static_cast<int64_t>(page.items.size()) == limit) {
      page.next_cursor = item.id;
      break;
    }
    page.items.push_back(std::move(item));
  }
  return page;
}

AnnotationRecord ReadAnnotation(const SqlRow& row) {
  AnnotationRecord record;
  record.id = row.Int(0);
  record.target = row.Text(1);
  record.target_rowid = row.Int(2);
  record.document_position = row.Int(3);
  record.name = row.Text(4);
  record.annotator_kind = row.Text(5);
  record.label = row.OptText(6);
  record.score = row.OptDouble(7);
  record.explanation = row.OptText(8);
  record.metadata_json = row.Text(9);
  record.identifier = row.Text(10);
  record.source = row.Text(11);
  record.user_id = row.OptInt(12);
  record.created_at_ns = row.Int(13);
  record.updated_at_ns = row.Int(14);
  return record;
}

std::string ConfigColumns(Dialect dialect) { return "c.id, c.name, c.type, " + JsonColumn(dialect, "c.config"); }

AnnotationConfigRecord ReadConfig(const SqlRow& row) {
  AnnotationConfigRecord record;
  record.id = row.Int(0);
  record.name = row.Text(1);
  record.type = row.Text(2);
  record.config_json = row.Text(3);
  return record;
}

absl::StatusOr<bool> Exists(SqlExecutor& db, const char* table, int64_t id) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT 1 FROM ").Sql(table).Sql(" WHERE id = ").Int(id);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return !rows.empty();
}

}  // namespace

// ---------------------------------------------------------------- builder and rows

SqlBuilder& SqlBuilder::Arg(SqlArg arg) {
  // NULL is a literal (no user data), so every bound parameter has a value.
  if (std::holds_alternative<std::monostate>(arg.value)) {
    sql_ += "NULL";
    if (dialect_ == Dialect::kPostgres) {
      sql_ += "::";
      sql_ += arg.type;
    }
    return *this;
  }
  args_.push_back(std::move(arg));
  if (dialect_ == Dialect::kSqlite) {
    sql_ += '?';
  } else {
    sql_ += '$';
    sql_ += std::to_string(args_.size());
    sql_ += "::";
    sql_ += args_.back().type;
  }
  return *this;
}

SqlBuilder& SqlBuilder::OptStr(const std::optional<std::string>& value) {
  return value ? Str(*value) : Arg({std::monostate{}, "text"});
}

SqlBuilder& SqlBuilder::OptDouble(const std::optional<double>& value) {
  return value ? Double(*value) : Arg({std::monostate{}, "double precision"});
}

SqlBuilder& SqlBuilder::OptInt(const std::optional<int64_t>& value) {
  return value ? Int(*value) : Arg({std::monostate{}, "bigint"});
}

SqlBuilder& SqlBuilder::InStrs(std::string_view column, const std::vector<std::string>& values) {
  Sql(column).Sql(" IN (");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) Sql(", ");
    Str(values[i]);
  }
  return Sql(")");
}

SqlBuilder& SqlBuilder::InInts(std::string_view column, const std::vector<int64_t>& values) {
  Sql(column).Sql(" IN (");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) Sql(", ");
    Int(values[i]);
  }
  return Sql(")");
}

int64_t SqlRow::Int(size_t i) const {
  const auto& cell = cells[i];
  if (const int64_t* v = std::get_if<int64_t>(&cell)) return *v;
  if (const double* v = std::get_if<double>(&cell)) return static_cast<int64_t>(*v);
  if (const std::string* v = std::get_if<std::string>(&cell)) return std::strtoll(v->c_str(), nullptr, 10);
  return 0;
}

double SqlRow::Double(size_t i) const {
  const auto& cell = cells[i];
  if (const double* v = std::get_if<double>(&cell)) return *v;
  if (const int64_t* v = std::get_if<int64_t>(&cell)) return static_cast<double>(*v);
  if (const std::string* v = std::get_if<std::string>(&cell)) return std::strtod(v->c_str(), nullptr);
  return 0;
}

std::string SqlRow::Text(size_t i) const {
  const auto& cell = cells[i];
  if (const std::string* v = std::get_if<std::string>(&cell)) return *v;
  if (const int64_t* v = std::get_if<int64_t>(&cell)) return std::to_string(*v);
  if (const double* v = std::get_if<double>(&cell)) {
    char buffer[40];
    std::snprintf(buffer, sizeof(buffer), "%.17g", *v);
    return buffer;
  }
  return {};
}

std::optional<int64_t> SqlRow::OptInt(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Int(i);
}

std::optional<double> SqlRow::OptDouble(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Double(i);
}

std::optional<std::string> SqlRow::OptText(size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return Text(i);
}

// ---------------------------------------------------------------- annotations

absl::StatusOr<UpsertAnnotationsResult> UpsertAnnotations(SqlExecutor& db, AnnotationKind kind,
                                                          const std::vector<AnnotationInput>& items,
                                                          bool require_all_targets, int64_t now_ns) {
  for (size_t i = 0; i < items.size(); ++i) OSPREY_RETURN_IF_ERROR(ValidateInput(items[i], i));
  const KindInfo& info = Info(kind);

  // Resolve every distinct target once, in input order.
  std::map<std::string, std::optional<int64_t>> rowids;
  UpsertAnnotationsResult result;
  for (const AnnotationInput& item : items) {
    std::string target = NormalizeTarget(info, item.target);
    if (rowids.count(target) > 0) continue;
    SqlBuilder q(db.dialect());
    q.Sql("SELECT id FROM ").Sql(info.target_table).Sql(" x WHERE ").Sql(info.target_key).Sql(" = ").Str(target);
    if (IsSpanTarget(info)) q.Sql(" AND ").Sql(SpanIdProbe(db.dialect(), "x"));
    OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
    if (rows.empty()) {
      rowids[target] = std::nullopt;
      result.missing_targets.push_back(item.target);
    } else {
      rowids[target] = rows[0].Int(0);
    }
  }
  if (require_all_targets && !result.missing_targets.empty()) return result;

  const std::string key = std::string("name, ") + info.fk + (info.document ? ", document_position" : "") +
                          ", identifier";
  result.ids.reserve(items.size());
  for (const AnnotationInput& item : items) {
    std::optional<int64_t> rowid = rowids[NormalizeTarget(info, item.target)];
    if (!rowid) {
      result.ids.push_back(std::nullopt);
      continue;
    }
    SqlBuilder q(db.dialect());
    q.Sql("INSERT INTO ").Sql(info.table).Sql(" (").Sql(key);
    q.Sql(", label, score, explanation, metadata, annotator_kind, source, user_id, created_at, updated_at) VALUES (");
    q.Str(item.name).Sql(", ").Int(*rowid).Sql(", ");
    if (info.document) q.Int(item.document_position).Sql(", ");
    q.Str(item.identifier).Sql(", ").OptStr(item.label).Sql(", ").OptDouble(item.score).Sql(", ");
    q.OptStr(item.explanation).Sql(", ").Json(item.metadata_json.empty() ? "{}" : item.metadata_json).Sql(", ");
    q.Str(item.annotator_kind).Sql(", ").Str(item.source).Sql(", ").OptInt(item.user_id).Sql(", ");
    q.Int(now_ns).Sql(", ").Int(now_ns).Sql(")");
    q.Sql(" ON CONFLICT (").Sql(key).Sql(") DO UPDATE SET label = excluded.label, score = excluded.score, ");
    q.Sql("explanation = excluded.explanation, metadata = excluded.metadata, ");
    q.Sql("annotator_kind = excluded.annotator_kind, source = excluded.source, user_id = excluded.user_id, ");
    q.Sql("updated_at = excluded.updated_at RETURNING id");
    OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
    if (rows.empty()) return base::Permanent(absl::StatusCode::kInternal, "annotation upsert returned no id");
    result.ids.push_back(rows[0].Int(0));
  }
  // A later item with the same key updated the row an earlier one inserted: both report that row.
  return result;
}

absl::StatusOr<Page<AnnotationRecord>> ListAnnotations(SqlExecutor& db, const AnnotationQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  const KindInfo& info = Info(query.kind);
  SqlBuilder q(db.dialect());
  q.Sql("SELECT a.id, x.").Sql(info.target_key).Sql(", a.").Sql(info.fk);
  q.Sql(info.document ? ", a.document_position" : ", 0");
  q.Sql(", a.name, a.annotator_kind, a.label, a.score, a.explanation, ").Sql(JsonColumn(db.dialect(), "a.metadata"));
  q.Sql(", a.identifier, a.source, a.user_id, a.created_at, a.updated_at FROM ").Sql(info.from);
  q.Sql(" WHERE ").Sql(info.project_column).Sql(" = ").Int(query.project_id);
  if (!query.targets.empty()) {
    q.Sql(" AND ").InStrs(std::string("x.") + info.target_key, NormalizeTargets(info, query.targets));
  }
  if (!query.identifiers.empty()) q.Sql(" AND ").InStrs("a.identifier", query.identifiers);
  if (!query.include_names.empty()) q.Sql(" AND ").InStrs("a.name", query.include_names);
  if (!query.exclude_names.empty()) q.Sql(" AND NOT ").InStrs("a.name", query.exclude_names);
  if (query.cursor_id) q.Sql(" AND a.id <= ").Int(*query.cursor_id);
  q.Sql(" ORDER BY a.id DESC LIMIT ").Int(static_cast<int64_t>(query.limit) + 1);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return ToPage<AnnotationRecord>(rows, query.limit, ReadAnnotation);
}

absl::StatusOr<bool> AnyAnnotationTargetExists(SqlExecutor& db, AnnotationKind kind, int64_t project_id,
                                               const std::vector<std::string>& targets) {
  if (targets.empty()) return false;
  const KindInfo& info = Info(kind);
  SqlBuilder q(db.dialect());
  q.Sql("SELECT 1 FROM ").Sql(info.target_table).Sql(" x WHERE ");
  q.InStrs(info.target_key, NormalizeTargets(info, targets));
  if (IsSpanTarget(info)) q.Sql(" AND ").Sql(SpanIdProbe(db.dialect(), "x"));
  q.Sql(" AND id IN (").Sql(TargetsOfProject(kind)).Int(project_id).Sql(") LIMIT 1");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return !rows.empty();
}

absl::StatusOr<int64_t> DeleteAnnotations(SqlExecutor& db, const AnnotationDeleteFilter& filter) {
  const KindInfo& info = Info(filter.kind);
  SqlBuilder q(db.dialect());
  q.Sql("DELETE FROM ").Sql(info.table).Sql(" WHERE ").Sql(info.fk).Sql(" IN (").Sql(TargetsOfProject(filter.kind));
  q.Int(filter.project_id).Sql(")");
  if (filter.name) q.Sql(" AND name = ").Str(*filter.name);
  if (filter.identifier) q.Sql(" AND identifier = ").Str(*filter.identifier);
  if (filter.annotator_kind) q.Sql(" AND annotator_kind = ").Str(*filter.annotator_kind);
  if (filter.created_from_ns) q.Sql(" AND created_at >= ").Int(*filter.created_from_ns);
  if (filter.created_before_ns) q.Sql(" AND created_at < ").Int(*filter.created_before_ns);
  q.Sql(" RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return static_cast<int64_t>(rows.size());
}

// ---------------------------------------------------------------- configs

absl::StatusOr<Page<AnnotationConfigRecord>> ListAnnotationConfigs(SqlExecutor& db, std::optional<int64_t> project_id,
                                                                  std::optional<int64_t> cursor_id, int limit) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(limit));
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(ConfigColumns(db.dialect())).Sql(" FROM annotation_configs c");
  if (project_id) {
    q.Sql(" JOIN project_annotation_configs p ON p.annotation_config_id = c.id AND p.project_id = ").Int(*project_id);
  }
  q.Sql(" WHERE 1 = 1");
  if (cursor_id) q.Sql(" AND c.id <= ").Int(*cursor_id);
  q.Sql(" ORDER BY c.id DESC LIMIT ").Int(static_cast<int64_t>(limit) + 1);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return ToPage<AnnotationConfigRecord>(rows, limit, ReadConfig);
}

absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigById(SqlExecutor& db, int64_t id) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(ConfigColumns(db.dialect())).Sql(" FROM annotation_configs c WHERE c.id = ").Int(id);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  if (rows.empty()) return std::optional<AnnotationConfigRecord>();
  return std::optional<AnnotationConfigRecord>(ReadConfig(rows[0]));
}

absl::StatusOr<std::optional<AnnotationConfigRecord>> GetAnnotationConfigByName(SqlExecutor& db,
                                                                                const std::string& name) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(ConfigColumns(db.dialect())).Sql(" FROM annotation_configs c WHERE c.name = ").Str(name);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  if (rows.empty()) return std::optional<AnnotationConfigRecord>();
  return std::optional<AnnotationConfigRecord>(ReadConfig(rows[0]));
}

absl::StatusOr<AnnotationConfigRecord> CreateAnnotationConfig(SqlExecutor& db, const AnnotationConfigRecord& config) {
  OSPREY_RETURN_IF_ERROR(ValidateConfig(config));
  SqlBuilder q(db.dialect());
  q.Sql("INSERT INTO annotation_configs (name, type, config) VALUES (").Str(config.name).Sql(", ").Str(config.type);
  q.Sql(", ").Json(config.config_json.empty() ? "{}" : config.config_json);
  q.Sql(") ON CONFLICT (name) DO NOTHING RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  if (rows.empty()) {
    return base::Permanent(absl::StatusCode::kAlreadyExists,
                           "Annotation configuration with name '" + config.name + "' already exists");
  }
  OSPREY_ASSIGN_OR_RETURN(auto created, GetAnnotationConfigById(db, rows[0].Int(0)));
  if (!created) return base::Permanent(absl::StatusCode::kInternal, "created annotation config not found");
  return *created;
}

absl::StatusOr<AnnotationConfigRecord> UpdateAnnotationConfig(SqlExecutor& db, const AnnotationConfigRecord& config) {
  OSPREY_RETURN_IF_ERROR(ValidateConfig(config));
  OSPREY_ASSIGN_OR_RETURN(bool exists, Exists(db, "annotation_configs", config.id));
  if (!exists) return NotFound("Annotation configuration not found");
  SqlBuilder other(db.dialect());
  other.Sql("SELECT 1 FROM annotation_configs WHERE name = ").Str(config.name).Sql(" AND id <> ").Int(config.id);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> clash, db.Run(other));
  if (!clash.empty()) {
    return base::Permanent(absl::StatusCode::kAlreadyExists,
                           "Annotation configuration with name '" + config.name + "' already exists");
  }
  SqlBuilder q(db.dialect());
  q.Sql("UPDATE annotation_configs SET name = ").Str(config.name).Sql(", type = ").Str(config.type);
  q.Sql(", config = ").Json(config.config_json.empty() ? "{}" : config.config_json).Sql(" WHERE id = ").Int(config.id);
  OSPREY_RETURN_IF_ERROR(db.Run(q).status());
  OSPREY_ASSIGN_OR_RETURN(auto updated, GetAnnotationConfigById(db, config.id));
  if (!updated) return NotFound("Annotation configuration not found");
  return *updated;
}

absl::StatusOr<std::optional<AnnotationConfigRecord>> DeleteAnnotationConfig(SqlExecutor& db, int64_t id) {
  OSPREY_ASSIGN_OR_RETURN(auto config, GetAnnotationConfigById(db, id));
  if (!config) return config;
  // Explicit, so the assignments go even where foreign keys are not enforced.
  SqlBuilder assignments(db.dialect());
  assignments.Sql("DELETE FROM project_annotation_configs WHERE annotation_config_id = ").Int(id);
  OSPREY_RETURN_IF_ERROR(db.Run(assignments).status());
  SqlBuilder q(db.dialect());
  q.Sql("DELETE FROM annotation_configs WHERE id = ").Int(id);
  OSPREY_RETURN_IF_ERROR(db.Run(q).status());
  return config;
}

absl::Status AssignAnnotationConfig(SqlExecutor& db, int64_t project_id, int64_t config_id) {
  OSPREY_ASSIGN_OR_RETURN(bool project, Exists(db, "projects", project_id));
  if (!project) return NotFound("Project not found");
  OSPREY_ASSIGN_OR_RETURN(bool config, Exists(db, "annotation_configs", config_id));
  if (!config) return NotFound("Annotation configuration not found");
  SqlBuilder q(db.dialect());
  q.Sql("INSERT INTO project_annotation_configs (project_id, annotation_config_id) VALUES (").Int(project_id);
  q.Sql(", ").Int(config_id).Sql(") ON CONFLICT (project_id, annotation_config_id) DO NOTHING");
  return db.Run(q).status();
}

absl::StatusOr<bool> UnassignAnnotationConfig(SqlExecutor& db, int64_t project_id, int64_t config_id) {
  SqlBuilder q(db.dialect());
  q.Sql("DELETE FROM project_annotation_configs WHERE project_id = ").Int(project_id);
  q.Sql(" AND annotation_config_id = ").Int(config_id).Sql(" RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return !rows.empty();
}

absl::Status SetProjectAnnotationConfigs(SqlExecutor& db, int64_t project_id, const std::vector<int64_t>& config_ids) {
  OSPREY_ASSIGN_OR_RETURN(bool project, Exists(db, "projects", project_id));
  if (!project) return NotFound("Project not found");
  std::set<int64_t> wanted(config_ids.begin(), config_ids.end());
  for (int64_t id : wanted) {
    OSPREY_ASSIGN_OR_RETURN(bool exists, Exists(db, "annotation_configs", id));
    if (!exists) return NotFound("Annotation configuration " + std::to_string(id) + " not found");
  }
  SqlBuilder clear(db.dialect());
  clear.Sql("DELETE FROM project_annotation_configs WHERE project_id = ").Int(project_id);
  if (!wanted.empty()) {
    clear.Sql(" AND NOT ").InInts("annotation_config_id", std::vector<int64_t>(wanted.begin(), wanted.end()));
  }
  OSPREY_RETURN_IF_ERROR(db.Run(clear).status());
  for (int64_t id : wanted) OSPREY_RETURN_IF_ERROR(AssignAnnotationConfig(db, project_id, id));
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace osprey::store
