#include "postgres_write.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "mutation_common.hpp"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "postgres_text.hpp"

namespace osprey::store::internal {
namespace {

absl::Status Invalid(const std::string& message) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, message);
}

int64_t Now() { return static_cast<int64_t>(base::NowUnixNanos()); }

// ---------------------------------------------------------------- rollup state of one write

struct TraceState {
  int64_t rowid = 0;
  int64_t project_id = 0;
  std::optional<int64_t> session_rowid;  // as found (under the row lock) before this write
  std::string current_session_id;        // session_id text of session_rowid
  bool created = false;
  int64_t spans = 0;
  int64_t min_start = kMaxTime;
  int64_t max_end = std::numeric_limits<int64_t>::min();
  int64_t errors = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
  double cost_total = 0;  // US dollars over the new spans with a known cost
  std::optional<std::string> root_span_id;
  std::optional<std::string> root_span_name;
  std::string session_id;  // of the first new span carrying one, in span id order
};

struct SessionDelta {
  int64_t min_start = kMaxTime;
  int64_t max_end = std::numeric_limits<int64_t>::min();
  int64_t traces = 0;
  int64_t tokens_prompt = 0;
  int64_t tokens_completion = 0;
  int64_t tokens_total = 0;
};

using TraceStates = std::map<std::string, TraceState, std::less<>>;

// A COPY message is sent whenever the buffer passes this size, so a batch of large spans is not
// held twice in memory.
constexpr size_t kCopyChunkBytes = 1 << 20;

// libpqxx 6.4 (Debian 12's) starts a COPY only in text format and ends every chunk it sends with a
// newline, so the binary stream goes through libpq on the transaction's own connection.
// connection_base keeps its PGconn private (raw_connection() serves its large-object gate); an
// explicit template instantiation may name a private member ([temp.spec.general]/6), and this one
// accessor is the only use of that rule.
using RawConnectionGetter = pqxx::internal::pq::PGconn* (pqxx::connection_base::*)() const;
pqxx::internal::pq::PGconn* RawConnection(const pqxx::connection_base& connection);
template <RawConnectionGetter Getter>
struct RawConnectionAccess {
  friend pqxx::internal::pq::PGconn* RawConnection(const pqxx::connection_base& connection) {
    return (connection.*Getter)();
  }
};
template struct RawConnectionAccess<&pqxx::connection_base::raw_connection>;

// COPYs `rows` (new span ids, in span_id order) into `spans`, each under its trace's row id and project.
void CopySpans(pqxx::work& tx, const std::vector<const SpanRow*>& rows, const TraceStates& traces) {
  static const std::string kStatement =
      "COPY spans (trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time, status_code, "
      "status_message, session_id, user_id, llm_model_name, llm_token_count_prompt, llm_token_count_completion, "
      "llm_token_count_total, input_preview, output_preview, attributes, events, cost_prompt, cost_completion, "
      "cost_total, cost_details) FROM STDIN (FORMAT binary)";
  constexpr int16_t kFields = 24;
  BinaryCopy copy(tx, kStatement);
  thread_local CopyRows out;  // per writer thread: the buffer keeps its capacity from batch to batch
  out.Clear();
  out.Begin();
  auto nullable = [](const std::string& text) {
    if (text.empty()) {
      out.Null();
    } else {
      out.Text(text);
    }
  };
  auto cost = [](bool has, double value) {
    if (has) {
      out.Double(value);
    } else {
      out.Null();
    }
  };
  for (const SpanRow* row : rows) {
    const model::v1::Span& span = *row->span;
    const TraceState& trace = traces.find(row->trace_id)->second;
    out.Row(kFields);
    out.Int(trace.rowid);
    out.Int(trace.project_id);
    out.Text(row->span_id);
    nullable(row->parent_id);
    out.Text(span.name());
    out.Text(span.span_kind().empty() ? std::string_view("UNKNOWN") : std::string_view(span.span_kind()));
    out.Int(row->start);
    out.Int(row->end);
    out.Text(StatusName(span.status_code()));
    out.Text(span.status_message());
    nullable(span.session_id());
    nullable(span.user_id());
    nullable(span.llm_model_name());
    out.Int(span.llm_token_count_prompt());
    out.Int(span.llm_token_count_completion());
    out.Int(row->token_total);
    nullable(span.input_preview());
    nullable(span.output_preview());
    out.Json(span.attributes_json(), "{}");
    out.Json(span.events_json(), "[]");
    cost(span.cost().has_prompt(), span.cost().prompt());
    cost(span.cost().has_completion(), span.cost().completion());
    cost(span.cost().has_total(), span.cost().total());
    nullable(span.cost().details_json());
    if (out.data().size() >= kCopyChunkBytes) {
      copy.Send(out.data());
      out.Clear();
    }
  }
  out.End();
  copy.Send(out.data());
  copy.Finish();
}

}  // namespace

BinaryCopy::BinaryCopy(pqxx::work& tx, std::string statement)
    : statement_(std::move(statement)), connection_(RawConnection(tx.conn())) {
  tx.exec(statement_);  // PGRES_COPY_IN
}

void BinaryCopy::Send(const std::string& data) {
  if (PQputCopyData(connection_, data.data(), static_cast<int>(data.size())) != 1) {
    throw pqxx::broken_connection(std::string("COPY data not sent: ") + PQerrorMessage(connection_));
  }
}

void BinaryCopy::Finish() {
  if (PQputCopyEnd(connection_, nullptr) != 1) {
    throw pqxx::broken_connection(std::string("COPY end not sent: ") + PQerrorMessage(connection_));
  }
  std::string error;
  std::string state;
  bool any = false;
  while (PGresult* result = PQgetResult(connection_)) {  // until NULL: the connection is idle again
    any = true;
    if (PQresultStatus(result) != PGRES_COMMAND_OK && error.empty()) {
      error = PQresultErrorMessage(result);
      const char* code = PQresultErrorField(result, PG_DIAG_SQLSTATE);
      state = code != nullptr ? code : "";
    }
    PQclear(result);
  }
  if (!any) throw pqxx::broken_connection(std::string("COPY unfinished: ") + PQerrorMessage(connection_));
  if (error.empty()) return;
  if (state == "23505") throw pqxx::unique_violation(error, statement_, state.c_str());
  throw pqxx::sql_error(error, statement_, state.empty() ? nullptr : state.c_str());
}

void CopyRows::Begin() {
  static constexpr char kHeader[] = "PGCOPY\n\377\r\n";  // and its NUL: 11 bytes of signature
  data_.append(kHeader, sizeof(kHeader));
  data_.append(8, '\0');  // flags (no OIDs), header extension length
}

void CopyRows::End() { data_.append("\xff\xff", 2); }

void CopyRows::Row(int16_t fields) {
  data_ += static_cast<char>((fields >> 8) & 0xff);
  data_ += static_cast<char>(fields & 0xff);
}

void CopyRows::Length(int32_t length) {
  const auto value = static_cast<uint32_t>(length);
  const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                         static_cast<char>(value >> 8), static_cast<char>(value)};
  data_.append(bytes, 4);
}

void CopyRows::Null() { Length(-1); }

void CopyRows::Int(int64_t value) {
  Length(8);
  const auto bits = static_cast<uint64_t>(value);
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(bits >> (56 - 8 * i));
  data_.append(bytes, 8);
}

void CopyRows::Double(double value) { Int(std::bit_cast<int64_t>(value)); }

void CopyRows::Text(std::string_view text) { Append(text, false); }

void CopyRows::Json(std::string_view json, std::string_view empty) {
  Append(json.empty() ? empty : json, true);
}

// In valid JSON a backslash occurs only inside strings and always starts an escape: an escaped
// backslash is taken whole, so a literal backslash followed by u0000 stays intact, as in PgJson.
void CopyRows::Append(std::string_view text, bool json) {
  const size_t length_at = data_.size();
  Length(0);  // patched below: a rewrite may lengthen the text
  if (json) data_ += '\1';  // jsonb's binary format version
  const size_t start = data_.size();
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const char* special = json ? static_cast<const char*>(std::memchr(p, '\\', end - p))
                               : static_cast<const char*>(std::memchr(p, '\0', end - p));
    if (special == nullptr) special = end;
    data_.append(p, special);
    if (special == end) break;
    p = special;
    if (!json) {
      data_ += "\xef\xbf\xbd";
      ++p;
    } else if (end - p >= 6 && std::string_view(p, 6) == "\\u0000") {
      data_ += "\\ufffd";
      p += 6;
    } else {  // an escape: both characters, so an escaped backslash never starts one
      const size_t n = end - p >= 2 ? 2 : 1;
      data_.append(p, n);
      p += n;
    }
  }
  const auto length = static_cast<uint32_t>(data_.size() - start + (json ? 1 : 0));
  for (int i = 0; i < 4; ++i) data_[length_at + i] = static_cast<char>(length >> (24 - 8 * i));
}

absl::StatusOr<SpanRow> PgValidateSpan(const model::v1::Span* span, size_t index) {
  OSPREY_ASSIGN_OR_RETURN(SpanRow row, internal::ValidateSpan(span, index));
  const std::string where = internal::Where(row);
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"name", &span->name()},
                                    {"span_kind", &span->span_kind()},
                                    {"status_message", &span->status_message()},
                                    {"session_id", &span->session_id()},
                                    {"user_id", &span->user_id()},
                                    {"llm_model_name", &span->llm_model_name()},
                                    {"input_preview", &span->input_preview()},
                                    {"output_preview", &span->output_preview()},
                                    {"project_name", &span->project_name()},
                                    {"attributes_json", &span->attributes_json()},
                                    {"events_json", &span->events_json()}}) {
    if (!base::IsValidUtf8(*text)) return Invalid(where + ": " + field + " is not valid UTF-8");
  }
  return row;
}

// Tags the status a COPY without the lookup returns when it meets a span stored before, as base/status
// tags retryable ones: by payload, not by message text.
constexpr absl::string_view kStoredBeforePayload = "osprey.dev/store-spans-stored-before";

absl::Status SpansStoredBefore() {
  absl::Status status = base::Retryable(absl::StatusCode::kAborted, "postgres: a span of the batch was stored before");
  status.SetPayload(kStoredBeforePayload, absl::Cord("1"));
  return status;
}

bool IsSpansStoredBefore(const absl::Status& status) { return status.GetPayload(kStoredBeforePayload).has_value(); }

// One WriteSpans transaction. Row locks are taken in one global order by every writer — traces by
// trace_id, then spans by span_id, then sessions by session_id, then projects by id — so concurrent
// writers of the same traces queue instead of deadlocking. Rollups are computed from the rows the
// span COPY really inserted and applied as commutative increments.
absl::Status PgWriteSpans(pqxx::work& tx, const std::vector<SpanRow>& rows, bool look_up_stored, WriteResult& result) {
  const int64_t now = Now();

  // Per trace (sorted): the project a new trace is created in (its first span's, in span id order)
  // and the time range of its spans in this call.
  std::vector<std::string> trace_ids;
  std::vector<std::string> trace_projects;
  std::vector<int64_t> trace_starts;
  std::vector<int64_t> trace_ends;
  for (const SpanRow& row : rows) {
    if (trace_ids.empty() || trace_ids.back() != row.trace_id) {
      trace_ids.push_back(row.trace_id);
      trace_projects.push_back(row.span->project_name().empty() ? "default" : PgText(row.span->project_name()));
      trace_starts.push_back(row.start);
      trace_ends.push_back(row.end);
    } else {
      trace_starts.back() = std::min(trace_starts.back(), row.start);
      trace_ends.back() = std::max(trace_ends.back(), row.end);
    }
  }
  const std::string trace_ids_param = TextArray(trace_ids);

  // 2. Projects of traces this call creates, in name order.
  tx.exec_params(
      "INSERT INTO projects (name, created_at, updated_at) "
      "SELECT DISTINCT u.project, $3::bigint, $3::bigint FROM unnest($1::text[], $2::text[]) AS u(trace_id, project) "
      "WHERE NOT EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = u.trace_id) ORDER BY 1 "
      "ON CONFLICT (name) DO NOTHING",
      trace_ids_param, TextArray(trace_projects), now);

  // 3. Every trace of the call exists and is row-locked, in trace_id order (DO UPDATE ... WHERE false
  //    locks the existing row without writing a new version). RETURNING lists the created ones.
  TraceStates traces;
  {
    pqxx::result created = tx.exec_params(
        "INSERT INTO traces (project_id, trace_id, start_time, end_time) "
        "SELECT coalesce(p.id, 0), u.trace_id, u.start_time, u.end_time "
        "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(trace_id, project, start_time, end_time) "
        "LEFT JOIN projects p ON p.name = u.project ORDER BY u.trace_id "
        "ON CONFLICT (trace_id) DO UPDATE SET span_count = traces.span_count WHERE false "
        "RETURNING trace_id",
        trace_ids_param, TextArray(trace_projects), IntArray(trace_starts), IntArray(trace_ends));
    pqxx::result found = tx.exec_params(
        "SELECT t.trace_id, t.id, t.project_id, t.session_rowid, s.session_id FROM traces t "
        "LEFT JOIN sessions s ON s.id = t.session_rowid WHERE t.trace_id = ANY($1::text[])",
        trace_ids_param);
    for (const pqxx::row& row : found) {
      TraceState& trace = traces[Text(row[0])];
      trace.rowid = Int(row[1]);
      trace.project_id = Int(row[2]);
      trace.session_rowid = OptionalInt(row[3]);
      trace.current_session_id = Text(row[4]);
    }
    for (const pqxx::row& row : created) traces[Text(row[0])].created = true;
    if (traces.size() != trace_ids.size()) {
      return base::Retryable(absl::StatusCode::kAborted, "postgres: a trace row of the batch vanished");
    }
  }

  // 4. The spans never stored before: one row per span id (the first in (trace_id, input order)), less
  //    those already in the table (looked up when `look_up_stored`), then COPY them straight into `spans`
  //    in span_id order. A span id stored between the check and the COPY (another writer), or stored
  //    before when nothing was looked up, fails the unique index: the whole call is retried.
  std::vector<const SpanRow*> fresh;
  {
    std::set<std::string> stored;
    if (look_up_stored) {
      std::vector<std::string> span_ids;
      span_ids.reserve(rows.size());
      for (const SpanRow& row : rows) span_ids.push_back(row.span_id);
      for (const pqxx::row& row :
           tx.exec_params("SELECT span_id FROM spans WHERE span_id = ANY($1::text[])", TextArray(span_ids))) {
        stored.insert(Text(row[0]));
      }
    }
    fresh.reserve(rows.size());
    for (const SpanRow& row : rows) fresh.push_back(&row);
    // rows are in (trace_id, span_id, input order): a stable sort by span id keeps each id's first.
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const SpanRow* a, const SpanRow* b) { return a->span_id < b->span_id; });
    fresh.erase(std::unique(fresh.begin(), fresh.end(),
                            [](const SpanRow* a, const SpanRow* b) { return a->span_id == b->span_id; }),
                fresh.end());
    if (!stored.empty()) std::erase_if(fresh, [&](const SpanRow* row) { return stored.contains(row->span_id); });
  }
  result.inserted = static_cast<int64_t>(fresh.size());
  result.duplicates = static_cast<int64_t>(rows.size()) - result.inserted;
  if (!fresh.empty()) {
    try {
      CopySpans(tx, fresh, traces);
    } catch (const pqxx::unique_violation& e) {
      if (!look_up_stored) return SpansStoredBefore();
      return base::Retryable(absl::StatusCode::kAborted,
                             std::string("postgres: a span of the batch was stored concurrently: ") + e.what());
    }
  }

  // Rollups from the new rows, in (trace_id, span_id) order: a trace's root is its lowest new root span
  // id and its session the first new span id carrying one.
  std::vector<const SpanRow*> new_spans = fresh;
  std::sort(new_spans.begin(), new_spans.end(), [](const SpanRow* a, const SpanRow* b) {
    return std::tie(a->trace_id, a->span_id) < std::tie(b->trace_id, b->span_id);
  });
  std::map<int64_t, int64_t> project_last_span;
  for (const SpanRow* row : new_spans) {
    const model::v1::Span& span = *row->span;
    TraceState& trace = traces.find(row->trace_id)->second;
    ++trace.spans;
    trace.min_start = std::min(trace.min_start, row->start);
    trace.max_end = std::max(trace.max_end, row->end);
    if (span.status_code() == model::v1::STATUS_CODE_ERROR) ++trace.errors;
    trace.tokens_prompt += span.llm_token_count_prompt();
    trace.tokens_completion += span.llm_token_count_completion();
    trace.tokens_total += row->token_total;
    trace.cost_total += span.cost().has_total() ? span.cost().total() : 0;
    if (row->parent_id.empty() && !trace.root_span_id) {  // sorted: the lowest new root span id
      trace.root_span_id = row->span_id;
      trace.root_span_name = PgText(span.name());
    }
    if (trace.session_id.empty() && !span.session_id().empty()) trace.session_id = PgText(span.session_id());
    auto [last, first] = project_last_span.try_emplace(trace.project_id, row->start);
    if (!first) last->second = std::max(last->second, row->start);
  }

  // 5. Sessions: those traces join in this call (created if new, in the project of the first
  //    joining trace by trace id) and those of traces already in one; all locked in session_id order.
  std::map<std::string, int64_t> session_rowids;  // session_id -> row id, filled below
  std::map<std::string, const TraceState*> joining;
  for (const auto& [trace_id, trace] : traces) {
    if (trace.spans == 0) continue;
    if (trace.session_rowid) {
      session_rowids.emplace(trace.current_session_id, *trace.session_rowid);
    } else if (!trace.session_id.empty()) {
      joining.try_emplace(trace.session_id, &trace);
      session_rowids.emplace(trace.session_id, 0);
    }
  }
  if (!session_rowids.empty()) {
    std::vector<std::string> ids;
    std::vector<int64_t> projects;
    std::vector<int64_t> starts;
    std::vector<int64_t> ends;
    for (const auto& [session_id, rowid] : session_rowids) {
      ids.push_back(session_id);
      auto it = joining.find(session_id);
      // Only the insert path uses these values; an existing session keeps its own.
      projects.push_back(it != joining.end() ? it->second->project_id : 0);
      starts.push_back(it != joining.end() ? it->second->min_start : 0);
      ends.push_back(it != joining.end() ? it->second->max_end : 0);
    }
    const std::string ids_param = TextArray(ids);
    tx.exec_params(
        "INSERT INTO sessions (session_id, project_id, start_time, end_time) "
        "SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) ORDER BY 1 "
        "ON CONFLICT (session_id) DO UPDATE SET trace_count = sessions.trace_count WHERE false",
        ids_param, IntArray(projects), IntArray(starts), IntArray(ends));
    for (const pqxx::row& row :
         tx.exec_params("SELECT session_id, id FROM sessions WHERE session_id = ANY($1::text[])", ids_param)) {
      session_rowids[Text(row[0])] = Int(row[1]);
    }
  }

  // 6. Trace rollups as one upsert in trace_id order (every row exists: the conflict path runs).
  std::map<int64_t, SessionDelta> sessions;
  std::map<int64_t, ProjectTotals> project_totals;  // what the new spans add to their projects (0007)
  std::vector<int64_t> empty_created;
  {
    std::vector<int64_t> projects, starts, ends, counts, errors, prompts, completions, totals;
    std::vector<double> costs;
    std::vector<std::string> ids;
    std::vector<std::optional<std::string>> root_ids, root_names;
    std::vector<std::optional<int64_t>> joins;
    for (const auto& [trace_id, trace] : traces) {
      if (trace.spans == 0) {
        // Every span of a trace this call created was stored before under another trace.
        if (trace.created) empty_created.push_back(trace.rowid);
        continue;
      }
      ids.push_back(trace_id);
      projects.push_back(trace.project_id);
      starts.push_back(trace.min_start);
      ends.push_back(trace.max_end);
      counts.push_back(trace.spans);
      errors.push_back(trace.errors);
      prompts.push_back(trace.tokens_prompt);
      completions.push_back(trace.tokens_completion);
      totals.push_back(trace.tokens_total);
      costs.push_back(trace.cost_total);
      root_ids.push_back(trace.root_span_id);
      root_names.push_back(trace.root_span_name);
      std::optional<int64_t> join;
      if (!trace.session_rowid && !trace.session_id.empty()) join = session_rowids.at(trace.session_id);
      joins.push_back(join);
    }
    if (!ids.empty()) {
      pqxx::result updated = tx.exec_params(
          "INSERT INTO traces AS t (project_id, trace_id, start_time, end_time, span_count, error_count, "
          "token_count_prompt, token_count_completion, token_count_total, root_span_id, root_span_name, "
          "session_rowid, cost_total) "
          "SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
          "$7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::float8[]) "
          "AS u(project_id, trace_id, start_time, end_time, span_count, error_count, token_count_prompt, "
          "token_count_completion, token_count_total, root_span_id, root_span_name, session_rowid, cost_total) "
          "ORDER BY u.trace_id "
          "ON CONFLICT (trace_id) DO UPDATE SET "
          "start_time = least(t.start_time, excluded.start_time), end_time = greatest(t.end_time, excluded.end_time), "
          "span_count = t.span_count + excluded.span_count, error_count = t.error_count + excluded.error_count, "
          "token_count_prompt = t.token_count_prompt + excluded.token_count_prompt, "
          "token_count_completion = t.token_count_completion + excluded.token_count_completion, "
          "token_count_total = t.token_count_total + excluded.token_count_total, "
          "root_span_name = CASE WHEN excluded.root_span_id IS NOT NULL AND "
          "(t.root_span_id IS NULL OR excluded.root_span_id < t.root_span_id) "
          "THEN excluded.root_span_name ELSE t.root_span_name END, "
          "root_span_id = CASE WHEN excluded.root_span_id IS NOT NULL AND "
          "(t.root_span_id IS NULL OR excluded.root_span_id < t.root_span_id) "
          "THEN excluded.root_span_id ELSE t.root_span_id END, "
          "session_rowid = coalesce(t.session_rowid, excluded.session_rowid), "
          "cost_total = t.cost_total + excluded.cost_total "
          "RETURNING t.trace_id, t.start_time, t.end_time, t.token_count_prompt, t.token_count_completion, "
          "t.token_count_total, t.error_count",
          IntArray(projects), TextArray(ids), IntArray(starts), IntArray(ends), IntArray(counts), IntArray(errors),
          IntArray(prompts), IntArray(completions), IntArray(totals), TextArray(root_ids), TextArray(root_names),
          IntArray(joins), DoubleArray(costs));
      for (const pqxx::row& row : updated) {
        const TraceState& trace = traces.at(Text(row[0]));
        AddWrittenTrace(project_totals[trace.project_id], trace, Int(row[6]));
        if (trace.session_rowid) {
          SessionDelta& delta = sessions[*trace.session_rowid];
          delta.min_start = std::min(delta.min_start, Int(row[1]));
          delta.max_end = std::max(delta.max_end, Int(row[2]));
          delta.tokens_prompt += trace.tokens_prompt;
          delta.tokens_completion += trace.tokens_completion;
          delta.tokens_total += trace.tokens_total;
        } else if (!trace.session_id.empty()) {  // the whole trace joins, spans stored before included
          SessionDelta& delta = sessions[session_rowids.at(trace.session_id)];
          delta.min_start = std::min(delta.min_start, Int(row[1]));
          delta.max_end = std::max(delta.max_end, Int(row[2]));
          delta.traces += 1;
          delta.tokens_prompt += Int(row[3]);
          delta.tokens_completion += Int(row[4]);
          delta.tokens_total += Int(row[5]);
        }
      }
    }
  }
  if (!empty_created.empty()) {
    tx.exec_params("DELETE FROM traces WHERE id = ANY($1::bigint[]) AND span_count = 0", IntArray(empty_created));
  }

  // 7. Session rollups (rows locked in step 5).
  if (!sessions.empty()) {
    std::vector<int64_t> ids, starts, ends, counts, prompts, completions, totals;
    for (const auto& [rowid, delta] : sessions) {
      ids.push_back(rowid);
      starts.push_back(delta.min_start);
      ends.push_back(delta.max_end);
      counts.push_back(delta.traces);
      prompts.push_back(delta.tokens_prompt);
      completions.push_back(delta.tokens_completion);
      totals.push_back(delta.tokens_total);
    }
    tx.exec_params(
        "UPDATE sessions s SET start_time = least(s.start_time, d.start_time), "
        "end_time = greatest(s.end_time, d.end_time), trace_count = s.trace_count + d.traces, "
        "token_count_prompt = s.token_count_prompt + d.prompt, "
        "token_count_completion = s.token_count_completion + d.completion, "
        "token_count_total = s.token_count_total + d.total "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
        "$7::bigint[]) AS d(id, start_time, end_time, traces, prompt, completion, total) WHERE s.id = d.id",
        IntArray(ids), IntArray(starts), IntArray(ends), IntArray(counts), IntArray(prompts), IntArray(completions),
        IntArray(totals));
  }

  // 8. Project activity and rollups, locked and updated in id order.
  if (!project_last_span.empty()) {
    std::vector<int64_t> ids, lasts, trace_counts, span_counts, error_traces, prompts, completions, totals;
    std::vector<double> costs;
    for (const auto& [id, last] : project_last_span) {
      const ProjectTotals& t = project_totals[id];
      ids.push_back(id);
      lasts.push_back(last);
      trace_counts.push_back(t.traces);
      span_counts.push_back(t.spans);
      error_traces.push_back(t.error_traces);
      prompts.push_back(t.tokens_prompt);
      completions.push_back(t.tokens_completion);
      totals.push_back(t.tokens_total);
      costs.push_back(t.cost);
    }
    const std::string ids_param = IntArray(ids);
    if (ids.size() > 1) {
      tx.exec_params("SELECT 1 FROM projects WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", ids_param);
    }
    tx.exec_params(
        "UPDATE projects p SET last_span_at = greatest(coalesce(p.last_span_at, d.last), d.last), "
        "trace_count = p.trace_count + d.traces, span_count = p.span_count + d.spans, "
        "error_trace_count = p.error_trace_count + d.error_traces, "
        "token_count_prompt = p.token_count_prompt + d.prompt, "
        "token_count_completion = p.token_count_completion + d.completion, "
        "token_count_total = p.token_count_total + d.total, cost_total = p.cost_total + d.cost "
        "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], "
        "$7::bigint[], $8::bigint[], $9::float8[]) "
        "AS d(id, last, traces, spans, error_traces, prompt, completion, total, cost) WHERE p.id = d.id",
        ids_param, IntArray(lasts), IntArray(trace_counts), IntArray(span_counts), IntArray(error_traces),
        IntArray(prompts), IntArray(completions), IntArray(totals), DoubleArray(costs));
  }
  return absl::OkStatus();
}

}  // namespace osprey::store::internal
