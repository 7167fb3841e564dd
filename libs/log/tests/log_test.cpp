#include "osprey/log/log.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

namespace osprey::log {
namespace {

TEST_CASE("Format renders one JSON object") {
  std::string line = Format(Level::kInfo, "listening", {{"port", 4317}});
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["msg"].GetString()) == "listening");
  CHECK(doc["port"].GetInt64() == 4317);
}

}  // namespace
}  // namespace osprey::log
