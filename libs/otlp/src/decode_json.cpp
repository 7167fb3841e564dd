// OTLP/JSON → ExportTraceServiceRequest, built by hand: OTLP/JSON differs from protobuf's canonical
// JSON mapping (ids are hex, not base64), so protobuf's JSON parser cannot be used.

#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/otlp/otlp.hpp"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"

namespace osprey::otlp {
namespace {

using opentelemetry::proto::common::v1::AnyValue;
using opentelemetry::proto::common::v1::KeyValue;
using opentelemetry::proto::trace::v1::Span;
using opentelemetry::proto::trace::v1::Status;
using Json = rapidjson::Value;

// AnyValue nesting limit (arrays inside kvlists inside arrays ...).
constexpr int kMaxValueDepth = 64;

std::string_view Name(const Json& v) { return std::string_view(v.GetString(), v.GetStringLength()); }

// Walks the JSON document while keeping the path of the value being read for error messages.
class Decoder final {
 public:
  absl::Status Request(const Json& root, ExportRequest* out) {
    if (!root.IsObject()) return Error("expected a JSON object at the top level");
    for (const auto& m : root.GetObject()) {
      if (Name(m.name) != "resourceSpans") continue;
      OSPREY_RETURN_IF_ERROR(Array(m.value, "resourceSpans",
                                   [&](const Json& item) { return ResourceSpans(item, out->add_resource_spans()); }));
    }
    return absl::OkStatus();
  }

 private:
  // Appends `segment` to the path for the lifetime of the scope.
  class Scope final {
   public:
    Scope(std::string* path, std::string_view segment) : path_(path), mark_(path->size()) {
      if (!path->empty() && segment.front() != '[') path->push_back('.');
      path->append(segment);
    }
    ~Scope() { path_->resize(mark_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    std::string* path_;
    size_t mark_;
  };

  absl::Status Error(std::string_view message) const {
    return base::Permanent(absl::StatusCode::kInvalidArgument,
                           (path_.empty() ? std::string("request") : path_) + ": " + std::string(message));
  }

  template <typename Fn>
  absl::Status Array(const Json& value, std::string_view key, Fn&& fn) {
    Scope scope(&path_, key);
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsArray()) return Error("expected an array");
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      Scope item(&path_, "[" + std::to_string(i) + "]");
      OSPREY_RETURN_IF_ERROR(fn(value[i]));
    }
    return absl::OkStatus();
  }

  template <typename Fn>
  absl::Status Object(const Json& value, std::string_view key, Fn&& fn) {
    Scope scope(&path_, key);
    if (value.IsNull()) return absl::OkStatus();
    if (!value.IsObject()) return Error("expected an object");
    return fn(value);
  }

  absl::Status String(const Json& value, std::string_view key, std::string* out) {
    if (value.IsNull()) return absl::OkStatus();
    Scope scope(&path_, key);
    if (!value.IsString()) return Error("expected a string");
    out->assign(value.GetString(), value.GetStringLength());
    return absl::OkStatus();
  }

  absl::Status Bool(const Json& value, std::string_view key, bool* out) {
    if (value.IsNull()) return absl::OkStatus();
    Scope scope(&path_, key);
    if (!value.IsBool()) return Error("expected true or false");
    *out = value.GetBool();
    return absl::OkStatus();
  }

  // int64/fixed64/uint32 as a JSON number or a decimal string, within [min, max].
  absl::Status Integer(const Json& value, std::string_view key, int64_t min, uint64_t max, uint64_t* magnitude,
                       bool* negative) {
    Scope scope(&path_, key);
    *negative = false;
    const std::string range = " in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    if (value.IsUint64()) {
      *magnitude = value.GetUint64();
    } else if (value.IsInt64()) {
      *negative = true;
      *magnitude = 0 - static_cast<uint64_t>(value.GetInt64());
    } else if (value.IsDouble()) {
      const double d = value.GetDouble();
      if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) >= 1.8446744073709552e19) {
        return Error("expected an integer" + range);
      }
      *negative = d < 0;
      *magnitude = static_cast<uint64_t>(std::fabs(d));
    } else if (value.IsString()) {
      std::string_view text = Name(value);
      if (!text.empty() && text.front() == '-') {
        *negative = true;
        text.remove_prefix(1);
      }
      if (text.empty() || text.size() > 20) return Error("expected a decimal integer string" + range);
      uint64_t n = 0;
      for (char c : text) {
        if (c < '0' || c > '9') return Error("expected a decimal integer string" + range);
        const uint64_t digit = static_cast<uint64_t>(c - '0');
        if (n > (std::numeric_limits<uint64_t>::max() - digit) / 10) return Error("integer out of range" + range);
        n = n * 10 + digit;
      }
      *magnitude = n;
    } else {
      return Error("expected an integer (number or decimal string)" + range);
    }
    if (*magnitude == 0) *negative = false;
    const bool out_of_range = *negative ? (min >= 0 || *magnitude > 0 - static_cast<uint64_t>(min)) : *magnitude > max;
    if (out_of_range) return Error("integer out of range" + range);
    return absl::OkStatus();
  }

  absl::Status Unsigned(const Json& value, std::string_view key, uint64_t max, uint64_t* out) {
    if (value.IsNull()) return absl::OkStatus();
    bool negative;
    return Integer(value, key, 0, max, out, &negative);
  }

  absl::Status Signed(const Json& value, std::string_view key, int64_t* out) {
    if (value.IsNull()) return absl::OkStatus();
    uint64_t magnitude;
    bool negative;
    OSPREY_RETURN_IF_ERROR(Integer(value, key, std::numeric_limits<int64_t>::min(),
                                   static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), &magnitude, &negative));
    *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return absl::OkStatus();
  }

  // Hex id of exactly `bytes` bytes (case-insensitive); "" is kept as an empty id so that Normalize
  // reports the span rather than failing the whole request.
  absl::Status Id(const Json& value, std::string_view key, size_t bytes, std::string* out) {
    if (value.IsNull()) return absl::OkStatus();
    Scope scope(&path_, key);
    const std::string expected = "not " + std::to_string(bytes * 2) + " hex characters";
    if (!value.IsString()) return Error("expected a string of " + std::to_string(bytes * 2) + " hex characters");
    if (value.GetStringLength() == 0) {
      out->clear();
      return absl::OkStatus();
    }
    // Valid hex of the wrong length is kept, so Normalize rejects that one span with its reason and
    // the rest of the request is stored; text that is not hex cannot be represented at all.
    auto decoded = base::HexDecode(Name(value));
    if (!decoded) return Error(expected);
    *out = std::move(*decoded);
    return absl::OkStatus();
  }

  // Enum as an integer or, leniently, its name with or without the prefix, in any case.
  absl::Status Enum(const Json& value, std::string_view key, std::string_view prefix,
                    std::initializer_list<std::string_view> names, int* out) {
    if (value.IsNull()) return absl::OkStatus();
    if (value.IsString()) {
      Scope scope(&path_, key);
      std::string upper(Name(value));
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (upper.rfind(prefix, 0) == 0) upper.erase(0, prefix.size());
      int index = 0;
      for (std::string_view name : names) {
        if (upper == name) {
          *out = index;
          return absl::OkStatus();
        }
        ++index;
      }
      return Error("unknown enum value '" + std::string(Name(value)).substr(0, 64) + "'");
    }
    uint64_t magnitude;
    bool negative;
    OSPREY_RETURN_IF_ERROR(Integer(value, key, std::numeric_limits<int32_t>::min(),
                                   static_cast<uint64_t>(std::numeric_limits<int32_t>::max()), &magnitude, &negative));
    *out = negative ? -static_cast<int>(magnitude) : static_cast<int>(magnitude);
    return absl::OkStatus();
  }

  absl::Status KeyValues(const Json& value, std::string_view key, google::protobuf::RepeatedPtrField<KeyValue>* out,
                         int depth) {
    return Array(value, key, [&](const Json& item) { return KeyValueItem(item, out->Add(), depth); });
  }

  absl::Status KeyValueItem(const Json& item, KeyValue* out, int depth) {
    if (!item.IsObject()) return Error("expected an object");
    for (const auto& m : item.GetObject()) {
      const std::string_view name = Name(m.name);
      if (name == "key") {
        OSPREY_RETURN_IF_ERROR(String(m.value, "key", out->mutable_key()));
      } else if (name == "value") {
        OSPREY_RETURN_IF_ERROR(
            Object(m.value, "value", [&](const Json& v) { return Value(v, out->mutable_value(), depth); }));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Value(const Json& value, AnyValue* out, int depth) {
    if (depth > kMaxValueDepth) return Error("value nests deeper than " + std::to_string(kMaxValueDepth) + " levels");
    for (const auto& m : value.GetObject()) {
      const std::string_view name = Name(m.name);
      if (m.value.IsNull()) continue;
      if (name == "stringValue") {
        OSPREY_RETURN_IF_ERROR(String(m.value, name, out->mutable_string_value()));
      } else if (name == "boolValue") {
        bool b = false;
        OSPREY_RETURN_IF_ERROR(Bool(m.value, name, &b));
        out->set_bool_value(b);
      } else if (name == "intValue") {
        int64_t i = 0;
        OSPREY_RETURN_IF_ERROR(Signed(m.value, name, &i));
        out->set_int_value(i);
      } else if (name == "doubleValue") {
        double d = 0;
        OSPREY_RETURN_IF_ERROR(Double(m.value, name, &d));
        out->set_double_value(d);
      } else if (name == "bytesValue") {
        Scope scope(&path_, name);
        if (!m.value.IsString()) return Error("expected a base64 string");
        auto decoded = base::Base64Decode(Name(m.value));
        if (!decoded) return Error("not valid base64");
        out->set_bytes_value(std::move(*decoded));
      } else if (name == "arrayValue") {
        auto* array = out->mutable_array_value();
        OSPREY_RETURN_IF_ERROR(Object(m.value, name, [&](const Json& object) {
          for (const auto& field : object.GetObject()) {
            if (Name(field.name) != "values") continue;
            OSPREY_RETURN_IF_ERROR(Array(field.value, "values", [&](const Json& item) {
              if (!item.IsObject()) return Error("expected an object");
              return Value(item, array->add_values(), depth + 1);
            }));
          }
          return absl::OkStatus();
        }));
      } else if (name == "kvlistValue") {
        auto* kvlist = out->mutable_kvlist_value();
        OSPREY_RETURN_IF_ERROR(Object(m.value, name, [&](const Json& object) {
          for (const auto& field : object.GetObject()) {
            if (Name(field.name) != "values") continue;
            OSPREY_RETURN_IF_ERROR(KeyValues(field.value, "values", kvlist->mutable_values(), depth + 1));
          }
          return absl::OkStatus();
        }));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Double(const Json& value, std::string_view key, double* out) {
    Scope scope(&path_, key);
    if (value.IsNumber()) {
      *out = value.GetDouble();
      return absl::OkStatus();
    }
    if (value.IsString()) {
      const std::string_view text = Name(value);
      if (text == "NaN") {
        *out = std::numeric_limits<double>::quiet_NaN();
      } else if (text == "Infinity") {
        *out = std::numeric_limits<double>::infinity();
      } else if (text == "-Infinity") {
        *out = -std::numeric_limits<double>::infinity();
      } else {
        rapidjson::Document number;
        number.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
        if (number.HasParseError() || !number.IsNumber()) return Error("expected a number");
        *out = number.GetDouble();
      }
      return absl::OkStatus();
    }
    return Error("expected a number");
  }

  absl::Status ResourceSpans(const Json& item, opentelemetry::proto::trace::v1::ResourceSpans* out) {
    if (!item.IsObject()) return Error("expected an object");
    for (const auto& m : item.GetObject()) {
      const std::string_view name = Name(m.name);
      if (name == "resource") {
        OSPREY_RETURN_IF_ERROR(Object(m.value, name, [&](const Json& resource) {
          auto* r = out->mutable_resource();
          for (const auto& f : resource.GetObject()) {
            const std::string_view field = Name(f.name);
            if (field == "attributes") {
              OSPREY_RETURN_IF_ERROR(KeyValues(f.value, field, r->mutable_attributes(), 1));
            } else if (field == "droppedAttributesCount") {
              uint64_t n = 0;
              OSPREY_RETURN_IF_ERROR(Unsigned(f.value, field, UINT32_MAX, &n));
              r->set_dropped_attributes_count(static_cast<uint32_t>(n));
            }
          }
          return absl::OkStatus();
        }));
      } else if (name == "scopeSpans") {
        OSPREY_RETURN_IF_ERROR(
            Array(m.value, name, [&](const Json& scope) { return ScopeSpans(scope, out->add_scope_spans()); }));
      } else if (name == "schemaUrl") {
        OSPREY_RETURN_IF_ERROR(String(m.value, name, out->mutable_schema_url()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ScopeSpans(const Json& item, opentelemetry::proto::trace::v1::ScopeSpans* out) {
    if (!item.IsObject()) return Error("expected an object");
    for (const auto& m : item.GetObject()) {
      const std::string_view name = Name(m.name);
      if (name == "scope") {
        OSPREY_RETURN_IF_ERROR(Object(m.value, name, [&](const Json& scope) {
          auto* s = out->mutable_scope();
          for (const auto& f : scope.GetObject()) {
            const std::string_view field = Name(f.name);
            if (field == "name") {
              OSPREY_RETURN_IF_ERROR(String(f.value, field, s->mutable_name()));
            } else if (field == "version") {
              OSPREY_RETURN_IF_ERROR(String(f.value, field, s->mutable_version()));
            } else if (field == "attributes") {
              OSPREY_RETURN_IF_ERROR(KeyValues(f.value, field, s->mutable_attributes(), 1));
            } else if (field == "droppedAttributesCount") {
              uint64_t n = 0;
              OSPREY_RETURN_IF_ERROR(Unsigned(f.value, field, UINT32_MAX, &n));
              s->set_dropped_attributes_count(static_cast<uint32_t>(n));
            }
          }
          return absl::OkStatus();
        }));
      } else if (name == "spans") {
        OSPREY_RETURN_IF_ERROR(Array(m.value, name, [&](const Json& span) {
          if (!span.IsObject()) return Error("expected an object");
          return SpanItem(span, out->add_spans());
        }));
      } else if (name == "schemaUrl") {
        OSPREY_RETURN_IF_ERROR(String(m.value, name, out->mutable_schema_url()));
      }
    }
    return absl::OkStatus();
  }

  absl::Status SpanItem(const Json& item, Span* out) {
    for (const auto& m : item.GetObject()) {
      const std::string_view name = Name(m.name);
      const Json& v = m.value;
      if (name == "traceId") {
        OSPREY_RETURN_IF_ERROR(Id(v, name, 16, out->mutable_trace_id()));
      } else if (name == "spanId") {
        OSPREY_RETURN_IF_ERROR(Id(v, name, 8, out->mutable_span_id()));
      } else if (name == "parentSpanId") {
        OSPREY_RETURN_IF_ERROR(Id(v, name, 8, out->mutable_parent_span_id()));
      } else if (name == "traceState") {
        OSPREY_RETURN_IF_ERROR(String(v, name, out->mutable_trace_state()));
      } else if (name == "name") {
        OSPREY_RETURN_IF_ERROR(String(v, name, out->mutable_name()));
      } else if (name == "flags") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(v, name, UINT32_MAX, &n));
        out->set_flags(static_cast<uint32_t>(n));
      } else if (name == "kind") {
        int kind = 0;
        OSPREY_RETURN_IF_ERROR(Enum(v, name, "SPAN_KIND_",
                                    {"UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"}, &kind));
        out->set_kind(static_cast<Span::SpanKind>(kind));
      } else if (name == "startTimeUnixNano") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(v, name, UINT64_MAX, &n));
        out->set_start_time_unix_nano(n);
      } else if (name == "endTimeUnixNano") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(v, name, UINT64_MAX, &n));
        out->set_end_time_unix_nano(n);
      } else if (name == "attributes") {
        OSPREY_RETURN_IF_ERROR(KeyValues(v, name, out->mutable_attributes(), 1));
      } else if (name == "droppedAttributesCount") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(v, name, UINT32_MAX, &n));
        out->set_dropped_attributes_count(static_cast<uint32_t>(n));
      } else if (name == "events") {
        OSPREY_RETURN_IF_ERROR(Array(v, name, [&](const Json& event) {
          if (!event.IsObject()) return Error("expected an object");
          return EventItem(event, out->add_events());
        }));
      } else if (name == "droppedEventsCount") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(v, name, UINT32_MAX, &n));
        out->set_dropped_events_count(static_cast<uint32_t>(n));
      } else if (name == "links") {
        OSPREY_RETURN_IF_ERROR(Array(v, name, [&](const Json& link) {
          if (!link.IsObject()) return Error("expected an object");
          return LinkItem(link, out->add_links());
        }));
      } else if (name == "droppedLinksCount") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(v, name, UINT32_MAX, &n));
        out->set_dropped_links_count(static_cast<uint32_t>(n));
      } else if (name == "status") {
        OSPREY_RETURN_IF_ERROR(Object(v, name, [&](const Json& status) {
          auto* s = out->mutable_status();
          for (const auto& f : status.GetObject()) {
            const std::string_view field = Name(f.name);
            if (field == "message") {
              OSPREY_RETURN_IF_ERROR(String(f.value, field, s->mutable_message()));
            } else if (field == "code") {
              int code = 0;
              OSPREY_RETURN_IF_ERROR(Enum(f.value, field, "STATUS_CODE_", {"UNSET", "OK", "ERROR"}, &code));
              s->set_code(static_cast<Status::StatusCode>(code));
            }
          }
          return absl::OkStatus();
        }));
      }
    }
    return absl::OkStatus();
  }

  absl::Status EventItem(const Json& item, Span::Event* out) {
    for (const auto& m : item.GetObject()) {
      const std::string_view name = Name(m.name);
      if (name == "timeUnixNano") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(m.value, name, UINT64_MAX, &n));
        out->set_time_unix_nano(n);
      } else if (name == "name") {
        OSPREY_RETURN_IF_ERROR(String(m.value, name, out->mutable_name()));
      } else if (name == "attributes") {
        OSPREY_RETURN_IF_ERROR(KeyValues(m.value, name, out->mutable_attributes(), 1));
      } else if (name == "droppedAttributesCount") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(m.value, name, UINT32_MAX, &n));
        out->set_dropped_attributes_count(static_cast<uint32_t>(n));
      }
    }
    return absl::OkStatus();
  }

  absl::Status LinkItem(const Json& item, Span::Link* out) {
    for (const auto& m : item.GetObject()) {
      const std::string_view name = Name(m.name);
      if (name == "traceId") {
        OSPREY_RETURN_IF_ERROR(Id(m.value, name, 16, out->mutable_trace_id()));
      } else if (name == "spanId") {
        OSPREY_RETURN_IF_ERROR(Id(m.value, name, 8, out->mutable_span_id()));
      } else if (name == "traceState") {
        OSPREY_RETURN_IF_ERROR(String(m.value, name, out->mutable_trace_state()));
      } else if (name == "attributes") {
        OSPREY_RETURN_IF_ERROR(KeyValues(m.value, name, out->mutable_attributes(), 1));
      } else if (name == "droppedAttributesCount") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(m.value, name, UINT32_MAX, &n));
        out->set_dropped_attributes_count(static_cast<uint32_t>(n));
      } else if (name == "flags") {
        uint64_t n = 0;
        OSPREY_RETURN_IF_ERROR(Unsigned(m.value, name, UINT32_MAX, &n));
        out->set_flags(static_cast<uint32_t>(n));
      }
    }
    return absl::OkStatus();
  }

  std::string path_;
};

}  // namespace

absl::StatusOr<ExportRequest*> DecodeJson(std::string_view body, google::protobuf::Arena* arena) {
  rapidjson::Document document;
  // Iterative parsing: nesting depth in hostile input cannot exhaust the stack.
  document.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(body.data(), body.size());
  if (document.HasParseError()) {
    return base::Permanent(absl::StatusCode::kInvalidArgument,
                           "invalid JSON at offset " + std::to_string(document.GetErrorOffset()) + ": " +
                               rapidjson::GetParseError_En(document.GetParseError()));
  }
  auto* request = google::protobuf::Arena::CreateMessage<ExportRequest>(arena);
  Decoder decoder;
  OSPREY_RETURN_IF_ERROR(decoder.Request(document, request));
  return request;
}

}  // namespace osprey::otlp
