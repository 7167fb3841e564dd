#include "postgres_sql_reader.hpp"

#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "osprey/base/status.hpp"

namespace osprey::store {
namespace {

// Type OIDs (pg_type.h) whose values keep a typed representation.
constexpr pqxx::oid kBool = 16;
constexpr pqxx::oid kInt8 = 20;
constexpr pqxx::oid kInt2 = 21;
constexpr pqxx::oid kInt4 = 23;
constexpr pqxx::oid kFloat4 = 700;
constexpr pqxx::oid kFloat8 = 701;
constexpr pqxx::oid kNumeric = 1700;

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

absl::StatusOr<std::string> ParamText(const SqlValue& value, size_t index) {
  const std::string where = "postgres: parameter " + std::to_string(index + 1);
  if (std::holds_alternative<std::monostate>(value)) return Invalid(where + " is NULL");
  if (const auto* b = std::get_if<bool>(&value)) return std::string(*b ? "true" : "false");
  if (const auto* n = std::get_if<int64_t>(&value)) return std::to_string(*n);
  if (const auto* d = std::get_if<double>(&value)) {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), *d);
    if (ec != std::errc()) return Invalid(where + ": cannot format number");
    return std::string(buffer, end);
  }
  const std::string& text = std::get<std::string>(value);
  if (text.find('\0') != std::string::npos) return Invalid(where + " contains a NUL character");
  return text;
}

SqlValue FieldValue(const pqxx::field& field, pqxx::oid type) {
  if (field.is_null()) return std::monostate{};
  switch (type) {
    case kBool:
      return field.as<bool>();
    case kInt8:
    case kInt2:
    case kInt4:
      return field.as<int64_t>();
    case kFloat4:
    case kFloat8:
    case kNumeric:
      return field.as<double>();
    default:
      return std::string(field.c_str(), field.size());
  }
}

}  // namespace

pqxx::result PgStatementCache::Run(pqxx::transaction_base& tx, const std::string& sql,
                                   const std::vector<std::string>& params) {
  auto it = names_.find(sql);
  if (it == names_.end()) {
    if (names_.size() >= kMaxStatements) return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
    std::string name = "osprey_read_" + std::to_string(names_.size());
    tx.conn().prepare(name, sql);  // sent to the server with the first execution
    it = names_.emplace(sql, std::move(name)).first;
  }
  return tx.exec_prepared(it->second, pqxx::prepare::make_dynamic_params(params));
}

absl::StatusOr<SqlRows> RunPostgresReadQuery(pqxx::connection& connection, PgStatementCache& statements,
                                             const SqlQuery& query) {
  std::vector<std::string> params;
  params.reserve(query.params.size());
  for (size_t i = 0; i < query.params.size(); ++i) {
    auto text = ParamText(query.params[i], i);
    if (!text.ok()) return text.status();
    params.push_back(std::move(*text));
  }
  // The transaction by hand (libpqxx's read_transaction sends BEGIN and SET LOCAL as two round trips);
  // rolled back also when the statement fails, so the connection goes back to the pool outside it.
  pqxx::nontransaction tx(connection);
  tx.exec("BEGIN READ ONLY; SET LOCAL statement_timeout = " +
          std::to_string(query.timeout_ms > 0 ? query.timeout_ms : 0));
  pqxx::result result;
  try {
    result = statements.Run(tx, query.sql, params);
  } catch (...) {
    try {
      tx.exec("ROLLBACK");
    } catch (...) {  // the statement's error is the one to report
    }
    throw;
  }
  tx.exec("ROLLBACK");
  if (static_cast<int64_t>(result.size()) > query.max_rows) {
    return base::Permanent(absl::StatusCode::kResourceExhausted,
                           "postgres: query returned more than " + std::to_string(query.max_rows) + " rows");
  }
  SqlRows rows;
  const auto columns = static_cast<pqxx::row::size_type>(result.columns());
  std::vector<pqxx::oid> types;
  for (pqxx::row::size_type c = 0; c < columns; ++c) {
    rows.columns.emplace_back(result.column_name(c));
    types.push_back(result.column_type(c));
  }
  rows.rows.reserve(result.size());
  for (const pqxx::row& row : result) {
    std::vector<SqlValue> values;
    values.reserve(columns);
    for (pqxx::row::size_type c = 0; c < columns; ++c) values.push_back(FieldValue(row[c], types[c]));
    rows.rows.push_back(std::move(values));
  }
  return rows;
}

}  // namespace osprey::store
