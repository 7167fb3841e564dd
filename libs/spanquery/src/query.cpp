#include "osprey/spanquery/query.hpp"

#include <string>

#include "osprey/base/status.hpp"

namespace osprey::spanquery {
namespace {

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

absl::StatusOr<std::string> String(const rapidjson::Value& value, const std::string& where) {
  if (!value.IsString()) return Invalid(where + " must be a string");
  return std::string(value.GetString(), value.GetStringLength());
}

// {"label": "key", ...}: a map of strings.
absl::StatusOr<KeyPairs> StringMap(const rapidjson::Value& value, const std::string& where) {
  if (!value.IsObject()) return Invalid(where + " must be an object");
  KeyPairs pairs;
  for (const auto& member : value.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    OSPREY_ASSIGN_OR_RETURN(std::string key, String(member.value, where + "." + name));
    pairs.emplace_back(std::move(name), std::move(key));
  }
  return pairs;
}

// Checks that `object` has no member outside `allowed`.
absl::Status OnlyMembers(const rapidjson::Value& object, const std::string& where,
                         std::initializer_list<const char*> allowed) {
  for (const auto& member : object.GetObject()) {
    std::string_view name(member.name.GetString(), member.name.GetStringLength());
    bool known = false;
    for (const char* a : allowed) known = known || name == a;
    if (!known) return Invalid("unknown member '" + std::string(name) + "' in " + where);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Projection(const rapidjson::Value& value, const std::string& where) {
  if (!value.IsObject()) return Invalid(where + " must be an object {\"key\": ...}");
  OSPREY_RETURN_IF_ERROR(OnlyMembers(value, where, {"key"}));
  auto key = value.FindMember("key");
  if (key == value.MemberEnd()) return Invalid(where + ".key is missing");
  return String(key->value, where + ".key");
}

}  // namespace

absl::StatusOr<QuerySpec> ParseQuerySpec(const rapidjson::Value& json) {
  if (!json.IsObject()) return Invalid("query must be an object");
  OSPREY_RETURN_IF_ERROR(OnlyMembers(json, "query", {"select", "filter", "explode", "concat", "rename", "index"}));
  QuerySpec spec;
  for (const auto& member : json.GetObject()) {
    std::string name(member.name.GetString(), member.name.GetStringLength());
    const rapidjson::Value& v = member.value;
    if (v.IsNull()) continue;
    if (name == "select") {
      if (!v.IsObject()) return Invalid("select must be an object");
      for (const auto& item : v.GetObject()) {
        std::string label(item.name.GetString(), item.name.GetStringLength());
        OSPREY_ASSIGN_OR_RETURN(std::string key, Projection(item.value, "select." + label));
        spec.select.emplace_back(std::move(label), std::move(key));
      }
    } else if (name == "filter") {
      if (!v.IsObject()) return Invalid("filter must be an object {\"condition\": ...}");
      OSPREY_RETURN_IF_ERROR(OnlyMembers(v, "filter", {"condition", "valid_eval_names"}));
      auto condition = v.FindMember("condition");
      if (condition == v.MemberEnd()) return Invalid("filter.condition is missing");
      OSPREY_ASSIGN_OR_RETURN(std::string text, String(condition->value, "filter.condition"));
      if (!text.empty()) spec.filter = std::move(text);
    } else if (name == "explode" || name == "concat") {
      if (!v.IsObject()) return Invalid(name + " must be an object");
      OSPREY_RETURN_IF_ERROR(name == "explode" ? OnlyMembers(v, name, {"key", "primary_index_key", "kwargs"})
                                               : OnlyMembers(v, name, {"key", "separator", "kwargs"}));
      auto key = v.FindMember("key");
      if (key == v.MemberEnd()) return Invalid(name + ".key is missing");
      OSPREY_ASSIGN_OR_RETURN(std::string key_text, String(key->value, name + ".key"));
      KeyPairs kwargs;
      if (auto k = v.FindMember("kwargs"); k != v.MemberEnd() && !k->value.IsNull()) {
        OSPREY_ASSIGN_OR_RETURN(kwargs, StringMap(k->value, name + ".kwargs"));
      }
      if (name == "explode") {
        Explode explode;
        explode.key = std::move(key_text);
        explode.kwargs = std::move(kwargs);
        if (auto p = v.FindMember("primary_index_key"); p != v.MemberEnd()) {
          OSPREY_ASSIGN_OR_RETURN(explode.primary_index_key, String(p->value, "explode.primary_index_key"));
        }
        spec.explode = std::move(explode);
      } else {
        Concat concat;
        concat.key = std::move(key_text);
        concat.kwargs = std::move(kwargs);
        if (auto s = v.FindMember("separator"); s != v.MemberEnd()) {
          OSPREY_ASSIGN_OR_RETURN(concat.separator, String(s->value, "concat.separator"));
        }
        spec.concat = std::move(concat);
      }
    } else if (name == "rename") {
      OSPREY_ASSIGN_OR_RETURN(spec.rename, StringMap(v, "rename"));
    } else if (name == "index") {
      OSPREY_ASSIGN_OR_RETURN(spec.index, Projection(v, "index"));
    }
  }
  return spec;
}

}  // namespace osprey::spanquery
