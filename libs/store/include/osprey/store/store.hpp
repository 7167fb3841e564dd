#pragma once

// The Store seam (design §4). Interfaces are split by consumer: the writer service needs only
// SpanWriter; the query service needs SpanReader and ProjectStore. Every implementation (SQLite now,
// Postgres next) passes the same conformance suite (libs/store/testing, `storetest`).
//
// Thread safety: every method may be called from any thread. Implementations serialize writes
// internally (SQLite: one writer connection) and serve reads from their own connections.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "osprey/model/v1/span.pb.h"
#include "osprey/store/annotations.hpp"
#include "osprey/store/mutations.hpp"
#include "osprey/store/prompts.hpp"
#include "osprey/store/sql_reader.hpp"

namespace osprey::store {

// ---------------------------------------------------------------- write side

struct WriteResult {
  int64_t inserted = 0;    // spans stored by this call
  int64_t duplicates = 0;  // spans already stored with their trace (ignored, not counted again)
};

// Contract: WriteSpans is synchronous, idempotent on span_id and durable on OK — when it returns OK
// every span in `spans` is committed and survives kill -9 of the process. All spans of one call
// are written in one transaction. Rollups (trace summary, sessions, project activity) are updated
// in the same transaction with commutative increments applied in a deterministic key order, and a
// duplicate span contributes to them exactly once, whenever it arrives.
// A span whose trace already exists is stored in the trace's current project, whatever its
// project_name says (traces can be transferred between projects).
// Errors: retryable when the database is busy or unreachable; permanent for data it can never
// store (then no span of the call is stored).
class SpanWriter {
 public:
  virtual ~SpanWriter() = default;
  virtual absl::StatusOr<WriteResult> WriteSpans(const std::vector<const model::v1::Span*>& spans) = 0;
};

// ---------------------------------------------------------------- read side

struct ProjectRecord {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> description;
  int64_t created_at_ns = 0;
  int64_t updated_at_ns = 0;
  std::optional<int64_t> last_span_at_ns;  // latest span start time stored in the project, if any
};

struct SpanRecord {
  int64_t id = 0;  // row id: REST GlobalID "Span:<id>" and cursor key
  int64_t project_id = 0;
  int64_t trace_rowid = 0;
  std::string trace_id;   // 32 lowercase hex
  std::string span_id;    // 16 lowercase hex
  std::string parent_id;  // 16 lowercase hex, empty for a root span
  std::string name;
  std::string span_kind;  // LLM, CHAIN, ... UNKNOWN
  int64_t start_time_ns = 0;
  int64_t end_time_ns = 0;
  std::string status_code;  // "UNSET" | "OK" | "ERROR"
  std::string status_message;
  std::string attributes_json;  // nested JSON object
  std::string events_json;      // JSON array
  int64_t llm_token_count_prompt = 0;
  int64_t llm_token_count_completion = 0;
  int64_t llm_token_count_total = 0;
  // Hot fields as ingest lifted them; empty when absent.
  std::string session_id;
  std::string user_id;
  std::string llm_model_name;
  std::string input_preview;
  std::string output_preview;
  // Token cost in US dollars (LLM spans priced by ingest); unset when unknown. Details: the JSON of
  // osprey::costs::SpanCost::DetailsJson, empty when the span was not priced.
  std::optional<double> cost_prompt;
  std::optional<double> cost_completion;
  std::optional<double> cost_total;
  std::string cost_details_json;
};

struct TraceRecord {
  int64_t id = 0;  // row id: GlobalID "Trace:<id>"
  int64_t project_id = 0;
  std::string trace_id;  // 32 lowercase hex
  int64_t start_time_ns = 0;
  int64_t end_time_ns = 0;
  std::string root_span_id;  // hex, empty until the root span arrived
  std::string root_span_name;
  int64_t span_count = 0;
  int64_t error_count = 0;  // spans with status ERROR
  int64_t token_count_prompt = 0;
  int64_t token_count_completion = 0;
  int64_t token_count_total = 0;
  std::optional<int64_t> session_rowid;
  double cost_total = 0;  // US dollars, the sum over its spans with a known cost
};

struct SessionRecord {
  int64_t id = 0;  // row id: GlobalID "ProjectSession:<id>"
  std::string session_id;
  int64_t project_id = 0;
  int64_t start_time_ns = 0;
  int64_t end_time_ns = 0;
  int64_t trace_count = 0;
  int64_t token_count_prompt = 0;
  int64_t token_count_completion = 0;
  int64_t token_count_total = 0;
  double cost_total = 0;  // US dollars, the sum over its traces
};

// `attribute=key:value` filter of GET /v1/projects/{id}/spans. `path` is the dotted key split on
// '.', addressing the nested attributes document. Comparison as Phoenix does it: a bool matches a
// JSON bool; an int matches a stored int or a float of equal value; a double or string matches the
// stored number or string. Paths are bound as parameters or quoted, never spliced into SQL.
struct AttributeFilter {
  std::vector<std::string> path;
  std::variant<bool, int64_t, double, std::string> value;
};

enum class Order { kDesc, kAsc };

struct SpanQuery {
  int64_t project_id = 0;
  std::optional<int64_t> start_time_ns;     // inclusive, on span start time
  std::optional<int64_t> end_time_ns;       // exclusive
  std::vector<std::string> trace_ids;       // hex, ORed
  std::vector<std::string> span_ids;        // hex, ORed
  std::optional<std::string> parent_id;     // hex; "" means root spans only
  std::vector<std::string> names;           // ORed
  std::vector<std::string> span_kinds;      // ORed
  std::vector<std::string> status_codes;    // ORed
  std::vector<AttributeFilter> attributes;  // ANDed
  std::optional<int64_t> cursor_id;         // return rows with id <= cursor_id
  int limit = 100;                          // ordered by id DESC
};

enum class TraceSort { kStartTime, kLatency };

struct TraceQuery {
  int64_t project_id = 0;
  std::optional<int64_t> start_time_ns;  // inclusive, on trace start time
  std::optional<int64_t> end_time_ns;    // exclusive
  TraceSort sort = TraceSort::kStartTime;
  Order order = Order::kDesc;
  std::optional<int64_t> cursor_id;     // Trace row id of the first item of the page (keyset on (sort key, id));
                                        // INVALID_ARGUMENT when no such trace exists
  std::vector<int64_t> session_rowids;  // ORed; empty means any
  bool require_session = false;         // true with empty session_rowids means "no result"
  int limit = 100;
};

struct ProjectQuery {
  std::optional<int64_t> cursor_id;          // id <= cursor_id, ordered by id DESC
  std::optional<std::string> name_contains;  // case-insensitive substring
  int limit = 100;
};

struct SessionQuery {
  int64_t project_id = 0;
  Order order = Order::kAsc;  // by row id
  std::optional<int64_t> cursor_id;
  int limit = 100;
};

// One page of a keyset listing: `next_cursor` is the row id of the first item of the next page.
template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<int64_t> next_cursor;
};

class SpanReader {
 public:
  virtual ~SpanReader() = default;
  virtual absl::StatusOr<Page<SpanRecord>> ListSpans(const SpanQuery& query) = 0;
  virtual absl::StatusOr<Page<TraceRecord>> ListTraces(const TraceQuery& query) = 0;
  // Spans of the given traces (row ids), ordered by start time.
  virtual absl::StatusOr<std::vector<SpanRecord>> SpansOfTraces(const std::vector<int64_t>& trace_rowids) = 0;
  virtual absl::StatusOr<std::optional<TraceRecord>> GetTraceById(int64_t id) = 0;
  virtual absl::StatusOr<std::optional<TraceRecord>> GetTraceByTraceId(const std::string& trace_id_hex) = 0;
  virtual absl::StatusOr<Page<SessionRecord>> ListSessions(const SessionQuery& query) = 0;
  virtual absl::StatusOr<std::optional<SessionRecord>> GetSessionById(int64_t id) = 0;
  virtual absl::StatusOr<std::optional<SessionRecord>> GetSessionBySessionId(const std::string& session_id) = 0;
  // Traces of a session ordered by start time.
  virtual absl::StatusOr<std::vector<TraceRecord>> TracesOfSession(int64_t session_rowid) = 0;
};

class ProjectStore {
 public:
  virtual ~ProjectStore() = default;
  virtual absl::StatusOr<Page<ProjectRecord>> ListProjects(const ProjectQuery& query) = 0;
  virtual absl::StatusOr<std::optional<ProjectRecord>> GetProjectById(int64_t id) = 0;
  virtual absl::StatusOr<std::optional<ProjectRecord>> GetProjectByName(const std::string& name) = 0;
  // ALREADY_EXISTS when the name is taken.
  virtual absl::StatusOr<ProjectRecord> CreateProject(const std::string& name,
                                                      const std::optional<std::string>& description) = 0;
};

// A store: the sum of the interfaces above plus lifecycle. Implementations are `final`.
class Store : public SpanWriter, public SpanReader, public ProjectStore, public SqlReader, public MutationStore,
              public AnnotationStore, public PromptStore {
 public:
  // Applies pending versioned migrations (idempotent; serialized against concurrent callers).
  virtual absl::Status Migrate() = 0;
  // Readiness probe: OK when the database answers a trivial query.
  virtual absl::Status Ping() = 0;
  // Closes connections; later calls fail with FAILED_PRECONDITION. Idempotent.
  virtual void Close() = 0;
};

}  // namespace osprey::store
