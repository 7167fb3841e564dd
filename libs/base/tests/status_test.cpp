#include "osprey/base/status.hpp"

#include <catch2/catch.hpp>

using osprey::base::IsRetryable;
using osprey::base::Permanent;
using osprey::base::Retryable;
using osprey::base::RetryAfter;

TEST_CASE("retryable errors carry their flag and retry hint") {
  auto st = Retryable(absl::StatusCode::kResourceExhausted, "queue full", std::chrono::milliseconds(2500));
  CHECK(IsRetryable(st));
  CHECK(st.code() == absl::StatusCode::kResourceExhausted);
  CHECK(st.message() == "queue full");
  REQUIRE(RetryAfter(st).has_value());
  CHECK(RetryAfter(st)->count() == 2500);
}

TEST_CASE("permanent errors are not retryable even with a retryable code") {
  auto st = Permanent(absl::StatusCode::kUnavailable, "nope");
  CHECK_FALSE(IsRetryable(st));
  CHECK_FALSE(RetryAfter(st).has_value());
}

TEST_CASE("plain statuses follow the OTLP retryable code set") {
  CHECK(IsRetryable(absl::UnavailableError("x")));
  CHECK(IsRetryable(absl::DeadlineExceededError("x")));
  CHECK_FALSE(IsRetryable(absl::InvalidArgumentError("x")));
  CHECK_FALSE(IsRetryable(absl::ResourceExhaustedError("x")));  // only with RetryInfo
  CHECK_FALSE(IsRetryable(absl::OkStatus()));
}

namespace {
absl::StatusOr<int> Half(int v) {
  if (v % 2) return absl::InvalidArgumentError("odd");
  return v / 2;
}
absl::StatusOr<int> Quarter(int v) {
  OSPREY_ASSIGN_OR_RETURN(int h, Half(v));
  OSPREY_ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}
}  // namespace

TEST_CASE("status macros propagate errors") {
  CHECK(*Quarter(8) == 2);
  CHECK(Quarter(6).status().message() == "odd");
}
