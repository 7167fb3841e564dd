#pragma once

// Store records rendered as Phoenix REST JSON objects (field names and order as in Phoenix's
// OpenAPI schema; datetimes as Python isoformat with "+00:00"; ids as GlobalIDs, OTel ids as hex).
// Pure functions; thread-safe.

#include <string_view>
#include <vector>

#include "osprey/store/store.hpp"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::query {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Project{name, description, id}.
void WriteProject(JsonWriter& w, const store::ProjectRecord& project);

// Span{id, name, context{trace_id, span_id}, span_kind, parent_id, start_time, end_time,
// status_code, status_message, attributes (flattened, without openinference.span.kind), events}.
// Unreadable stored attributes or events render as {} / [] rather than failing the page.
void WriteSpan(JsonWriter& w, const store::SpanRecord& span);

// TraceSpanData{id, span_id, parent_id, name, span_kind, status_code, start_time, end_time}.
void WriteTraceSpan(JsonWriter& w, const store::SpanRecord& span);

// TraceData{id, trace_id, project_id, start_time, end_time, token_count_*, spans}; `spans` null
// renders "spans": null, else the list in the given order.
void WriteTrace(JsonWriter& w, const store::TraceRecord& trace, const std::vector<store::SpanRecord>* spans);

// SessionData{id, session_id, project_id, start_time, end_time, traces[{id, trace_id, start_time,
// end_time}], token_count_*}.
void WriteSession(JsonWriter& w, const store::SessionRecord& session, const std::vector<store::TraceRecord>& traces);

// SpanAnnotation / TraceAnnotation / SessionAnnotation{id, created_at, updated_at, source, user_id,
// name, annotator_kind, result{label, score, explanation}, metadata, identifier, <target_key>} with
// `id_type` the GlobalID type ("SpanAnnotation", ...) and `target_key` "span_id" / "trace_id" /
// "session_id". Unreadable stored metadata renders as {}.
void WriteAnnotation(JsonWriter& w, const store::AnnotationRecord& annotation, std::string_view id_type,
                     std::string_view target_key);

// CategoricalAnnotationConfig{name, type, description, optimization_direction, values, id},
// ContinuousAnnotationConfig{name, type, description, optimization_direction, lower_bound,
// upper_bound, id} or FreeformAnnotationConfig{name, type, description, optimization_direction,
// threshold, lower_bound, upper_bound, id}, from the stored config document.
void WriteAnnotationConfig(JsonWriter& w, const store::AnnotationConfigRecord& config);

// The GlobalID type of a config: "CategoricalAnnotationConfig", "ContinuousAnnotationConfig" or
// "FreeformAnnotationConfig".
std::string_view AnnotationConfigType(std::string_view type);

}  // namespace osprey::query
