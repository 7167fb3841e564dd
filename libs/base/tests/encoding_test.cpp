#include "osprey/base/encoding.hpp"

#include <catch2/catch.hpp>

using namespace osprey::base;

TEST_CASE("hex round-trips and rejects malformed input") {
  std::string bytes("\x00\x01\xab\xff", 4);
  CHECK(HexEncode(bytes) == "0001abff");
  CHECK(*HexDecode("0001ABff") == bytes);
  CHECK_FALSE(HexDecode("abc").has_value());
  CHECK_FALSE(HexDecode("zz").has_value());
  CHECK(IsAllZero(std::string(16, '\0')));
  CHECK_FALSE(IsAllZero(bytes));
}

TEST_CASE("base64 matches Phoenix GlobalID examples") {
  CHECK(Base64Encode("Project:1") == "UHJvamVjdDox");
  CHECK(Base64Encode("Trace:1") == "VHJhY2U6MQ==");
  CHECK(Base64Encode("ProjectSession:1") == "UHJvamVjdFNlc3Npb246MQ==");
  CHECK(*Base64Decode("VHJhY2U6MQ==") == "Trace:1");
  CHECK(*Base64Decode("VHJhY2U6MQ") == "Trace:1");  // padding optional
  CHECK_FALSE(Base64Decode("VHJh!2U6MQ").has_value());
  CHECK_FALSE(Base64Decode("A").has_value());
}

TEST_CASE("utf-8 validation") {
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\xc3"));              // truncated
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  CHECK_FALSE(IsValidUtf8("\xff"));
  // Past and inside the eight-byte ASCII skip: the bad byte is found wherever it sits.
  CHECK(IsValidUtf8("sixteen ascii ch\xc3\xa9"));
  CHECK_FALSE(IsValidUtf8("sixteen ascii ch\xff"));
  CHECK_FALSE(IsValidUtf8("eight by\xc3tes more"));
  CHECK_FALSE(IsValidUtf8("twelve bytes\xed\xa0\x80"));
}
