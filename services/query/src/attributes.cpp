#include "osprey/query/attributes.hpp"

#include <unordered_map>

#include "absl/status/status.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::query {
namespace {

using Pairs = std::vector<std::pair<std::string, const rapidjson::Value*>>;

// Keeps first-seen key order and last-seen value, as assigning into a Python dict does.
class Collector {
 public:
  void Add(std::string key, const rapidjson::Value* value) {
    auto [it, inserted] = index_.try_emplace(key, pairs_.size());
    if (inserted) {
      pairs_.emplace_back(std::move(key), value);
    } else {
      pairs_[it->second].second = value;
    }
  }
  Pairs Take() { return std::move(pairs_); }

 private:
  Pairs pairs_;
  std::unordered_map<std::string, size_t> index_;
};

std::string Join(const std::string& prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  std::string out = prefix;
  out += '.';
  out += key;
  return out;
}

void FlattenObject(const rapidjson::Value& object, const std::string& prefix, Collector& out);

void FlattenArray(const rapidjson::Value& array, const std::string& prefix, Collector& out) {
  bool has_object = false;
  for (const auto& item : array.GetArray()) {
    if (item.IsObject()) {
      has_object = true;
      break;
    }
  }
  if (!has_object) {
    out.Add(prefix, &array);
    return;
  }
  size_t index = 0;
  for (const auto& item : array.GetArray()) {
    if (item.IsObject()) FlattenObject(item, Join(prefix, std::to_string(index)), out);
    ++index;
  }
}

void FlattenObject(const rapidjson::Value& object, const std::string& prefix, Collector& out) {
  for (const auto& member : object.GetObject()) {
    std::string key = Join(prefix, std::string_view(member.name.GetString(), member.name.GetStringLength()));
    const rapidjson::Value& value = member.value;
    if (value.IsObject()) {
      FlattenObject(value, key, out);
    } else if (value.IsArray()) {
      FlattenArray(value, key, out);
    } else if (!value.IsNull()) {
      out.Add(std::move(key), &value);
    }
  }
}

}  // namespace

std::vector<std::pair<std::string, const rapidjson::Value*>> FlattenAttributes(const rapidjson::Value& nested) {
  Collector out;
  if (nested.IsObject()) FlattenObject(nested, "", out);
  return out.Take();
}

absl::StatusOr<std::string> FlattenAttributesJson(std::string_view nested_json,
                                                  const std::vector<std::string>& drop_keys) {
  rapidjson::Document doc;
  if (nested_json.empty()) {
    doc.SetObject();
  } else {
    doc.Parse(nested_json.data(), nested_json.size());
    if (doc.HasParseError()) {
      return absl::InvalidArgumentError(std::string("attributes are not JSON: ") +
                                        rapidjson::GetParseError_En(doc.GetParseError()));
    }
  }
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  for (const auto& [key, value] : FlattenAttributes(doc)) {
    bool dropped = false;
    for (const auto& drop : drop_keys) dropped = dropped || drop == key;
    if (dropped) continue;
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    value->Accept(writer);
  }
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace osprey::query
