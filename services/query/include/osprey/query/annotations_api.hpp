#pragma once

// Phoenix-compatible annotation routes: POST /v1/{span,trace,session,document}_annotations, the span,
// trace and session notes, the per-project list and bulk-delete routes, and annotation configs with
// their project assignments (see README.md for shapes and the difference from Phoenix's async path).
//
// Async annotations (the default, `sync` false) are written before the reply when their target
// exists. One whose target is not stored yet (spans still on their way through the bus) is kept in
// memory and retried every `retry_interval` for `max_retries` attempts, as Phoenix's bulk inserter
// does; they are lost if the process stops first.
//
// Ownership: the stores and the metrics registry are borrowed and must outlive the AnnotationsApi.
// Register() hands the router handlers that share ownership of the api, so it lives as long as the
// router. Thread safety: handlers may run concurrently; the retry thread is internal.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "osprey/http/server.hpp"
#include "osprey/query/params.hpp"
#include "osprey/store/store.hpp"

namespace osprey::metrics {
class Registry;
}

namespace osprey::query {

struct AnnotationsApiOptions {
  std::chrono::milliseconds retry_interval{1000};
  int max_retries = 600;           // then the annotation is dropped (and counted)
  size_t max_postponed = 100000;   // beyond it an async request whose target is missing gets 503
};

class AnnotationsApi final : public std::enable_shared_from_this<AnnotationsApi> {
 public:
  // `metrics` may be null. Starts the retry thread.
  AnnotationsApi(store::AnnotationStore& annotations, store::ProjectStore& projects, metrics::Registry* metrics,
                 AnnotationsApiOptions options = {});
  ~AnnotationsApi();  // stops and joins the retry thread
  AnnotationsApi(const AnnotationsApi&) = delete;
  AnnotationsApi& operator=(const AnnotationsApi&) = delete;

  // Adds every route to `router`; the handlers keep this api alive (it must be owned by a shared_ptr).
  void Register(http::Router& router);

  // Retries the postponed annotations once, now (tests; the thread does it every retry_interval).
  void RetryPostponed();
  size_t postponed() const;

 private:
  using Reply = Parsed<http::Response>;
  struct Postponed {
    store::AnnotationKind kind;
    store::AnnotationInput item;
    int attempts = 0;
  };

  Reply Annotate(store::AnnotationKind kind, const http::Request& request);
  Reply CreateNote(store::AnnotationKind kind, const http::Request& request);
  Reply ListAnnotations(store::AnnotationKind kind, const http::Request& request);
  Reply DeleteAnnotations(store::AnnotationKind kind, const http::Request& request);

  Reply ListConfigs(const http::Request& request);
  Reply GetConfig(const http::Request& request);
  Reply CreateConfig(const http::Request& request);
  Reply UpdateConfig(const http::Request& request);
  Reply DeleteConfig(const http::Request& request);
  Reply ListProjectConfigs(const http::Request& request);
  Reply SetProjectConfigs(const http::Request& request);
  Reply AssignProjectConfig(const http::Request& request);
  Reply UnassignProjectConfig(const http::Request& request);

  // A GlobalID of type Project or a project name; 404 "Project with identifier <x> not found".
  Parsed<store::ProjectRecord> ResolveProject(const http::Request& request);
  // A config GlobalID (any of the three types) or, when `by_name`, a config name; 404 otherwise.
  Parsed<store::AnnotationConfigRecord> ResolveConfig(const std::string& identifier, bool by_name);

  // Keeps `items` for the retry thread; false when the queue is full.
  bool Postpone(store::AnnotationKind kind, std::vector<store::AnnotationInput> items);
  void RunRetries();

  store::AnnotationStore& annotations_;
  store::ProjectStore& projects_;
  const AnnotationsApiOptions options_;
  RouteMetrics route_metrics_;
  metrics::Registry* metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Postponed> postponed_;  // guarded by mu_
  bool stop_ = false;                 // guarded by mu_
  std::thread retry_thread_;          // last: started after every member above exists
};

}  // namespace osprey::query
