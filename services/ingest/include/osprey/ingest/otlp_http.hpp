#pragma once

// OTLP/HTTP: POST /v1/traces with application/x-protobuf or application/json bodies (the server has
// already undone gzip/deflate and applied the size limit). The reply's content type matches the
// request: an ExportTraceServiceResponse (partial_success set when spans were rejected), or a
// google.rpc.Status on errors — 400 malformed, 415 unsupported content type, 429/503 with
// Retry-After when overloaded or the writer is unavailable.

#include "osprey/http/server.hpp"
#include "osprey/ingest/ingestor.hpp"

namespace osprey::ingest {

// `ingestor` must outlive the returned handler.
http::Handler MakeOtlpHttpHandler(Ingestor& ingestor);

// Maps an error status to its OTLP/HTTP status code (retryable ones to 429/503).
int HttpStatusFor(const absl::Status& status);

}  // namespace osprey::ingest
