#include "osprey/query/views.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/time.hpp"
#include "osprey/query/attributes.hpp"
#include "osprey/query/global_id.hpp"
#include "rapidjson/document.h"

namespace osprey::query {
namespace {

constexpr std::string_view kSpanKindAttribute = "openinference.span.kind";

void Str(JsonWriter& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void Key(JsonWriter& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }

void Time(JsonWriter& w, int64_t ns) { Str(w, base::FormatIsoTime(ns < 0 ? 0 : static_cast<uint64_t>(ns))); }

// Parsed in situ from a per-thread copy into a per-thread first pool chunk: strings are decoded in place and a
// ~2 KB document allocates nothing (a span page parses one document per span).
void WriteAttributes(JsonWriter& w, const std::string& attributes_json) {
  static const std::vector<std::string_view> kDropped = {kSpanKindAttribute};
  constexpr size_t kPoolBytes = 64 * 1024;
  thread_local std::string text;
  thread_local std::unique_ptr<char[]> pool = std::make_unique<char[]>(kPoolBytes);
  rapidjson::MemoryPoolAllocator<> allocator(pool.get(), kPoolBytes);
  rapidjson::Document doc(&allocator);
  text.assign(attributes_json);
  if (!text.empty()) doc.ParseInsitu(text.data());
  if (doc.HasParseError()) doc.SetObject();
  WriteFlattenedAttributes(w, doc, kDropped);
}

// Event timestamps are stored as ISO strings or integer nanoseconds; both come out as isoformat.
void WriteEventTime(JsonWriter& w, const rapidjson::Value& ts) {
  if (ts.IsUint64()) {
    Str(w, base::FormatIsoTime(ts.GetUint64()));
    return;
  }
  if (ts.IsString()) {
    std::string_view text(ts.GetString(), ts.GetStringLength());
    if (std::optional<int64_t> ns = base::ParseIsoTime(text)) {
      Time(w, *ns);
    } else {
      Str(w, text);
    }
    return;
  }
  Time(w, 0);
}

void WriteEvents(JsonWriter& w, const std::string& events_json) {
  rapidjson::Document doc;
  if (!events_json.empty()) doc.Parse(events_json.data(), events_json.size());
  w.StartArray();
  if (!doc.HasParseError() && doc.IsArray()) {
    for (const auto& event : doc.GetArray()) {
      if (!event.IsObject()) continue;
      w.StartObject();
      Key(w, "name");
      auto name = event.FindMember("name");
      if (name != event.MemberEnd() && name->value.IsString()) {
        name->value.Accept(w);
      } else {
        Str(w, "");
      }
      Key(w, "timestamp");
      auto ts = event.FindMember("timestamp");
      if (ts != event.MemberEnd()) {
        WriteEventTime(w, ts->value);
      } else {
        Time(w, 0);
      }
      Key(w, "attributes");
      auto attributes = event.FindMember("attributes");
      if (attributes != event.MemberEnd() && attributes->value.IsObject()) {
        attributes->value.Accept(w);
      } else {
        w.StartObject();
        w.EndObject();
      }
      w.EndObject();
    }
  }
  w.EndArray();
}

void ParentId(JsonWriter& w, const std::string& parent_id) {
  if (parent_id.empty()) {
    w.Null();
  } else {
    Str(w, parent_id);
  }
}

std::string_view KindOrUnknown(const std::string& kind) {
  return kind.empty() ? std::string_view("UNKNOWN") : std::string_view(kind);
}
std::string_view StatusOrUnset(const std::string& code) {
  return code.empty() ? std::string_view("UNSET") : std::string_view(code);
}

}  // namespace

void WriteProject(JsonWriter& w, const store::ProjectRecord& project) {
  w.StartObject();
  Key(w, "name");
  Str(w, project.name);
  Key(w, "description");
  if (project.description) {
    Str(w, *project.description);
  } else {
    w.Null();
  }
  Key(w, "id");
  Str(w, EncodeGlobalId(kProjectType, project.id));
  w.EndObject();
}

void WriteSpan(JsonWriter& w, const store::SpanRecord& span) {
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(kSpanType, span.id));
  Key(w, "name");
  Str(w, span.name);
  Key(w, "context");
  w.StartObject();
  Key(w, "trace_id");
  Str(w, span.trace_id);
  Key(w, "span_id");
  Str(w, span.span_id);
  w.EndObject();
  Key(w, "span_kind");
  Str(w, KindOrUnknown(span.span_kind));
  Key(w, "parent_id");
  ParentId(w, span.parent_id);
  Key(w, "start_time");
  Time(w, span.start_time_ns);
  Key(w, "end_time");
  Time(w, span.end_time_ns);
  Key(w, "status_code");
  Str(w, StatusOrUnset(span.status_code));
  Key(w, "status_message");
  Str(w, span.status_message);
  Key(w, "attributes");
  WriteAttributes(w, span.attributes_json);
  Key(w, "events");
  WriteEvents(w, span.events_json);
  w.EndObject();
}

void WriteTraceSpan(JsonWriter& w, const store::SpanRecord& span) {
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(kSpanType, span.id));
  Key(w, "span_id");
  Str(w, span.span_id);
  Key(w, "parent_id");
  ParentId(w, span.parent_id);
  Key(w, "name");
  Str(w, span.name);
  Key(w, "span_kind");
  Str(w, KindOrUnknown(span.span_kind));
  Key(w, "status_code");
  Str(w, StatusOrUnset(span.status_code));
  Key(w, "start_time");
  Time(w, span.start_time_ns);
  Key(w, "end_time");
  Time(w, span.end_time_ns);
  w.EndObject();
}

void WriteTrace(JsonWriter& w, const store::TraceRecord& trace, const std::vector<store::SpanRecord>* spans) {
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(kTraceType, trace.id));
  Key(w, "trace_id");
  Str(w, trace.trace_id);
  Key(w, "project_id");
  Str(w, EncodeGlobalId(kProjectType, trace.project_id));
  Key(w, "start_time");
  Time(w, trace.start_time_ns);
  Key(w, "end_time");
  Time(w, trace.end_time_ns);
  Key(w, "token_count_prompt");
  w.Int64(trace.token_count_prompt);
  Key(w, "token_count_completion");
  w.Int64(trace.token_count_completion);
  Key(w, "token_count_total");
  w.Int64(trace.token_count_total);
  Key(w, "spans");
  if (spans == nullptr) {
    w.Null();
  } else {
    w.StartArray();
    for (const auto& span : *spans) WriteTraceSpan(w, span);
    w.EndArray();
  }
  w.EndObject();
}

void WriteSession(JsonWriter& w, const store::SessionRecord& session, const std::vector<store::TraceRecord>& traces) {
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(kSessionType, session.id));
  Key(w, "session_id");
  Str(w, session.session_id);
  Key(w, "project_id");
  Str(w, EncodeGlobalId(kProjectType, session.project_id));
  Key(w, "start_time");
  Time(w, session.start_time_ns);
  Key(w, "end_time");
  Time(w, session.end_time_ns);
  Key(w, "traces");
  w.StartArray();
  for (const auto& trace : traces) {
    w.StartObject();
    Key(w, "id");
    Str(w, EncodeGlobalId(kTraceType, trace.id));
    Key(w, "trace_id");
    Str(w, trace.trace_id);
    Key(w, "start_time");
    Time(w, trace.start_time_ns);
    Key(w, "end_time");
    Time(w, trace.end_time_ns);
    w.EndObject();
  }
  w.EndArray();
  Key(w, "token_count_prompt");
  w.Int64(session.token_count_prompt);
  Key(w, "token_count_completion");
  w.Int64(session.token_count_completion);
  Key(w, "token_count_total");
  w.Int64(session.token_count_total);
  Key(w, "cost_total");  // US dollars over the session's priced LLM spans (Osprey; Phoenix has no field)
  w.Double(session.cost_total);
  w.EndObject();
}

void WriteAnnotation(JsonWriter& w, const store::AnnotationRecord& annotation, std::string_view id_type,
                     std::string_view target_key) {
  w.StartObject();
  Key(w, "id");
  Str(w, EncodeGlobalId(id_type, annotation.id));
  Key(w, "created_at");
  Time(w, annotation.created_at_ns);
  Key(w, "updated_at");
  Time(w, annotation.updated_at_ns);
  Key(w, "source");
  Str(w, annotation.source);
  Key(w, "user_id");
  if (annotation.user_id) {
    Str(w, EncodeGlobalId("User", *annotation.user_id));
  } else {
    w.Null();
  }
  Key(w, "name");
  Str(w, annotation.name);
  Key(w, "annotator_kind");
  Str(w, annotation.annotator_kind);
  Key(w, "result");
  w.StartObject();
  Key(w, "label");
  annotation.label ? Str(w, *annotation.label) : (void)w.Null();
  Key(w, "score");
  annotation.score ? (void)w.Double(*annotation.score) : (void)w.Null();
  Key(w, "explanation");
  annotation.explanation ? Str(w, *annotation.explanation) : (void)w.Null();
  w.EndObject();
  Key(w, "metadata");
  rapidjson::Document metadata;
  metadata.Parse(annotation.metadata_json.data(), annotation.metadata_json.size());
  if (!metadata.HasParseError() && metadata.IsObject()) {
    metadata.Accept(w);
  } else {
    w.StartObject();
    w.EndObject();
  }
  Key(w, "identifier");
  Str(w, annotation.identifier);
  Key(w, target_key);
  Str(w, annotation.target);
  w.EndObject();
}

std::string_view AnnotationConfigType(std::string_view type) {
  if (type == "CATEGORICAL") return "CategoricalAnnotationConfig";
  if (type == "CONTINUOUS") return "ContinuousAnnotationConfig";
  return "FreeformAnnotationConfig";
}

void WriteAnnotationConfig(JsonWriter& w, const store::AnnotationConfigRecord& config) {
  rapidjson::Document doc;
  doc.Parse(config.config_json.data(), config.config_json.size());
  if (doc.HasParseError() || !doc.IsObject()) doc.SetObject();
  // A stored field, or null when absent.
  auto field = [&](std::string_view name) {
    Key(w, name);
    auto it = doc.FindMember(rapidjson::StringRef(name.data(), name.size()));
    if (it == doc.MemberEnd()) {
      w.Null();
    } else {
      it->value.Accept(w);
    }
  };
  w.StartObject();
  Key(w, "name");
  Str(w, config.name);
  Key(w, "type");
  Str(w, config.type);
  field("description");
  field("optimization_direction");
  if (config.type == "CATEGORICAL") {
    Key(w, "values");
    auto it = doc.FindMember("values");
    if (it != doc.MemberEnd() && it->value.IsArray()) {
      it->value.Accept(w);
    } else {
      w.StartArray();
      w.EndArray();
    }
  } else {
    if (config.type == "FREEFORM") field("threshold");
    field("lower_bound");
    field("upper_bound");
  }
  Key(w, "id");
  Str(w, EncodeGlobalId(AnnotationConfigType(config.type), config.id));
  w.EndObject();
}

}  // namespace osprey::query
