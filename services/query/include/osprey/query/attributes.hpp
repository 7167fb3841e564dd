#pragma once

// Span attributes as Phoenix's REST API returns them. The store keeps attributes as one nested JSON
// document ({"llm": {"input_messages": [{"message": {"role": "user"}}]}}); GET spans answers with
// dotted keys ("llm.input_messages.0.message.role": "user"), following Phoenix's flatten rules:
//  - objects are recursed into; an empty object contributes nothing;
//  - a list holding at least one object is recursed into by index ("x.0.y"), its non-object items
//    are dropped; any other list (scalars only, or empty) is kept whole as the value;
//  - null values are dropped;
//  - when two paths flatten to the same key the later value wins, at the first key's position.
// Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace osprey::query {

// Flattened (key, value) pairs in document order. The values point into `nested`, which must
// outlive the result. A non-object `nested` yields nothing.
std::vector<std::pair<std::string, const rapidjson::Value*>> FlattenAttributes(const rapidjson::Value& nested);

// Writes the flattened attributes of `nested` to `writer` as one JSON object, without the keys in `drop_keys`:
// the same text as writing FlattenAttributes' pairs in order. When no two paths of the document can flatten to
// one key (no key is empty or holds '.', no object repeats a key) the keys are built in one reused buffer and
// written as they are found, with no pair list, per-key string or key index; otherwise through
// FlattenAttributes. A non-object `nested` writes {}.
void WriteFlattenedAttributes(rapidjson::Writer<rapidjson::StringBuffer>& writer, const rapidjson::Value& nested,
                              const std::vector<std::string_view>& drop_keys = {});

// JSON text in, flattened JSON object text out, without the keys in `drop_keys`.
// INVALID_ARGUMENT when `nested_json` is not JSON; an empty string is read as {}.
absl::StatusOr<std::string> FlattenAttributesJson(std::string_view nested_json,
                                                  const std::vector<std::string>& drop_keys = {});

}  // namespace osprey::query
