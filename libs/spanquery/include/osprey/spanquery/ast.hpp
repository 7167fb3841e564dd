#pragma once

// The expression tree of a span filter condition: the subset of Python's expression grammar that
// Phoenix's span query language accepts (phoenix-compat §5.3). Every node records the byte offset
// of its first character in the source text, so later errors can say where they are.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace osprey::spanquery {

enum class NodeType {
  kName,       // text = identifier
  kString,     // text = decoded value
  kInt,        // int_value
  kFloat,      // float_value
  kBool,       // bool_value (True / False)
  kNone,       // None
  kAttribute,  // `value.attr`: text = attr, children[0] = value; pos is the name's position
  kSubscript,  // children[0][children[1]]
  kCall,       // text = function name, children = arguments
  kList,       // [a, b]
  kTuple,      // (a, b)
  kCompare,    // children[0] ops[0] children[1] ops[1] children[2] ...
  kAnd,        // children: two or more operands
  kOr,
  kNot,     // children[0]
  kNegate,  // -children[0]
  kBinary,  // children[0] bin_op children[1]
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn, kNotIn, kIs, kIsNot };
enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMod };

struct Node {
  NodeType type = NodeType::kNone;
  size_t pos = 0;  // byte offset in the source
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  BinaryOp binary_op = BinaryOp::kAdd;
  std::vector<CompareOp> ops;
  std::vector<std::unique_ptr<Node>> children;
};

// "==", "not in", ... as written in Python.
const char* CompareOpText(CompareOp op);

}  // namespace osprey::spanquery
