#pragma once

// Phoenix's span query endpoint: `POST /v1/spans` (and the deprecated `GET /v1/spans` with the same
// JSON body), as `arize-phoenix-client`'s `spans.get_spans_dataframe` and `SpanQuery` call it.
// Body: {queries: [SpanQuery], start_time?, end_time? (alias stop_time), limit=1000,
// root_spans_only?, orphan_span_as_root_span=true, project_name?, project_id?}. The project is the
// first of: query `project_name`, query `project-name`, header `project-name`, body `project_name`,
// body `project_id` (GlobalID or name), then `default`. Each query is compiled by libs/spanquery to
// parameterized SQL and run through store::SqlReader; the answer is `multipart/mixed` with one
// pandas-table JSON part per query, in order.
//
// Errors: a malformed body or field type → 422 application/json (FastAPI shape); a query outside the
// language → 422 text/plain "Invalid query: <what> at column N"; an unknown project → empty frames
// (Phoenix filters by project name); store failures → 503 (retryable, e.g. the statement timeout) or 500.
//
// Ownership: the stores are borrowed and must outlive the registered routes, which hold a copy of
// this object (so the SpanQueryApi itself may go away after Register).
// Thread safety: no mutable state; handlers may run concurrently. Blocking: calls the store.

#include "osprey/http/server.hpp"
#include "osprey/query/params.hpp"
#include "osprey/store/store.hpp"

namespace osprey::query {

class SpanQueryApi final {
 public:
  // `metrics` may be null.
  SpanQueryApi(store::ProjectStore& projects, store::SqlReader& reader, metrics::Registry* metrics);

  void Register(http::Router& router);

  // Bounds of one request.
  static constexpr size_t kMaxQueries = 16;
  static constexpr int64_t kMaxLimit = 100000;

 private:
  Parsed<http::Response> Query(const http::Request& request);

  store::ProjectStore& projects_;
  store::SqlReader& reader_;
  RouteMetrics metrics_;
};

}  // namespace osprey::query
