#pragma once

// RapidJSON helpers shared by validation and rendering (private to libs/prompts).

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rapidjson/document.h"

namespace osprey::prompts {

namespace text_detail {
inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, char c) { out += c; }
template <typename T>
  requires std::is_integral_v<T>
void Append(std::string& out, T value) {
  out += std::to_string(value);
}
}  // namespace text_detail

// Concatenation that takes std::string_view (Debian's absl::StrCat does not).
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (text_detail::Append(out, args), ...);
  return out;
}

// `items` joined with `separator`.
std::string Join(const std::vector<std::string_view>& items, std::string_view separator);

// Arrays and objects nested deeper than this are refused (rendering and writing recurse per level).
inline constexpr int kMaxJsonDepth = 256;

// Parses one JSON document (the whole text; trailing garbage is an error) without recursion. Errors
// name the offset and RapidJSON's reason, or the nesting limit.
absl::StatusOr<rapidjson::Document> ParseJson(std::string_view json);

// The member `key` of an object, or nullptr.
const rapidjson::Value* FindMember(const rapidjson::Value& object, std::string_view key);

// "a string", "a number", "an object", ... for error messages.
std::string_view JsonTypeName(const rapidjson::Value& value);

// Compact JSON text.
std::string ToJson(const rapidjson::Value& value);

}  // namespace osprey::prompts
