#pragma once

// Structured logs: one JSON object per line on stderr,
//   {"ts":"2025-01-02T03:04:05.123456+00:00","level":"info","msg":"listening","module":"ingest","port":4317}
// One line per event, never per span on a hot path; never payloads (prompts, completions).
// Thread safe: lines from different threads never interleave.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace osprey::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, uint64_t v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  std::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

void SetLevel(Level level);
// "debug" | "info" | "warn" | "error" (ASCII case-insensitive); returns false, leaving `out` alone, for anything else.
bool ParseLevel(std::string_view text, Level& out);
bool Enabled(Level level);

// Renders one log line (without the trailing newline); exposed for tests.
std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields);

void Log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) { Log(Level::kDebug, msg, fields); }
inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) { Log(Level::kInfo, msg, fields); }
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) { Log(Level::kWarn, msg, fields); }
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) { Log(Level::kError, msg, fields); }

}  // namespace osprey::log
