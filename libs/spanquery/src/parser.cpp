#include "osprey/spanquery/parser.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "osprey/base/status.hpp"

namespace osprey::spanquery {

const char* CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "==";
    case CompareOp::kNe:
      return "!=";
    case CompareOp::kLt:
      return "<";
    case CompareOp::kLe:
      return "<=";
    case CompareOp::kGt:
      return ">";
    case CompareOp::kGe:
      return ">=";
    case CompareOp::kIn:
      return "in";
    case CompareOp::kNotIn:
      return "not in";
    case CompareOp::kIs:
      return "is";
    case CompareOp::kIsNot:
      return "is not";
  }
  return "?";
}

std::string Where(size_t pos) { return "at column " + std::to_string(pos + 1); }

namespace {

absl::Status Error(const std::string& what, size_t pos) {
  return base::Permanent(absl::StatusCode::kInvalidArgument, what + " " + Where(pos));
}

enum class Tok { kEnd, kName, kKeyword, kString, kInt, kFloat, kOp };

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;
  std::string text;  // name, keyword, operator, or decoded string
  int64_t int_value = 0;
  double float_value = 0;
};

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

// Keywords of the subset, and Python keywords outside it (named in the error).
bool IsKeyword(const std::string& word) {
  return word == "and" || word == "or" || word == "not" || word == "in" || word == "is" || word == "None" ||
         word == "True" || word == "False";
}
bool IsUnsupportedKeyword(const std::string& word) {
  static const char* const kWords[] = {"lambda", "if",      "else",     "for",      "while", "await",  "async",
                                       "yield",  "import",  "from",     "def",      "class", "return", "del",
                                       "global", "with",    "as",       "assert",   "pass",  "raise",  "try",
                                       "except", "finally", "nonlocal", "continue", "break", "elif"};
  for (const char* w : kWords) {
    if (word == w) return true;
  }
  return false;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer final {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  absl::StatusOr<std::vector<Token>> Run() {
    std::vector<Token> tokens;
    while (true) {
      while (i_ < src_.size() && (src_[i_] == ' ' || src_[i_] == '\t' || src_[i_] == '\n' || src_[i_] == '\r')) ++i_;
      Token token;
      token.pos = i_;
      if (i_ >= src_.size()) {
        tokens.push_back(token);
        return tokens;
      }
      char c = src_[i_];
      if (c == '\0') return Error("NUL character", i_);
      if (IsIdentStart(c)) {
        size_t start = i_;
        while (i_ < src_.size() && IsIdentChar(src_[i_])) ++i_;
        token.text = std::string(src_.substr(start, i_ - start));
        if (i_ < src_.size() && (src_[i_] == '\'' || src_[i_] == '"')) {
          return Error("string prefix '" + token.text + "' is not supported", start);
        }
        if (IsUnsupportedKeyword(token.text)) return Error("'" + token.text + "' is not supported", start);
        token.kind = IsKeyword(token.text) ? Tok::kKeyword : Tok::kName;
      } else if (IsDigit(c) || (c == '.' && i_ + 1 < src_.size() && IsDigit(src_[i_ + 1]))) {
        OSPREY_RETURN_IF_ERROR(Number(token));
      } else if (c == '\'' || c == '"') {
        OSPREY_RETURN_IF_ERROR(String(token));
      } else {
        static const char* const kOps[] = {"==", "!=", "<=", ">=", "<", ">", "(", ")", "[",
                                           "]",  ",",  ".",  "+",  "-", "*", "/", "%"};
        bool matched = false;
        for (const char* op : kOps) {
          std::string_view text(op);
          if (src_.substr(i_, text.size()) == text) {
            token.kind = Tok::kOp;
            token.text = std::string(text);
            i_ += text.size();
            matched = true;
            break;
          }
        }
        if (!matched) {
          if (c == '=') return Error("'=' is an assignment; use '==' to compare", i_);
          if (static_cast<unsigned char>(c) >= 0x80) return Error("unexpected non-ASCII character", i_);
          return Error(std::string("unexpected character '") + c + "'", i_);
        }
        if (token.text == "*" && i_ < src_.size() && src_[i_] == '*') return Error("'**' is not supported", i_ - 1);
        if (token.text == "/" && i_ < src_.size() && src_[i_] == '/') return Error("'//' is not supported", i_ - 1);
      }
      tokens.push_back(std::move(token));
    }
  }

 private:
  absl::Status Number(Token& token) {
    size_t start = i_;
    bool is_float = false;
    while (i_ < src_.size() && IsDigit(src_[i_])) ++i_;
    if (i_ < src_.size() && src_[i_] == '.') {
      is_float = true;
      ++i_;
      while (i_ < src_.size() && IsDigit(src_[i_])) ++i_;
    }
    if (i_ < src_.size() && (src_[i_] == 'e' || src_[i_] == 'E')) {
      is_float = true;
      ++i_;
      if (i_ < src_.size() && (src_[i_] == '+' || src_[i_] == '-')) ++i_;
      if (i_ >= src_.size() || !IsDigit(src_[i_])) return Error("malformed number exponent", start);
      while (i_ < src_.size() && IsDigit(src_[i_])) ++i_;
    }
    if (i_ < src_.size() && (IsIdentChar(src_[i_]) || src_[i_] == '.')) {
      return Error("malformed number", start);
    }
    std::string text(src_.substr(start, i_ - start));
    if (is_float) {
      errno = 0;
      double value = std::strtod(text.c_str(), nullptr);
      if (errno == ERANGE && (value > 1 || value < -1)) return Error("number out of range", start);
      token.kind = Tok::kFloat;
      token.float_value = value;
    } else {
      if (text.size() > 1 && text[0] == '0') return Error("leading zeros in an integer are not allowed", start);
      errno = 0;
      long long value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno == ERANGE) return Error("integer out of range", start);
      token.kind = Tok::kInt;
      token.int_value = value;
    }
    token.text = text;
    return absl::OkStatus();
  }

  absl::Status String(Token& token) {
    size_t start = i_;
    char quote = src_[i_];
    if (src_.substr(i_, 3) == std::string(3, quote)) return Error("triple-quoted strings are not supported", start);
    ++i_;
    std::string value;
    while (true) {
      if (i_ >= src_.size() || src_[i_] == '\n') return Error("unterminated string", start);
      char c = src_[i_];
      if (c == quote) {
        ++i_;
        break;
      }
      if (c == '\0') return Error("NUL character", i_);
      if (c != '\\') {
        value += c;
        ++i_;
        continue;
      }
      size_t escape = i_;
      if (i_ + 1 >= src_.size()) return Error("unterminated string", start);
      char e = src_[i_ + 1];
      i_ += 2;
      switch (e) {
        case '\\':
        case '\'':
        case '"':
          value += e;
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'x':
        case 'u':
        case 'U': {
          size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i_ + digits > src_.size()) return Error("truncated \\" + std::string(1, e) + " escape", escape);
          uint32_t cp = 0;
          for (size_t k = 0; k < digits; ++k) {
            int h = HexValue(src_[i_ + k]);
            if (h < 0) return Error("malformed \\" + std::string(1, e) + " escape", escape);
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          i_ += digits;
          if (cp == 0) return Error("NUL character", escape);
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return Error("invalid code point in escape", escape);
          AppendUtf8(value, cp);
          break;
        }
        case '0':
          return Error("NUL character", escape);
        default:
          // Python keeps an unknown escape as written.
          value += '\\';
          value += e;
      }
    }
    token.kind = Tok::kString;
    token.text = std::move(value);
    return absl::OkStatus();
  }

  std::string_view src_;
  size_t i_ = 0;
};

class Parser final {
 public:
  Parser(std::vector<Token> tokens, const ParseLimits& limits) : tokens_(std::move(tokens)), limits_(limits) {}

  absl::StatusOr<std::unique_ptr<Node>> Run() {
    if (Peek().kind == Tok::kEnd) return Error("empty expression", Peek().pos);
    OSPREY_ASSIGN_OR_RETURN(auto node, Expr());
    if (Peek().kind != Tok::kEnd) return Error("unexpected " + Describe(Peek()), Peek().pos);
    return node;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    size_t k = std::min(next_ + ahead, tokens_.size() - 1);
    return tokens_[k];
  }
  const Token& Take() {
    const Token& t = tokens_[next_];
    if (next_ + 1 < tokens_.size()) ++next_;
    return t;
  }
  bool IsOp(const char* op, size_t ahead = 0) const { return Peek(ahead).kind == Tok::kOp && Peek(ahead).text == op; }
  bool IsKw(const char* kw, size_t ahead = 0) const {
    return Peek(ahead).kind == Tok::kKeyword && Peek(ahead).text == kw;
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of expression";
      case Tok::kString:
        return "string";
      case Tok::kInt:
      case Tok::kFloat:
        return "number " + t.text;
      default:
        return "'" + t.text + "'";
    }
  }

  absl::StatusOr<std::unique_ptr<Node>> Make(NodeType type, size_t pos) {
    if (++nodes_ > limits_.max_nodes) {
      return Error("expression too large (more than " + std::to_string(limits_.max_nodes) + " nodes)", pos);
    }
    auto node = std::make_unique<Node>();
    node->type = type;
    node->pos = pos;
    return node;
  }

  // Depth guard: entered by every production that nests (not, unary sign, brackets, subscripts, calls).
  class Depth final {
   public:
    explicit Depth(Parser* p) : p_(p) { ++p_->depth_; }
    ~Depth() { --p_->depth_; }
    Depth(const Depth&) = delete;
    Depth& operator=(const Depth&) = delete;

   private:
    Parser* p_;
  };
  absl::Status CheckDepth(size_t pos) const {
    if (depth_ > limits_.max_depth) {
      return Error("expression nested too deeply (more than " + std::to_string(limits_.max_depth) + " levels)", pos);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<Node>> Expr() { return Or(); }

  absl::StatusOr<std::unique_ptr<Node>> BoolChain(NodeType type, const char* kw,
                                                  absl::StatusOr<std::unique_ptr<Node>> (Parser::*operand)()) {
    size_t pos = Peek().pos;
    OSPREY_ASSIGN_OR_RETURN(auto first, (this->*operand)());
    if (!IsKw(kw)) return first;
    OSPREY_ASSIGN_OR_RETURN(auto node, Make(type, pos));
    node->children.push_back(std::move(first));
    while (IsKw(kw)) {
      Take();
      OSPREY_ASSIGN_OR_RETURN(auto next, (this->*operand)());
      node->children.push_back(std::move(next));
    }
    return node;
  }
  absl::StatusOr<std::unique_ptr<Node>> Or() { return BoolChain(NodeType::kOr, "or", &Parser::And); }
  absl::StatusOr<std::unique_ptr<Node>> And() { return BoolChain(NodeType::kAnd, "and", &Parser::Not); }

  absl::StatusOr<std::unique_ptr<Node>> Not() {
    if (!IsKw("not")) return Comparison();
    Depth depth(this);
    OSPREY_RETURN_IF_ERROR(CheckDepth(Peek().pos));
    size_t pos = Take().pos;
    OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kNot, pos));
    OSPREY_ASSIGN_OR_RETURN(auto operand, Not());
    node->children.push_back(std::move(operand));
    return node;
  }

  // The comparison operator at the cursor, consumed; nullopt when there is none.
  std::optional<CompareOp> TakeCompareOp() {
    static const std::pair<const char*, CompareOp> kOps[] = {{"==", CompareOp::kEq}, {"!=", CompareOp::kNe},
                                                             {"<=", CompareOp::kLe}, {">=", CompareOp::kGe},
                                                             {"<", CompareOp::kLt},  {">", CompareOp::kGt}};
    for (const auto& [text, op] : kOps) {
      if (IsOp(text)) {
        Take();
        return op;
      }
    }
    if (IsKw("in")) {
      Take();
      return CompareOp::kIn;
    }
    if (IsKw("not") && IsKw("in", 1)) {
      Take();
      Take();
      return CompareOp::kNotIn;
    }
    if (IsKw("is")) {
      Take();
      if (IsKw("not")) {
        Take();
        return CompareOp::kIsNot;
      }
      return CompareOp::kIs;
    }
    return std::nullopt;
  }

  absl::StatusOr<std::unique_ptr<Node>> Comparison() {
    size_t pos = Peek().pos;
    OSPREY_ASSIGN_OR_RETURN(auto first, Arith());
    std::optional<CompareOp> op = TakeCompareOp();
    if (!op) return first;
    OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kCompare, pos));
    node->children.push_back(std::move(first));
    while (op) {
      node->ops.push_back(*op);
      OSPREY_ASSIGN_OR_RETURN(auto next, Arith());
      node->children.push_back(std::move(next));
      op = TakeCompareOp();
    }
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> Binary(const std::vector<std::pair<const char*, BinaryOp>>& ops,
                                               absl::StatusOr<std::unique_ptr<Node>> (Parser::*operand)()) {
    size_t pos = Peek().pos;
    OSPREY_ASSIGN_OR_RETURN(auto left, (this->*operand)());
    // A chain `a + b + c` builds a left-deep tree: each operator counts as one level of nesting.
    int levels = 0;
    while (true) {
      const std::pair<const char*, BinaryOp>* found = nullptr;
      for (const auto& op : ops) {
        if (IsOp(op.first)) found = &op;
      }
      if (found == nullptr) {
        depth_ -= levels;
        return left;
      }
      ++depth_;
      ++levels;
      OSPREY_RETURN_IF_ERROR(CheckDepth(Peek().pos));
      Take();
      OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kBinary, pos));
      node->binary_op = found->second;
      OSPREY_ASSIGN_OR_RETURN(auto right, (this->*operand)());
      node->children.push_back(std::move(left));
      node->children.push_back(std::move(right));
      left = std::move(node);
    }
  }
  absl::StatusOr<std::unique_ptr<Node>> Arith() {
    return Binary({{"+", BinaryOp::kAdd}, {"-", BinaryOp::kSub}}, &Parser::Term);
  }
  absl::StatusOr<std::unique_ptr<Node>> Term() {
    return Binary({{"*", BinaryOp::kMul}, {"/", BinaryOp::kDiv}, {"%", BinaryOp::kMod}}, &Parser::Factor);
  }

  absl::StatusOr<std::unique_ptr<Node>> Factor() {
    if (!IsOp("+") && !IsOp("-")) return Primary();
    Depth depth(this);
    OSPREY_RETURN_IF_ERROR(CheckDepth(Peek().pos));
    if (IsOp("+")) {
      Take();
      return Factor();
    }
    size_t pos = Take().pos;
    OSPREY_ASSIGN_OR_RETURN(auto operand, Factor());
    // Fold negative literals, so `-5` is a constant like `5`.
    if (operand->type == NodeType::kInt && operand->int_value != INT64_MIN) {
      operand->int_value = -operand->int_value;
      operand->pos = pos;
      return operand;
    }
    if (operand->type == NodeType::kFloat) {
      operand->float_value = -operand->float_value;
      operand->pos = pos;
      return operand;
    }
    OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kNegate, pos));
    node->children.push_back(std::move(operand));
    return node;
  }

  absl::StatusOr<std::unique_ptr<Node>> Primary() {
    OSPREY_ASSIGN_OR_RETURN(auto node, Atom());
    while (true) {
      if (IsOp(".")) {
        Take();
        if (Peek().kind != Tok::kName) return Error("expected a name after '.', found " + Describe(Peek()), Peek().pos);
        const Token& name = Take();
        // The position of an attribute node is its name's, so errors about the name point at it.
        OSPREY_ASSIGN_OR_RETURN(auto attr, Make(NodeType::kAttribute, name.pos));
        attr->text = name.text;
        attr->children.push_back(std::move(node));
        node = std::move(attr);
      } else if (IsOp("[")) {
        size_t open = Take().pos;
        Depth depth(this);
        OSPREY_RETURN_IF_ERROR(CheckDepth(open));
        OSPREY_ASSIGN_OR_RETURN(auto sub, Make(NodeType::kSubscript, node->pos));
        OSPREY_ASSIGN_OR_RETURN(auto index, Expr());
        if (!IsOp("]"))
          return Error("expected ']' to close '[' " + Where(open) + ", found " + Describe(Peek()), Peek().pos);
        Take();
        sub->children.push_back(std::move(node));
        sub->children.push_back(std::move(index));
        node = std::move(sub);
      } else if (IsOp("(")) {
        if (node->type != NodeType::kName) return Error("only str(), int() and float() can be called", Peek().pos);
        size_t open = Take().pos;
        Depth depth(this);
        OSPREY_RETURN_IF_ERROR(CheckDepth(open));
        OSPREY_ASSIGN_OR_RETURN(auto call, Make(NodeType::kCall, node->pos));
        call->text = node->text;
        OSPREY_ASSIGN_OR_RETURN(call->children, Items(")", open));
        node = std::move(call);
      } else {
        return node;
      }
    }
  }

  // Comma-separated expressions up to `close` (consumed); a trailing comma is allowed.
  absl::StatusOr<std::vector<std::unique_ptr<Node>>> Items(const char* close, size_t open) {
    std::vector<std::unique_ptr<Node>> items;
    while (!IsOp(close)) {
      OSPREY_ASSIGN_OR_RETURN(auto item, Expr());
      items.push_back(std::move(item));
      if (IsOp(",")) {
        Take();
        continue;
      }
      if (!IsOp(close)) {
        return Error(std::string("expected ',' or '") + close + "' to close the bracket " + Where(open) + ", found " +
                         Describe(Peek()),
                     Peek().pos);
      }
    }
    Take();
    return items;
  }

  absl::StatusOr<std::unique_ptr<Node>> Atom() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kName: {
        Take();
        OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kName, t.pos));
        node->text = t.text;
        return node;
      }
      case Tok::kString: {
        OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kString, t.pos));
        while (Peek().kind == Tok::kString) node->text += Take().text;  // implicit concatenation
        return node;
      }
      case Tok::kInt: {
        Take();
        OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kInt, t.pos));
        node->int_value = t.int_value;
        return node;
      }
      case Tok::kFloat: {
        Take();
        OSPREY_ASSIGN_OR_RETURN(auto node, Make(NodeType::kFloat, t.pos));
        node->float_value = t.float_value;
        return node;
      }
      case Tok::kKeyword: {
        if (t.text == "None" || t.text == "True" || t.text == "False") {
          Take();
          OSPREY_ASSIGN_OR_RETURN(auto node, Make(t.text == "None" ? NodeType::kNone : NodeType::kBool, t.pos));
          node->bool_value = t.text == "True";
          return node;
        }
        return Error("unexpected " + Describe(t), t.pos);
      }
      case Tok::kOp: {
        if (t.text == "(" || t.text == "[") {
          bool list = t.text == "[";
          size_t open = Take().pos;
          Depth depth(this);
          OSPREY_RETURN_IF_ERROR(CheckDepth(open));
          if (!list && !IsOp(")")) {
            OSPREY_ASSIGN_OR_RETURN(auto inner, Expr());
            if (IsOp(")")) {
              Take();
              return inner;  // parenthesized expression
            }
            if (!IsOp(",")) {
              return Error("expected ')' to close '(' " + Where(open) + ", found " + Describe(Peek()), Peek().pos);
            }
            Take();
            OSPREY_ASSIGN_OR_RETURN(auto tuple, Make(NodeType::kTuple, open));
            tuple->children.push_back(std::move(inner));
            OSPREY_ASSIGN_OR_RETURN(auto rest, Items(")", open));
            for (auto& item : rest) tuple->children.push_back(std::move(item));
            return tuple;
          }
          OSPREY_ASSIGN_OR_RETURN(auto node, Make(list ? NodeType::kList : NodeType::kTuple, open));
          OSPREY_ASSIGN_OR_RETURN(node->children, Items(list ? "]" : ")", open));
          return node;
        }
        return Error("unexpected " + Describe(t), t.pos);
      }
      case Tok::kEnd:
        return Error("unexpected end of expression", t.pos);
    }
    return Error("unexpected " + Describe(t), t.pos);
  }

  std::vector<Token> tokens_;
  const ParseLimits& limits_;
  size_t next_ = 0;
  size_t nodes_ = 0;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> ParseExpression(std::string_view source, const ParseLimits& limits) {
  if (source.size() > limits.max_length) {
    return base::Permanent(absl::StatusCode::kInvalidArgument, "expression too long (" + std::to_string(source.size()) +
                                                                   " bytes, at most " +
                                                                   std::to_string(limits.max_length) + ")");
  }
  OSPREY_ASSIGN_OR_RETURN(auto tokens, Lexer(source).Run());
  return Parser(std::move(tokens), limits).Run();
}

}  // namespace osprey::spanquery
