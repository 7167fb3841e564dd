#include "osprey/spanquery/table.hpp"

#include <ctime>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "osprey/base/status.hpp"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::spanquery {
namespace {

using Alloc = rapidjson::Document::AllocatorType;

// OpenInference keys (openinference-semantic-conventions 0.1.32) the all-spans frame flattens to.
constexpr const char* kSemanticKeys[] = {"input.value",
                                         "input.mime_type",
                                         "output.value",
                                         "output.mime_type",
                                         "session.id",
                                         "user.id",
                                         "metadata",
                                         "tag.tags",
                                         "agent.name",
                                         "graph.node.id",
                                         "graph.node.name",
                                         "graph.node.parent_id",
                                         "llm.model_name",
                                         "llm.request.model_name",
                                         "llm.response.model_name",
                                         "llm.provider",
                                         "llm.system",
                                         "llm.invocation_parameters",
                                         "llm.input_messages",
                                         "llm.output_messages",
                                         "llm.prompts",
                                         "llm.choices",
                                         "llm.function_call",
                                         "llm.tools",
                                         "llm.finish_reason",
                                         "llm.prompt_template.template",
                                         "llm.prompt_template.variables",
                                         "llm.prompt_template.version",
                                         "llm.token_count.prompt",
                                         "llm.token_count.completion",
                                         "llm.token_count.total",
                                         "llm.token_count.prompt_details.cache_read",
                                         "llm.token_count.prompt_details.cache_write",
                                         "llm.token_count.prompt_details.cache_input",
                                         "llm.token_count.prompt_details.audio",
                                         "llm.token_count.completion_details.reasoning",
                                         "llm.token_count.completion_details.audio",
                                         "llm.cost.prompt",
                                         "llm.cost.completion",
                                         "llm.cost.total",
                                         "tool.name",
                                         "tool.description",
                                         "tool.parameters",
                                         "tool.id",
                                         "retrieval.documents",
                                         "reranker.input_documents",
                                         "reranker.output_documents",
                                         "reranker.query",
                                         "reranker.model_name",
                                         "reranker.top_k",
                                         "embedding.model_name",
                                         "embedding.invocation_parameters",
                                         "embedding.embeddings",
                                         "image.url",
                                         "audio.url",
                                         "audio.mime_type",
                                         "audio.transcript",
                                         "prompt.vendor",
                                         "prompt.id",
                                         "prompt.url",
                                         "openinference.span.kind",
                                         "exception.type",
                                         "exception.message",
                                         "exception.stacktrace",
                                         "exception.escaped"};

// True when some semantic key lies strictly below `path`.
bool IsSemanticPrefix(const std::string& path) {
  for (const char* key : kSemanticKeys) {
    std::string_view k(key);
    if (k.size() > path.size() && k.substr(0, path.size()) == path && k[path.size()] == '.') return true;
  }
  return false;
}

// attributes.<dotted> columns: objects are opened only while a known key lies below them.
void FlattenSemantic(const rapidjson::Value& value, const std::string& path,
                     std::vector<std::pair<std::string, const rapidjson::Value*>>& out) {
  if (value.IsObject() && (path.empty() || IsSemanticPrefix(path))) {
    for (const auto& member : value.GetObject()) {
      std::string key(member.name.GetString(), member.name.GetStringLength());
      FlattenSemantic(member.value, path.empty() ? key : path + "." + key, out);
    }
    return;
  }
  if (!value.IsNull()) out.emplace_back(path, &value);
}

// Every leaf of nested objects as a dotted key (explode without kwargs).
void FlattenAll(const rapidjson::Value& value, const std::string& path,
                std::vector<std::pair<std::string, const rapidjson::Value*>>& out) {
  if (value.IsObject()) {
    for (const auto& member : value.GetObject()) {
      std::string key(member.name.GetString(), member.name.GetStringLength());
      FlattenAll(member.value, path.empty() ? key : path + "." + key, out);
    }
    return;
  }
  out.emplace_back(path, &value);
}

// The value at a dotted sub-key inside a list item (keys are nested in storage).
const rapidjson::Value* AtPath(const rapidjson::Value& item, const std::string& dotted) {
  const rapidjson::Value* v = &item;
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!v->IsObject()) return nullptr;
    auto it = v->FindMember(rapidjson::StringRef(key.data(), key.size()));
    if (it == v->MemberEnd()) return nullptr;
    v = &it->value;
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

struct Column {
  std::string name;
  ColumnKind kind = ColumnKind::kText;
  bool has_null = false;
};

// A frame under construction: index columns first, then value columns; cells keyed by column.
class Frame final {
 public:
  size_t AddColumn(const std::string& name, ColumnKind kind) {
    auto it = positions_.find(name);
    if (it != positions_.end()) return it->second;
    positions_[name] = columns_.size();
    columns_.push_back({name, kind, false});
    return columns_.size() - 1;
  }
  void NewRow() { rows_.emplace_back(); }
  void Set(size_t column, rapidjson::Value value) {
    auto& row = rows_.back();
    if (row.size() <= column) row.resize(column + 1);
    row[column] = std::move(value);
  }
  size_t index_count = 1;

  std::string Render(const KeyPairs& rename) {
    std::map<std::string, std::string> renames(rename.begin(), rename.end());
    std::vector<std::string> names;
    for (size_t i = 0; i < columns_.size(); ++i) {
      auto r = renames.find(columns_[i].name);
      names.push_back(std::to_string(i) + "_" + (r == renames.end() ? columns_[i].name : r->second));
    }
    for (auto& row : rows_) {
      row.resize(columns_.size());
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (row[i].IsNull()) columns_[i].has_null = true;
      }
    }
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("schema");
    w.StartObject();
    w.Key("fields");
    w.StartArray();
    for (size_t i = 0; i < columns_.size(); ++i) {
      w.StartObject();
      w.Key("name");
      w.String(names[i].data(), static_cast<rapidjson::SizeType>(names[i].size()));
      w.Key("type");
      w.String(TypeName(columns_[i], i < index_count));
      if (columns_[i].kind == ColumnKind::kTime) {
        w.Key("tz");
        w.String("UTC");
      }
      w.EndObject();
    }
    w.EndArray();
    w.Key("primaryKey");
    w.StartArray();
    for (size_t i = 0; i < index_count && i < names.size(); ++i) {
      w.String(names[i].data(), static_cast<rapidjson::SizeType>(names[i].size()));
    }
    w.EndArray();
    w.Key("pandas_version");
    w.String("1.4.0");
    w.EndObject();
    w.Key("data");
    w.StartArray();
    for (const auto& row : rows_) {
      w.StartObject();
      for (size_t i = 0; i < columns_.size(); ++i) {
        w.Key(names[i].data(), static_cast<rapidjson::SizeType>(names[i].size()));
        row[i].Accept(w);
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize());
  }

 private:
  // pandas table-schema types; nullable integers and booleans stay generic so astype() keeps NULLs.
  static const char* TypeName(const Column& c, bool index) {
    switch (c.kind) {
      case ColumnKind::kText:
        return "string";
      case ColumnKind::kFloat:
        return "number";
      case ColumnKind::kInteger:
        return c.has_null ? "number" : "integer";
      case ColumnKind::kBool:
        return c.has_null ? "any" : "boolean";
      case ColumnKind::kTime:
        return "datetime";
      default:
        return index ? "string" : "any";
    }
  }

  std::vector<Column> columns_;
  std::map<std::string, size_t> positions_;
  std::vector<std::vector<rapidjson::Value>> rows_;
};

rapidjson::Value Text(const std::string& s, Alloc& alloc) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
}

// Parses JSON text into a value owned by `alloc`; text that is not JSON stays a string.
rapidjson::Value ParseJson(const std::string& text, Alloc& alloc) {
  rapidjson::Document doc(&alloc);
  doc.Parse<rapidjson::kParseNanAndInfFlag>(text.data(), text.size());
  if (doc.HasParseError()) return Text(text, alloc);
  rapidjson::Value out;
  out.CopyFrom(doc, alloc);
  return out;
}

rapidjson::Value Events(const std::string& text, Alloc& alloc) {
  rapidjson::Value events = ParseJson(text, alloc);
  if (!events.IsArray()) return rapidjson::Value(rapidjson::kArrayType);
  for (auto& event : events.GetArray()) {
    if (!event.IsObject()) continue;
    auto ts = event.FindMember("timestamp");
    if (ts != event.MemberEnd() && ts->value.IsInt64()) ts->value = Text(IsoNanos(ts->value.GetInt64()), alloc);
  }
  return events;
}

rapidjson::Value Cell(const store::SqlValue& value, ColumnKind kind, Alloc& alloc) {
  if (std::holds_alternative<std::monostate>(value)) return rapidjson::Value();
  const auto* i = std::get_if<int64_t>(&value);
  const auto* d = std::get_if<double>(&value);
  const auto* b = std::get_if<bool>(&value);
  const auto* s = std::get_if<std::string>(&value);
  switch (kind) {
    case ColumnKind::kText:
      if (s) return Text(*s, alloc);
      if (i) return Text(std::to_string(*i), alloc);
      if (d) return rapidjson::Value(*d);
      return rapidjson::Value(*b);
    case ColumnKind::kFloat:
    case ColumnKind::kInteger:
      if (i) return kind == ColumnKind::kFloat ? rapidjson::Value(static_cast<double>(*i)) : rapidjson::Value(*i);
      if (d) return kind == ColumnKind::kFloat ? rapidjson::Value(*d) : rapidjson::Value(static_cast<int64_t>(*d));
      if (b) return rapidjson::Value(*b ? 1 : 0);
      return rapidjson::Value();
    case ColumnKind::kBool:
      if (b) return rapidjson::Value(*b);
      if (i) return rapidjson::Value(*i != 0);
      return rapidjson::Value();
    case ColumnKind::kTime:
      if (i) return Text(IsoNanos(*i), alloc);
      return rapidjson::Value();
    case ColumnKind::kEvents:
      return s ? Events(*s, alloc) : rapidjson::Value(rapidjson::kArrayType);
    case ColumnKind::kJson:
    case ColumnKind::kAttributes:
      if (s) return ParseJson(*s, alloc);
      if (i) return rapidjson::Value(*i);
      if (d) return rapidjson::Value(*d);
      return rapidjson::Value(*b);
  }
  return rapidjson::Value();
}

void CheckShape(const CompiledQuery& compiled, const store::SqlRows& rows, absl::Status& status) {
  for (const auto& row : rows.rows) {
    if (row.size() != compiled.columns.size()) {
      status = base::Permanent(absl::StatusCode::kInternal, "query result has an unexpected number of columns");
      return;
    }
  }
}

}  // namespace

std::string IsoNanos(int64_t ns) {
  int64_t seconds = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%09lld+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(nanos));
  return buffer;
}

absl::StatusOr<std::string> RenderTable(const QuerySpec& spec, const CompiledQuery& compiled,
                                        const store::SqlRows& rows) {
  absl::Status shape;
  CheckShape(compiled, rows, shape);
  if (!shape.ok()) return shape;
  rapidjson::Document doc;
  Alloc& alloc = doc.GetAllocator();
  Frame frame;
  const auto& cols = compiled.columns;

  if (compiled.all_spans) {
    // Fixed columns in SQL order (context.span_id first: the index), attributes last.
    const size_t attributes = cols.size() - 1;
    std::vector<std::vector<std::pair<std::string, rapidjson::Value>>> attr_cells;
    std::set<std::string> attr_names;
    for (const auto& row : rows.rows) {
      rapidjson::Value doc_value = Cell(row[attributes], ColumnKind::kAttributes, alloc);
      std::vector<std::pair<std::string, const rapidjson::Value*>> flat;
      if (doc_value.IsObject()) FlattenSemantic(doc_value, "", flat);
      std::vector<std::pair<std::string, rapidjson::Value>> cells;
      for (auto& [key, value] : flat) {
        attr_names.insert("attributes." + key);
        rapidjson::Value copy;
        copy.CopyFrom(*value, alloc);
        cells.emplace_back("attributes." + key, std::move(copy));
      }
      attr_cells.push_back(std::move(cells));
    }
    for (size_t c = 0; c < attributes; ++c) frame.AddColumn(cols[c].label, cols[c].kind);
    for (const std::string& name : attr_names) frame.AddColumn(name, ColumnKind::kJson);
    for (size_t r = 0; r < rows.rows.size(); ++r) {
      frame.NewRow();
      for (size_t c = 0; c < attributes; ++c) frame.Set(c, Cell(rows.rows[r][c], cols[c].kind, alloc));
      for (auto& [name, value] : attr_cells[r]) frame.Set(frame.AddColumn(name, ColumnKind::kJson), std::move(value));
    }
    return frame.Render(spec.rename);
  }

  const size_t value_end = compiled.list_column.value_or(cols.size());
  if (spec.explode) {
    const std::string prefix = spec.explode->key == "retrieval.documents" ? "document_" : "";
    frame.index_count = 2;
    frame.AddColumn(cols[0].label, cols[0].kind);
    size_t position = frame.AddColumn(prefix + "position", ColumnKind::kInteger);
    for (size_t c = 1; c < value_end; ++c) frame.AddColumn(cols[c].label, cols[c].kind);
    for (const auto& [label, sub] : spec.explode->kwargs) frame.AddColumn(label, ColumnKind::kJson);
    for (const auto& row : rows.rows) {
      rapidjson::Value list = Cell(row[*compiled.list_column], ColumnKind::kJson, alloc);
      if (!list.IsArray()) continue;
      int64_t i = 0;
      for (const auto& item : list.GetArray()) {
        frame.NewRow();
        frame.Set(0, Cell(row[0], cols[0].kind, alloc));
        frame.Set(position, rapidjson::Value(i++));
        for (size_t c = 1; c < value_end; ++c)
          frame.Set(frame.AddColumn(cols[c].label, cols[c].kind), Cell(row[c], cols[c].kind, alloc));
        if (spec.explode->kwargs.empty()) {
          std::vector<std::pair<std::string, const rapidjson::Value*>> flat;
          FlattenAll(item, "", flat);
          for (auto& [key, value] : flat) {
            rapidjson::Value copy;
            copy.CopyFrom(*value, alloc);
            frame.Set(frame.AddColumn(key, ColumnKind::kJson), std::move(copy));
          }
        }
        for (const auto& [label, sub] : spec.explode->kwargs) {
          const rapidjson::Value* v = AtPath(item, sub);
          rapidjson::Value copy;
          if (v != nullptr) copy.CopyFrom(*v, alloc);
          frame.Set(frame.AddColumn(label, ColumnKind::kJson), std::move(copy));
        }
      }
    }
    return frame.Render(spec.rename);
  }

  for (size_t c = 0; c < value_end; ++c) frame.AddColumn(cols[c].label, cols[c].kind);
  if (spec.concat) {
    for (const auto& [label, sub] : spec.concat->kwargs) frame.AddColumn(label, ColumnKind::kText);
  }
  for (const auto& row : rows.rows) {
    frame.NewRow();
    for (size_t c = 0; c < value_end; ++c) frame.Set(c, Cell(row[c], cols[c].kind, alloc));
    if (!spec.concat) continue;
    rapidjson::Value list = Cell(row[*compiled.list_column], ColumnKind::kJson, alloc);
    for (const auto& [label, sub] : spec.concat->kwargs) {
      rapidjson::Value joined;
      if (list.IsArray()) {
        std::string text;
        bool any = false;
        for (const auto& item : list.GetArray()) {
          const rapidjson::Value* v = AtPath(item, sub);
          if (v == nullptr || !v->IsString()) continue;
          if (any) text += spec.concat->separator;
          text.append(v->GetString(), v->GetStringLength());
          any = true;
        }
        if (any) joined = Text(text, alloc);
      }
      frame.Set(frame.AddColumn(label, ColumnKind::kText), std::move(joined));
    }
  }
  return frame.Render(spec.rename);
}

}  // namespace osprey::spanquery
