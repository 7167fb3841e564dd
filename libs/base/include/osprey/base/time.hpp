#pragma once

// Time formats of Osprey's REST edge. Responses mirror Python's datetime.isoformat() on a UTC
// datetime, as Phoenix's clients expect: "2025-01-02T03:04:05.123456+00:00", with the fraction
// omitted when the microseconds are zero.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace osprey::base {

// Nanoseconds since the Unix epoch, truncated to microseconds, as ISO-8601 with "+00:00".
std::string FormatIsoTime(uint64_t unix_nanos);

// Parses ISO-8601 date-times: "2025-01-02", "2025-01-02T03:04:05", optional fraction (up to 9
// digits), optional "Z" / "+hh:mm" / "-hh:mm" (naive input is UTC). A space may replace the "T".
// Returns nanoseconds since the epoch, or nullopt on malformed input or a date before 1970.
std::optional<int64_t> ParseIsoTime(std::string_view text);

// Current wall-clock time in nanoseconds since the epoch.
uint64_t NowUnixNanos();

}  // namespace osprey::base
