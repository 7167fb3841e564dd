#include "osprey/spanquery/compiler.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "osprey/spanquery/query.hpp"
#include "rapidjson/document.h"

using osprey::spanquery::CompileCondition;
using osprey::spanquery::CompileQuery;
using osprey::spanquery::QuerySpec;
using osprey::spanquery::QueryWindow;
using osprey::store::Dialect;

namespace {

std::string ErrorOf(const std::string& condition) {
  for (Dialect dialect : {Dialect::kSqlite, Dialect::kPostgres}) {
    auto compiled = CompileCondition(condition, dialect);
    INFO(condition);
    REQUIRE(!compiled.ok());
    CHECK(compiled.status().code() == absl::StatusCode::kInvalidArgument);
    if (dialect == Dialect::kPostgres) return std::string(compiled.status().message());
  }
  return "";
}

}  // namespace

TEST_CASE("compiler: every semantic error says what and where", "[spanquery][compiler]") {
  CHECK(ErrorOf("llm.model_name") ==
        "attribute llm.model_name is not a condition, expected a comparison such as `x == ...` at column 1");
  CHECK(ErrorOf("True") == "True is not a condition, expected a comparison such as `x == ...` at column 1");
  CHECK(ErrorOf("latency_ms + 1") ==
        "arithmetic is not a condition, expected a comparison such as `x == ...` at column 1");
  CHECK(ErrorOf("evals[\"x\"].scroe > 0.5") ==
        "unknown annotation field 'scroe' (expected score, label or explanation); did you mean 'score'? at column 12");
  CHECK(ErrorOf("evals[\"x\"].lable == 'a'") ==
        "unknown annotation field 'lable' (expected score, label or explanation); did you mean 'label'? at column 12");
  CHECK(ErrorOf("evals.x == 1") ==
        "evals must be followed by a name in brackets, e.g. evals[\"correctness\"] at column 1");
  CHECK(ErrorOf("evals['x'] > 1") == "evals[\"x\"] needs .score, .label or .explanation to be compared at column 1");
  CHECK(ErrorOf("evals['x'].score.y > 1") == "unexpected access after evals[\"x\"].score at column 18");
  CHECK(ErrorOf("open('x') == 1") == "function 'open' is not supported (only str(), int() and float()) at column 1");
  CHECK(ErrorOf("float(a, b) > 1") == "float() takes exactly one argument at column 1");
  CHECK(ErrorOf("float('abc') > 1") == "'abc' is not a number at column 7");
  CHECK(ErrorOf("name > 5") == "cannot compare name (text) with number 5 (a number) at column 8");
  CHECK(ErrorOf("start_time > 5") ==
        "a datetime can only be compared with another datetime or an ISO-8601 string, not number 5 at column 14");
  CHECK(ErrorOf("start_time > 'yesterday'") == "'yesterday' is not an ISO-8601 datetime at column 14");
  CHECK(ErrorOf("parent_span.name == 'x'") ==
        "parent_span can only be tested with 'is None' or 'is not None' at column 13");
  CHECK(ErrorOf("parent_span == 1") == "parent_span can only be tested with 'is None' or 'is not None' at column 1");
  CHECK(ErrorOf("name is 5") == "'is' can only compare with None at column 9");
  CHECK(ErrorOf("name in 5") == "'in' needs a list or text on its right, not a number at column 9");
  CHECK(ErrorOf("name in ['a', 1]") == "list mixes text and a number at column 15");
  CHECK(ErrorOf("name in [x]") == "list items must be strings, numbers or booleans at column 10");
  CHECK(ErrorOf("5 in name") == "'in' with text on its right needs text on its left, not number 5 at column 1");
  CHECK(ErrorOf("[1] == 1") == "a list can only follow 'in' or 'not in' at column 1");
  CHECK(ErrorOf("(a == 1) == 1") == "cannot compare a condition; combine conditions with and/or/not at column 2");
  CHECK(ErrorOf("name < None") == "cannot order-compare with None at column 8");
  CHECK(ErrorOf("name == True") == "cannot compare name (text) with True (a boolean) at column 9");
  CHECK(ErrorOf("name + 1 > 2") == "name is text, not a number, at column 1");
  CHECK(ErrorOf("attributes == 'x'") ==
        "attributes must be followed by a key, e.g. attributes[\"llm.model_name\"] at column 1");
  CHECK(ErrorOf("attributes['a\"b'] == 1") == "attribute key containing '\"' cannot be queried at column 1");
  CHECK(ErrorOf("x[-1] == 1") == "negative list index -1 at column 3");
  CHECK(ErrorOf("x[1.5] == 1") ==
        "a subscript must be a string, a non-negative integer or a list of strings at column 3");
  CHECK(ErrorOf("x[[1]] == 1") == "a key list may only hold strings at column 4");
  CHECK(ErrorOf("'a'[0] == 'a'") == "attribute access or subscript on a non-name value at column 5");
  CHECK(ErrorOf("start_time in ['2024-01-01']") ==
        "a datetime cannot be tested with 'in'; compare it with ISO-8601 strings at column 1");
  CHECK(ErrorOf("[1] is None") == "cannot test a list against None at column 1");
  CHECK(ErrorOf("(a == 1) is None") == "cannot test a condition against None at column 2");
  CHECK(ErrorOf("x[2000000] == 1") == "list index too large at column 3");
  CHECK(ErrorOf("int() == 1") == "int() takes exactly one argument at column 1");
  CHECK(ErrorOf("- name > 1") == "name is text, not a number, at column 3");
  CHECK(ErrorOf("flag == 'x' == True") == "cannot compare string (text) with True (a boolean) at column 16");
  CHECK(
      ErrorOf("trace_annotations[1].score > 0") ==
      "trace_annotations must be followed by a name in brackets, e.g. trace_annotations[\"correctness\"] at column 1");
  std::string long_path = "a";
  for (int i = 0; i < 40; ++i) long_path += ".b";
  CHECK(ErrorOf(long_path + " == 1") == "attribute path too long (more than 32 keys) at column 1");
}

TEST_CASE("compiler: user text only ever travels as a parameter", "[spanquery][compiler]") {
  const std::string hostile[] = {"x'); DROP TABLE spans; --", "\" OR 1=1 --", "a\\'b", "$1x", "?1x", "%_", "日本語"};
  for (Dialect dialect : {Dialect::kSqlite, Dialect::kPostgres}) {
    for (const std::string& text : hostile) {
      std::string literal;
      for (char c : text) {
        if (c == '\\' || c == '\'') literal += '\\';
        literal += c;
      }
      for (const std::string& condition :
           {"name == '" + literal + "'", "attributes['" + literal + "'] == 'v'",
            "metadata['" + literal + "'] in ['" + literal + "']", "'" + literal + "' in input.value",
            "evals['" + literal + "'].label == 'x'"}) {
        INFO(condition);
        auto compiled = CompileCondition(condition, dialect);
        if (text.find('"') != std::string::npos && condition.find("input.value") == std::string::npos &&
            condition.rfind("name", 0) != 0 && condition.rfind("evals", 0) != 0) {
          // A key holding '"' cannot be addressed by SQLite's JSON paths: refused on both dialects alike.
          REQUIRE(!compiled.ok());
          CHECK_THAT(std::string(compiled.status().message()), Catch::Contains("cannot be queried"));
          continue;
        }
        REQUIRE(compiled.ok());
        CHECK(compiled->sql.find(text) == std::string::npos);
        bool bound = false;
        for (const auto& param : compiled->params) {
          // SQLite JSON paths spell a backslash in a key as the stored JSON text does: doubled.
          std::string escaped;
          for (char c : text) escaped += c == '\\' ? std::string("\\\\") : std::string(1, c);
          if (const auto* s = std::get_if<std::string>(&param)) {
            bound = bound || s->find(text) != std::string::npos || s->find(escaped) != std::string::npos;
          }
        }
        CHECK(bound);
      }
    }
  }
}

TEST_CASE("compiler: placeholders are numbered per dialect and match the parameters", "[spanquery][compiler]") {
  auto sqlite = CompileCondition("name == 'a' and llm.token_count.total > 3", Dialect::kSqlite);
  REQUIRE(sqlite.ok());
  CHECK(sqlite->sql.find("?1") != std::string::npos);
  CHECK(sqlite->sql.find("$1") == std::string::npos);
  auto pg = CompileCondition("name == 'a' and llm.token_count.total > 3", Dialect::kPostgres);
  REQUIRE(pg.ok());
  CHECK(pg->sql.find("$1::text") != std::string::npos);
  CHECK(pg->sql.find("$" + std::to_string(pg->params.size())) != std::string::npos);
  CHECK(pg->sql.find("$" + std::to_string(pg->params.size() + 1)) == std::string::npos);
}

TEST_CASE("compiler: query objects name the member that is wrong", "[spanquery][compiler]") {
  QueryWindow window;
  auto message = [&](const QuerySpec& spec, const QueryWindow& w) {
    auto compiled = CompileQuery(spec, w, Dialect::kSqlite);
    REQUIRE(!compiled.ok());
    return std::string(compiled.status().message());
  };
  QuerySpec bad_filter;
  bad_filter.filter = std::string("name ==");
  CHECK(message(bad_filter, window) == "filter: unexpected end of expression at column 8");
  QuerySpec bad_select;
  bad_select.select = {{"x", "llm.model_name +"}};
  CHECK(message(bad_select, window) == "select.x: unexpected end of expression at column 17");
  QuerySpec bad_explode;
  bad_explode.explode = osprey::spanquery::Explode{"name", "context.span_id", {}};
  CHECK(message(bad_explode, window) == "explode.key must name a list attribute");
  QuerySpec bad_projection;
  bad_projection.select = {{"p", "parent_span"}};
  CHECK(message(bad_projection, window) == "select.p: cannot select parent_span at column 1");
  QuerySpec bad_concat;
  bad_concat.concat = osprey::spanquery::Concat{"retrieval.documents", ",", {{"r", "document..content"}}};
  CHECK(message(bad_concat, window) == "concat.kwargs.r: expected a name after '.', found '.' at column 10");
  QuerySpec wide;
  for (int i = 0; i < 300; ++i) wide.select.emplace_back("c" + std::to_string(i), "name");
  CHECK(message(wide, window) == "too many selected columns (at most 256)");
  QueryWindow zero = window;
  zero.limit = 0;
  CHECK(message(QuerySpec(), zero) == "limit must be between 1 and 100000, got 0");

  rapidjson::Document doc;
  doc.Parse(R"({"selekt": {}})");
  auto unknown = osprey::spanquery::ParseQuerySpec(doc);
  REQUIRE(!unknown.ok());
  CHECK(std::string(unknown.status().message()) == "unknown member 'selekt' in query");
  doc.Parse(R"({"select": {"a": {"key": 5}}})");
  auto not_string = osprey::spanquery::ParseQuerySpec(doc);
  REQUIRE(!not_string.ok());
  CHECK(std::string(not_string.status().message()) == "select.a.key must be a string");
  doc.Parse(
      R"({"select": {"n": {"key": "name"}}, "filter": {"condition": "x == 1"}, "explode": {"key": "retrieval.documents", "primary_index_key": "context.span_id", "kwargs": {"r": "document.content"}}, "concat": null, "rename": {"n": "m"}, "index": {"key": "context.span_id"}})");
  auto good = osprey::spanquery::ParseQuerySpec(doc);
  REQUIRE(good.ok());
  CHECK(good->select.size() == 1);
  CHECK(good->filter == "x == 1");
  REQUIRE(good->explode.has_value());
  CHECK(good->explode->kwargs[0].second == "document.content");
  CHECK(good->rename[0].second == "m");
}
