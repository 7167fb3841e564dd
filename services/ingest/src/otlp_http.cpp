#include "osprey/ingest/otlp_http.hpp"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "google/rpc/status.pb.h"
#include "osprey/base/status.hpp"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::ingest {
namespace {

enum class Encoding { kProtobuf, kJson, kUnsupported };

constexpr char kProtobufType[] = "application/x-protobuf";
constexpr char kJsonType[] = "application/json";

Encoding EncodingOf(const http::Request& request, std::string& media_type) {
  media_type = request.Header("content-type").value_or("");
  auto semi = media_type.find(';');
  std::string base = media_type.substr(0, semi);
  base.erase(std::remove_if(base.begin(), base.end(), [](unsigned char c) { return std::isspace(c); }), base.end());
  std::transform(base.begin(), base.end(), base.begin(), [](unsigned char c) { return std::tolower(c); });
  if (base == kProtobufType || base == "application/protobuf") return Encoding::kProtobuf;
  if (base == kJsonType) return Encoding::kJson;
  return Encoding::kUnsupported;
}

http::Response StatusResponse(Encoding encoding, int http_status, const absl::Status& status) {
  std::string message(status.message());
  http::Response response;
  if (encoding == Encoding::kJson) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("code");
    w.Int(static_cast<int>(status.code()));
    w.Key("message");
    w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
    w.Key("details");
    w.StartArray();
    w.EndArray();
    w.EndObject();
    response = http::Response::Bytes(http_status, kJsonType, buffer.GetString());
  } else {
    google::rpc::Status proto;
    proto.set_code(static_cast<int>(status.code()));
    proto.set_message(message);
    response = http::Response::Bytes(http_status, kProtobufType, proto.SerializeAsString());
  }
  if (base::IsRetryable(status)) {
    auto delay = base::RetryAfter(status).value_or(std::chrono::milliseconds(1000));
    response.WithHeader("Retry-After", std::to_string(std::max<int64_t>(1, (delay.count() + 999) / 1000)));
  }
  return response;
}

http::Response SuccessResponse(Encoding encoding, const ExportOutcome& outcome) {
  if (encoding == Encoding::kJson) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    if (outcome.rejected_spans > 0 || !outcome.error_message.empty()) {
      w.Key("partialSuccess");
      w.StartObject();
      w.Key("rejectedSpans");
      w.String(std::to_string(outcome.rejected_spans).c_str());
      w.Key("errorMessage");
      w.String(outcome.error_message.c_str(), static_cast<rapidjson::SizeType>(outcome.error_message.size()));
      w.EndObject();
    }
    w.EndObject();
    return http::Response::Bytes(200, kJsonType, buffer.GetString());
  }
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse proto;
  if (outcome.rejected_spans > 0 || !outcome.error_message.empty()) {
    proto.mutable_partial_success()->set_rejected_spans(outcome.rejected_spans);
    proto.mutable_partial_success()->set_error_message(outcome.error_message);
  }
  return http::Response::Bytes(200, kProtobufType, proto.SerializeAsString());
}

}  // namespace

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return base::IsRetryable(status) ? 503 : 400;
    case absl::StatusCode::kResourceExhausted:
      return base::IsRetryable(status) ? 429 : 413;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return 503;
    default:
      return base::IsRetryable(status) ? 503 : 500;
  }
}

http::Handler MakeOtlpHttpHandler(Ingestor& ingestor) {
  return [&ingestor](const http::Request& request) -> http::Response {
    std::string media_type;
    Encoding encoding = EncodingOf(request, media_type);
    if (encoding == Encoding::kUnsupported) {
      ingestor.CountRefused(Transport::kHttp, "unsupported_media_type");
      return http::Response::Text(415, absl::StrCat("unsupported Content-Type '", media_type,
                                                    "': use application/x-protobuf or application/json"));
    }
    // Decoded messages and normalized spans take about twice the body size.
    uint64_t charge = static_cast<uint64_t>(request.body.size()) * 2 + 1024;
    if (auto st = ingestor.ReserveBudget(charge); !st.ok()) {
      ingestor.CountRefused(Transport::kHttp, "overloaded");
      return StatusResponse(encoding, HttpStatusFor(st), st);
    }
    http::Response response;
    {
      google::protobuf::Arena arena;
      auto decoded = encoding == Encoding::kJson ? otlp::DecodeJson(request.body, &arena)
                                                 : otlp::DecodeProtobuf(request.body, &arena);
      if (!decoded.ok()) {
        ingestor.CountRefused(Transport::kHttp, "malformed");
        response = StatusResponse(encoding, 400, decoded.status());
      } else {
        ExportOutcome outcome =
            ingestor.Export(**decoded, request.Header("x-project-name").value_or(""), Transport::kHttp);
        response = outcome.status.ok() ? SuccessResponse(encoding, outcome)
                                       : StatusResponse(encoding, HttpStatusFor(outcome.status), outcome.status);
      }
    }
    ingestor.ReleaseBudget(charge);
    return response;
  };
}

}  // namespace osprey::ingest
