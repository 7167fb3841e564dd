#pragma once

// Errors are values on the data path: absl::Status / absl::StatusOr, plus one bit that every
// caller at a protocol edge needs — may the client retry? Retryable errors become gRPC UNAVAILABLE /
// RESOURCE_EXHAUSTED with RetryInfo or HTTP 429/503 with Retry-After; permanent ones become 4xx /
// INVALID_ARGUMENT and must not be retried.

#include <chrono>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace osprey::base {

// Debian's Abseil is built in C++17 mode without std::string_view aliasing: absl::string_view is a
// distinct type. Convert explicitly at the boundary.
inline absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// A retryable error: the same request may succeed later (overload, dependency down, timeout).
// `retry_after` is a hint for the client; protocol edges turn it into RetryInfo / Retry-After.
absl::Status Retryable(absl::StatusCode code, std::string_view message,
                       std::chrono::milliseconds retry_after = std::chrono::milliseconds(1000));

// A permanent error: the same request will fail again (malformed input, unknown entity).
absl::Status Permanent(absl::StatusCode code, std::string_view message);

// True when the status was built by Retryable(), or, for statuses from elsewhere, when its code is
// one the OTLP specification treats as retryable (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, ...).
bool IsRetryable(const absl::Status& status);

// The retry hint attached by Retryable(), if any.
std::optional<std::chrono::milliseconds> RetryAfter(const absl::Status& status);

}  // namespace osprey::base

// Propagates a non-OK absl::Status from the current function.
#define OSPREY_RETURN_IF_ERROR(expr)              \
  do {                                            \
    if (auto _st = (expr); !_st.ok()) return _st; \
  } while (0)

#define OSPREY_CONCAT_INNER(a, b) a##b
#define OSPREY_CONCAT(a, b) OSPREY_CONCAT_INNER(a, b)
// Assigns the value of an absl::StatusOr<T> expression to `lhs`, or returns its error.
#define OSPREY_ASSIGN_OR_RETURN(lhs, expr) OSPREY_ASSIGN_OR_RETURN_IMPL(OSPREY_CONCAT(_sor_, __LINE__), lhs, expr)
#define OSPREY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
