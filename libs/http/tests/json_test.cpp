#include "osprey/http/json.hpp"

#include <catch2/catch.hpp>
#include <limits>

namespace osprey::http {
namespace {

TEST_CASE("ToString writes compact JSON", "[http][json]") {
  rapidjson::Document doc;
  doc.SetObject();
  auto& alloc = doc.GetAllocator();
  doc.AddMember("name", rapidjson::Value("caf\xc3\xa9 \"q\"", alloc), alloc);
  rapidjson::Value list(rapidjson::kArrayType);
  list.PushBack(1, alloc).PushBack(2.5, alloc).PushBack(rapidjson::Value(), alloc);
  doc.AddMember("list", list, alloc);
  CHECK(ToString(doc) == "{\"name\":\"caf\xc3\xa9 \\\"q\\\"\",\"list\":[1,2.5,null]}");
}

TEST_CASE("ToString writes non-finite numbers as null instead of truncating", "[http][json]") {
  rapidjson::Document doc;
  doc.SetArray();
  doc.PushBack(std::numeric_limits<double>::quiet_NaN(), doc.GetAllocator());
  doc.PushBack(std::numeric_limits<double>::infinity(), doc.GetAllocator());
  doc.PushBack(1.5, doc.GetAllocator());
  CHECK(ToString(doc) == "[null,null,1.5]");
}

TEST_CASE("JsonResponse is application/json", "[http][json]") {
  rapidjson::Document doc;
  doc.SetObject();
  doc.AddMember("data", rapidjson::Value(rapidjson::kArrayType), doc.GetAllocator());
  Response response = JsonResponse(201, doc);
  CHECK(response.status == 201);
  CHECK(response.body == "{\"data\":[]}");
  REQUIRE(response.headers.size() == 1);
  CHECK(response.headers[0].second == "application/json");
}

TEST_CASE("JsonWriter streams into a StringBuffer", "[http][json]") {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("total_queued");
  writer.Int(3);
  writer.EndObject();
  CHECK(std::string(buffer.GetString()) == "{\"total_queued\":3}");
}

TEST_CASE("ParseJson names the error and its offset", "[http][json]") {
  rapidjson::Document doc;
  REQUIRE(ParseJson("{\"a\": [1, 2]}", doc).ok());
  CHECK(doc["a"].Size() == 2);
  absl::Status status = ParseJson("{\"a\" 1}", doc);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "invalid JSON at offset 5: Missing a colon after a name of object member.");
  CHECK(ParseJson("", doc).code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseJson("{} trailing", doc).code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace osprey::http

TEST_CASE("ParseJson refuses nesting past kMaxJsonDepth before parsing, whatever the size", "[http][json]") {
  rapidjson::Document doc;
  const std::string ok = std::string(osprey::http::kMaxJsonDepth, '[') + std::string(osprey::http::kMaxJsonDepth, ']');
  CHECK(osprey::http::ParseJson(ok, doc).ok());
  // Megabytes of "[[[[" would overflow RapidJSON's recursive parser on a handler thread.
  const std::string deep(4 << 20, '[');
  absl::Status st = osprey::http::ParseJson(deep, doc);
  CHECK(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(st.message()) == "JSON nested deeper than 256 levels");
  // Brackets inside strings do not count.
  CHECK(osprey::http::ParseJson("{\"a\":\"" + std::string(1000, '[') + "\\\"\"}", doc).ok());
  CHECK(osprey::http::JsonTextDepth("[{\"x\":[1,{}]}]", 100) == 4);
}
