#include "postgres_text.hpp"

#include <cstdio>

namespace osprey::store::internal {

// Postgres text cannot hold NUL bytes and jsonb refuses the escape \u0000: both become U+FFFD, so a
// span SQLite would store is stored here too (documented in the README).
std::string PgText(std::string_view text) {
  if (text.find('\0') == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == '\0') {
      out += "\xef\xbf\xbd";
    } else {
      out += c;
    }
  }
  return out;
}

// Rewrites the JSON escape \u0000 as \ufffd. In valid JSON a backslash only occurs inside strings
// and always starts an escape, so skipping escaped characters keeps "\\u0000" (a literal
// backslash followed by u0000) intact.
std::string PgJson(std::string_view json, std::string_view empty) {
  if (json.empty()) return std::string(empty);
  if (json.find("\\u0000") == std::string_view::npos) return std::string(json);
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      if (json.compare(i, 6, "\\u0000") == 0) {
        out += "\\ufffd";
        i += 5;
      } else {
        out += json[i];
        out += json[i + 1];
        ++i;
      }
      continue;
    }
    out += json[i];
  }
  return out;
}

// A Postgres array literal ('{"a","b",NULL}') for a text[] parameter: every element quoted, '"' and
// '\' escaped. Bound as a parameter, never spliced into SQL.
std::string TextArray(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string TextArray(const std::vector<std::string>& values) {
  std::vector<std::optional<std::string>> optional(values.begin(), values.end());
  return TextArray(optional);
}

std::string IntArray(const std::vector<std::optional<int64_t>>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += values[i] ? std::to_string(*values[i]) : "NULL";
  }
  out += '}';
  return out;
}

// Exact decimal text of a double ("%.17g" round-trips).
std::string DoubleText(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

std::string DoubleArray(const std::vector<double>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += DoubleText(values[i]);
  }
  out += '}';
  return out;
}

}  // namespace osprey::store::internal
