#include "osprey/http/json.hpp"

#include <cmath>

#include "osprey/base/encoding.hpp"
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

absl::Status ParseJson(std::string_view text, rapidjson::Document& document) {
  if (base::JsonTextDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
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
