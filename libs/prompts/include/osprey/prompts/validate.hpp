#pragma once

// Validation of prompt names and prompt versions as Phoenix's REST schemas define them
// (`Identifier`, `PromptVersionData` and everything it references: `PromptChatTemplate`,
// `PromptStringTemplate`, `Prompt*InvocationParameters`, `PromptTools`, `PromptResponseFormatJSONSchema`).
//
// Every function is pure and thread-safe. A failure is INVALID_ARGUMENT (permanent) whose message names
// the offending field by its path from `version`, e.g.
//   version.invocation_parameters.openai: unknown key "foo"
//   version.template.messages[2].content[0].tool_call.arguments: expected a string
// so a gateway can hand the message to its client unchanged.

#include <string_view>

#include "absl/status/status.h"
#include "osprey/prompts/v1/prompts.pb.h"

namespace osprey::prompts {

// Phoenix's Identifier: ^[a-z0-9]([_a-z0-9-]*[a-z0-9])?$ (prompt and tag names). `field` names the
// value in the error message ("name", "prompt.name", "tag.name", ...).
absl::Status ValidateIdentifier(std::string_view name, std::string_view field = "name");

// The model_provider enum (OPENAI, AZURE_OPENAI, ANTHROPIC, GOOGLE, DEEPSEEK, XAI, OLLAMA, AWS,
// CEREBRAS, FIREWORKS, GROQ, MOONSHOT, PERPLEXITY, TOGETHER).
bool IsModelProvider(std::string_view provider);

// The invocation-parameters discriminator of a provider: its lowercase name ("OPENAI" -> "openai",
// "AZURE_OPENAI" -> "azure_openai"). Empty for an unknown provider.
std::string_view InvocationParametersType(std::string_view provider);

// A whole version: model_provider, model_name (non-empty), template_type and template_json agree
// (CHAT <-> {"type":"chat","messages":[...]}, STR <-> {"type":"string","template":"..."}),
// template_format is set, invocation_parameters_json matches the provider's schema (its "type" equals
// InvocationParametersType(model_provider); no extra keys; typed fields), tools_json and
// response_format_json when present. id, prompt_id, description and created_at are not checked.
absl::Status ValidateVersion(const osprey::prompts::v1::PromptVersion& version);

// A prompt's metadata_json: a JSON object (Phoenix's `metadata: dict`). `field` names it in errors.
absl::Status ValidateMetadataJson(std::string_view metadata_json, std::string_view field = "metadata");

}  // namespace osprey::prompts
