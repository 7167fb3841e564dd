#pragma once

// One walk over a RapidJSON value that writes its JSON text, for the two spellings Osprey stores:
// RapidJSON's compact form (ToJsonText) and Python's json.dumps (PyJsonDumps). A spelling gives the
// separators and how strings and doubles are written; null, booleans and integers are the same in
// both. The recursion is bounded by the attribute depth limit (callers guarantee it).
// Thread safety: pure functions.

#include <string>
#include <string_view>

#include "rapidjson/document.h"
#include "rapidjson/internal/itoa.h"

namespace osprey::otlp::internal {

// Spelling: `kItemSeparator` and `kNameSeparator` (string views), `String(text, out)` and
// `Double(value, out)`.
template <typename Spelling>
void AppendJsonText(const rapidjson::Value& value, const Spelling& spelling, std::string* out) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      out->append("null");
      return;
    case rapidjson::kFalseType:
      out->append("false");
      return;
    case rapidjson::kTrueType:
      out->append("true");
      return;
    case rapidjson::kStringType:
      spelling.String(std::string_view(value.GetString(), value.GetStringLength()), out);
      return;
    case rapidjson::kNumberType: {
      if (value.IsDouble()) {
        spelling.Double(value.GetDouble(), out);
        return;
      }
      char digits[24];
      const char* end = value.IsInt64() ? rapidjson::internal::i64toa(value.GetInt64(), digits)
                                        : rapidjson::internal::u64toa(value.GetUint64(), digits);
      out->append(digits, static_cast<size_t>(end - digits));
      return;
    }
    case rapidjson::kArrayType: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : value.GetArray()) {
        if (!first) out->append(Spelling::kItemSeparator);
        first = false;
        AppendJsonText(item, spelling, out);
      }
      out->push_back(']');
      return;
    }
    case rapidjson::kObjectType: {
      out->push_back('{');
      bool first = true;
      for (const auto& member : value.GetObject()) {
        if (!first) out->append(Spelling::kItemSeparator);
        first = false;
        spelling.String(std::string_view(member.name.GetString(), member.name.GetStringLength()), out);
        out->append(Spelling::kNameSeparator);
        AppendJsonText(member.value, spelling, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace osprey::otlp::internal
