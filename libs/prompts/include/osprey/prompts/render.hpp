#pragma once

// Rendering of prompt templates with variables, as Phoenix renders them on its server.
//
//  - MUSTACHE: the mustache language as pystache implements it (variables, dotted names, the implicit
//    iterator `{{.}}`, sections over lists/objects/truthy values, inverted sections, comments,
//    `{{{x}}}` / `{{&x}}`, set-delimiter tags, standalone-line removal). Phoenix disables HTML escaping,
//    so `{{x}}` and `{{{x}}}` render the same. A name that does not resolve renders as the empty string
//    and is reported as missing (names of inverted sections are not reported: absence is their point).
//    Partials have no source here: `{{>p}}` renders nothing. Non-string values render as Python's str()
//    does: 3, 2.5, True, False, None.
//  - F_STRING: Python's str.format with keyword arguments: `{name}` substitutes, `{{` and `}}` are
//    literal braces, `{name[key]}` / `{name[0]}` index objects and arrays, `!s`/`!r`/`!a` conversions
//    and string format specs (`{name:>10}`, `{name:.3}`) apply as in Python. An unbalanced brace, a
//    positional field (`{}`, `{0}`), attribute access (`{a.b}`) or a nested field in a spec is an error.
//    A name without a value renders as the empty string and is reported as missing.
//  - NONE: the text is returned unchanged.
//
// A chat template renders the text of every string content and every `text` content part; tool calls
// and tool results are left as they are. Errors are INVALID_ARGUMENT naming the template position.
// Every function is pure and thread-safe.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "osprey/prompts/v1/prompts.pb.h"

namespace osprey::prompts {

struct RenderedText {
  std::string text;
  // Names referenced but not given, in order of first reference, without duplicates.
  std::vector<std::string> missing_variables;
};

struct RenderedTemplate {
  std::string template_json;  // the template with the variables substituted, compact JSON
  std::vector<std::string> missing_variables;
};

// Variables as JSON: `variables_json` is a JSON object whose values may be strings, numbers, booleans,
// null, arrays and objects (for sections and dotted names).
absl::StatusOr<RenderedText> RenderMustache(std::string_view text, std::string_view variables_json);
absl::StatusOr<RenderedText> RenderFString(std::string_view text, std::string_view variables_json);

// One piece of text in the given format (UNSPECIFIED is refused).
absl::StatusOr<RenderedText> RenderText(std::string_view text, osprey::prompts::v1::TemplateFormat format,
                                        std::string_view variables_json);

// A template (the PromptVersion.template_json form) with JSON variables.
absl::StatusOr<RenderedTemplate> RenderTemplate(std::string_view template_json,
                                                osprey::prompts::v1::TemplateFormat format,
                                                std::string_view variables_json);

// A version's template with string variables (RenderPromptVersionRequest.variables): every value is
// a string.
absl::StatusOr<RenderedTemplate> RenderVersion(const osprey::prompts::v1::PromptVersion& version,
                                               const std::map<std::string, std::string>& variables);

// The same, taking the request's protobuf map directly.
absl::StatusOr<RenderedTemplate> RenderVersion(
    const osprey::prompts::v1::PromptVersion& version,
    const google::protobuf::Map<std::string, std::string>& variables);

}  // namespace osprey::prompts
