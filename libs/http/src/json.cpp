#include "osprey/http/json.hpp"

#include <algorithm>
#include <cmath>

#include "rapidjson/error/en.h"

namespace osprey::http {
namespace {

// Value::Accept() is a template over the handler, so this Double() hides JsonWriter's.
class FiniteWriter final : public JsonWriter {
 public:
  using JsonWriter::JsonWriter;
  bool Double(double d) { return std::isfinite(d) ? JsonWriter::Double(d) : JsonWriter::Null(); }
};

}  // namespace

std::string ToString(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  FiniteWriter writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

Response JsonResponse(int status, const rapidjson::Value& value) { return Response::Json(status, ToString(value)); }

int JsonTextDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

absl::Status ParseJson(std::string_view text, rapidjson::Document& document) {
  if (JsonTextDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    document.SetNull();
    return absl::InvalidArgumentError("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  document.Parse(text.data(), text.size());
  if (document.HasParseError()) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(document.GetErrorOffset()) + ": " +
                                      rapidjson::GetParseError_En(document.GetParseError()));
  }
  return absl::OkStatus();
}

}  // namespace osprey::http
