#include "python_str.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "json_util.hpp"


namespace osprey::prompts {
namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Decodes one UTF-8 code point at `i` (advancing it); invalid bytes decode as themselves.
uint32_t NextCodePoint(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  if (extra == 0 || i + extra >= s.size()) {
    ++i;
    return c;
  }
  uint32_t cp = c & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    auto n = static_cast<unsigned char>(s[i + k]);
    if (!IsContinuation(n)) {
      ++i;
      return c;
    }
    cp = (cp << 6) | (n & 0x3F);
  }
  i += extra + 1;
  return cp;
}

void AppendHex(std::string& out, char prefix, uint32_t cp, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "\\%c%0*x", prefix, digits, cp);
  out += buf;
}

std::string StrRepr(std::string_view s, bool ascii) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = NextCodePoint(s, i);
    if (cp == static_cast<uint32_t>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      AppendHex(out, 'x', cp, 2);
    } else if (ascii && cp >= 0x80) {
      if (cp < 0x100) {
        AppendHex(out, 'x', cp, 2);
      } else if (cp < 0x10000) {
        AppendHex(out, 'u', cp, 4);
      } else {
        AppendHex(out, 'U', cp, 8);
      }
    } else {
      out.append(s.substr(start, i - start));
    }
  }
  out += quote;
  return out;
}

std::string Repr(const rapidjson::Value& value, bool ascii) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "None";
    case rapidjson::kFalseType:
      return "False";
    case rapidjson::kTrueType:
      return "True";
    case rapidjson::kStringType:
      return StrRepr(std::string_view(value.GetString(), value.GetStringLength()), ascii);
    case rapidjson::kNumberType:
      if (value.IsInt64()) return Cat(value.GetInt64());
      if (value.IsUint64()) return Cat(value.GetUint64());
      return PyFloatRepr(value.GetDouble());
    case rapidjson::kArrayType: {
      std::string out = "[";
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        if (i > 0) out += ", ";
        out += Repr(value[i], ascii);
      }
      return out + "]";
    }
    case rapidjson::kObjectType: {
      std::string out = "{";
      bool first = true;
      for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
        if (!first) out += ", ";
        first = false;
        out += StrRepr(std::string_view(it->name.GetString(), it->name.GetStringLength()), ascii);
        out += ": ";
        out += Repr(it->value, ascii);
      }
      return out + "}";
    }
  }
  return "";
}

}  // namespace

std::string PyFloatRepr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form, e.g. "2.5e+00", then Python's layout: positional
  // for exponents in [-4, 16), scientific otherwise, with at least two exponent digits.
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  (void)ec;
  std::string_view sci(buf, end - buf);
  size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  bool negative = !mantissa.empty() && mantissa[0] == '-';
  if (negative) mantissa.remove_prefix(1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0.";
      out.append(static_cast<size_t>(-exponent - 1), '0');
      out += digits;
    } else {
      auto int_len = static_cast<size_t>(exponent) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp_buf;
}

std::string PyFormat(const rapidjson::Value& value, PyConversion conversion) {
  if (conversion == PyConversion::kStr && value.IsString()) {
    return std::string(value.GetString(), value.GetStringLength());
  }
  return Repr(value, conversion == PyConversion::kAscii);
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
      return value.GetDouble() != 0.0;
    case rapidjson::kArrayType:
      return !value.Empty();
    case rapidjson::kObjectType:
      return value.MemberCount() > 0;
  }
  return false;
}

size_t CodePointCount(std::string_view utf8) {
  size_t count = 0;
  size_t i = 0;
  while (i < utf8.size()) {
    NextCodePoint(utf8, i);
    ++count;
  }
  return count;
}

size_t CodePointPrefix(std::string_view utf8, size_t count) {
  size_t i = 0;
  for (size_t n = 0; n < count && i < utf8.size(); ++n) NextCodePoint(utf8, i);
  return i;
}

}  // namespace osprey::prompts
