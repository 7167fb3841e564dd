#include "osprey/query/global_id.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "osprey/base/encoding.hpp"

using osprey::base::Base64Encode;
using osprey::query::DecodeGlobalId;
using osprey::query::DecodeGlobalIdOfType;
using osprey::query::EncodeGlobalId;

TEST_CASE("GlobalIDs encode exactly as Phoenix's examples") {
  CHECK(EncodeGlobalId("Project", 1) == "UHJvamVjdDox");
  CHECK(EncodeGlobalId("Span", 1) == "U3Bhbjox");
  CHECK(EncodeGlobalId("Trace", 1) == "VHJhY2U6MQ==");
  CHECK(EncodeGlobalId("ProjectSession", 1) == "UHJvamVjdFNlc3Npb246MQ==");
}

TEST_CASE("GlobalIDs round-trip") {
  for (int64_t id : {int64_t{1}, int64_t{42}, int64_t{1234567890123}, INT64_MAX}) {
    auto gid = DecodeGlobalId(EncodeGlobalId("Trace", id));
    REQUIRE(gid.has_value());
    CHECK(gid->type == "Trace");
    CHECK(gid->id == id);
  }
}

TEST_CASE("GlobalID decoding accepts missing padding") {
  CHECK(DecodeGlobalIdOfType("VHJhY2U6MQ", "Trace") == 1);    // padding dropped
  CHECK(DecodeGlobalIdOfType("VHJhY2U6MQ==", "Trace") == 1);  // padding kept
  CHECK(DecodeGlobalIdOfType("UHJvamVjdFNlc3Npb246MQ", "ProjectSession") == 1);
}

TEST_CASE("GlobalID decoding rejects what is not Type:rowid") {
  CHECK_FALSE(DecodeGlobalId("").has_value());
  CHECK_FALSE(DecodeGlobalId("not base64!").has_value());
  CHECK_FALSE(DecodeGlobalId(Base64Encode("Project")).has_value());                       // no colon
  CHECK_FALSE(DecodeGlobalId(Base64Encode(":1")).has_value());                            // empty type
  CHECK_FALSE(DecodeGlobalId(Base64Encode("Project:")).has_value());                      // empty id
  CHECK_FALSE(DecodeGlobalId(Base64Encode("Project:-1")).has_value());                    // negative
  CHECK_FALSE(DecodeGlobalId(Base64Encode("Project:1x")).has_value());                    // trailing junk
  CHECK_FALSE(DecodeGlobalId(Base64Encode("Project: 1")).has_value());                    // whitespace
  CHECK_FALSE(DecodeGlobalId(Base64Encode("Project:99999999999999999999")).has_value());  // overflow
  CHECK_FALSE(DecodeGlobalId("default").has_value());  // a project name is not a GlobalID
}

TEST_CASE("A GlobalID of another type does not decode as the expected type") {
  CHECK(DecodeGlobalIdOfType(EncodeGlobalId("Span", 7), "Span") == 7);
  CHECK_FALSE(DecodeGlobalIdOfType(EncodeGlobalId("Span", 7), "Trace").has_value());
  CHECK_FALSE(DecodeGlobalIdOfType(EncodeGlobalId("Project", 7), "ProjectSession").has_value());
}
