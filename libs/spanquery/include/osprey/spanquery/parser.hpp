#pragma once

// Parser of span filter conditions and projection keys (Python expression subset, §5.3 of the
// Phoenix reference). Pure functions; thread-safe.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "osprey/spanquery/ast.hpp"

namespace osprey::spanquery {

// Bounds that keep a hostile condition from costing more than a small, fixed amount of work.
struct ParseLimits {
  size_t max_length = 16384;  // bytes of source text
  int max_depth = 32;         // nesting of parentheses, brackets, operators
  size_t max_nodes = 2048;    // nodes in the tree
};

// INVALID_ARGUMENT with a message "<what is wrong> at column N" (1-based, counted in bytes) for
// anything outside the grammar: unknown characters or keywords (lambda, if, for, ...), unbalanced
// brackets, NUL bytes, bad string escapes, numbers out of range, or a text over `limits`.
absl::StatusOr<std::unique_ptr<Node>> ParseExpression(std::string_view source, const ParseLimits& limits = {});

// "at column N" for byte offset `pos`.
std::string Where(size_t pos);

}  // namespace osprey::spanquery
