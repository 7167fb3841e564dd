#pragma once

// Pieces shared by the SQLite and Postgres MutationStore implementations: error statuses with the
// same text in both stores, and key normalization.

#include <cstdint>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "osprey/base/status.hpp"
#include "osprey/store/mutations.hpp"

namespace osprey::store::internal {

// "span 00000000000000ab" / "span row 12".
inline std::string DescribeKey(const char* what, const RowKey& key) {
  if (const int64_t* rowid = std::get_if<int64_t>(&key)) return std::string(what) + " row " + std::to_string(*rowid);
  return std::string(what) + " " + std::get<std::string>(key);
}

inline absl::Status NotFound(const char* what, const RowKey& key) {
  return base::Permanent(absl::StatusCode::kNotFound, DescribeKey(what, key) + " not found");
}

inline absl::Status ProjectNotFound(int64_t id) {
  return base::Permanent(absl::StatusCode::kNotFound, "project row " + std::to_string(id) + " not found");
}

inline absl::Status DefaultProjectUnrenamable() {
  return base::Permanent(absl::StatusCode::kFailedPrecondition, "The default project cannot be renamed");
}

inline absl::Status DefaultProjectUndeletable() {
  return base::Permanent(absl::StatusCode::kFailedPrecondition, "The default project cannot be deleted");
}

inline absl::Status SeveralSourceProjects() {
  return base::Permanent(absl::StatusCode::kInvalidArgument, "All traces must belong to the same source project");
}

// OTel hex ids are stored in lowercase; session ids are compared as given.
inline std::string LowerHex(const std::string& id) { return absl::AsciiStrToLower(id); }

}  // namespace osprey::store::internal
