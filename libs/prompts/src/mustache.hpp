#pragma once

// Renderers over parsed JSON variables (private to libs/prompts; render.cpp parses the variables once).

#include <string_view>

#include "absl/status/statusor.h"
#include "osprey/prompts/render.hpp"
#include "rapidjson/document.h"

namespace osprey::prompts {

// `variables` is the bottom of the context stack (normally an object).
absl::StatusOr<RenderedText> RenderMustacheValue(std::string_view text, const rapidjson::Value& variables);

// `variables` must be an object.
absl::StatusOr<RenderedText> RenderFStringValue(std::string_view text, const rapidjson::Value& variables);

}  // namespace osprey::prompts
