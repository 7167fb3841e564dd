#include "prompt_sql.hpp"

#include <string_view>
#include <utility>
#include <vector>

#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"

namespace osprey::store::internal {
namespace {

constexpr int kMaxLimit = 1000;

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

absl::Status NotFound(const std::string& message) { return base::Permanent(absl::StatusCode::kNotFound, message); }

// Text both dialects can store: valid UTF-8 without NUL (Postgres text cannot hold NUL).
absl::Status StorableText(std::string_view field, const std::optional<std::string>& text) {
  if (!text) return absl::OkStatus();
  if (!base::IsValidUtf8(*text)) return Invalid(std::string(field) + " is not valid UTF-8");
  if (text->find('\0') != std::string::npos) return Invalid(std::string(field) + " contains a NUL character");
  return absl::OkStatus();
}

absl::Status CheckLimit(int limit) {
  if (limit < 1 || limit > kMaxLimit) {
    return Invalid("limit must be between 1 and " + std::to_string(kMaxLimit) + ", got " + std::to_string(limit));
  }
  return absl::OkStatus();
}

absl::Status CheckVersion(const PromptVersionRecord& v) {
  if (v.template_type != "CHAT" && v.template_type != "STR") {
    return Invalid("template_type must be CHAT or STR, got '" + v.template_type + "'");
  }
  if (v.template_format != "MUSTACHE" && v.template_format != "F_STRING" && v.template_format != "NONE") {
    return Invalid("template_format must be MUSTACHE, F_STRING or NONE, got '" + v.template_format + "'");
  }
  if (v.model_provider.empty()) return Invalid("model_provider must not be empty");
  if (v.template_json.empty()) return Invalid("template must not be empty");
  if (v.invocation_parameters_json.empty()) return Invalid("invocation_parameters must not be empty");
  OSPREY_RETURN_IF_ERROR(StorableText("description", v.description));
  OSPREY_RETURN_IF_ERROR(StorableText("model_provider", v.model_provider));
  OSPREY_RETURN_IF_ERROR(StorableText("model_name", v.model_name));
  OSPREY_RETURN_IF_ERROR(StorableText("template", v.template_json));
  OSPREY_RETURN_IF_ERROR(StorableText("invocation_parameters", v.invocation_parameters_json));
  OSPREY_RETURN_IF_ERROR(StorableText("tools", v.tools_json));
  return StorableText("response_format", v.response_format_json);
}

constexpr std::string_view kPromptColumns =
    "p.id, p.name, p.description, p.metadata, p.source_prompt_id, p.created_at, p.updated_at, "
    "(SELECT COUNT(*) FROM prompt_versions c WHERE c.prompt_id = p.id), "
    "(SELECT MAX(c.id) FROM prompt_versions c WHERE c.prompt_id = p.id)";

constexpr std::string_view kVersionColumns =
    "v.id, v.prompt_id, v.description, v.model_provider, v.model_name, v.template_type, v.template_format, "
    "v.template, v.invocation_parameters, v.tools, v.response_format, v.created_at";

constexpr std::string_view kTagColumns = "t.id, t.name, t.description, t.prompt_id, t.prompt_version_id";

PromptRecord ReadPrompt(const SqlRow& row) {
  PromptRecord p;
  p.id = row.Int(0);
  p.name = row.Text(1);
  p.description = row.OptText(2);
  p.metadata_json = row.Text(3);
  p.source_prompt_id = row.OptInt(4);
  p.created_at_ns = row.Int(5);
  p.updated_at_ns = row.Int(6);
  p.version_count = row.Int(7);
  p.latest_version_id = row.OptInt(8);
  return p;
}

PromptVersionRecord ReadVersion(const SqlRow& row) {
  PromptVersionRecord v;
  v.id = row.Int(0);
  v.prompt_id = row.Int(1);
  v.description = row.OptText(2);
  v.model_provider = row.Text(3);
  v.model_name = row.Text(4);
  v.template_type = row.Text(5);
  v.template_format = row.Text(6);
  v.template_json = row.Text(7);
  v.invocation_parameters_json = row.Text(8);
  v.tools_json = row.OptText(9);
  v.response_format_json = row.OptText(10);
  v.created_at_ns = row.Int(11);
  return v;
}

PromptTagRecord ReadTag(const SqlRow& row) {
  PromptTagRecord t;
  t.id = row.Int(0);
  t.name = row.Text(1);
  t.description = row.OptText(2);
  t.prompt_id = row.Int(3);
  t.prompt_version_id = row.Int(4);
  return t;
}

// Appends the keyset clause and order of an id-DESC listing that fetches one row more than the page.
void KeysetDesc(SqlBuilder& q, std::string_view id_column, std::optional<int64_t> cursor_id, int limit) {
  if (cursor_id) q.Sql(" AND ").Sql(id_column).Sql(" <= ").Int(*cursor_id);
  q.Sql(" ORDER BY ").Sql(id_column).Sql(" DESC LIMIT ").Int(limit + 1);
}

template <typename T, typename Read>
Page<T> ToPage(const std::vector<SqlRow>& rows, int limit, Read read) {
  Page<T> page;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) page.items.push_back(read(rows[i]));
  if (rows.size() > static_cast<size_t>(limit)) page.next_cursor = rows[limit].Int(0);
  return page;
}

template <typename T, typename Read>
absl::StatusOr<std::optional<T>> One(SqlExecutor& db, const SqlBuilder& q, Read read) {
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  if (rows.empty()) return std::optional<T>();
  return std::optional<T>(read(rows[0]));
}

absl::StatusOr<bool> PromptExists(SqlExecutor& db, int64_t id) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT 1 FROM prompts WHERE id = ").Int(id);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return !rows.empty();
}

std::string PromptNotFound(int64_t id) { return "Prompt " + std::to_string(id) + " not found"; }
std::string VersionNotFound(int64_t id) { return "Prompt version " + std::to_string(id) + " not found"; }

}  // namespace

absl::StatusOr<CreatePromptVersionResult> CreatePromptVersion(SqlExecutor& db, const CreatePromptVersionInput& input,
                                                              int64_t now_ns) {
  if (input.name.empty()) return Invalid("prompt name must not be empty");
  OSPREY_RETURN_IF_ERROR(StorableText("name", input.name));
  OSPREY_RETURN_IF_ERROR(StorableText("prompt description", input.description));
  OSPREY_RETURN_IF_ERROR(StorableText("metadata", input.metadata_json));
  OSPREY_RETURN_IF_ERROR(CheckVersion(input.version));
  if (input.source_prompt_id) {
    OSPREY_ASSIGN_OR_RETURN(bool source, PromptExists(db, *input.source_prompt_id));
    if (!source) return NotFound("source prompt " + std::to_string(*input.source_prompt_id) + " not found");
  }

  CreatePromptVersionResult result;
  SqlBuilder insert(db.dialect());
  insert.Sql("INSERT INTO prompts (name, description, metadata, source_prompt_id, created_at, updated_at) VALUES (");
  insert.Str(input.name).Sql(", ").OptStr(input.description).Sql(", ");
  insert.Str(input.metadata_json.empty() ? "{}" : input.metadata_json).Sql(", ").OptInt(input.source_prompt_id);
  insert.Sql(", ").Int(now_ns).Sql(", ").Int(now_ns).Sql(") ON CONFLICT (name) DO NOTHING RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> inserted, db.Run(insert));
  int64_t prompt_id = 0;
  if (!inserted.empty()) {
    prompt_id = inserted[0].Int(0);
    result.created_prompt = true;
  } else {
    if (input.fail_if_exists) {
      return base::Permanent(absl::StatusCode::kAlreadyExists, "Prompt '" + input.name + "' already exists");
    }
    // The prompt is taken: it gets a version and its updated_at; description and metadata stay.
    SqlBuilder touch(db.dialect());
    touch.Sql("UPDATE prompts SET updated_at = ").Int(now_ns).Sql(" WHERE name = ").Str(input.name);
    touch.Sql(" RETURNING id");
    OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(touch));
    if (rows.empty()) return base::Retryable(absl::StatusCode::kAborted, "prompt deleted concurrently; retry");
    prompt_id = rows[0].Int(0);
  }

  const PromptVersionRecord& v = input.version;
  SqlBuilder version(db.dialect());
  version.Sql(
      "INSERT INTO prompt_versions (prompt_id, description, model_provider, model_name, template_type, "
      "template_format, template, invocation_parameters, tools, response_format, created_at) VALUES (");
  version.Int(prompt_id).Sql(", ").OptStr(v.description).Sql(", ").Str(v.model_provider).Sql(", ").Str(v.model_name);
  version.Sql(", ").Str(v.template_type).Sql(", ").Str(v.template_format).Sql(", ").Str(v.template_json);
  version.Sql(", ").Str(v.invocation_parameters_json).Sql(", ").OptStr(v.tools_json).Sql(", ");
  version.OptStr(v.response_format_json).Sql(", ").Int(now_ns).Sql(") RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> version_rows, db.Run(version));
  if (version_rows.empty()) return base::Permanent(absl::StatusCode::kInternal, "prompt version insert returned no id");

  OSPREY_ASSIGN_OR_RETURN(auto prompt, GetPromptById(db, prompt_id));
  OSPREY_ASSIGN_OR_RETURN(auto stored, GetPromptVersion(db, version_rows[0].Int(0)));
  if (!prompt || !stored) return base::Permanent(absl::StatusCode::kInternal, "created prompt version not found");
  result.prompt = std::move(*prompt);
  result.version = std::move(*stored);
  return result;
}

absl::StatusOr<std::optional<PromptRecord>> GetPromptById(SqlExecutor& db, int64_t id) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kPromptColumns).Sql(" FROM prompts p WHERE p.id = ").Int(id);
  return One<PromptRecord>(db, q, ReadPrompt);
}

absl::StatusOr<std::optional<PromptRecord>> GetPromptByName(SqlExecutor& db, const std::string& name) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kPromptColumns).Sql(" FROM prompts p WHERE p.name = ").Str(name);
  return One<PromptRecord>(db, q, ReadPrompt);
}

absl::StatusOr<Page<PromptRecord>> ListPrompts(SqlExecutor& db, std::optional<int64_t> cursor_id, int limit) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(limit));
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kPromptColumns).Sql(" FROM prompts p WHERE 1 = 1");
  KeysetDesc(q, "p.id", cursor_id, limit);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return ToPage<PromptRecord>(rows, limit, ReadPrompt);
}

absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersion(SqlExecutor& db, int64_t version_id) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kVersionColumns).Sql(" FROM prompt_versions v WHERE v.id = ").Int(version_id);
  return One<PromptVersionRecord>(db, q, ReadVersion);
}

absl::StatusOr<std::optional<PromptVersionRecord>> GetPromptVersionByTag(SqlExecutor& db, int64_t prompt_id,
                                                                        const std::string& tag_name) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kVersionColumns).Sql(" FROM prompt_version_tags t JOIN prompt_versions v");
  q.Sql(" ON v.id = t.prompt_version_id WHERE t.prompt_id = ").Int(prompt_id).Sql(" AND t.name = ").Str(tag_name);
  return One<PromptVersionRecord>(db, q, ReadVersion);
}

absl::StatusOr<std::optional<PromptVersionRecord>> GetLatestPromptVersion(SqlExecutor& db, int64_t prompt_id) {
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kVersionColumns).Sql(" FROM prompt_versions v WHERE v.prompt_id = ").Int(prompt_id);
  q.Sql(" ORDER BY v.id DESC LIMIT 1");
  return One<PromptVersionRecord>(db, q, ReadVersion);
}

absl::StatusOr<Page<PromptVersionRecord>> ListPromptVersions(SqlExecutor& db, int64_t prompt_id,
                                                           std::optional<int64_t> cursor_id, int limit) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(limit));
  OSPREY_ASSIGN_OR_RETURN(bool exists, PromptExists(db, prompt_id));
  if (!exists) return NotFound(PromptNotFound(prompt_id));
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kVersionColumns).Sql(" FROM prompt_versions v WHERE v.prompt_id = ").Int(prompt_id);
  KeysetDesc(q, "v.id", cursor_id, limit);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return ToPage<PromptVersionRecord>(rows, limit, ReadVersion);
}

absl::StatusOr<Page<PromptTagRecord>> ListPromptTags(SqlExecutor& db, const PromptTagQuery& query) {
  OSPREY_RETURN_IF_ERROR(CheckLimit(query.limit));
  if (query.version_id.has_value() == query.prompt_id.has_value()) {
    return Invalid("list prompt tags by exactly one of version id and prompt id");
  }
  SqlBuilder q(db.dialect());
  q.Sql("SELECT ").Sql(kTagColumns).Sql(" FROM prompt_version_tags t WHERE ");
  if (query.version_id) {
    OSPREY_ASSIGN_OR_RETURN(auto version, GetPromptVersion(db, *query.version_id));
    if (!version) return NotFound(VersionNotFound(*query.version_id));
    q.Sql("t.prompt_version_id = ").Int(*query.version_id);
  } else {
    OSPREY_ASSIGN_OR_RETURN(bool exists, PromptExists(db, *query.prompt_id));
    if (!exists) return NotFound(PromptNotFound(*query.prompt_id));
    q.Sql("t.prompt_id = ").Int(*query.prompt_id);
  }
  KeysetDesc(q, "t.id", query.cursor_id, query.limit);
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return ToPage<PromptTagRecord>(rows, query.limit, ReadTag);
}

absl::StatusOr<PromptTagRecord> SetPromptTag(SqlExecutor& db, int64_t version_id, const std::string& name,
                                             const std::optional<std::string>& description) {
  if (name.empty()) return Invalid("tag name must not be empty");
  OSPREY_RETURN_IF_ERROR(StorableText("tag name", name));
  OSPREY_RETURN_IF_ERROR(StorableText("tag description", description));
  OSPREY_ASSIGN_OR_RETURN(auto version, GetPromptVersion(db, version_id));
  if (!version) return NotFound(VersionNotFound(version_id));
  SqlBuilder q(db.dialect());
  q.Sql("INSERT INTO prompt_version_tags (name, description, prompt_id, prompt_version_id) VALUES (").Str(name);
  q.Sql(", ").OptStr(description).Sql(", ").Int(version->prompt_id).Sql(", ").Int(version_id);
  q.Sql(") ON CONFLICT (prompt_id, name) DO UPDATE SET prompt_version_id = excluded.prompt_version_id, ");
  q.Sql("description = excluded.description RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  if (rows.empty()) return base::Permanent(absl::StatusCode::kInternal, "tag upsert returned no id");
  SqlBuilder read(db.dialect());
  read.Sql("SELECT ").Sql(kTagColumns).Sql(" FROM prompt_version_tags t WHERE t.id = ").Int(rows[0].Int(0));
  OSPREY_ASSIGN_OR_RETURN(auto tag, One<PromptTagRecord>(db, read, ReadTag));
  if (!tag) return base::Permanent(absl::StatusCode::kInternal, "upserted tag not found");
  return *tag;
}

absl::StatusOr<bool> DeletePromptTag(SqlExecutor& db, int64_t version_id, const std::string& name) {
  SqlBuilder q(db.dialect());
  q.Sql("DELETE FROM prompt_version_tags WHERE prompt_version_id = ").Int(version_id).Sql(" AND name = ").Str(name);
  q.Sql(" RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return !rows.empty();
}

absl::StatusOr<PromptRecord> PatchPrompt(SqlExecutor& db, int64_t id, const PromptPatch& patch, int64_t now_ns) {
  if (patch.description) OSPREY_RETURN_IF_ERROR(StorableText("description", *patch.description));
  OSPREY_RETURN_IF_ERROR(StorableText("metadata", patch.metadata_json));
  SqlBuilder q(db.dialect());
  q.Sql("UPDATE prompts SET updated_at = ").Int(now_ns);
  if (patch.description) q.Sql(", description = ").OptStr(*patch.description);
  if (patch.metadata_json) q.Sql(", metadata = ").Str(patch.metadata_json->empty() ? "{}" : *patch.metadata_json);
  q.Sql(" WHERE id = ").Int(id).Sql(" RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  if (rows.empty()) return NotFound(PromptNotFound(id));
  OSPREY_ASSIGN_OR_RETURN(auto prompt, GetPromptById(db, id));
  if (!prompt) return NotFound(PromptNotFound(id));
  return *prompt;
}

absl::StatusOr<bool> DeletePrompt(SqlExecutor& db, int64_t id) {
  // Versions and tags go by ON DELETE CASCADE (both dialects enforce foreign keys).
  SqlBuilder q(db.dialect());
  q.Sql("DELETE FROM prompts WHERE id = ").Int(id).Sql(" RETURNING id");
  OSPREY_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db.Run(q));
  return !rows.empty();
}

}  // namespace osprey::store::internal
