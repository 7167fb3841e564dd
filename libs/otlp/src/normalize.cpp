#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "attributes.hpp"
#include "genai.hpp"
#include "osprey/base/encoding.hpp"
#include "osprey/base/status.hpp"
#include "osprey/base/time.hpp"
#include "osprey/otlp/otlp.hpp"
#include "py_json.hpp"
#include "rapidjson/document.h"

namespace osprey::otlp {
namespace {

using internal::Allocator;
using internal::FlatAttributes;
using OtlpSpan = opentelemetry::proto::trace::v1::Span;

constexpr std::string_view kProjectAttribute = "openinference.project.name";
constexpr size_t kMaxReasonsInMessage = 3;
constexpr std::array<std::string_view, 11> kSpanKinds = {"TOOL",      "CHAIN",     "LLM",    "PROMPT",
                                                         "RETRIEVER", "EMBEDDING", "AGENT",  "RERANKER",
                                                         "EVALUATOR", "GUARDRAIL", "UNKNOWN"};

std::string_view View(const rapidjson::Value& v) { return std::string_view(v.GetString(), v.GetStringLength()); }

bool IsBlank(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

// str(value), trimmed: a hot id field (session.id, user.id).
std::string TrimmedStr(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(Trim(View(value)));
  const std::string text = internal::PyStr(value);
  return std::string(Trim(text));
}

std::string ToJson(const rapidjson::Value& value) { return internal::ToJsonText(value); }

// The RapidJSON allocator of one span's values. Its first chunk is a buffer the thread keeps and
// reuses span after span, so a span costs no malloc until its values outgrow the buffer (then
// chunks come from malloc as usual). Should two ever be alive at once on a thread, the second
// brings its own buffer.
class SpanAllocator final {
 public:
  SpanAllocator()
      : own_buffer_(InUse() ? NewBuffer() : nullptr),
        allocator_(own_buffer_ ? own_buffer_.get() : ThreadBuffer(), kBufferBytes, kChunkBytes, &crt_) {
    if (!own_buffer_) InUse() = true;
  }
  ~SpanAllocator() {
    if (!own_buffer_) InUse() = false;
  }
  SpanAllocator(const SpanAllocator&) = delete;
  SpanAllocator& operator=(const SpanAllocator&) = delete;
  Allocator& get() { return allocator_; }

 private:
  static constexpr size_t kBufferBytes = 64 << 10;
  static constexpr size_t kChunkBytes = 64 << 10;
  using Buffer = std::unique_ptr<std::max_align_t[]>;
  static Buffer NewBuffer() { return std::make_unique<std::max_align_t[]>(kBufferBytes / sizeof(std::max_align_t)); }
  static void* ThreadBuffer() {
    thread_local Buffer buffer = NewBuffer();
    return buffer.get();
  }
  static bool& InUse() {
    thread_local bool in_use = false;
    return in_use;
  }

  Buffer own_buffer_;
  rapidjson::CrtAllocator crt_;
  Allocator allocator_;
};

// Project per ResourceSpans (phoenix-compat §3.2): a non-blank override, else the first non-blank
// string resource attribute `openinference.project.name`, else the default ("default" if blank).
absl::StatusOr<std::string> ResolveProject(const opentelemetry::proto::resource::v1::Resource& resource,
                                           const NormalizeOptions& options) {
  std::string_view name;
  if (!IsBlank(options.project_override)) {
    name = options.project_override;
  } else {
    for (const auto& kv : resource.attributes()) {
      if (kv.key() == kProjectAttribute && kv.value().has_string_value() && !IsBlank(kv.value().string_value())) {
        name = kv.value().string_value();
        break;
      }
    }
  }
  if (name.empty()) name = IsBlank(options.default_project) ? std::string_view("default") : options.default_project;
  if (!base::IsValidUtf8(name)) {
    return base::Permanent(absl::StatusCode::kInvalidArgument, "project name is not valid UTF-8");
  }
  return std::string(name);
}

absl::Status Reject(std::string message) { return base::Permanent(absl::StatusCode::kInvalidArgument, message); }

absl::Status Validate(const OtlpSpan& span) {
  if (span.trace_id().size() != 16) {
    return Reject("trace_id must be 16 bytes, got " + std::to_string(span.trace_id().size()));
  }
  if (base::IsAllZero(span.trace_id())) return Reject("trace_id is all zero");
  if (span.span_id().size() != 8) {
    return Reject("span_id must be 8 bytes, got " + std::to_string(span.span_id().size()));
  }
  if (base::IsAllZero(span.span_id())) return Reject("span_id is all zero");
  if (!span.parent_span_id().empty() && span.parent_span_id().size() != 8) {
    return Reject("parent_span_id must be empty or 8 bytes, got " + std::to_string(span.parent_span_id().size()));
  }
  if (span.start_time_unix_nano() == 0) return Reject("start_time_unix_nano is 0");
  if (span.end_time_unix_nano() < span.start_time_unix_nano()) {
    return Reject("end_time_unix_nano " + std::to_string(span.end_time_unix_nano()) +
                  " is before start_time_unix_nano " + std::to_string(span.start_time_unix_nano()));
  }
  if (!base::IsValidUtf8(span.name())) return Reject("name is not valid UTF-8");
  if (!base::IsValidUtf8(span.status().message())) return Reject("status.message is not valid UTF-8");
  return absl::OkStatus();
}

// Events as Phoenix stores them: [{name, timestamp, attributes}], attributes flat (not
// un-flattened); an `exception` event keeps only exception.type/.message/.escaped/.stacktrace.
absl::StatusOr<std::string> EventsJson(const OtlpSpan& span, Allocator& allocator) {
  if (span.events_size() == 0) return std::string("[]");
  rapidjson::Value events(rapidjson::kArrayType);
  for (int i = 0; i < span.events_size(); ++i) {
    const auto& event = span.events(i);
    const std::string where = "event #" + std::to_string(i);
    if (!base::IsValidUtf8(event.name())) return Reject(where + " name is not valid UTF-8");
    FlatAttributes attributes;
    OSPREY_RETURN_IF_ERROR(internal::DecodeKeyValues(event.attributes(), where + " attribute", allocator, &attributes));
    rapidjson::Value attributes_json(rapidjson::kObjectType);
    const auto add = [&](std::string_view key, rapidjson::Value&& value) {
      attributes_json.AddMember(rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), allocator),
                                std::move(value), allocator);
    };
    if (event.name() == "exception") {
      const auto copy_if_set = [&](std::string_view key) {
        const rapidjson::Value* value = attributes.Find(key);
        if (value != nullptr && !value->IsNull()) add(key, rapidjson::Value(*value, allocator));
      };
      copy_if_set("exception.type");
      const rapidjson::Value* message = attributes.Find("exception.message");
      add("exception.message", message != nullptr && internal::PyTruthy(*message)
                                   ? rapidjson::Value(*message, allocator)
                                   : rapidjson::Value(""));
      copy_if_set("exception.escaped");
      copy_if_set("exception.stacktrace");
    } else {
      for (auto& entry : attributes.entries()) add(entry.key, std::move(entry.value));
    }
    rapidjson::Value object(rapidjson::kObjectType);
    object.AddMember(
        "name", rapidjson::Value(event.name().data(), static_cast<rapidjson::SizeType>(event.name().size()), allocator),
        allocator);
    const std::string timestamp = base::FormatIsoTime(event.time_unix_nano());
    object.AddMember("timestamp",
                     rapidjson::Value(timestamp.data(), static_cast<rapidjson::SizeType>(timestamp.size()), allocator),
                     allocator);
    object.AddMember("attributes", std::move(attributes_json), allocator);
    events.PushBack(std::move(object), allocator);
  }
  return ToJson(events);
}

std::string SpanKind(const rapidjson::Value& attributes) {
  const rapidjson::Value* kind = internal::GetAttributeValue(attributes, "openinference.span.kind");
  if (kind == nullptr || !kind->IsString()) return "UNKNOWN";
  std::string upper(View(*kind));
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return std::find(kSpanKinds.begin(), kSpanKinds.end(), upper) != kSpanKinds.end() ? upper : "UNKNOWN";
}

int64_t TokenCount(const rapidjson::Value& attributes, std::string_view key, bool* present = nullptr) {
  const rapidjson::Value* value = internal::GetAttributeValue(attributes, key);
  int64_t count = 0;
  const bool ok = value != nullptr && internal::CoerceInt(*value, &count);
  if (present != nullptr) *present = ok;
  return ok ? count : 0;
}

// `llm.token_count.<side>_details.*` as (token type, count) pairs; non-integer counts are skipped.
std::vector<std::pair<std::string, int64_t>> TokenDetails(const rapidjson::Value& attributes, std::string_view key) {
  std::vector<std::pair<std::string, int64_t>> details;
  const rapidjson::Value* object = internal::GetAttributeValue(attributes, key);
  if (object == nullptr || !object->IsObject()) return details;
  for (const auto& member : object->GetObject()) {
    int64_t count = 0;
    if (internal::CoerceInt(member.value, &count) && count > 0) details.emplace_back(View(member.name), count);
  }
  return details;
}

void PriceSpan(const costs::PriceTable& prices, const rapidjson::Value& attributes, model::v1::Span* out) {
  costs::CostInput input;
  input.model_name = out->llm_model_name();
  if (const rapidjson::Value* provider = internal::GetAttributeValue(attributes, "llm.provider");
      provider != nullptr && provider->IsString()) {
    input.provider = View(*provider);
  }
  input.start_time_ns = static_cast<int64_t>(out->start_time_unix_nano());
  input.prompt_tokens = out->llm_token_count_prompt();
  input.completion_tokens = out->llm_token_count_completion();
  input.total_tokens = out->llm_token_count_total();
  input.prompt_details = TokenDetails(attributes, "llm.token_count.prompt_details");
  input.completion_details = TokenDetails(attributes, "llm.token_count.completion_details");
  std::optional<costs::SpanCost> cost = prices.Compute(input);
  if (!cost) return;
  model::v1::SpanCost* field = out->mutable_cost();
  if (cost->prompt_cost) field->set_prompt(*cost->prompt_cost);
  if (cost->completion_cost) field->set_completion(*cost->completion_cost);
  if (cost->total_cost) field->set_total(*cost->total_cost);
  field->set_details_json(cost->DetailsJson());
}

absl::Status NormalizeSpan(const OtlpSpan& span, const std::string& project, const NormalizeOptions& options,
                           model::v1::Span* out) {
  OSPREY_RETURN_IF_ERROR(Validate(span));

  // Every value lives in `scratch`; strings are views of the request's, which outlives them.
  SpanAllocator scratch;
  Allocator& allocator = scratch.get();
  FlatAttributes flat;
  OSPREY_RETURN_IF_ERROR(internal::DecodeKeyValues(span.attributes(), "attribute", allocator, &flat));
  internal::MergeGenAi(&flat, allocator);
  internal::LoadJsonStrings(&flat, allocator);
  rapidjson::Value attributes;
  OSPREY_RETURN_IF_ERROR(internal::Unflatten(&flat, allocator, &attributes));
  internal::CoerceTokenCounts(&attributes);

  // A non-string (truthy) input.value is stored as its JSON text, typed application/json.
  if (rapidjson::Value* input = internal::GetAttributeValue(attributes, "input.value");
      input != nullptr && !input->IsString() && internal::PyTruthy(*input)) {
    const std::string dumped = internal::PyJsonDumps(*input, /*ensure_ascii=*/true);
    input->SetString(dumped.data(), static_cast<rapidjson::SizeType>(dumped.size()), allocator);
    rapidjson::Value& input_object = attributes["input"];
    if (rapidjson::Value* mime = internal::FindMemberValue(input_object, "mime_type"); mime != nullptr) {
      mime->SetString("application/json", allocator);
    } else {
      input_object.AddMember("mime_type", rapidjson::Value("application/json", allocator), allocator);
    }
  }

  OSPREY_ASSIGN_OR_RETURN(std::string events_json, EventsJson(span, allocator));

  out->set_project_name(project);
  out->set_trace_id(span.trace_id());
  out->set_span_id(span.span_id());
  out->set_parent_span_id(span.parent_span_id());
  out->set_name(span.name());
  out->set_span_kind(SpanKind(attributes));
  out->set_start_time_unix_nano(span.start_time_unix_nano());
  out->set_end_time_unix_nano(span.end_time_unix_nano());
  switch (span.status().code()) {
    case opentelemetry::proto::trace::v1::Status::STATUS_CODE_OK:
      out->set_status_code(model::v1::STATUS_CODE_OK);
      break;
    case opentelemetry::proto::trace::v1::Status::STATUS_CODE_ERROR:
      out->set_status_code(model::v1::STATUS_CODE_ERROR);
      break;
    default:
      out->set_status_code(model::v1::STATUS_CODE_UNSET);
  }
  out->set_status_message(span.status().message());
  out->set_attributes_json(ToJson(attributes));
  out->set_events_json(std::move(events_json));

  if (const rapidjson::Value* session = internal::GetAttributeValue(attributes, "session.id");
      session != nullptr && !session->IsNull()) {
    out->set_session_id(TrimmedStr(*session));
  }
  if (const rapidjson::Value* user = internal::GetAttributeValue(attributes, "user.id");
      user != nullptr && !user->IsNull()) {
    out->set_user_id(TrimmedStr(*user));
  }
  if (const rapidjson::Value* model = internal::GetAttributeValue(attributes, "llm.model_name");
      model != nullptr && model->IsString()) {
    out->set_llm_model_name(View(*model).data(), View(*model).size());
  }
  if (out->span_kind() == "LLM") {
    const int64_t prompt = TokenCount(attributes, "llm.token_count.prompt");
    const int64_t completion = TokenCount(attributes, "llm.token_count.completion");
    bool has_total = false;
    const int64_t total = TokenCount(attributes, "llm.token_count.total", &has_total);
    out->set_llm_token_count_prompt(prompt);
    out->set_llm_token_count_completion(completion);
    out->set_llm_token_count_total(has_total ? total : prompt + completion);
    if (options.prices != nullptr) PriceSpan(*options.prices, attributes, out);
  }
  if (const rapidjson::Value* input = internal::GetAttributeValue(attributes, "input.value");
      input != nullptr && input->IsString()) {
    const std::string_view preview = internal::TruncateUtf8(View(*input), options.preview_chars);
    out->set_input_preview(preview.data(), preview.size());
  }
  if (const rapidjson::Value* output = internal::GetAttributeValue(attributes, "output.value");
      output != nullptr && output->IsString()) {
    const std::string_view preview = internal::TruncateUtf8(View(*output), options.preview_chars);
    out->set_output_preview(preview.data(), preview.size());
  }
  return absl::OkStatus();
}

// Normalizes every span of the request into the span `slot()` gives; `keep(span)` takes a valid
// one, and a rejected one's slot is cleared and given again.
template <typename Slot, typename Keep>
std::vector<RejectedSpan> NormalizeEach(const ExportRequest& request, const NormalizeOptions& options, Slot slot,
                                        Keep keep) {
  std::vector<RejectedSpan> rejected;
  for (const auto& resource_spans : request.resource_spans()) {
    const absl::StatusOr<std::string> project = ResolveProject(resource_spans.resource(), options);
    for (const auto& scope_spans : resource_spans.scope_spans()) {
      for (const auto& span : scope_spans.spans()) {
        model::v1::Span* normalized = slot();
        absl::Status status = project.ok() ? NormalizeSpan(span, *project, options, normalized) : project.status();
        if (status.ok()) {
          keep(normalized);
        } else {
          normalized->Clear();
          rejected.push_back(RejectedSpan{base::HexEncode(span.trace_id()), base::HexEncode(span.span_id()),
                                          std::string(status.message())});
        }
      }
    }
  }
  return rejected;
}

}  // namespace

std::string RejectionMessage(const std::vector<RejectedSpan>& rejected) {
  if (rejected.empty()) return "";
  std::string message = std::to_string(rejected.size()) + (rejected.size() == 1 ? " span" : " spans") + " rejected: ";
  for (size_t i = 0; i < rejected.size() && i < kMaxReasonsInMessage; ++i) {
    if (i > 0) message += "; ";
    const RejectedSpan& r = rejected[i];
    message += "span " + (r.span_id_hex.empty() ? std::string("<no id>") : r.span_id_hex) + ": " + r.reason;
  }
  if (rejected.size() > kMaxReasonsInMessage) {
    message += "; and " + std::to_string(rejected.size() - kMaxReasonsInMessage) + " more";
  }
  return message;
}

std::string NormalizeResult::ErrorMessage() const { return RejectionMessage(rejected); }

NormalizeResult Normalize(const ExportRequest& request, const NormalizeOptions& options) {
  NormalizeResult result;
  model::v1::Span scratch;
  result.rejected = NormalizeEach(
      request, options, [&] { return &scratch; },
      [&](model::v1::Span* span) { result.spans.push_back(std::move(*span)); });
  return result;
}

std::vector<RejectedSpan> NormalizeOnArena(const ExportRequest& request, const NormalizeOptions& options,
                                           google::protobuf::Arena* arena, std::vector<model::v1::Span*>* spans) {
  model::v1::Span* pending = nullptr;
  return NormalizeEach(
      request, options,
      [&] {
        if (pending == nullptr) pending = google::protobuf::Arena::CreateMessage<model::v1::Span>(arena);
        return pending;
      },
      [&](model::v1::Span* span) {
        spans->push_back(span);
        pending = nullptr;
      });
}

}  // namespace osprey::otlp
