#pragma once

// OTel GenAI semantic conventions (`gen_ai.*`) → OpenInference attributes, as Phoenix translates
// them at ingest (phoenix-compat §3.3): span kind from gen_ai.operation.name, provider/system,
// model, invocation parameters, token usage, input/output messages (system instructions first),
// finish reasons, response id/model, tool definitions, tool calls and retrieval documents.
// Thread safety: pure functions over caller-owned data.

#include "attributes.hpp"

namespace osprey::otlp::internal {

// The OpenInference attributes implied by the `gen_ai.*` attributes of `attributes` (flat, dotted
// keys). Empty when there is no `gen_ai.*` key. Malformed GenAI JSON payloads are skipped.
FlatAttributes GenAiToOpenInference(const FlatAttributes& attributes, Allocator& allocator);

// Adds the translated attributes to `attributes`; keys already present (sent by the client) win.
void MergeGenAi(FlatAttributes* attributes, Allocator& allocator);

}  // namespace osprey::otlp::internal
