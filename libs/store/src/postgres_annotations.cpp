#include "postgres_annotations.hpp"

#include <cstdio>
#include <string>
#include <variant>

namespace osprey::store {
namespace {

class PostgresExecutor final : public internal::SqlExecutor {
 public:
  explicit PostgresExecutor(pqxx::transaction_base& tx) : tx_(tx) {}

  internal::Dialect dialect() const override { return internal::Dialect::kPostgres; }

  absl::StatusOr<std::vector<internal::SqlRow>> Run(const internal::SqlBuilder& query) override {
    std::vector<std::string> params;
    params.reserve(query.args().size());
    for (const internal::SqlArg& arg : query.args()) params.push_back(Text(arg));
    pqxx::result result = tx_.exec_params(query.sql(), pqxx::prepare::make_dynamic_params(params));
    std::vector<internal::SqlRow> rows;
    rows.reserve(result.size());
    for (const pqxx::row& row : result) {
      internal::SqlRow out;
      out.cells.reserve(row.size());
      for (const pqxx::field& field : row) {
        if (field.is_null()) {
          out.cells.emplace_back(std::monostate{});
        } else {
          out.cells.emplace_back(std::string(field.c_str(), field.size()));
        }
      }
      rows.push_back(std::move(out));
    }
    return rows;
  }

 private:
  // Parameters travel as text with an explicit cast in the statement; doubles keep 17 digits.
  static std::string Text(const internal::SqlArg& arg) {
    if (const int64_t* v = std::get_if<int64_t>(&arg.value)) return std::to_string(*v);
    if (const double* v = std::get_if<double>(&arg.value)) {
      char buffer[40];
      std::snprintf(buffer, sizeof(buffer), "%.17g", *v);
      return buffer;
    }
    if (const std::string* v = std::get_if<std::string>(&arg.value)) return *v;
    return {};
  }

  pqxx::transaction_base& tx_;
};

}  // namespace

absl::Status RunPostgresAnnotationWork(pqxx::connection& connection, bool write, int statement_timeout_ms,
                                       const std::function<absl::Status(internal::SqlExecutor&)>& work) {
  if (!write) {
    pqxx::nontransaction tx(connection);
    PostgresExecutor executor(tx);
    return work(executor);
  }
  pqxx::work tx(connection);
  tx.exec("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms));
  PostgresExecutor executor(tx);
  absl::Status status = work(executor);
  if (status.ok()) tx.commit();  // an abandoned pqxx::work rolls back
  return status;
}

}  // namespace osprey::store
