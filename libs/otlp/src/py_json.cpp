#include "py_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "json_text.hpp"

namespace osprey::otlp::internal {
namespace {

void AppendHex4(std::string* out, unsigned code) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\u%04x", code & 0xFFFF);
  out->append(buf);
}

// Decodes one UTF-8 sequence starting at text[i]; returns the code point and advances i. Input
// that is not valid UTF-8 (never the case for validated attributes) is passed through byte-wise.
unsigned NextCodePoint(std::string_view text, size_t* i) {
  const auto b0 = static_cast<unsigned char>(text[*i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || *i + len > text.size()) {
    ++*i;
    return b0;
  }
  unsigned cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[*i + k]) & 0x3F);
  *i += len;
  return cp;
}

void AppendPyString(std::string* out, std::string_view text, bool ensure_ascii) {
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        ++i;
        continue;
      case '\\':
        out->append("\\\\");
        ++i;
        continue;
      case '\n':
        out->append("\\n");
        ++i;
        continue;
      case '\r':
        out->append("\\r");
        ++i;
        continue;
      case '\t':
        out->append("\\t");
        ++i;
        continue;
      case '\b':
        out->append("\\b");
        ++i;
        continue;
      case '\f':
        out->append("\\f");
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20 || (ensure_ascii && c == 0x7F)) {
      AppendHex4(out, c);
      ++i;
      continue;
    }
    if (c < 0x80 || !ensure_ascii) {
      out->push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    unsigned cp = NextCodePoint(text, &i);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      AppendHex4(out, 0xD800 + (cp >> 10));
      AppendHex4(out, 0xDC00 + (cp & 0x3FF));
    } else {
      AppendHex4(out, cp);
    }
  }
  out->push_back('"');
}

// json.dumps's spelling, for AppendJsonText.
struct PySpelling {
  static constexpr std::string_view kItemSeparator = ", ";
  static constexpr std::string_view kNameSeparator = ": ";
  bool ensure_ascii;
  void String(std::string_view text, std::string* out) const { AppendPyString(out, text, ensure_ascii); }
  void Double(double value, std::string* out) const { out->append(PyFloatRepr(value)); }
};

}  // namespace

std::string PyFloatRepr(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  if (ec != std::errc()) return "0.0";
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  std::string out;
  if (sci.front() == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  if (exponent < -4 || exponent >= 16) {
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out.append(exp_buf);
    return out;
  }
  if (exponent < 0) {
    out.append("0.");
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out.append(digits);
    return out;
  }
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    out.append(digits);
    out.append(int_digits - digits.size(), '0');
    out.append(".0");
  } else {
    out.append(digits, 0, int_digits);
    out.push_back('.');
    out.append(digits, int_digits, std::string::npos);
  }
  return out;
}

std::string PyJsonDumps(const rapidjson::Value& value, bool ensure_ascii) {
  std::string out;
  AppendJsonText(value, PySpelling{ensure_ascii}, &out);
  return out;
}

std::string PyStr(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsBool()) return value.GetBool() ? "True" : "False";
  if (value.IsNull()) return "None";
  return PyJsonDumps(value, /*ensure_ascii=*/false);
}

bool PyTruthy(const rapidjson::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
    case rapidjson::kFalseType:
      return false;
    case rapidjson::kTrueType:
      return true;
    case rapidjson::kStringType:
      return value.GetStringLength() > 0;
    case rapidjson::kNumberType:
      return value.IsInt64()    ? value.GetInt64() != 0
             : value.IsUint64() ? value.GetUint64() != 0
                                : value.GetDouble() != 0;
    case rapidjson::kArrayType:
      return !value.Empty();
    case rapidjson::kObjectType:
      return value.MemberCount() > 0;
  }
  return false;
}

}  // namespace osprey::otlp::internal
