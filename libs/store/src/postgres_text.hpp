#pragma once

// Text the Postgres server accepts, array literals for unnest() parameters and field readers: shared by the write
// path (postgres_write.cpp) and the read path (postgres_store.cpp).

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

namespace osprey::store::internal {

// Postgres text cannot hold NUL bytes and jsonb refuses the escape \u0000: both become U+FFFD, so a
// span SQLite would store is stored here too (documented in the README).
std::string PgText(std::string_view text);

// Rewrites the JSON escape \u0000 as \ufffd; `empty` stands for an empty document.
std::string PgJson(std::string_view json, std::string_view empty);

// A Postgres array literal ('{"a","b",NULL}') for a text[] parameter: every element quoted, '"' and
// '\' escaped. Bound as a parameter, never spliced into SQL.
std::string TextArray(const std::vector<std::optional<std::string>>& values);
std::string TextArray(const std::vector<std::string>& values);

template <typename Int>
std::string IntArray(const std::vector<Int>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  out += '}';
  return out;
}
std::string IntArray(const std::vector<std::optional<int64_t>>& values);

// Field readers: text (empty for NULL), bigint, nullable bigint.
inline std::string Text(const pqxx::field& field) {
  return field.is_null() ? std::string() : std::string(field.c_str(), field.size());
}
inline int64_t Int(const pqxx::field& field) { return field.as<int64_t>(); }
inline std::optional<int64_t> OptionalInt(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<int64_t>();
}

// Exact decimal text of a double ("%.17g" round-trips).
std::string DoubleText(double value);
std::string DoubleArray(const std::vector<double>& values);

}  // namespace osprey::store::internal
