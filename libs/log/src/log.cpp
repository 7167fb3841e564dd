#include "osprey/log/log.hpp"

#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "osprey/base/time.hpp"

namespace osprey::log {
namespace {

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

void WriteLine(const std::string& line) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

// The level starts from OSPREY_LOG_LEVEL (info when unset); an unparsable value is reported once.
std::atomic<int>& LevelVar() {
  static std::atomic<int> level = [] {
    Level initial = Level::kInfo;
    const char* env = std::getenv("OSPREY_LOG_LEVEL");
    if (env != nullptr && !ParseLevel(env, initial)) {
      initial = Level::kInfo;
      WriteLine(Format(Level::kWarn, "ignoring invalid OSPREY_LOG_LEVEL; expected debug, info, warn or error",
                       {{"value", std::string_view(env)}}) +
                "\n");
    }
    return static_cast<int>(initial);
  }();
  return level;
}

void AppendHex4(std::string& out, unsigned v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[(v >> 4) & 0xf];
  out += kHex[v & 0xf];
}

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode Table 3-7), or, when it is
// ill-formed, the negated length of its maximal subpart (at least 1), which becomes one U+FFFD.
int Utf8Sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  int len;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return -k;
    unsigned char cc = b(i + k);
    unsigned char klo = k == 1 ? lo : 0x80, khi = k == 1 ? hi : 0xbf;
    if (cc < klo || cc > khi) return -k;
  }
  return len;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            AppendHex4(out, c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    int n = Utf8Sequence(s, i);
    if (n > 0) {
      out.append(s.data() + i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    } else {
      out += "\xef\xbf\xbd";  // U+FFFD
      i += static_cast<size_t>(-n);
    }
  }
  out += '"';
}

void AppendDouble(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string_view text(buf, static_cast<size_t>(res.ptr - buf));
  out += text;
  // Keep the JSON type a float for readers that distinguish (3.0 stays "3.0", not "3").
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void AppendKey(std::string& out, std::string_view key) {
  out += ',';
  // The envelope keys stay unique: a field that would shadow one is prefixed with '_'.
  if (key == "ts" || key == "level" || key == "msg") {
    std::string renamed = "_";
    renamed += key;
    AppendJsonString(out, renamed);
  } else {
    AppendJsonString(out, key);
  }
  out += ':';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char ca = a[i];
    if (ca >= 'A' && ca <= 'Z') ca = static_cast<char>(ca - 'A' + 'a');
    if (ca != b[i]) return false;
  }
  return true;
}

}  // namespace

void SetLevel(Level level) { LevelVar().store(static_cast<int>(level), std::memory_order_relaxed); }

bool ParseLevel(std::string_view text, Level& out) {
  static constexpr Level kLevels[] = {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError};
  for (Level level : kLevels) {
    if (EqualsIgnoreCase(text, LevelName(level))) {
      out = level;
      return true;
    }
  }
  return false;
}

bool Enabled(Level level) { return static_cast<int>(level) >= LevelVar().load(std::memory_order_relaxed); }

std::string Format(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  std::string out;
  out.reserve(64 + msg.size() + 24 * fields.size());
  std::string ts = base::FormatIsoTime(base::NowUnixNanos());
  // FormatIsoTime drops a zero fraction; log lines keep a fixed width.
  if (ts.size() >= 6 && ts.find('.') == std::string::npos) ts.insert(ts.size() - 6, ".000000");
  out += "{\"ts\":\"";
  out += ts;
  out += "\",\"level\":\"";
  out += LevelName(level);
  out += "\",\"msg\":";
  AppendJsonString(out, msg);
  for (const Field& field : fields) {
    AppendKey(out, field.key);
    if (const auto* s = std::get_if<std::string>(&field.value)) {
      AppendJsonString(out, *s);
    } else if (const auto* i = std::get_if<int64_t>(&field.value)) {
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof(buf), *i);
      out.append(buf, res.ptr);
    } else if (const auto* d = std::get_if<double>(&field.value)) {
      AppendDouble(out, *d);
    } else {
      out += std::get<bool>(field.value) ? "true" : "false";
    }
  }
  out += '}';
  return out;
}

void Log(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  WriteLine(Format(level, msg, fields) + "\n");
}

}  // namespace osprey::log
