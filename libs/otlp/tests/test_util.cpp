#include "test_util.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "osprey/base/encoding.hpp"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::otlp::testing {

std::string ReadFixture(std::string_view name) {
  const std::string path = std::string(OSPREY_OTLP_FIXTURES_DIR) + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

ExportRequest* DecodeFixture(std::string_view name, google::protobuf::Arena* arena) {
  auto request = DecodeJson(ReadFixture(name), arena);
  INFO(request.status().ToString());
  REQUIRE(request.ok());
  return *request;
}

rapidjson::Document ParseJson(std::string_view text) {
  rapidjson::Document document;
  document.Parse(text.data(), text.size());
  INFO(std::string(text));
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

bool SameJson(std::string_view actual, std::string_view expected) { return ParseJson(actual) == ParseJson(expected); }

std::string SpanToJson(const model::v1::Span& span) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  const auto str = [&](const std::string& s) {
    return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a);
  };
  doc.AddMember("project_name", str(span.project_name()), a);
  doc.AddMember("trace_id", str(base::HexEncode(span.trace_id())), a);
  doc.AddMember("span_id", str(base::HexEncode(span.span_id())), a);
  doc.AddMember("parent_span_id", str(base::HexEncode(span.parent_span_id())), a);
  doc.AddMember("name", str(span.name()), a);
  doc.AddMember("span_kind", str(span.span_kind()), a);
  doc.AddMember("start_time_unix_nano", span.start_time_unix_nano(), a);
  doc.AddMember("end_time_unix_nano", span.end_time_unix_nano(), a);
  doc.AddMember("status_code", str(model::v1::StatusCode_Name(span.status_code())), a);
  doc.AddMember("status_message", str(span.status_message()), a);
  doc.AddMember("session_id", str(span.session_id()), a);
  doc.AddMember("user_id", str(span.user_id()), a);
  doc.AddMember("llm_model_name", str(span.llm_model_name()), a);
  doc.AddMember("llm_token_count_prompt", span.llm_token_count_prompt(), a);
  doc.AddMember("llm_token_count_completion", span.llm_token_count_completion(), a);
  doc.AddMember("llm_token_count_total", span.llm_token_count_total(), a);
  doc.AddMember("input_preview", str(span.input_preview()), a);
  doc.AddMember("output_preview", str(span.output_preview()), a);
  rapidjson::Document attributes(&a);
  attributes.Parse(span.attributes_json().data(), span.attributes_json().size());
  doc.AddMember("attributes", rapidjson::Value(attributes, a), a);
  rapidjson::Document events(&a);
  events.Parse(span.events_json().data(), span.events_json().size());
  doc.AddMember("events", rapidjson::Value(events, a), a);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

OtlpSpan ValidSpan() {
  OtlpSpan span;
  span.set_trace_id(std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16));
  span.set_span_id(std::string("\xa1\xa2\xa3\xa4\xa5\xa6\xa7\xa8", 8));
  span.set_name("span");
  span.set_start_time_unix_nano(1'700'000'000'000'000'000);
  span.set_end_time_unix_nano(1'700'000'000'500'000'000);
  return span;
}

void AddString(OtlpSpan* span, std::string_view key, std::string_view value) {
  auto* kv = span->add_attributes();
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

void AddInt(OtlpSpan* span, std::string_view key, int64_t value) {
  auto* kv = span->add_attributes();
  kv->set_key(std::string(key));
  kv->mutable_value()->set_int_value(value);
}

void AddDouble(OtlpSpan* span, std::string_view key, double value) {
  auto* kv = span->add_attributes();
  kv->set_key(std::string(key));
  kv->mutable_value()->set_double_value(value);
}

NormalizeResult NormalizeOne(const OtlpSpan& span, const NormalizeOptions& options) {
  ExportRequest request;
  *request.add_resource_spans()->add_scope_spans()->add_spans() = span;
  return Normalize(request, options);
}

std::string AttributesOf(const OtlpSpan& span) {
  NormalizeResult result = NormalizeOne(span);
  INFO(result.ErrorMessage());
  REQUIRE(result.spans.size() == 1);
  return result.spans[0].attributes_json();
}

}  // namespace osprey::otlp::testing
