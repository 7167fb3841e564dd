// Mustache as pystache renders it for Phoenix (no HTML escaping, missing names render empty).
//
// Deliberate differences from pystache, where pystache silently produces surprising output: an
// unclosed section is an error (pystache drops the text before it), and so is nesting deeper than
// kMaxDepth (pystache would exhaust Python's recursion limit).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "mustache.hpp"
#include "json_util.hpp"
#include "osprey/base/status.hpp"
#include "python_str.hpp"

namespace osprey::prompts {
namespace {

using rapidjson::Value;

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxOutputBytes = 16 << 20;

struct Node {
  enum class Kind { kText, kVariable, kSection, kInverted };
  Kind kind;
  std::string text;  // kText: the text; otherwise the tag's name
  std::vector<Node> children;
};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  return osprey::base::ToStd(absl::StripAsciiWhitespace(osprey::base::ToAbsl(s)));
}

// Line and column (1-based) of a byte offset, for error messages.
std::string Position(std::string_view text, size_t offset) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return Cat("line ", line, ", column ", column);
}

class Parser final {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<std::vector<Node>> Parse() {
    std::vector<Node> root;
    // Open sections: the node list being filled and the tag that opened it.
    struct Open {
      std::vector<Node>* nodes;
      std::string name;
      size_t offset;
    };
    std::vector<Open> open = {{&root, "", 0}};
    std::string otag = "{{";
    std::string ctag = "}}";
    size_t pos = 0;
    std::string pending;  // text not yet appended as a node

    auto flush = [&]() {
      if (!pending.empty()) {
        open.back().nodes->push_back(Node{Node::Kind::kText, std::move(pending), {}});
        pending.clear();
      }
    };

    while (pos < text_.size()) {
      size_t tag_start = text_.find(otag, pos);
      if (tag_start == std::string_view::npos) {
        pending.append(text_.substr(pos));
        break;
      }
      size_t content_start = tag_start + otag.size();
      char sigil = content_start < text_.size() ? text_[content_start] : '\0';
      std::string close = sigil == '{' ? "}" + ctag : ctag;
      size_t content_end = text_.find(close, content_start + (sigil == '{' ? 1 : 0));
      if (content_end == std::string_view::npos) {
        // No closing delimiter: the opening one is literal text (as in pystache).
        pending.append(text_.substr(pos, content_start - pos));
        pos = content_start;
        continue;
      }
      size_t tag_end = content_end + close.size();
      std::string_view content = text_.substr(content_start, content_end - content_start);
      const bool typed = std::string_view("#^/!>=&{").find(sigil) != std::string_view::npos && sigil != '\0';
      std::string_view name = Trim(typed ? content.substr(1) : content);
      if (sigil == '=') {
        if (name.empty() || name.back() != '=') {
          return Error(tag_start, "a set-delimiter tag must look like {{=<% %>=}}");
        }
        name = Trim(name.substr(0, name.size() - 1));
      }
      if (name.empty() && sigil != '!') {
        // `{{}}` and `{{ }}`: nothing to look up; pystache leaves the empty tag as text.
        pending.append(text_.substr(pos, tag_end - pos));
        pos = tag_end;
        continue;
      }

      pending.append(text_.substr(pos, tag_start - pos));
      pos = tag_end;

      // Standalone lines: a section, inverted, end, comment, partial or set-delimiter tag alone on
      // its line takes the line (its indentation and its line break) with it.
      if (std::string_view("#^/!>=").find(sigil) != std::string_view::npos && sigil != '\0') {
        size_t line_start = text_.rfind('\n', tag_start == 0 ? 0 : tag_start - 1);
        line_start = (tag_start == 0 || line_start == std::string_view::npos) ? 0 : line_start + 1;
        if (tag_start > 0 && text_[tag_start - 1] == '\n') line_start = tag_start;
        bool blank_before = true;
        for (size_t i = line_start; i < tag_start; ++i) blank_before = blank_before && IsBlank(text_[i]);
        size_t after = tag_end;
        while (after < text_.size() && IsBlank(text_[after])) ++after;
        bool blank_after = after == text_.size() || text_[after] == '\n' ||
                           (text_[after] == '\r' && after + 1 < text_.size() && text_[after + 1] == '\n');
        if (blank_before && blank_after) {
          pending.resize(pending.size() - (tag_start - line_start));
          if (after < text_.size()) after += text_[after] == '\r' ? 2 : 1;
          pos = after;
        }
      }

      switch (sigil) {
        case '!':
        case '>':  // partials have no source here: they render nothing
          break;
        case '=': {
          std::vector<std::string> parts =
              absl::StrSplit(osprey::base::ToAbsl(name), absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty());
          if (parts.size() != 2) return Error(tag_start, "a set-delimiter tag must name two delimiters");
          otag = parts[0];
          ctag = parts[1];
          break;
        }
        case '#':
        case '^': {
          flush();
          if (open.size() > kMaxDepth) return Error(tag_start, Cat("sections nest deeper than ", kMaxDepth));
          std::vector<Node>& nodes = *open.back().nodes;
          nodes.push_back(Node{sigil == '#' ? Node::Kind::kSection : Node::Kind::kInverted, std::string(name), {}});
          open.push_back({&nodes.back().children, std::string(name), tag_start});
          break;
        }
        case '/': {
          flush();
          if (open.size() == 1) {
            return Error(tag_start, Cat("{{/", name, "}} closes a section that is not open"));
          }
          if (open.back().name != name) {
            return Error(tag_start, Cat("{{/", name, "}} does not close the open section {{#", open.back().name,
                                                 "}}"));
          }
          open.pop_back();
          break;
        }
        default:  // variable, {{&x}}, {{{x}}}: all unescaped
          flush();
          open.back().nodes->push_back(Node{Node::Kind::kVariable, std::string(name), {}});
          break;
      }
    }
    flush();
    if (open.size() > 1) {
      return Error(open.back().offset, Cat("section {{#", open.back().name, "}} is not closed"));
    }
    return root;
  }

 private:
  absl::Status Error(size_t offset, std::string_view what) const {
    return absl::InvalidArgumentError(Cat("mustache template, ", Position(text_, offset), ": ", what));
  }

  std::string_view text_;
};

class Renderer final {
 public:
  Renderer(const Value& variables, RenderedText& out) : out_(out) { stack_.push_back(&variables); }

  absl::Status Render(const std::vector<Node>& nodes) {
    for (const Node& node : nodes) {
      switch (node.kind) {
        case Node::Kind::kText:
          out_.text += node.text;
          break;
        case Node::Kind::kVariable: {
          const Value* value = Lookup(node.text);
          if (value == nullptr) {
            Missing(node.text);
          } else {
            out_.text += PyFormat(*value, PyConversion::kStr);
          }
          break;
        }
        case Node::Kind::kSection: {
          const Value* value = Lookup(node.text);
          if (value == nullptr) {
            Missing(node.text);
            break;
          }
          if (!PyTruthy(*value)) break;
          if (value->IsArray()) {
            for (rapidjson::SizeType i = 0; i < value->Size(); ++i) {
              OSPREY_RETURN_IF_ERROR(RenderWith((*value)[i], node.children));
            }
          } else {
            OSPREY_RETURN_IF_ERROR(RenderWith(*value, node.children));
          }
          break;
        }
        case Node::Kind::kInverted: {
          const Value* value = Lookup(node.text);
          if (value == nullptr || !PyTruthy(*value)) OSPREY_RETURN_IF_ERROR(Render(node.children));
          break;
        }
      }
      if (out_.text.size() > kMaxOutputBytes) {
        return absl::InvalidArgumentError(Cat("mustache template renders to more than ", kMaxOutputBytes,
                                                       " bytes"));
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status RenderWith(const Value& top, const std::vector<Node>& nodes) {
    stack_.push_back(&top);
    absl::Status status = Render(nodes);
    stack_.pop_back();
    return status;
  }

  // pystache's ContextStack.get: "." is the top; the first part of a dotted name is searched from the
  // top of the stack down among objects; the remaining parts only in what the first part found.
  const Value* Lookup(const std::string& name) const {
    if (name == ".") return stack_.back();
    std::vector<std::string_view> parts;
    std::string_view rest = name;
    for (size_t dot = rest.find('.'); dot != std::string_view::npos; dot = rest.find('.')) {
      parts.push_back(rest.substr(0, dot));
      rest.remove_prefix(dot + 1);
    }
    parts.push_back(rest);
    const Value* found = nullptr;
    for (auto it = stack_.rbegin(); it != stack_.rend() && found == nullptr; ++it) {
      found = Member(**it, parts[0]);
    }
    for (size_t i = 1; i < parts.size() && found != nullptr; ++i) found = Member(*found, parts[i]);
    return found;
  }

  static const Value* Member(const Value& value, std::string_view key) {
    if (!value.IsObject()) return nullptr;
    for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
      if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key) return &it->value;
    }
    return nullptr;
  }

  void Missing(const std::string& name) {
    for (const std::string& m : out_.missing_variables) {
      if (m == name) return;
    }
    out_.missing_variables.push_back(name);
  }

  RenderedText& out_;
  std::vector<const Value*> stack_;
};

}  // namespace

absl::StatusOr<RenderedText> RenderMustacheValue(std::string_view text, const rapidjson::Value& variables) {
  OSPREY_ASSIGN_OR_RETURN(std::vector<Node> nodes, Parser(text).Parse());
  RenderedText out;
  Renderer renderer(variables, out);
  OSPREY_RETURN_IF_ERROR(renderer.Render(nodes));
  return out;
}

}  // namespace osprey::prompts
