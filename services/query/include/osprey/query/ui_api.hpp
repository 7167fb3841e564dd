#pragma once

// Osprey's own read endpoints for the web UI, under /osprey/v1 (documented in README.md): project
// summaries over a time window, all-time project totals from the projects' rollups, trace rows with their root span's
// previews and span rows (both keyset paged and filtered by the span query language on the server), a trace's spans as
// a paged outline (for traces of tens of thousands of spans), and one span with nested attributes. Errors follow the
// Phoenix routes' conventions (params.hpp): 422 for bad parameters, 404 text/plain for unknown projects, traces and
// spans, 503/500 for store failures.
//
// Ownership: the store must outlive the router the routes are registered on.
// Thread safety: handlers hold no mutable state.

#include "osprey/http/server.hpp"
#include "osprey/query/params.hpp"
#include "osprey/store/store.hpp"

namespace osprey::query {

class UiApi final {
 public:
  explicit UiApi(store::Store& store) : store_(store) {}

  http::Response ProjectSummaries(const http::Request& request);
  http::Response ProjectTotals(const http::Request& request);
  http::Response Traces(const http::Request& request);
  http::Response TraceOutline(const http::Request& request);
  http::Response Spans(const http::Request& request);
  http::Response Span(const http::Request& request);

 private:
  Parsed<store::ProjectRecord> ResolveProject(const http::Request& request);
  store::Store& store_;
};

// The UI's API routes and its embedded files (the SPA fallback). The router owns what it needs.
void RegisterUi(http::Router& router, store::Store& store);

}  // namespace osprey::query
