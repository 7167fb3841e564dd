#pragma once

// Phoenix-compatible REST handlers (read side): projects, spans, traces, sessions and the version
// probe, with Phoenix's exact JSON shapes, pagination and error bodies (see README.md).
//
// Ownership: the stores and the metrics registry are borrowed and must outlive the RestApi, and the
// RestApi must outlive every Router it registered on.
// Thread safety: handlers hold no mutable state; the Router may run them concurrently.
// Blocking: handlers call the store synchronously (run them on the HTTP server's handler threads).

#include <string>

#include "osprey/http/server.hpp"
#include "osprey/query/params.hpp"
#include "osprey/store/store.hpp"

namespace osprey::metrics {
class Registry;
template <typename T>
class Family;
class Counter;
class Histogram;
}  // namespace osprey::metrics

namespace osprey::query {

// The Phoenix server version Osprey's REST surface matches (GET /arize_phoenix_version).
inline constexpr const char* kPhoenixVersion = "20.3.0";

class RestApi final {
 public:
  // `metrics` may be null (no metrics recorded).
  RestApi(store::ProjectStore& projects, store::SpanReader& spans, metrics::Registry* metrics);

  // Adds every route to `router`.
  void Register(http::Router& router);

 private:
  using Reply = Parsed<http::Response>;

  Reply ListProjects(const http::Request& request);
  Reply GetProject(const http::Request& request);
  Reply ListSpans(const http::Request& request);
  Reply ListTraces(const http::Request& request);
  Reply ListSessions(const http::Request& request);
  Reply GetSession(const http::Request& request);

  // A GlobalID of type Project or a project name; 404 text/plain when neither resolves.
  Parsed<store::ProjectRecord> ResolveProject(const http::Request& request);

  // Wraps a handler with the latency histogram and the rejection counter.
  http::Handler Instrument(std::string route, Reply (RestApi::*handler)(const http::Request&));

  store::ProjectStore& projects_;
  store::SpanReader& spans_;
  RouteMetrics metrics_;
};

}  // namespace osprey::query
