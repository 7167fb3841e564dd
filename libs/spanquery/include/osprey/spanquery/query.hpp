#pragma once

// A span query as Phoenix's client sends it (phoenix-compat §5.2): select, filter, explode, concat,
// rename, index. Parsed from JSON; the expressions inside are checked later by the compiler.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "rapidjson/document.h"

namespace osprey::spanquery {

// (output label, key) pairs keep the order the client sent.
using KeyPairs = std::vector<std::pair<std::string, std::string>>;

struct Explode {
  std::string key;  // a list attribute, e.g. retrieval.documents
  std::string primary_index_key = "context.span_id";
  KeyPairs kwargs;  // output label -> key inside each list item
};

struct Concat {
  std::string key;
  std::string separator = "\n\n";
  KeyPairs kwargs;
};

struct QuerySpec {
  KeyPairs select;  // output label -> projection key
  std::optional<std::string> filter;
  std::optional<Explode> explode;
  std::optional<Concat> concat;
  KeyPairs rename;  // old label -> new label
  std::string index = "context.span_id";
};

// INVALID_ARGUMENT naming the offending member ("select.x.key must be a string", "unknown member
// 'selekt'", ...) for anything that is not the documented shape.
absl::StatusOr<QuerySpec> ParseQuerySpec(const rapidjson::Value& json);

}  // namespace osprey::spanquery
