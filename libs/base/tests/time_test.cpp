#include "osprey/base/time.hpp"

#include <catch2/catch.hpp>

using namespace osprey::base;

TEST_CASE("iso time formatting mirrors Python isoformat") {
  CHECK(FormatIsoTime(0) == "1970-01-01T00:00:00+00:00");
  CHECK(FormatIsoTime(1735787045123456789ULL) == "2025-01-02T03:04:05.123456+00:00");
  CHECK(FormatIsoTime(1735787045000000999ULL) == "2025-01-02T03:04:05+00:00");
  CHECK(FormatIsoTime(951782400000000000ULL) == "2000-02-29T00:00:00+00:00");
}

TEST_CASE("iso time parsing accepts offsets, Z and naive times") {
  CHECK(*ParseIsoTime("2025-01-02T03:04:05.123456+00:00") == 1735787045123456000LL);
  CHECK(*ParseIsoTime("2025-01-02T03:04:05.123456Z") == 1735787045123456000LL);
  CHECK(*ParseIsoTime("2025-01-02T03:04:05.123456") == 1735787045123456000LL);
  CHECK(*ParseIsoTime("2025-01-02T05:04:05+02:00") == 1735787045000000000LL);
  CHECK(*ParseIsoTime("2025-01-02") == 1735776000000000000LL);
  CHECK(*ParseIsoTime("2025-01-02 03:04") == 1735787040000000000LL);
}

TEST_CASE("iso time parsing rejects malformed input") {
  CHECK_FALSE(ParseIsoTime("").has_value());
  CHECK_FALSE(ParseIsoTime("yesterday").has_value());
  CHECK_FALSE(ParseIsoTime("2025-13-01").has_value());
  CHECK_FALSE(ParseIsoTime("2025-02-30").has_value());
  CHECK_FALSE(ParseIsoTime("2025-01-02T25:00").has_value());
  CHECK_FALSE(ParseIsoTime("2025-01-02T03:04:05.").has_value());
  CHECK_FALSE(ParseIsoTime("2025-01-02T03:04:05+0x:00").has_value());
  CHECK_FALSE(ParseIsoTime("2025-01-02T03:04:05 trailing").has_value());
}
