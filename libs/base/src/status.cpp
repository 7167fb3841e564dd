#include "osprey/base/status.hpp"

#include <string>

#include "absl/strings/cord.h"

namespace osprey::base {
namespace {

constexpr absl::string_view kRetryablePayload = "osprey.dev/retryable";
constexpr absl::string_view kRetryAfterPayload = "osprey.dev/retry-after-ms";

}  // namespace

absl::Status Retryable(absl::StatusCode code, std::string_view message, std::chrono::milliseconds retry_after) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  status.SetPayload(kRetryablePayload, absl::Cord("1"));
  status.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(retry_after.count())));
  return status;
}

absl::Status Permanent(absl::StatusCode code, std::string_view message) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  status.SetPayload(kRetryablePayload, absl::Cord("0"));
  return status;
}

bool IsRetryable(const absl::Status& status) {
  if (status.ok()) return false;
  if (auto flag = status.GetPayload(kRetryablePayload)) return *flag == "1";
  switch (status.code()) {
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

std::optional<std::chrono::milliseconds> RetryAfter(const absl::Status& status) {
  auto payload = status.GetPayload(kRetryAfterPayload);
  if (!payload) return std::nullopt;
  try {
    return std::chrono::milliseconds(std::stoll(std::string(*payload)));
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace osprey::base
