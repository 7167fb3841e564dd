#include "osprey/spanquery/parser.hpp"

#include <catch2/catch.hpp>
#include <string>

using osprey::spanquery::CompareOp;
using osprey::spanquery::NodeType;
using osprey::spanquery::ParseExpression;

namespace {

std::string ErrorOf(const std::string& text) {
  auto parsed = ParseExpression(text);
  REQUIRE(!parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

}  // namespace

TEST_CASE("parser: Python precedence and positions", "[spanquery][parser]") {
  auto node = ParseExpression("not a == 1 or b.c[\"d\"] in [1, 2.5] and -x * 2 + 3 < 4");
  REQUIRE(node.ok());
  const auto& root = **node;
  REQUIRE(root.type == NodeType::kOr);
  REQUIRE(root.children.size() == 2);
  CHECK(root.children[0]->type == NodeType::kNot);
  CHECK(root.children[0]->children[0]->type == NodeType::kCompare);
  const auto& conj = *root.children[1];
  REQUIRE(conj.type == NodeType::kAnd);
  const auto& in = *conj.children[0];
  REQUIRE(in.type == NodeType::kCompare);
  CHECK(in.ops == std::vector<CompareOp>{CompareOp::kIn});
  CHECK(in.children[0]->type == NodeType::kSubscript);
  CHECK(in.children[0]->children[0]->pos == 16);  // the attribute `c`: its name's position
  CHECK(in.children[1]->type == NodeType::kList);
  CHECK(in.children[1]->children[1]->float_value == 2.5);
  const auto& lt = *conj.children[1];
  CHECK(lt.children[0]->type == NodeType::kBinary);  // (-x * 2) + 3
  CHECK(lt.children[0]->binary_op == osprey::spanquery::BinaryOp::kAdd);
}

TEST_CASE("parser: chained comparisons, is not, not in, tuples, strings", "[spanquery][parser]") {
  auto chain = ParseExpression("1 < x <= 3");
  REQUIRE(chain.ok());
  CHECK((*chain)->ops == std::vector<CompareOp>{CompareOp::kLt, CompareOp::kLe});
  auto ops = ParseExpression("a is not None and b not in ('x',) and c is None");
  REQUIRE(ops.ok());
  CHECK((*ops)->children[0]->ops[0] == CompareOp::kIsNot);
  CHECK((*ops)->children[1]->ops[0] == CompareOp::kNotIn);
  CHECK((*ops)->children[1]->children[1]->type == NodeType::kTuple);
  auto strings = ParseExpression(R"(x == 'it\'s' "\x41\u00e9\U0001F680\n" '\q')");
  REQUIRE(strings.ok());
  CHECK((*strings)->children[1]->text ==
        "it's"
        "A\xc3\xa9\xf0\x9f\x9a\x80\n"
        "\\q");
  auto negative = ParseExpression("x > -5");
  REQUIRE(negative.ok());
  CHECK((*negative)->children[1]->type == NodeType::kInt);
  CHECK((*negative)->children[1]->int_value == -5);
}

TEST_CASE("parser: every syntax error says what and where", "[spanquery][parser]") {
  CHECK(ErrorOf("") == "empty expression at column 1");
  CHECK(ErrorOf("name == 'a' and") == "unexpected end of expression at column 16");
  CHECK(ErrorOf("lambda x: x") == "'lambda' is not supported at column 1");
  CHECK(ErrorOf("x if y else z") == "'if' is not supported at column 3");
  CHECK(ErrorOf("span_kind = 'LLM'") == "'=' is an assignment; use '==' to compare at column 11");
  CHECK(ErrorOf("a ** 2") == "'**' is not supported at column 3");
  CHECK(ErrorOf("a // 2") == "'//' is not supported at column 3");
  CHECK(ErrorOf("x[1:2]") == "unexpected character ':' at column 4");
  CHECK(ErrorOf("name == 'abc") == "unterminated string at column 9");
  CHECK(ErrorOf("name == '''x'''") == "triple-quoted strings are not supported at column 9");
  CHECK(ErrorOf("name == f'x'") == "string prefix 'f' is not supported at column 9");
  CHECK(ErrorOf(std::string("name == 'a\0b'", 13)) == "NUL character at column 11");
  CHECK(ErrorOf(std::string("name\0 == 1", 10)) == "NUL character at column 5");
  CHECK(ErrorOf("name == '\\x00'") == "NUL character at column 10");
  CHECK(ErrorOf("name == '\\u12'") == "truncated \\u escape at column 10");
  CHECK(ErrorOf("name == '\\ud800'") == "invalid code point in escape at column 10");
  CHECK(ErrorOf("x == 007") == "leading zeros in an integer are not allowed at column 6");
  CHECK(ErrorOf("x == 99999999999999999999") == "integer out of range at column 6");
  CHECK(ErrorOf("x == 1e999") == "number out of range at column 6");
  CHECK(ErrorOf("x == 1x") == "malformed number at column 6");
  CHECK(ErrorOf("x == é") == "unexpected non-ASCII character at column 6");
  CHECK(ErrorOf("x == $") == "unexpected character '$' at column 6");
  CHECK(ErrorOf("(a == 1") == "expected ')' to close '(' at column 1, found end of expression at column 8");
  CHECK(ErrorOf("x in [1, 2") ==
        "expected ',' or ']' to close the bracket at column 6, found end of expression at column 11");
  CHECK(ErrorOf("a.") == "expected a name after '.', found end of expression at column 3");
  CHECK(ErrorOf("x[0](1)") == "only str(), int() and float() can be called at column 5");
  CHECK(ErrorOf("a == 1 b") == "unexpected 'b' at column 8");
  CHECK(ErrorOf("a == not") == "unexpected 'not' at column 6");
}

TEST_CASE("parser: depth, size and length are bounded", "[spanquery][parser]") {
  std::string deep = std::string(200, '(') + "a == 1" + std::string(200, ')');
  CHECK_THAT(ErrorOf(deep), Catch::StartsWith("expression nested too deeply (more than 32 levels)"));
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  CHECK_THAT(ErrorOf(nots + "a == 1"), Catch::StartsWith("expression nested too deeply"));
  std::string wide = "x in [";
  for (int i = 0; i < 3000; ++i) wide += "1,";
  wide += "]";
  CHECK_THAT(ErrorOf(wide), Catch::StartsWith("expression too large (more than 2048 nodes)"));
  CHECK(ErrorOf(std::string(20000, ' ')) == "expression too long (20000 bytes, at most 16384)");
  // Long flat chains are fine: and/or operands do not nest.
  std::string flat = "a == 1";
  for (int i = 0; i < 200; ++i) flat += " and a == 1";
  CHECK(ParseExpression(flat).ok());
}
