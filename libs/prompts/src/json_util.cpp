#include "json_util.hpp"

#include <utility>
#include <vector>

#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::prompts {

absl::StatusOr<rapidjson::Document> ParseJson(std::string_view json) {
  rapidjson::Document doc;
  // Iterative: the parser's stack, not the thread's, grows with nesting.
  doc.Parse<rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(Cat("invalid JSON at offset ", doc.GetErrorOffset(), ": ",
                                          rapidjson::GetParseError_En(doc.GetParseError())));
  }
  // Writing and rendering recurse once per level, so deeper documents are refused here.
  std::vector<std::pair<const rapidjson::Value*, int>> stack = {{&doc, 1}};
  while (!stack.empty()) {
    auto [value, depth] = stack.back();
    stack.pop_back();
    if (!value->IsArray() && !value->IsObject()) continue;
    if (depth > kMaxJsonDepth) return absl::InvalidArgumentError(Cat("JSON nests deeper than ", kMaxJsonDepth, " levels"));
    if (value->IsArray()) {
      for (const rapidjson::Value& child : value->GetArray()) stack.emplace_back(&child, depth + 1);
    } else {
      for (const auto& member : value->GetObject()) stack.emplace_back(&member.value, depth + 1);
    }
  }
  return doc;
}

std::string Join(const std::vector<std::string_view>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(items[i]);
  }
  return out;
}

const rapidjson::Value* FindMember(const rapidjson::Value& object, std::string_view key) {
  if (!object.IsObject()) return nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) return &it->value;
  }
  return nullptr;
}

std::string_view JsonTypeName(const rapidjson::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "a boolean";
    case rapidjson::kObjectType:
      return "an object";
    case rapidjson::kArrayType:
      return "an array";
    case rapidjson::kStringType:
      return "a string";
    case rapidjson::kNumberType:
      return "a number";
  }
  return "a value";
}

std::string ToJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace osprey::prompts
