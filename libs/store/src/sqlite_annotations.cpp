#include "sqlite_annotations.hpp"

#include <variant>

#include "osprey/base/status.hpp"

namespace osprey::store {
namespace {

class SqliteExecutor final : public internal::SqlExecutor {
 public:
  explicit SqliteExecutor(sqlite::Connection& connection) : connection_(connection) {}

  internal::Dialect dialect() const override { return internal::Dialect::kSqlite; }

  absl::StatusOr<std::vector<internal::SqlRow>> Run(const internal::SqlBuilder& query) override {
    OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Statement> stmt, connection_.Prepare(query.sql()));
    for (size_t i = 0; i < query.args().size(); ++i) {
      const int index = static_cast<int>(i + 1);
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, int64_t>) {
              stmt->BindInt(index, value);
            } else if constexpr (std::is_same_v<T, double>) {
              stmt->BindDouble(index, value);
            } else if constexpr (std::is_same_v<T, std::string>) {
              stmt->BindText(index, value);
            } else {
              stmt->BindNull(index);
            }
          },
          query.args()[i].value);
    }
    std::vector<internal::SqlRow> rows;
    while (true) {
      OSPREY_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      internal::SqlRow out;
      const int columns = stmt->ColumnCount();
      out.cells.reserve(columns);
      for (int c = 0; c < columns; ++c) out.cells.push_back(Cell(*stmt, c));
      rows.push_back(std::move(out));
    }
    return rows;
  }

 private:
  // Column values keep their SQLite storage class; NULL stays NULL.
  static std::variant<std::monostate, int64_t, double, std::string> Cell(const sqlite::Statement& stmt, int column) {
    switch (stmt.Type(column)) {
      case SQLITE_NULL:
        return std::monostate{};
      case SQLITE_INTEGER:
        return stmt.Int(column);
      case SQLITE_FLOAT:
        return stmt.Double(column);
      default:
        return stmt.Text(column);
    }
  }

  sqlite::Connection& connection_;
};

}  // namespace

absl::Status RunSqliteAnnotationRead(sqlite::Connection& reader,
                                     const std::function<absl::Status(internal::SqlExecutor&)>& work) {
  SqliteExecutor executor(reader);
  return work(executor);
}

absl::Status RunSqliteAnnotationWrite(sqlite::Connection& writer,
                                      const std::function<absl::Status(internal::SqlExecutor&)>& work) {
  OSPREY_RETURN_IF_ERROR(writer.Exec("BEGIN IMMEDIATE"));
  SqliteExecutor executor(writer);
  absl::Status status = work(executor);
  if (status.ok()) status = writer.Exec("COMMIT");
  if (!status.ok()) (void)writer.Exec("ROLLBACK");
  return status;
}

}  // namespace osprey::store
