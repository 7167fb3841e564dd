#include <limits>

#include "absl/status/status.h"
#include "osprey/base/status.hpp"
#include "osprey/otlp/otlp.hpp"

namespace osprey::otlp {

absl::StatusOr<ExportRequest*> DecodeProtobuf(std::string_view body, google::protobuf::Arena* arena) {
  if (body.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return base::Permanent(absl::StatusCode::kInvalidArgument, "protobuf body larger than 2 GiB");
  }
  auto* request = google::protobuf::Arena::CreateMessage<ExportRequest>(arena);
  if (!request->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return base::Permanent(absl::StatusCode::kInvalidArgument,
                           "malformed protobuf ExportTraceServiceRequest (" + std::to_string(body.size()) +
                               " bytes): truncated or invalid wire data, nesting too deep, or a string field "
                               "that is not valid UTF-8");
  }
  return request;
}

}  // namespace osprey::otlp
