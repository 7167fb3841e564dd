#include "span_rows.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "rapidjson/document.h"

namespace osprey::store::internal {
namespace {

// The reference: RapidJSON's strict DOM parse of the whole text, nesting at most kMaxJsonDepth levels. (Its
// length-bounded parse takes a NUL byte for the end of the text; a raw NUL is never valid JSON.)
bool ReferenceAccepts(const std::string& text, char open) {
  if (text.find('\0') != std::string::npos) return false;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != open) return false;
  rapidjson::Document document;
  document.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
  if (document.HasParseError()) return false;
  int deepest = 0;
  std::vector<std::pair<const rapidjson::Value*, int>> pending = {{&document, 1}};
  while (!pending.empty()) {
    auto [value, depth] = pending.back();
    pending.pop_back();
    if (value->IsObject()) {
      deepest = std::max(deepest, depth);
      for (const auto& member : value->GetObject()) pending.push_back({&member.value, depth + 1});
    } else if (value->IsArray()) {
      deepest = std::max(deepest, depth);
      for (const auto& element : value->GetArray()) pending.push_back({&element, depth + 1});
    }
  }
  return deepest <= kMaxJsonDepth;
}

const std::vector<std::string> kSeeds = {
    R"({"llm":{"input_messages":[{"message":{"role":"user","content":"line\nnext \"quoted\" \\ \/ \u00e9 \ud83d\ude42"}}],)"
    R"("token_count":{"prompt":12,"total":-0.5e-3}},"ok":true,"no":false,"none":null,"e":[],"o":{}})",
    "{ \"spaced\" :\t[ 1 , 2.25 , 1E+2 , 0 ]\r\n}",
    R"({"big":123456789012345678901234567890,"exp":1e300,"tiny":1e-400})",
    R"({"lone":"\udc00","pair":"\ud800\udc00"})",
};

}  // namespace

TEST_CASE("CheckJson accepts exactly the documents RapidJSON's strict parse accepts", "[span_rows]") {
  for (const std::string& seed : kSeeds) {
    INFO(seed);
    CHECK(CheckJson(seed, '{', "attributes_json").has_value() == !ReferenceAccepts(seed, '{'));
  }
  CHECK(CheckJson(kSeeds[0], '{', "attributes_json") == std::nullopt);
  CHECK(CheckJson(kSeeds[1], '{', "attributes_json") == std::nullopt);
  const std::vector<std::string> refused = {
      "{",           "{\"a\":1,}",     "{\"a\":01}",      "{\"a\":1.}",        "{\"a\":.5}",
      "{\"a\":NaN}", "{\"a\":\"\t\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":1e400}",
      "{\"a\" 1}",   "{'a':1}",        "{\"a\":tru}",     "{\"a\":[1 2]}"};
  for (const std::string& text : refused) {
    INFO(text);
    auto error = CheckJson(text, '{', "attributes_json");
    REQUIRE(error.has_value());
    CHECK_THAT(*error, Catch::StartsWith("attributes_json is not valid JSON (offset "));
  }
  CHECK(CheckJson("{} {}", '{', "attributes_json") == "attributes_json has text after the JSON value");
  CHECK(CheckJson(std::string("{}\0", 3), '{', "attributes_json") == "attributes_json has text after the JSON value");
  CHECK(CheckJson("[1]", '{', "attributes_json") == "attributes_json is not a JSON object");
  CHECK(CheckJson("", '[', "events_json") == std::nullopt);
  const std::string deepest = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  CHECK(CheckJson(deepest, '[', "events_json") == std::nullopt);
  CHECK(CheckJson("[" + deepest + "]", '[', "events_json") == "events_json nests deeper than 1000 levels");

  // Random edits of the seeds (a character inserted, deleted or replaced) against the reference.
  const std::string alphabet = std::string("{}[]\",:\\ -+.eE0123456789abfnrtu\t\n\x01\x7f\xc3\xa9") + '\0';
  std::mt19937 random(7);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = kSeeds[random() % kSeeds.size()];
    for (int edits = 1 + random() % 3; edits > 0; --edits) {
      size_t at = random() % (text.size() + 1);
      char c = alphabet[random() % alphabet.size()];
      if (random() % 3 == 0) {
        text.insert(text.begin() + at, c);
      } else if (at < text.size()) {
        if (random() % 2 == 0) {
          text.erase(at, 1);
        } else {
          text[at] = c;
        }
      }
    }
    INFO(text);
    const bool checked = !CheckJson(text, '{', "attributes_json").has_value();
    REQUIRE(checked == ReferenceAccepts(text, '{'));
    accepted += checked;
  }
  CHECK(accepted > 1000);  // the edits leave many documents valid, so both outcomes are compared
}

}  // namespace osprey::store::internal
