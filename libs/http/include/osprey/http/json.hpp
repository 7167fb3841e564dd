#pragma once

// RapidJSON helpers for REST handlers: compact serialization, JSON responses, parsing with a
// precise error message.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "osprey/http/server.hpp"
#include "osprey/base/encoding.hpp"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::http {

// Streams JSON into a StringBuffer: `rapidjson::StringBuffer buf; JsonWriter w(buf); w.StartObject(); ...`.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Compact JSON text of `value`. Non-finite numbers, which JSON cannot represent, become null.
std::string ToString(const rapidjson::Value& value);

// `value` as an application/json response.
Response JsonResponse(int status, const rapidjson::Value& value);

// Nesting ParseJson accepts (arrays and objects).
inline constexpr int kMaxJsonDepth = 256;

using base::JsonTextDepth;

// Parses `text` into `document` (replacing its content). Malformed JSON: INVALID_ARGUMENT naming
// the reason and byte offset, e.g. "invalid JSON at offset 7: Missing a colon after a name of object member."
// Nesting deeper than kMaxJsonDepth is refused before parsing: "JSON nested deeper than 256 levels".
absl::Status ParseJson(std::string_view text, rapidjson::Document& document);

}  // namespace osprey::http
