#pragma once

// How Python's str(), repr() and ascii() print a value that came from JSON (json.loads types:
// str, int, float, bool, None, list, dict). Phoenix renders template variables with Python, so a number
// or a list substituted into a template must read as Python prints it: 2.5, 1e+20, True, None,
// [1, 'a'], {'k': 'v'}. Private to libs/prompts.

#include <string>
#include <string_view>

#include "rapidjson/document.h"

namespace osprey::prompts {

enum class PyConversion { kStr, kRepr, kAscii };

// str(value), repr(value) or ascii(value).
std::string PyFormat(const rapidjson::Value& value, PyConversion conversion);

// repr() of a float: the shortest text that reads back to the same double, in Python's layout
// (1.0, 0.1, 1e+16, 1.5e-05, inf, nan).
std::string PyFloatRepr(double value);

// Python truthiness: None, False, 0, 0.0, "", [] and {} are false.
bool PyTruthy(const rapidjson::Value& value);

// Number of Unicode code points in UTF-8 text (invalid bytes count one each).
size_t CodePointCount(std::string_view utf8);

// The byte length of the first `count` code points of UTF-8 text.
size_t CodePointPrefix(std::string_view utf8, size_t count);

}  // namespace osprey::prompts
