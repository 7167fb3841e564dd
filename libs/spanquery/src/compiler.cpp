#include "osprey/spanquery/compiler.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::spanquery {
namespace {

using store::Dialect;
using store::SqlValue;

// Placeholder marker inside SQL fragments; numbered for the dialect when the query is finished.
// User text never reaches the SQL text, so the byte cannot appear there otherwise.
constexpr char kMark = '\x01';

absl::Status Error(const std::string& what, size_t pos) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, what + " " + Where(pos));
}

// SQL text with its parameters, in textual order.
struct Frag {
  std::string sql;
  std::vector<SqlValue> params;

  Frag& Add(std::string_view text) {
    sql += text;
    return *this;
  }
  Frag& Add(const Frag& other) {
    sql += other.sql;
    params.insert(params.end(), other.params.begin(), other.params.end());
    return *this;
  }
};

Frag Sql(std::string_view text) { return Frag{std::string(text), {}}; }

// A path step: an object key or a list index.
using PathElem = std::variant<std::string, int64_t>;

enum class Ty { kText, kNumber, kBool, kTime, kAttr, kNull, kList, kCond, kAnnotation, kParentSpan };

struct Value {
  Ty ty = Ty::kNull;
  size_t pos = 0;
  std::string what;                 // how errors name it
  Frag frag;                        // kText, kNumber, kBool, kTime, kCond
  bool integer = false;             // kNumber known to be an integer
  bool uppercase = false;           // kText column whose string literals are uppercased (span_kind, status_code)
  std::optional<SqlValue> literal;  // a constant, for literal-only rules
  std::vector<PathElem> path;       // kAttr
  std::vector<Value> items;         // kList
  std::string table;                // kAnnotation: span_annotations | trace_annotations
  std::string annotation;           // kAnnotation: name
};

const char* TyName(Ty ty) {
  switch (ty) {
    case Ty::kText:
      return "text";
    case Ty::kNumber:
      return "a number";
    case Ty::kBool:
      return "a boolean";
    case Ty::kTime:
      return "a datetime";
    case Ty::kAttr:
      return "an attribute";
    case Ty::kNull:
      return "None";
    case Ty::kList:
      return "a list";
    case Ty::kCond:
      return "a condition";
    case Ty::kAnnotation:
      return "an annotation";
    case Ty::kParentSpan:
      return "parent_span";
  }
  return "?";
}

// Levenshtein distance, for did-you-mean hints.
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Hint(std::string_view word, std::initializer_list<const char*> candidates) {
  for (const char* c : candidates) {
    if (Distance(word, c) <= 2) return std::string("; did you mean '") + c + "'?";
  }
  return "";
}

// "2025-01-01T00:00:00+00:00" style ISO text, or a plain decimal number, parsed in C++.
std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(begin, &end);
  while (*end == ' ') ++end;
  if (end == begin || *end != '\0' || errno == ERANGE) return std::nullopt;
  // Only decimal notation, as Python's float() takes it (no hex, inf, nan).
  for (char c : text) {
    if (!(absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' ||
          c == '-' || c == ' ')) {
      return std::nullopt;
    }
  }
  return value;
}

class Compiler final {
 public:
  Compiler(Dialect dialect, const CompileLimits& limits) : dialect_(dialect), limits_(limits) {}

  bool pg() const { return dialect_ == Dialect::kPostgres; }

  static bool IsSpanIdColumn(const Value& v) { return v.ty == Ty::kText && v.frag.sql == "s.span_id"; }

  // A parent is in its child's trace: one index probe per span on both stores (see SameTraceSpanProbe).
  std::string ParentExists() const {
    return "EXISTS (SELECT 1 FROM spans p WHERE p.span_id = s.parent_id AND " +
           store::SameTraceSpanProbe(dialect_, "s", "p") + ")";
  }

  Frag Param(SqlValue value) {
    Frag f;
    f.sql += kMark;
    if (pg()) {
      if (std::holds_alternative<std::string>(value)) f.sql += "::text";
      if (std::holds_alternative<int64_t>(value)) f.sql += "::bigint";
      if (std::holds_alternative<double>(value)) f.sql += "::float8";
      if (std::holds_alternative<bool>(value)) f.sql += "::boolean";
    } else if (const bool* b = std::get_if<bool>(&value)) {
      value = static_cast<int64_t>(*b ? 1 : 0);
    }
    f.params.push_back(std::move(value));
    return f;
  }

  // ------------------------------------------------------------ attribute extraction

  // SQLite JSON path text ($."a"."b"[0]) with keys escaped as the stored JSON text spells them.
  absl::StatusOr<std::string> SqlitePath(const std::vector<PathElem>& path, size_t pos) {
    std::string out = "$";
    for (const PathElem& elem : path) {
      if (const int64_t* index = std::get_if<int64_t>(&elem)) {
        out += "[" + std::to_string(*index) + "]";
        continue;
      }
      // The key as the stored JSON text spells it (RapidJSON wrote the attributes): SQLite compares
      // the path's key with the raw, escaped text. The writer adds the surrounding quotes.
      const std::string& key = std::get<std::string>(elem);
      rapidjson::StringBuffer buffer;
      rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
      writer.String(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      out += '.';
      out.append(buffer.GetString(), buffer.GetSize());
    }
    (void)pos;
    return out;
  }

  // Postgres jsonb value at `path`: s.attributes -> $1::text -> $2::int ...
  Frag PgJson(const std::vector<PathElem>& path, bool last_as_text) {
    Frag f = Sql("s.attributes");
    for (size_t i = 0; i < path.size(); ++i) {
      f.Add(last_as_text && i + 1 == path.size() ? " ->> " : " -> ");
      if (const int64_t* index = std::get_if<int64_t>(&path[i])) {
        f.Add(Sql(std::string(1, kMark) + "::int"));
        f.params.push_back(*index);
      } else {
        f.Add(Param(std::get<std::string>(path[i])));
      }
    }
    return f;
  }

  absl::StatusOr<Frag> AttrText(const Value& v) {
    if (pg()) return Sql("(").Add(PgJson(v.path, true)).Add(")");
    // As text like Postgres' ->> (a JSON number 15 reads as '15'); booleans read as 1/0 here.
    OSPREY_ASSIGN_OR_RETURN(std::string path, SqlitePath(v.path, v.pos));
    return Sql("CAST(json_extract(s.attributes, ").Add(Param(path)).Add(") AS TEXT)");
  }

  // JSON text of the value (select columns): NULL when absent.
  absl::StatusOr<Frag> AttrJson(const Value& v) {
    if (pg()) return Sql("((").Add(PgJson(v.path, false)).Add(")::text)");
    OSPREY_ASSIGN_OR_RETURN(std::string path, SqlitePath(v.path, v.pos));
    return Sql("(s.attributes -> ").Add(Param(path)).Add(")");
  }

  // A text value read as a number when it is a JSON-number literal, else NULL.
  Frag TextAsNumber(const Frag& text) {
    if (pg()) {
      return Sql("(CASE WHEN ")
          .Add(text)
          .Add(" ~ '^\\s*-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][-+]?[0-9]{1,3})?\\s*$' THEN (")
          .Add(text)
          .Add(")::float8 END)");
    }
    return Sql("(CASE WHEN json_valid(")
        .Add(text)
        .Add(") AND json_type(")
        .Add(text)
        .Add(") IN ('integer', 'real') THEN CAST(")
        .Add(text)
        .Add(" AS REAL) END)");
  }

  // SafeJsonFloat: a JSON number, or a string holding one; anything else is NULL.
  absl::StatusOr<Frag> AttrNumber(const Value& v) {
    if (pg()) {
      Frag j = Sql("(").Add(PgJson(v.path, false)).Add(")");
      Frag text = Sql("(").Add(j).Add(" #>> '{}')");
      return Sql("(CASE jsonb_typeof")
          .Add(j)
          .Add(" WHEN 'number' THEN (")
          .Add(j)
          .Add(")::float8 WHEN 'string' THEN ")
          .Add(TextAsNumber(text))
          .Add(" END)");
    }
    OSPREY_ASSIGN_OR_RETURN(std::string path, SqlitePath(v.path, v.pos));
    Frag extract = Sql("json_extract(s.attributes, ").Add(Param(path)).Add(")");
    return Sql("(CASE json_type(s.attributes, ")
        .Add(Param(path))
        .Add(") WHEN 'integer' THEN ")
        .Add(extract)
        .Add(" WHEN 'real' THEN ")
        .Add(extract)
        .Add(" WHEN 'text' THEN ")
        .Add(TextAsNumber(extract))
        .Add(" END)");
  }

  // SafeJsonBoolean: true/false, 1/0, "true"/"false" (any case); anything else is NULL.
  absl::StatusOr<Frag> AttrBool(const Value& v) {
    if (pg()) {
      Frag j = Sql("(").Add(PgJson(v.path, false)).Add(")");
      return Sql("(CASE jsonb_typeof")
          .Add(j)
          .Add(" WHEN 'boolean' THEN (")
          .Add(j)
          .Add(")::boolean WHEN 'number' THEN (CASE (")
          .Add(j)
          .Add(")::text WHEN '1' THEN true WHEN '0' THEN false END) WHEN 'string' THEN (CASE lower(")
          .Add(j)
          .Add(" #>> '{}') WHEN 'true' THEN true WHEN 'false' THEN false END) END)");
    }
    OSPREY_ASSIGN_OR_RETURN(std::string path, SqlitePath(v.path, v.pos));
    Frag extract = Sql("json_extract(s.attributes, ").Add(Param(path)).Add(")");
    return Sql("(CASE json_type(s.attributes, ")
        .Add(Param(path))
        .Add(") WHEN 'true' THEN 1 WHEN 'false' THEN 0 WHEN 'integer' THEN (CASE ")
        .Add(extract)
        .Add(" WHEN 1 THEN 1 WHEN 0 THEN 0 END) WHEN 'text' THEN (CASE lower(")
        .Add(extract)
        .Add(") WHEN 'true' THEN 1 WHEN 'false' THEN 0 END) END)");
  }

  // In a filter, `evals["x"].score` names a column of one joined annotation called x (FilterCondition
  // wraps the condition in EXISTS over those joins, so a span matches when ANY combination of its
  // annotations does, as in Phoenix). In a projection it reads the one with the lowest id.
  Frag AnnotationField(const Value& v, const std::string& field) {
    if (collecting_joins_) {
      auto key = std::make_pair(v.table, v.annotation);
      auto it = std::find(annotation_joins_.begin(), annotation_joins_.end(), key);
      if (it == annotation_joins_.end()) it = annotation_joins_.insert(it, key);
      return Sql("aj" + std::to_string(it - annotation_joins_.begin()) + "." + field);
    }
    return Sql("(SELECT a." + field + " FROM " + v.table + " a WHERE " + AnnotationJoin(v.table, "a") +
               " AND a.name = ")
        .Add(Param(v.annotation))
        .Add(" ORDER BY a.id LIMIT 1)");
  }
  static std::string AnnotationJoin(const std::string& table, const std::string& alias) {
    return table == "trace_annotations" ? alias + ".trace_rowid = s.trace_rowid" : alias + ".span_rowid = s.id";
  }
  Frag AnnotationExists(const Value& v, bool exists) {
    return Sql(std::string(exists ? "" : "NOT ") + "EXISTS (SELECT 1 FROM " + v.table + " a WHERE " +
               AnnotationJoin(v.table, "a") + " AND a.name = ")
        .Add(Param(v.annotation))
        .Add(")");
  }

  // The WHERE condition of a filter; see AnnotationField for how annotation fields match.
  absl::StatusOr<Frag> FilterCondition(const Node& node) {
    collecting_joins_ = true;
    annotation_joins_.clear();
    absl::StatusOr<Frag> condition = Condition(node);
    collecting_joins_ = false;
    if (!condition.ok() || annotation_joins_.empty()) return condition;
    Frag out = Sql("EXISTS (SELECT 1 FROM (SELECT 1) AS one");
    for (size_t i = 0; i < annotation_joins_.size(); ++i) {
      const auto& [table, name] = annotation_joins_[i];
      const std::string alias = "aj" + std::to_string(i);
      out.Add(" LEFT JOIN " + table + " " + alias + " ON " + AnnotationJoin(table, alias) + " AND " + alias +
              ".name = ")
          .Add(Param(name));
    }
    out.Add(" WHERE ").Add(*condition).Add(")");
    return out;
  }

  // ------------------------------------------------------------ coercions

  absl::StatusOr<Frag> AsText(const Value& v) {
    if (v.ty == Ty::kText) return v.frag;
    if (v.ty == Ty::kAttr) return AttrText(v);
    return Error(v.what + " is " + TyName(v.ty) + ", not text,", v.pos);
  }
  absl::StatusOr<Frag> AsNumber(const Value& v) {
    if (v.ty == Ty::kNumber) return v.frag;
    if (v.ty == Ty::kAttr) return AttrNumber(v);
    return Error(v.what + " is " + TyName(v.ty) + ", not a number,", v.pos);
  }
  absl::StatusOr<Frag> AsBool(const Value& v) {
    if (v.ty == Ty::kBool) return v.frag;
    if (v.ty == Ty::kAttr) return AttrBool(v);
    return Error(v.what + " is " + TyName(v.ty) + ", not a boolean,", v.pos);
  }
  absl::StatusOr<Frag> AsTime(const Value& v) {
    if (v.ty == Ty::kTime) return v.frag;
    if (v.ty == Ty::kText && v.literal) {
      const std::string& text = std::get<std::string>(*v.literal);
      std::optional<int64_t> ns = base::ParseIsoTime(text);
      if (!ns) return Error("'" + text + "' is not an ISO-8601 datetime", v.pos);
      return Param(*ns);
    }
    return Error("a datetime can only be compared with another datetime or an ISO-8601 string, not " + v.what, v.pos);
  }
  // A string literal compared with span_kind / status_code is uppercased, as Phoenix does.
  absl::StatusOr<Frag> AsTextFor(const Value& v, const Value& other) {
    if (other.uppercase && v.ty == Ty::kText && v.literal) {
      return Param(absl::AsciiStrToUpper(std::get<std::string>(*v.literal)));
    }
    return AsText(v);
  }
  absl::StatusOr<Frag> AsGeneric(const Value& v) {
    switch (v.ty) {
      case Ty::kAttr:
        return AttrText(v);
      case Ty::kText:
      case Ty::kNumber:
      case Ty::kBool:
      case Ty::kTime:
        return v.frag;
      case Ty::kAnnotation:
        return Error(v.what + " needs .score, .label or .explanation here", v.pos);
      default:
        return Error(std::string("cannot use ") + TyName(v.ty) + " here", v.pos);
    }
  }

  // ------------------------------------------------------------ names and paths

  // Flattens Name / Attribute / Subscript chains: root name plus accessors in order.
  struct Accessor {
    const Node* node;  // kAttribute (node->text) or the subscript's index expression
    bool subscript;
  };
  static const Node* ChainRoot(const Node& node, std::vector<Accessor>& accessors) {
    const Node* n = &node;
    while (n->type == NodeType::kAttribute || n->type == NodeType::kSubscript) {
      if (n->type == NodeType::kAttribute) {
        accessors.push_back({n, false});
      } else {
        accessors.push_back({n->children[1].get(), true});
      }
      n = n->children[0].get();
    }
    std::reverse(accessors.begin(), accessors.end());
    return n;
  }

  absl::Status AppendSubscript(const Node& index, bool split_dots, std::vector<PathElem>& path) {
    switch (index.type) {
      case NodeType::kString:
        if (split_dots) {
          size_t start = 0;
          while (true) {
            size_t dot = index.text.find('.', start);
            path.emplace_back(index.text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
            if (dot == std::string::npos) break;
            start = dot + 1;
          }
        } else {
          path.emplace_back(index.text);
        }
        return absl::OkStatus();
      case NodeType::kInt:
        if (index.int_value < 0) return Error("negative list index " + std::to_string(index.int_value), index.pos);
        if (index.int_value > 1000000) return Error("list index too large", index.pos);
        path.emplace_back(index.int_value);
        return absl::OkStatus();
      case NodeType::kList:
        for (const auto& item : index.children) {
          if (item->type != NodeType::kString) return Error("a key list may only hold strings", item->pos);
          path.emplace_back(item->text);
        }
        return absl::OkStatus();
      default:
        return Error("a subscript must be a string, a non-negative integer or a list of strings", index.pos);
    }
  }

  absl::StatusOr<Value> Column(const std::string& name, size_t pos) {
    Value v;
    v.pos = pos;
    v.what = name;
    auto text = [&](const char* sql, bool upper = false) {
      v.ty = Ty::kText;
      v.frag = Sql(sql);
      v.uppercase = upper;
      return v;
    };
    if (name == "span_id" || name == "context.span_id") return text("s.span_id");
    if (name == "trace_id" || name == "context.trace_id") return text("t.trace_id");
    if (name == "parent_id") return text("s.parent_id");
    if (name == "name") return text("s.name");
    if (name == "span_kind") return text("s.span_kind", true);
    if (name == "status_code") return text("s.status_code", true);
    if (name == "status_message") return text("s.status_message");
    if (name == "start_time" || name == "end_time") {
      v.ty = Ty::kTime;
      v.frag = Sql("s." + name);
      return v;
    }
    if (name == "latency_ms") {
      v.ty = Ty::kNumber;
      v.frag = Sql("((s.end_time - s.start_time) / 1000000.0)");
      return v;
    }
    for (const char* kind : {"prompt", "completion", "total"}) {
      if (name == std::string("cumulative_llm_token_count_") + kind) {
        v.ty = Ty::kNumber;
        v.integer = true;
        // The span's own tokens plus every descendant's (UNION stops on parent cycles).
        v.frag = Sql(std::string("(WITH RECURSIVE d(id, span_id) AS (SELECT c.id, c.span_id FROM spans c WHERE c.id = "
                                 "s.id UNION SELECT c.id, c.span_id FROM spans c JOIN d ON c.parent_id = d.span_id "
                                 "WHERE c.trace_rowid = s.trace_rowid) SELECT COALESCE(SUM(x.llm_token_count_") +
                     kind + "), 0) FROM spans x JOIN d ON x.id = d.id)");
        return v;
      }
    }
    return absl::NotFoundError(name);
  }

  absl::StatusOr<Value> Reference(const Node& node) {
    std::vector<Accessor> accessors;
    const Node* root = ChainRoot(node, accessors);
    if (root->type != NodeType::kName) {
      if (!accessors.empty()) return Error("attribute access or subscript on a non-name value", accessors[0].node->pos);
      return Error("unexpected expression", root->pos);
    }
    const std::string& name = root->text;
    std::string dotted = name;
    for (const Accessor& a : accessors) {
      if (a.subscript) break;
      dotted += "." + a.node->text;
    }
    if (name == "evals" || name == "annotations" || name == "trace_annotations") {
      Value v;
      v.ty = Ty::kAnnotation;
      v.pos = root->pos;
      v.table = name == "trace_annotations" ? "trace_annotations" : "span_annotations";
      if (accessors.empty() || !accessors[0].subscript || accessors[0].node->type != NodeType::kString) {
        return Error(name + " must be followed by a name in brackets, e.g. " + name + "[\"correctness\"]", root->pos);
      }
      v.annotation = accessors[0].node->text;
      v.what = name + "[\"" + v.annotation + "\"]";
      if (accessors.size() == 1) return v;
      const Accessor& field = accessors[1];
      if (field.subscript)
        return Error(v.what + " must be followed by .score, .label or .explanation", field.node->pos);
      if (accessors.size() > 2)
        return Error("unexpected access after " + v.what + "." + field.node->text, accessors[2].node->pos);
      const std::string& f = field.node->text;
      Value out;
      out.pos = root->pos;
      out.what = v.what + "." + f;
      if (f == "score") {
        out.ty = Ty::kNumber;
      } else if (f == "label" || f == "explanation") {
        out.ty = Ty::kText;
      } else {
        return Error("unknown annotation field '" + f + "' (expected score, label or explanation)" +
                         Hint(f, {"score", "label", "explanation"}),
                     field.node->pos);
      }
      out.frag = AnnotationField(v, f);
      return out;
    }
    if (name == "parent_span") {
      if (!accessors.empty()) {
        return Error("parent_span can only be tested with 'is None' or 'is not None'", accessors[0].node->pos);
      }
      Value v;
      v.ty = Ty::kParentSpan;
      v.pos = root->pos;
      v.what = "parent_span";
      return v;
    }
    // A column, when the chain is exactly its name.
    bool plain = true;
    for (const Accessor& a : accessors) plain = plain && !a.subscript;
    if (plain && (accessors.empty() || name == "context")) {
      auto column = Column(dotted, root->pos);
      if (column.ok() || column.status().code() != absl::StatusCode::kNotFound) return column;
    }
    Value v;
    v.ty = Ty::kAttr;
    v.pos = root->pos;
    size_t first = 0;
    if (name == "attributes") {
      if (accessors.empty())
        return Error("attributes must be followed by a key, e.g. attributes[\"llm.model_name\"]", root->pos);
      if (!accessors[0].subscript) {
        v.path.emplace_back(accessors[0].node->text);
      } else {
        OSPREY_RETURN_IF_ERROR(AppendSubscript(*accessors[0].node, /*split_dots=*/true, v.path));
      }
      first = 1;
    } else {
      v.path.emplace_back(name);
    }
    for (size_t i = first; i < accessors.size(); ++i) {
      if (accessors[i].subscript) {
        OSPREY_RETURN_IF_ERROR(AppendSubscript(*accessors[i].node, /*split_dots=*/false, v.path));
      } else {
        v.path.emplace_back(accessors[i].node->text);
      }
    }
    if (v.path.size() > limits_.max_path_length) {
      return Error("attribute path too long (more than " + std::to_string(limits_.max_path_length) + " keys)", v.pos);
    }
    v.what = "attribute ";
    for (size_t i = 0; i < v.path.size(); ++i) {
      if (const auto* key = std::get_if<std::string>(&v.path[i])) {
        if (key->find('"') != std::string::npos) {
          return Error("attribute key containing '\"' cannot be queried", v.pos);
        }
        v.what += (i > 0 ? "." : "") + *key;
      } else {
        v.what += "[" + std::to_string(std::get<int64_t>(v.path[i])) + "]";
      }
    }
    return v;
  }

  // ------------------------------------------------------------ expressions

  absl::StatusOr<Value> Literal(const Node& node) {
    Value v;
    v.pos = node.pos;
    switch (node.type) {
      case NodeType::kString:
        v.ty = Ty::kText;
        v.literal = node.text;
        v.what = "string";
        break;
      case NodeType::kInt:
        v.ty = Ty::kNumber;
        v.integer = true;
        v.literal = node.int_value;
        v.what = "number " + std::to_string(node.int_value);
        break;
      case NodeType::kFloat:
        v.ty = Ty::kNumber;
        v.literal = node.float_value;
        v.what = "number";
        break;
      case NodeType::kBool:
        v.ty = Ty::kBool;
        v.literal = node.bool_value;
        v.what = node.bool_value ? "True" : "False";
        break;
      default:
        v.ty = Ty::kNull;
        v.what = "None";
        return v;
    }
    v.frag = Param(*v.literal);
    return v;
  }

  absl::StatusOr<Value> Compile(const Node& node) {
    switch (node.type) {
      case NodeType::kString:
      case NodeType::kInt:
      case NodeType::kFloat:
      case NodeType::kBool:
      case NodeType::kNone:
        return Literal(node);
      case NodeType::kName:
      case NodeType::kAttribute:
      case NodeType::kSubscript:
        return Reference(node);
      case NodeType::kList:
      case NodeType::kTuple: {
        Value v;
        v.ty = Ty::kList;
        v.pos = node.pos;
        v.what = "a list";
        for (const auto& child : node.children) {
          OSPREY_ASSIGN_OR_RETURN(Value item, Compile(*child));
          if (!item.literal || item.ty == Ty::kNull) {
            return Error("list items must be strings, numbers or booleans", child->pos);
          }
          v.items.push_back(std::move(item));
        }
        return v;
      }
      case NodeType::kAnd:
      case NodeType::kOr: {
        Value v;
        v.ty = Ty::kCond;
        v.pos = node.pos;
        v.what = "condition";
        v.frag = Sql("(");
        for (size_t i = 0; i < node.children.size(); ++i) {
          if (i > 0) v.frag.Add(node.type == NodeType::kAnd ? " AND " : " OR ");
          OSPREY_ASSIGN_OR_RETURN(Frag operand, Condition(*node.children[i]));
          v.frag.Add(operand);
        }
        v.frag.Add(")");
        return v;
      }
      case NodeType::kNot: {
        OSPREY_ASSIGN_OR_RETURN(Frag operand, Condition(*node.children[0]));
        Value v;
        v.ty = Ty::kCond;
        v.pos = node.pos;
        v.what = "condition";
        v.frag = Sql("(NOT ").Add(operand).Add(")");
        return v;
      }
      case NodeType::kNegate: {
        OSPREY_ASSIGN_OR_RETURN(Value operand, Compile(*node.children[0]));
        OSPREY_ASSIGN_OR_RETURN(Frag f, AsNumber(operand));
        Value v;
        v.ty = Ty::kNumber;
        v.pos = node.pos;
        v.integer = operand.integer;
        v.what = "-" + operand.what;
        v.frag = Sql("(-").Add(f).Add(")");
        return v;
      }
      case NodeType::kBinary:
        return Arithmetic(node);
      case NodeType::kCall:
        return Call(node);
      case NodeType::kCompare:
        return Compare(node);
    }
    return Error("unsupported expression", node.pos);
  }

  absl::StatusOr<Value> Arithmetic(const Node& node) {
    OSPREY_ASSIGN_OR_RETURN(Value left, Compile(*node.children[0]));
    OSPREY_ASSIGN_OR_RETURN(Value right, Compile(*node.children[1]));
    OSPREY_ASSIGN_OR_RETURN(Frag a, AsNumber(left));
    OSPREY_ASSIGN_OR_RETURN(Frag b, AsNumber(right));
    Value v;
    v.ty = Ty::kNumber;
    v.pos = node.pos;
    v.what = "arithmetic";
    v.integer = left.integer && right.integer && node.binary_op != BinaryOp::kDiv;
    switch (node.binary_op) {
      case BinaryOp::kAdd:
        v.frag = Sql("(").Add(a).Add(" + ").Add(b).Add(")");
        break;
      case BinaryOp::kSub:
        v.frag = Sql("(").Add(a).Add(" - ").Add(b).Add(")");
        break;
      case BinaryOp::kMul:
        v.frag = Sql("(").Add(a).Add(" * ").Add(b).Add(")");
        break;
      case BinaryOp::kDiv:
        v.frag = pg() ? Sql("((").Add(a).Add(")::float8 / NULLIF((").Add(b).Add(")::float8, 0))")
                      : Sql("(CAST(").Add(a).Add(" AS REAL) / NULLIF(CAST(").Add(b).Add(" AS REAL), 0))");
        break;
      case BinaryOp::kMod:
        v.integer = true;
        v.frag = pg() ? Sql("(trunc(").Add(a).Add(")::bigint % NULLIF(trunc(").Add(b).Add(")::bigint, 0))")
                      : Sql("(CAST(").Add(a).Add(" AS INTEGER) % NULLIF(CAST(").Add(b).Add(" AS INTEGER), 0))");
        break;
    }
    return v;
  }

  absl::StatusOr<Value> Call(const Node& node) {
    const std::string& fn = node.text;
    if (fn != "str" && fn != "int" && fn != "float") {
      return Error("function '" + fn + "' is not supported (only str(), int() and float())", node.pos);
    }
    if (node.children.size() != 1) return Error(fn + "() takes exactly one argument", node.pos);
    OSPREY_ASSIGN_OR_RETURN(Value arg, Compile(*node.children[0]));
    Value v;
    v.pos = node.pos;
    v.what = fn + "(" + arg.what + ")";
    if (fn == "str") {
      v.ty = Ty::kText;
      if (arg.ty == Ty::kNumber) {
        v.frag = pg() ? Sql("((").Add(arg.frag).Add(")::text)") : Sql("CAST(").Add(arg.frag).Add(" AS TEXT)");
        return v;
      }
      OSPREY_ASSIGN_OR_RETURN(v.frag, AsText(arg));
      v.literal = arg.literal;
      return v;
    }
    v.ty = Ty::kNumber;
    Frag number;
    if (arg.ty == Ty::kText && arg.literal) {
      std::optional<double> parsed = ParseNumber(std::get<std::string>(*arg.literal));
      if (!parsed) return Error("'" + std::get<std::string>(*arg.literal) + "' is not a number", arg.pos);
      number = Param(*parsed);
    } else if (arg.ty == Ty::kText) {
      number = TextAsNumber(arg.frag);
    } else if (arg.ty == Ty::kNumber) {
      number = pg() ? Sql("((").Add(arg.frag).Add(")::float8)") : Sql("CAST(").Add(arg.frag).Add(" AS REAL)");
    } else {
      OSPREY_ASSIGN_OR_RETURN(number, AsNumber(arg));
    }
    if (fn == "float") {
      v.frag = number;
      return v;
    }
    v.integer = true;
    v.frag = pg() ? Sql("trunc(").Add(number).Add(")::bigint") : Sql("CAST(").Add(number).Add(" AS INTEGER)");
    return v;
  }

  absl::StatusOr<Frag> IsNone(const Value& v, bool negate) {
    if (v.ty == Ty::kParentSpan) {
      return Sql(std::string(negate ? "" : "NOT ") + ParentExists());
    }
    if (v.ty == Ty::kAnnotation) return AnnotationExists(v, negate);
    if (v.ty == Ty::kNull) return Sql(negate ? "(1 = 0)" : "(1 = 1)");
    if (v.ty == Ty::kCond || v.ty == Ty::kList)
      return Error(std::string("cannot test ") + TyName(v.ty) + " against None", v.pos);
    OSPREY_ASSIGN_OR_RETURN(Frag f, AsGeneric(v));
    return Sql("(").Add(f).Add(negate ? " IS NOT NULL)" : " IS NULL)");
  }

  absl::StatusOr<Frag> CompareOne(const Value& l, CompareOp op, const Value& r, size_t pos) {
    if (op == CompareOp::kIs || op == CompareOp::kIsNot) {
      if (r.ty != Ty::kNull) return Error("'is' can only compare with None", r.pos);
      return IsNone(l, op == CompareOp::kIsNot);
    }
    if (op == CompareOp::kIn || op == CompareOp::kNotIn) return In(l, op == CompareOp::kNotIn, r, pos);
    for (const Value* v : {&l, &r}) {
      if (v->ty == Ty::kParentSpan)
        return Error("parent_span can only be tested with 'is None' or 'is not None'", v->pos);
      if (v->ty == Ty::kAnnotation)
        return Error(v->what + " needs .score, .label or .explanation to be compared", v->pos);
      if (v->ty == Ty::kList) return Error("a list can only follow 'in' or 'not in'", v->pos);
      if (v->ty == Ty::kCond) return Error("cannot compare a condition; combine conditions with and/or/not", v->pos);
    }
    bool equality = op == CompareOp::kEq || op == CompareOp::kNe;
    if (l.ty == Ty::kNull || r.ty == Ty::kNull) {
      if (!equality) return Error("cannot order-compare with None", (l.ty == Ty::kNull ? l : r).pos);
      return IsNone(l.ty == Ty::kNull ? r : l, op == CompareOp::kNe);
    }
    Frag a;
    Frag b;
    auto has = [&](Ty ty) { return l.ty == ty || r.ty == ty; };
    auto mismatch = [&]() {
      return Error("cannot compare " + l.what + " (" + TyName(l.ty) + ") with " + r.what + " (" + TyName(r.ty) + ")",
                   pos);
    };
    if (has(Ty::kTime)) {
      OSPREY_ASSIGN_OR_RETURN(a, AsTime(l));
      OSPREY_ASSIGN_OR_RETURN(b, AsTime(r));
    } else if (has(Ty::kBool)) {
      if ((l.ty != Ty::kBool && l.ty != Ty::kAttr) || (r.ty != Ty::kBool && r.ty != Ty::kAttr)) return mismatch();
      OSPREY_ASSIGN_OR_RETURN(a, AsBool(l));
      OSPREY_ASSIGN_OR_RETURN(b, AsBool(r));
    } else if (has(Ty::kNumber) || (!equality && l.ty == Ty::kAttr && r.ty == Ty::kAttr)) {
      if (l.ty == Ty::kText || r.ty == Ty::kText) return mismatch();
      OSPREY_ASSIGN_OR_RETURN(a, AsNumber(l));
      OSPREY_ASSIGN_OR_RETURN(b, AsNumber(r));
    } else {
      OSPREY_ASSIGN_OR_RETURN(a, AsTextFor(l, r));
      OSPREY_ASSIGN_OR_RETURN(b, AsTextFor(r, l));
    }
    static const char* const kSql[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
    Frag out = Sql("(").Add(a).Add(kSql[static_cast<int>(op)]).Add(b);
    if (op == CompareOp::kEq && (IsSpanIdColumn(l) || IsSpanIdColumn(r))) {
      out.Add(" AND ").Add(Sql(store::SpanIdProbe(dialect_, "s")));
    }
    out.Add(")");
    return out;
  }

  absl::StatusOr<Frag> In(const Value& l, bool negate, const Value& r, size_t pos) {
    if (r.ty == Ty::kList) {
      if (r.items.empty()) return Sql(negate ? "(1 = 1)" : "(1 = 0)");
      Ty kind = r.items[0].ty;
      for (const Value& item : r.items) {
        if (item.ty != kind)
          return Error("list mixes " + std::string(TyName(kind)) + " and " + TyName(item.ty), item.pos);
      }
      Frag left;
      if (kind == Ty::kText) {
        if (l.ty == Ty::kTime) {
          return Error("a datetime cannot be tested with 'in'; compare it with ISO-8601 strings", l.pos);
        }
        OSPREY_ASSIGN_OR_RETURN(left, AsText(l));
      } else if (kind == Ty::kNumber) {
        OSPREY_ASSIGN_OR_RETURN(left, AsNumber(l));
      } else {
        OSPREY_ASSIGN_OR_RETURN(left, AsBool(l));
      }
      Frag f = Sql("(").Add(left).Add(negate ? " NOT IN (" : " IN (");
      for (size_t i = 0; i < r.items.size(); ++i) {
        if (i > 0) f.Add(", ");
        if (kind == Ty::kText) {
          OSPREY_ASSIGN_OR_RETURN(Frag item, AsTextFor(r.items[i], l));
          f.Add(item);
        } else {
          f.Add(r.items[i].frag);
        }
      }
      f.Add(")");
      if (!negate && IsSpanIdColumn(l)) f.Add(" AND ").Add(store::SpanIdProbe(dialect_, "s"));
      return f.Add(")");
    }
    if (r.ty == Ty::kText || r.ty == Ty::kAttr) {
      if (l.ty != Ty::kText && l.ty != Ty::kAttr) {
        return Error("'in' with text on its right needs text on its left, not " + l.what, l.pos);
      }
      OSPREY_ASSIGN_OR_RETURN(Frag needle, AsText(l));
      OSPREY_ASSIGN_OR_RETURN(Frag haystack, AsText(r));
      Frag f =
          Sql(negate ? "(NOT (" : "((").Add(pg() ? "strpos(lower(" : "instr(lower(").Add(haystack).Add("), lower(");
      return f.Add(needle).Add(")) > 0))");
    }
    return Error("'in' needs a list or text on its right, not " + std::string(TyName(r.ty)), pos);
  }

  absl::StatusOr<Value> Compare(const Node& node) {
    std::vector<Value> operands;
    for (const auto& child : node.children) {
      OSPREY_ASSIGN_OR_RETURN(Value v, Compile(*child));
      operands.push_back(std::move(v));
    }
    Value v;
    v.ty = Ty::kCond;
    v.pos = node.pos;
    v.what = "condition";
    v.frag = Sql("(");
    for (size_t i = 0; i < node.ops.size(); ++i) {
      if (i > 0) v.frag.Add(" AND ");
      OSPREY_ASSIGN_OR_RETURN(Frag f, CompareOne(operands[i], node.ops[i], operands[i + 1], operands[i + 1].pos));
      v.frag.Add(f);
    }
    v.frag.Add(")");
    return v;
  }

  // A node in condition position: a comparison, and/or/not, or an annotation existence test.
  absl::StatusOr<Frag> Condition(const Node& node) {
    OSPREY_ASSIGN_OR_RETURN(Value v, Compile(node));
    if (v.ty == Ty::kCond) return v.frag;
    if (v.ty == Ty::kAnnotation) return AnnotationExists(v, true);
    return Error(v.what + " is not a condition, expected a comparison such as `x == ...`", v.pos);
  }

  // A select / index / kwarg key: a value expression.
  absl::StatusOr<std::pair<Frag, ColumnKind>> Projection(std::string_view key) {
    OSPREY_ASSIGN_OR_RETURN(auto node, ParseExpression(key, limits_.parse));
    OSPREY_ASSIGN_OR_RETURN(Value v, Compile(*node));
    switch (v.ty) {
      case Ty::kAttr: {
        OSPREY_ASSIGN_OR_RETURN(Frag f, AttrJson(v));
        return std::make_pair(f, ColumnKind::kJson);
      }
      case Ty::kText:
        return std::make_pair(v.frag, ColumnKind::kText);
      case Ty::kNumber:
        return std::make_pair(v.frag, v.integer ? ColumnKind::kInteger : ColumnKind::kFloat);
      case Ty::kTime:
        return std::make_pair(v.frag, ColumnKind::kTime);
      case Ty::kBool:
        return std::make_pair(v.frag, ColumnKind::kBool);
      case Ty::kCond:
        return std::make_pair(
            pg() ? v.frag : Sql("(CASE WHEN ").Add(v.frag).Add(" THEN 1 WHEN NOT ").Add(v.frag).Add(" THEN 0 END)"),
            ColumnKind::kBool);
      case Ty::kAnnotation:
        return std::make_pair(AnnotationExists(v, true), ColumnKind::kBool);
      default:
        return Error(std::string("cannot select ") + TyName(v.ty), v.pos);
    }
  }

  // Numbers the placeholders of `frag` for the dialect.
  store::SqlQuery Finish(Frag frag) const {
    store::SqlQuery query;
    query.params = std::move(frag.params);
    int n = 0;
    for (char c : frag.sql) {
      if (c != kMark) {
        query.sql += c;
        continue;
      }
      ++n;
      query.sql += pg() ? "$" + std::to_string(n) : "?" + std::to_string(n);
    }
    return query;
  }

 private:
  Dialect dialect_;
  bool collecting_joins_ = false;
  std::vector<std::pair<std::string, std::string>> annotation_joins_;  // (table, name), in first-use order
  const CompileLimits& limits_;
};

absl::Status Prefixed(const std::string& where, const absl::Status& status) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, where + ": " + std::string(status.message()));
}

}  // namespace

absl::StatusOr<store::SqlQuery> CompileCondition(std::string_view condition, Dialect dialect,
                                                 const CompileLimits& limits) {
  Compiler compiler(dialect, limits);
  OSPREY_ASSIGN_OR_RETURN(auto node, ParseExpression(condition, limits.parse));
  OSPREY_ASSIGN_OR_RETURN(Frag frag, compiler.FilterCondition(*node));
  return compiler.Finish(std::move(frag));
}

absl::StatusOr<CompiledQuery> CompileQuery(const QuerySpec& spec, const QueryWindow& window, Dialect dialect,
                                           const CompileLimits& limits) {
  if (window.limit < 1 || window.limit > limits.max_limit) {
    return base::Permanent(
        absl::StatusCode::kInvalidArgument,
        "limit must be between 1 and " + std::to_string(limits.max_limit) + ", got " + std::to_string(window.limit));
  }
  Compiler c(dialect, limits);
  CompiledQuery out;
  Frag select = Sql("SELECT ");
  int column = 0;
  auto add = [&](const Frag& expr, const std::string& label, ColumnKind kind) {
    if (column > 0) select.Add(", ");
    select.Add(expr).Add(" AS c" + std::to_string(column++));
    out.columns.push_back({label, kind});
  };
  out.all_spans = spec.select.empty() && !spec.explode && !spec.concat;
  size_t entries = spec.select.size() + (spec.explode ? spec.explode->kwargs.size() : 0) +
                   (spec.concat ? spec.concat->kwargs.size() : 0);
  if (entries > limits.max_select) {
    return base::Permanent(absl::StatusCode::kInvalidArgument,
                           "too many selected columns (at most " + std::to_string(limits.max_select) + ")");
  }
  if (out.all_spans) {
    add(Sql("s.span_id"), "context.span_id", ColumnKind::kText);
    add(Sql("s.name"), "name", ColumnKind::kText);
    add(Sql("s.span_kind"), "span_kind", ColumnKind::kText);
    add(Sql("s.parent_id"), "parent_id", ColumnKind::kText);
    add(Sql("s.start_time"), "start_time", ColumnKind::kTime);
    add(Sql("s.end_time"), "end_time", ColumnKind::kTime);
    add(Sql("s.status_code"), "status_code", ColumnKind::kText);
    add(Sql("s.status_message"), "status_message", ColumnKind::kText);
    add(Sql(dialect == Dialect::kPostgres ? "s.events::text" : "s.events"), "events", ColumnKind::kEvents);
    add(Sql("t.trace_id"), "context.trace_id", ColumnKind::kText);
    add(Sql(dialect == Dialect::kPostgres ? "s.attributes::text" : "s.attributes"), "attributes",
        ColumnKind::kAttributes);
  } else {
    std::string index_key = spec.explode ? spec.explode->primary_index_key : spec.index;
    auto index = c.Projection(index_key);
    if (!index.ok()) return Prefixed(spec.explode ? "explode.primary_index_key" : "index", index.status());
    add(index->first, index_key, index->second);
    for (const auto& [label, key] : spec.select) {
      if (label == index_key) continue;  // the index is not repeated as a column
      auto projection = c.Projection(key);
      if (!projection.ok()) return Prefixed("select." + label, projection.status());
      add(projection->first, label, projection->second);
    }
    if (spec.explode || spec.concat) {
      const std::string& key = spec.explode ? spec.explode->key : spec.concat->key;
      auto list = c.Projection(key);
      if (!list.ok()) return Prefixed(spec.explode ? "explode.key" : "concat.key", list.status());
      if (list->second != ColumnKind::kJson) {
        return base::Permanent(absl::StatusCode::kInvalidArgument,
                               std::string(spec.explode ? "explode" : "concat") + ".key must name a list attribute");
      }
      for (const auto& [label, sub] : spec.explode ? spec.explode->kwargs : spec.concat->kwargs) {
        auto parsed = ParseExpression(sub, limits.parse);
        if (!parsed.ok())
          return Prefixed(std::string(spec.explode ? "explode" : "concat") + ".kwargs." + label, parsed.status());
      }
      out.list_column = out.columns.size();
      add(list->first, key, ColumnKind::kJson);
    }
  }

  Frag where =
      Sql(" FROM spans s JOIN traces t ON t.id = s.trace_rowid WHERE s.project_id = ").Add(c.Param(window.project_id));
  if (window.start_time_ns) where.Add(" AND s.start_time >= ").Add(c.Param(*window.start_time_ns));
  if (window.end_time_ns) where.Add(" AND s.start_time < ").Add(c.Param(*window.end_time_ns));
  if (window.root_spans_only) {
    where.Add(window.orphan_span_as_root_span ? " AND NOT " + c.ParentExists() : std::string(" AND s.parent_id IS NULL"));
  }
  if (spec.filter) {
    auto node = ParseExpression(*spec.filter, limits.parse);
    if (!node.ok()) return Prefixed("filter", node.status());
    auto condition = c.FilterCondition(**node);
    if (!condition.ok()) return Prefixed("filter", condition.status());
    where.Add(" AND ").Add(*condition);
  }
  where.Add(" ORDER BY s.start_time DESC, s.id DESC LIMIT ").Add(c.Param(window.limit));
  select.Add(where);
  out.sql = c.Finish(std::move(select));
  out.sql.max_rows = window.limit;
  return out;
}

}  // namespace osprey::spanquery
