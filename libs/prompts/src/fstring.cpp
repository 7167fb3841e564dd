// Python's str.format(**variables), as Phoenix's F_STRING templates are rendered. Error messages
// follow CPython's where one exists, prefixed with the position.

#include <string>
#include <vector>

#include "mustache.hpp"
#include "json_util.hpp"
#include "osprey/base/status.hpp"
#include "python_str.hpp"

namespace osprey::prompts {
namespace {

using rapidjson::Value;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

absl::Status Error(size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(Cat("f-string template, offset ", offset, ": ", what));
}

// A string format spec: [[fill]align][0][width][.precision][s].
absl::StatusOr<std::string> ApplyStringSpec(std::string_view spec, std::string value, size_t offset) {
  std::string_view fill = " ";
  char align = '<';
  bool explicit_align = false;
  size_t i = 0;
  size_t first_len = CodePointPrefix(spec, 1);
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (first_len < spec.size() && is_align(spec[first_len])) {
    fill = spec.substr(0, first_len);
    align = spec[first_len];
    explicit_align = true;
    i = first_len + 1;
  } else if (!spec.empty() && is_align(spec[0])) {
    align = spec[0];
    explicit_align = true;
    i = 1;
  }
  if (align == '=') return Error(offset, "'=' alignment not allowed in string format specifier");
  if (i < spec.size() && (spec[i] == '+' || spec[i] == '-')) {
    return Error(offset, "Sign not allowed in string format specifier");
  }
  if (i < spec.size() && spec[i] == ' ') return Error(offset, "Space not allowed in string format specifier");
  if (i < spec.size() && spec[i] == '#') {
    return Error(offset, "Alternate form (#) not allowed in string format specifier");
  }
  if (i < spec.size() && spec[i] == '0') {
    if (!explicit_align) fill = "0";
    ++i;
  }
  size_t width = 0;
  while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
    width = width * 10 + static_cast<size_t>(spec[i] - '0');
    if (width > 1'000'000) return Error(offset, "Too many decimal digits in format string");
    ++i;
  }
  if (i < spec.size() && (spec[i] == ',' || spec[i] == '_')) {
    return Error(offset, Cat("Cannot specify '", std::string(1, spec[i]), "' with 's'."));
  }
  std::optional<size_t> precision;
  if (i < spec.size() && spec[i] == '.') {
    ++i;
    size_t p = 0;
    size_t digits = 0;
    while (i < spec.size() && spec[i] >= '0' && spec[i] <= '9') {
      p = p * 10 + static_cast<size_t>(spec[i] - '0');
      if (p > 1'000'000) return Error(offset, "Too many decimal digits in format string");
      ++i;
      ++digits;
    }
    if (digits == 0) return Error(offset, "Format specifier missing precision");
    precision = p;
  }
  if (i < spec.size() && spec[i] == 's') {
    ++i;
  } else if (i < spec.size() && i + 1 == spec.size()) {
    return Error(offset, Cat("Unknown format code '", std::string(1, spec[i]), "' for object of type 'str'"));
  }
  if (i != spec.size()) return Error(offset, "Invalid format specifier");

  if (precision) value.resize(CodePointPrefix(value, *precision));
  size_t length = CodePointCount(value);
  if (length >= width) return value;
  size_t pad = width - length;
  size_t left = align == '>' ? pad : align == '^' ? pad / 2 : 0;
  size_t right = pad - left;
  std::string out;
  for (size_t k = 0; k < left; ++k) out += fill;
  out += value;
  for (size_t k = 0; k < right; ++k) out += fill;
  return out;
}

const Value* Member(const Value& value, std::string_view key) {
  if (!value.IsObject()) return nullptr;
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) return &it->value;
  }
  return nullptr;
}

// Resolves `name[key][0]...`; nullptr when any step is missing. Errors for syntax Python refuses or
// for forms without keyword arguments (positional fields, attribute access).
absl::StatusOr<const Value*> Resolve(std::string_view field, const Value& variables, size_t offset) {
  size_t end = field.find_first_of(".[");
  std::string_view arg = field.substr(0, end);
  if (arg.empty() || AllDigits(arg)) {
    return Error(offset, Cat("positional field {", field,
                                      "} is not supported: templates take named variables, e.g. {name}"));
  }
  const Value* current = Member(variables, arg);
  size_t i = end == std::string_view::npos ? field.size() : end;
  while (i < field.size()) {
    if (field[i] == '.') {
      return Error(offset, Cat("attribute access in {", field, "} is not supported; use {name[key]}"));
    }
    size_t close = field.find(']', i);
    if (close == std::string_view::npos) return Error(offset, "Missing ']' in format string");
    std::string_view key = field.substr(i + 1, close - i - 1);
    if (key.empty()) return Error(offset, "Empty attribute in format string");
    if (current != nullptr) {
      if (AllDigits(key)) {
        size_t index = std::stoul(std::string(key.substr(0, 9)));
        current = current->IsArray() && key.size() <= 9 && index < current->Size()
                      ? &(*current)[static_cast<rapidjson::SizeType>(index)]
                      : nullptr;
      } else {
        current = Member(*current, key);
      }
    }
    i = close + 1;
    if (i < field.size() && field[i] != '.' && field[i] != '[') {
      return Error(offset, "Only '.' or '[' may follow ']' in format field specifier");
    }
  }
  return current;
}

}  // namespace

absl::StatusOr<RenderedText> RenderFStringValue(std::string_view text, const Value& variables) {
  RenderedText out;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    char c = text[i];
    if (c == '}') {
      if (i + 1 < n && text[i + 1] == '}') {
        out.text += '}';
        i += 2;
        continue;
      }
      return Error(i, "Single '}' encountered in format string");
    }
    if (c != '{') {
      out.text += c;
      ++i;
      continue;
    }
    if (i + 1 < n && text[i + 1] == '{') {
      out.text += '{';
      i += 2;
      continue;
    }
    if (i + 1 >= n) return Error(i, "Single '{' encountered in format string");
    const size_t start = i;
    // Field name: up to '!', ':' or '}'; a '[...]' key may hold any of those.
    size_t j = i + 1;
    while (j < n && text[j] != '}' && text[j] != '!' && text[j] != ':') {
      if (text[j] == '[') {
        size_t close = text.find(']', j);
        if (close == std::string_view::npos) return Error(start, "expected '}' before end of string");
        j = close + 1;
        continue;
      }
      if (text[j] == '{') return Error(start, "unexpected '{' in field name");
      ++j;
    }
    if (j >= n) return Error(start, "expected '}' before end of string");
    std::string_view field = text.substr(i + 1, j - i - 1);
    PyConversion conversion = PyConversion::kStr;
    bool converted = false;
    if (text[j] == '!') {
      if (j + 1 >= n) return Error(start, "end of string while looking for conversion specifier");
      char spec = text[j + 1];
      if (spec == 's') {
        conversion = PyConversion::kStr;
      } else if (spec == 'r') {
        conversion = PyConversion::kRepr;
      } else if (spec == 'a') {
        conversion = PyConversion::kAscii;
      } else if (spec == '}' || spec == ':') {
        return Error(start, "missing conversion specifier after '!'");
      } else {
        return Error(start, Cat("Unknown conversion specifier ", std::string(1, spec)));
      }
      converted = true;
      j += 2;
      if (j >= n || (text[j] != ':' && text[j] != '}')) return Error(start, "expected ':' after conversion specifier");
    }
    std::string_view spec;
    if (text[j] == ':') {
      size_t spec_start = j + 1;
      size_t k = spec_start;
      while (k < n && text[k] != '}') {
        if (text[k] == '{') {
          return Error(start, "nested replacement fields in a format spec are not supported");
        }
        ++k;
      }
      if (k >= n) return Error(start, "expected '}' before end of string");
      spec = text.substr(spec_start, k - spec_start);
      j = k;
    }
    // text[j] == '}'
    i = j + 1;
    OSPREY_ASSIGN_OR_RETURN(const Value* value, Resolve(field, variables, start));
    if (value == nullptr) {
      std::string name(field);
      bool seen = false;
      for (const std::string& m : out.missing_variables) seen = seen || m == name;
      if (!seen) out.missing_variables.push_back(std::move(name));
      if (!spec.empty()) OSPREY_RETURN_IF_ERROR(ApplyStringSpec(spec, "", start).status());
      continue;
    }
    std::string rendered = PyFormat(*value, conversion);
    if (spec.empty()) {
      out.text += rendered;
    } else if (converted || value->IsString()) {
      OSPREY_ASSIGN_OR_RETURN(std::string formatted, ApplyStringSpec(spec, std::move(rendered), start));
      out.text += formatted;
    } else {
      return Error(start, Cat("a format spec on a non-string value ({", field, ":", spec,
                                       "}) is not supported; pass the variable as a string"));
    }
  }
  return out;
}

}  // namespace osprey::prompts
