#pragma once

// Python-compatible JSON text for values Phoenix serializes with `json.dumps` (", " and ": "
// separators; non-ASCII escaped as \uXXXX when `ensure_ascii`) and with `str()`, so that stored
// documents match what Phoenix would have stored for the same span.
// Thread safety: pure functions.

#include <string>

#include "rapidjson/document.h"

namespace osprey::otlp::internal {

// Python's repr() of a float: shortest round-trip digits, "1.0" for integral values, exponent
// notation ("1e-05", "1e+16") outside [1e-4, 1e16). Non-finite values give "NaN"/"Infinity".
std::string PyFloatRepr(double value);

// json.dumps(value, ensure_ascii=ensure_ascii). `value` must not nest deeper than the attribute
// depth limit (callers guarantee it; the recursion is bounded by that limit).
std::string PyJsonDumps(const rapidjson::Value& value, bool ensure_ascii);

// str(value) for scalars (strings unchanged, "True"/"False", ints, float repr); JSON text for
// arrays and objects.
std::string PyStr(const rapidjson::Value& value);

// Python truthiness: null, false, 0, 0.0, "", [] and {} are false.
bool PyTruthy(const rapidjson::Value& value);

}  // namespace osprey::otlp::internal
