#pragma once

// The spans every execution test stores, the annotations it adds with plain SQL, and the filter cases
// with their expected span names: one table, run unchanged against SQLite and Postgres.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "osprey/model/v1/span.pb.h"
#include "osprey/store/store.hpp"

namespace osprey::spanquery::testing {

constexpr int64_t kT0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kMs = 1'000'000;

// The stored spans (project "default"); names are unique so expectations name spans.
std::vector<model::v1::Span> FixtureSpans();

// Statements that add annotations to the stored spans (span_annotations / trace_annotations from
// migration 0002), written with `?`-free literals so both dialects run them as is.
std::vector<std::string> AnnotationStatements();

struct FilterCase {
  std::string condition;
  std::set<std::string> names;  // expected span names
};
std::vector<FilterCase> FilterCases();

// Runs every FilterCase through CompileQuery + store.RunReadQuery and checks the names; also the
// select / window / root / limit behaviour. `run_sql` executes one write statement on the database.
void RunExecutionSuite(store::Store& store, const std::function<void(const std::string&)>& run_sql);

}  // namespace osprey::spanquery::testing
