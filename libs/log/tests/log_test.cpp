#include "osprey/log/log.hpp"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <regex>
#include <sstream>
#include <thread>
#include <vector>

#include "osprey/base/time.hpp"

namespace osprey::log {
namespace {

// Parses one line strictly: valid JSON, valid UTF-8, nothing after the object.
rapidjson::Document ParseLine(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseStopWhenDoneFlag>(line.c_str(), line.size());
  INFO(line);
  INFO((doc.HasParseError() ? rapidjson::GetParseError_En(doc.GetParseError()) : "ok"));
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

std::string StringField(const std::string& value) {
  auto doc = ParseLine(Format(Level::kInfo, "m", {{"v", value}}));
  REQUIRE(doc["v"].IsString());
  return std::string(doc["v"].GetString(), doc["v"].GetStringLength());
}

// Redirects stderr (fd 2) into a temporary file for the lifetime of the object.
class CaptureStderr final {
 public:
  CaptureStderr() : file_(std::tmpfile()), saved_(dup(2)) {
    std::fflush(stderr);
    dup2(fileno(file_), 2);
  }
  ~CaptureStderr() {
    Restore();
    std::fclose(file_);
  }
  std::vector<std::string> Lines() {
    Restore();
    std::string text;
    std::rewind(file_);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) text.append(buf, n);
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

 private:
  void Restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_;
};

// Restores the process-wide level when a test that changes it ends.
struct LevelGuard {
  ~LevelGuard() { SetLevel(Level::kInfo); }
};

TEST_CASE("Format writes ts, level, msg, then the fields in order with their JSON types") {
  auto doc = ParseLine(Format(Level::kWarn, "listening",
                              {{"module", "ingest"},
                               {"port", 4317},
                               {"bytes", uint64_t{1} << 40},
                               {"ratio", 0.25},
                               {"whole", 3.0},
                               {"tls", false},
                               {"owned", std::string("yes")}}));
  std::vector<std::string> keys;
  for (const auto& member : doc.GetObject()) keys.emplace_back(member.name.GetString());
  CHECK(keys ==
        std::vector<std::string>{"ts", "level", "msg", "module", "port", "bytes", "ratio", "whole", "tls", "owned"});
  CHECK(std::string(doc["level"].GetString()) == "warn");
  CHECK(std::string(doc["msg"].GetString()) == "listening");
  CHECK(std::string(doc["module"].GetString()) == "ingest");
  REQUIRE(doc["port"].IsInt64());
  CHECK(doc["port"].GetInt64() == 4317);
  CHECK(doc["bytes"].GetInt64() == int64_t{1} << 40);
  REQUIRE(doc["ratio"].IsDouble());
  CHECK(doc["ratio"].GetDouble() == 0.25);
  CHECK(doc["whole"].IsDouble());
  CHECK(doc["whole"].GetDouble() == 3.0);
  CHECK(doc["tls"].IsBool());
  CHECK_FALSE(doc["tls"].GetBool());
  CHECK(std::string(doc["owned"].GetString()) == "yes");
}

TEST_CASE("Every level has its name") {
  CHECK(std::string(ParseLine(Format(Level::kDebug, "", {}))["level"].GetString()) == "debug");
  CHECK(std::string(ParseLine(Format(Level::kInfo, "", {}))["level"].GetString()) == "info");
  CHECK(std::string(ParseLine(Format(Level::kWarn, "", {}))["level"].GetString()) == "warn");
  CHECK(std::string(ParseLine(Format(Level::kError, "", {}))["level"].GetString()) == "error");
}

TEST_CASE("ts is ISO-8601 UTC with microseconds, close to now") {
  std::string ts = ParseLine(Format(Level::kInfo, "m", {}))["ts"].GetString();
  CHECK(std::regex_match(ts, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00)")));
  auto parsed = base::ParseIsoTime(ts);
  REQUIRE(parsed.has_value());
  int64_t now = static_cast<int64_t>(base::NowUnixNanos());
  CHECK(std::llabs(now - *parsed) < int64_t{5'000'000'000});
}

TEST_CASE("Strings are escaped so the line stays one valid JSON object") {
  std::string nasty = "say \"hi\"\\ \n\r\t\b\f \x01\x1f\x7f end";
  std::string line = Format(Level::kInfo, nasty, {{nasty, nasty}});
  CHECK(line.find('\n') == std::string::npos);
  for (char c : line) CHECK(static_cast<unsigned char>(c) >= 0x20);
  CHECK(line.find(R"(say \"hi\"\\ \n\r\t\b\f \u0001\u001f)") != std::string::npos);
  auto doc = ParseLine(line);
  CHECK(std::string(doc["msg"].GetString()) == nasty);
  REQUIRE(doc.HasMember(nasty.c_str()));
  CHECK(std::string(doc[nasty.c_str()].GetString()) == nasty);
}

TEST_CASE("Embedded NUL bytes survive as \\u0000") {
  std::string with_nul("a\0b", 3);
  CHECK(StringField(with_nul) == with_nul);
}

TEST_CASE("Valid UTF-8 passes through unchanged") {
  std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf";
  CHECK(StringField(text) == text);
  CHECK(Format(Level::kInfo, text, {}).find(text) != std::string::npos);
}

TEST_CASE("Invalid UTF-8 becomes U+FFFD, one per maximal ill-formed subpart") {
  const std::string r = "\xef\xbf\xbd";
  CHECK(StringField("a\xff"
                    "b") == "a" + r + "b");                 // never a lead byte
  CHECK(StringField("\x80x") == r + "x");                   // stray continuation
  CHECK(StringField("\xe2\x82") == r);                      // truncated at the end
  CHECK(StringField("\xe2\x82x") == r + "x");               // truncated mid-string
  CHECK(StringField("\xc0\xaf") == r + r);                  // overlong lead, then stray
  CHECK(StringField("\xe0\x80\xaf") == r + r + r);          // overlong three-byte form
  CHECK(StringField("\xed\xa0\x80") == r + r + r);          // UTF-16 surrogate
  CHECK(StringField("\xf4\x90\x80\x80") == r + r + r + r);  // past U+10FFFF
  CHECK(StringField("\xf0\x9f\x98"
                    "\xc3\xa9") == r + "\xc3\xa9");  // truncated, then valid
  // Keys and the message are sanitized too.
  auto doc = ParseLine(Format(Level::kInfo, "m\xfe", {{"k\xfe", 1}}));
  CHECK(std::string(doc["msg"].GetString()) == "m" + r);
  CHECK(doc.HasMember(("k" + r).c_str()));
}

TEST_CASE("NaN and infinities are rendered as strings") {
  auto doc = ParseLine(Format(Level::kInfo, "m",
                              {{"nan", std::nan("")},
                               {"pos", std::numeric_limits<double>::infinity()},
                               {"neg", -std::numeric_limits<double>::infinity()},
                               {"big", 1e300},
                               {"tiny", -2.5e-10}}));
  CHECK(std::string(doc["nan"].GetString()) == "NaN");
  CHECK(std::string(doc["pos"].GetString()) == "Infinity");
  CHECK(std::string(doc["neg"].GetString()) == "-Infinity");
  CHECK(doc["big"].GetDouble() == 1e300);
  CHECK(doc["tiny"].GetDouble() == -2.5e-10);
}

TEST_CASE("Fields named like the envelope do not shadow it") {
  auto doc = ParseLine(Format(Level::kError, "real", {{"msg", "fake"}, {"level", 7}, {"ts", true}}));
  CHECK(std::string(doc["msg"].GetString()) == "real");
  CHECK(std::string(doc["level"].GetString()) == "error");
  CHECK(std::string(doc["_msg"].GetString()) == "fake");
  CHECK(doc["_level"].GetInt64() == 7);
  CHECK(doc["_ts"].GetBool());
}

TEST_CASE("ParseLevel accepts the four level names in any case") {
  Level level = Level::kError;
  CHECK(ParseLevel("debug", level));
  CHECK(level == Level::kDebug);
  CHECK(ParseLevel("info", level));
  CHECK(level == Level::kInfo);
  CHECK(ParseLevel("WARN", level));
  CHECK(level == Level::kWarn);
  CHECK(ParseLevel("Error", level));
  CHECK(level == Level::kError);
  for (const char* bad : {"", "verbose", "warning", "info ", "inf", "debugx"}) {
    Level untouched = Level::kDebug;
    CHECK_FALSE(ParseLevel(bad, untouched));
    CHECK(untouched == Level::kDebug);
  }
}

TEST_CASE("The level filters what Log writes to stderr") {
  LevelGuard guard;
  SetLevel(Level::kWarn);
  CHECK_FALSE(Enabled(Level::kDebug));
  CHECK_FALSE(Enabled(Level::kInfo));
  CHECK(Enabled(Level::kWarn));
  CHECK(Enabled(Level::kError));
  std::vector<std::string> lines;
  {
    CaptureStderr capture;
    Debug("hidden debug");
    Info("hidden info", {{"k", 1}});
    Warn("shown warn", {{"k", 2}});
    Error("shown error");
    lines = capture.Lines();
  }
  REQUIRE(lines.size() == 2);
  auto warn = ParseLine(lines[0]);
  CHECK(std::string(warn["msg"].GetString()) == "shown warn");
  CHECK(warn["k"].GetInt64() == 2);
  CHECK(std::string(ParseLine(lines[1])["level"].GetString()) == "error");

  SetLevel(Level::kDebug);
  CHECK(Enabled(Level::kDebug));
  {
    CaptureStderr capture;
    Debug("now visible");
    lines = capture.Lines();
  }
  REQUIRE(lines.size() == 1);
  CHECK(std::string(ParseLine(lines[0])["msg"].GetString()) == "now visible");
}

TEST_CASE("Lines from concurrent threads never interleave") {
  LevelGuard guard;
  SetLevel(Level::kInfo);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::string> lines;
  {
    CaptureStderr capture;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([t] {
        std::string padding(200 + t * 50, static_cast<char>('a' + t));
        for (int i = 0; i < kPerThread; ++i) Info("tick", {{"thread", t}, {"i", i}, {"padding", padding}});
      });
    }
    for (auto& th : threads) th.join();
    lines = capture.Lines();
  }
  REQUIRE(lines.size() == kThreads * kPerThread);
  std::vector<int> next(kThreads, 0);
  for (const auto& line : lines) {
    auto doc = ParseLine(line);
    int t = static_cast<int>(doc["thread"].GetInt64());
    REQUIRE(t >= 0);
    REQUIRE(t < kThreads);
    CHECK(doc["i"].GetInt64() == next[t]++);
    CHECK(doc["padding"].GetStringLength() == static_cast<size_t>(200 + t * 50));
  }
}

// Run by CTest as log_test_env with OSPREY_LOG_LEVEL=warn (see CMakeLists.txt); hidden otherwise because
// the variable is read once, before any SetLevel call.
TEST_CASE("OSPREY_LOG_LEVEL sets the initial level", "[.][env]") {
  const char* env = std::getenv("OSPREY_LOG_LEVEL");
  REQUIRE(env != nullptr);
  REQUIRE(std::string(env) == "warn");
  CHECK_FALSE(Enabled(Level::kInfo));
  CHECK(Enabled(Level::kWarn));
}

TEST_CASE("Without OSPREY_LOG_LEVEL the initial level is info", "[.][env-default]") {
  REQUIRE(std::getenv("OSPREY_LOG_LEVEL") == nullptr);
  CHECK_FALSE(Enabled(Level::kDebug));
  CHECK(Enabled(Level::kInfo));
}

TEST_CASE("An invalid OSPREY_LOG_LEVEL falls back to info and says so once", "[.][env-invalid]") {
  REQUIRE(std::getenv("OSPREY_LOG_LEVEL") != nullptr);
  std::vector<std::string> lines;
  {
    CaptureStderr capture;
    CHECK(Enabled(Level::kInfo));
    CHECK_FALSE(Enabled(Level::kDebug));
    lines = capture.Lines();
  }
  REQUIRE(lines.size() == 1);
  auto doc = ParseLine(lines[0]);
  CHECK(std::string(doc["level"].GetString()) == "warn");
  CHECK(std::string(doc["value"].GetString()) == std::getenv("OSPREY_LOG_LEVEL"));
}

}  // namespace
}  // namespace osprey::log
