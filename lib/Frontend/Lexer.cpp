//===- Lexer.cpp - Tokens of the script language --------------------------===//
///
/// \file
/// Python's tokenizer rules: indentation, implicit and explicit line joining,
/// number and string literals, operators by longest match.
///
//===----------------------------------------------------------------------===//
#include "thjit/Frontend/Lexer.h"

#include "thjit/Support/Format.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>

namespace thjit::frontend {

//===----------------------------------------------------------------------===//
// Token kinds and descriptions
//===----------------------------------------------------------------------===//

std::string tokenKindName(TokenKind kind) {
  switch (kind) {
#define THJIT_SPECIAL_NAME(KIND, TEXT)                                         \
  case TokenKind::KIND:                                                        \
    return TEXT;
#define THJIT_PUNCT_NAME(KIND, TEXT)                                           \
  case TokenKind::KIND:                                                        \
    return "'" TEXT "'";
#define THJIT_KEYWORD_NAME(KIND, TEXT)                                         \
  case TokenKind::Kw##KIND:                                                    \
    return "'" TEXT "'";
    THJIT_SPECIAL_TOKENS(THJIT_SPECIAL_NAME)
    THJIT_PUNCT_TOKENS(THJIT_PUNCT_NAME)
    THJIT_KEYWORD_TOKENS(THJIT_KEYWORD_NAME)
#undef THJIT_SPECIAL_NAME
#undef THJIT_PUNCT_NAME
#undef THJIT_KEYWORD_NAME
  }
  return "?";
}

bool isKeyword(TokenKind kind) {
  return kind >= TokenKind::KwFalse && kind <= TokenKind::KwYield;
}

std::string reprString(const std::string &value) {
  bool hasSingle = value.find('\'') != std::string::npos;
  bool hasDouble = value.find('"') != std::string::npos;
  char quote = hasSingle && !hasDouble ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : value) {
    if (c == quote || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

std::string describeToken(const Token &token) {
  switch (token.kind) {
  case TokenKind::EndOfFile:
    return "EOF";
  case TokenKind::Newline:
  case TokenKind::Indent:
  case TokenKind::Dedent:
    return tokenKindName(token.kind);
  case TokenKind::Name:
    return "NAME(" + token.text + ")";
  case TokenKind::Int:
    return "INT(" + std::to_string(token.intValue) + ")";
  case TokenKind::Float:
    return "FLOAT(" + formatPyFloat(token.floatValue) + ")";
  case TokenKind::Imag:
    return "IMAG(" + formatPyFloat(token.floatValue) + ")";
  case TokenKind::String:
    return "STRING(" + reprString(token.stringValue) + ")";
  default:
    return tokenKindName(token.kind);
  }
}

//===----------------------------------------------------------------------===//
// Character helpers
//===----------------------------------------------------------------------===//

static bool isIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool isDigit(char c) { return c >= '0' && c <= '9'; }
static bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }

static int digitValue(char c) {
  if (isDigit(c))
    return c - '0';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z')
    return c - 'A' + 10;
  return 99;
}

/// Appends the UTF-8 encoding of a code point.
static void appendUtf8(std::string &out, uint32_t cp) {
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

/// Decodes the UTF-8 sequence at `s[pos]` (leniently), returning the code
/// point and its length in bytes.
static uint32_t decodeUtf8(const std::string &s, size_t pos, size_t &len) {
  unsigned char c = s[pos];
  len = 1;
  uint32_t cp = c;
  if (c >= 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else if (c >= 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else {
    return cp;
  }
  for (size_t i = 1; i < len; ++i) {
    if (pos + i >= s.size() || (s[pos + i] & 0xC0) != 0x80) {
      len = i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (s[pos + i] & 0x3F);
  }
  return cp;
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

/// "\r\n" and a lone "\r" become "\n".
static std::string normalizeNewlines(const std::string &source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] != '\r') {
      out += source[i];
      continue;
    }
    out += '\n';
    if (i + 1 < source.size() && source[i + 1] == '\n')
      ++i;
  }
  return out;
}

Lexer::Lexer(const std::string &source, const std::string &filename)
    : src(normalizeNewlines(source)), file(filename) {
  // A UTF-8 byte order mark is not part of the text.
  if (src.compare(0, 3, "\xEF\xBB\xBF") == 0)
    pos = 3;
}

Token Lexer::next() {
  while (pending.empty())
    lexMore();
  Token token = std::move(pending.front());
  if (token.kind != TokenKind::EndOfFile)
    pending.pop_front();
  return token;
}

void Lexer::advance() {
  if (atEnd())
    return;
  char c = src[pos++];
  if (c == '\n') {
    ++line;
    col = 1;
    return;
  }
  // Count code points: UTF-8 continuation bytes do not start a column.
  if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
    ++col;
}

SourceLoc Lexer::here() const { return SourceLoc{file, line, col}; }

void Lexer::push(TokenKind kind, SourceLoc loc, std::string text) {
  Token token;
  token.kind = kind;
  token.loc = std::move(loc);
  token.text = std::move(text);
  pending.push_back(std::move(token));
  if (kind != TokenKind::Indent && kind != TokenKind::Dedent &&
      kind != TokenKind::Newline)
    lineHasTokens = true;
}

void Lexer::fail(const std::string &message, SourceLoc loc,
                 bool incompleteInput) const {
  throw ParseError(message, std::move(loc), incompleteInput);
}

void Lexer::lexMore() {
  if (finished) {
    push(TokenKind::EndOfFile, here());
    return;
  }
  if (atLineStart && brackets.empty()) {
    lexLineStart();
    return;
  }
  while (peek() == ' ' || peek() == '\t' || peek() == '\f')
    advance();
  if (atEnd()) {
    lexEnd();
    return;
  }
  char c = peek();
  if (c == '#') {
    while (!atEnd() && peek() != '\n')
      advance();
    return;
  }
  if (c == '\\') {
    SourceLoc loc = here();
    if (peek(1) == '\n') {
      advance();
      advance();
      if (atEnd())
        fail("unexpected EOF while parsing", loc, /*incompleteInput=*/true);
      return;
    }
    if (pos + 1 >= src.size())
      fail("unexpected EOF while parsing", loc, /*incompleteInput=*/true);
    fail("unexpected character after line continuation character", loc);
  }
  if (c == '\n') {
    SourceLoc loc = here();
    advance();
    if (!brackets.empty())
      return;
    if (lineHasTokens)
      push(TokenKind::Newline, loc);
    atLineStart = true;
    lineHasTokens = false;
    return;
  }
  if (isIdentStart(c)) {
    lexName();
    return;
  }
  if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
    lexNumber();
    return;
  }
  if (c == '\'' || c == '"') {
    lexString(here(), pos, /*raw=*/false);
    return;
  }
  lexPunct();
}

void Lexer::lexLineStart() {
  int indentCol = 0, altCol = 0;
  for (;; advance()) {
    char c = peek();
    if (c == ' ') {
      ++indentCol;
      ++altCol;
    } else if (c == '\t') {
      indentCol = (indentCol / 8 + 1) * 8;
      ++altCol;
    } else if (c == '\f') {
      indentCol = altCol = 0;
    } else {
      break;
    }
  }
  atLineStart = false;
  // Blank and comment-only lines do not count for indentation.
  if (atEnd() || peek() == '\n' || peek() == '#') {
    while (!atEnd() && peek() != '\n')
      advance();
    if (!atEnd()) {
      advance();
      atLineStart = true;
    }
    return;
  }

  const char *tabError = "inconsistent use of tabs and spaces in indentation";
  SourceLoc loc = here();
  if (indentCol > indents.back().col) {
    if (altCol <= indents.back().altCol)
      fail(tabError, loc);
    if (indents.size() > kMaxIndents)
      fail("too many levels of indentation", loc);
    indents.push_back({indentCol, altCol});
    push(TokenKind::Indent, loc);
    return;
  }
  while (indentCol < indents.back().col) {
    indents.pop_back();
    push(TokenKind::Dedent, loc);
  }
  if (indentCol != indents.back().col)
    fail("unindent does not match any outer indentation level", loc);
  if (altCol != indents.back().altCol)
    fail(tabError, loc);
}

void Lexer::lexEnd() {
  if (!brackets.empty()) {
    const OpenBracket &open = brackets.back();
    fail(std::string("'") + open.ch + "' was never closed", open.loc,
         /*incompleteInput=*/true);
  }
  SourceLoc loc = here();
  if (lineHasTokens)
    push(TokenKind::Newline, loc);
  lineHasTokens = false;
  while (indents.size() > 1) {
    indents.pop_back();
    push(TokenKind::Dedent, loc);
  }
  push(TokenKind::EndOfFile, loc);
  finished = true;
}

void Lexer::lexName() {
  SourceLoc loc = here();
  size_t start = pos;
  while (isIdentChar(peek()))
    advance();
  std::string text = src.substr(start, pos - start);

  if (peek() == '\'' || peek() == '"') {
    std::string prefix;
    for (char c : text)
      prefix += static_cast<char>(c | 0x20); // ASCII lower case
    if (prefix == "r" || prefix == "u") {
      lexString(loc, start, /*raw=*/prefix == "r");
      return;
    }
    if (prefix == "f" || prefix == "rf" || prefix == "fr")
      fail("f-strings are not supported", loc);
    if (prefix == "b" || prefix == "rb" || prefix == "br")
      fail("bytes literals are not supported", loc);
  }

  // Non-ASCII letters are not identifiers in this language.
  if (static_cast<unsigned char>(peek()) >= 0x80) {
    lexPunct();
    return;
  }

#define THJIT_KEYWORD_MATCH(KIND, TEXT)                                        \
  if (text == TEXT) {                                                          \
    push(TokenKind::Kw##KIND, loc, text);                                      \
    return;                                                                    \
  }
  THJIT_KEYWORD_TOKENS(THJIT_KEYWORD_MATCH)
#undef THJIT_KEYWORD_MATCH
  push(TokenKind::Name, loc, text);
}

void Lexer::lexNumber() {
  SourceLoc loc = here();
  size_t start = pos;

  // Radix-prefixed integers: 0x.., 0o.., 0b..
  char prefix = static_cast<char>(peek(1) | 0x20);
  if (peek() == '0' && (prefix == 'x' || prefix == 'o' || prefix == 'b')) {
    int radix = prefix == 'x' ? 16 : prefix == 'o' ? 8 : 2;
    const char *radixName = prefix == 'x'   ? "hexadecimal"
                            : prefix == 'o' ? "octal"
                                            : "binary";
    std::string invalid = std::string("invalid ") + radixName + " literal";
    advance();
    advance();
    uint64_t value = 0;
    bool overflow = false;
    int digits = 0;
    for (;;) {
      if (peek() == '_') {
        advance();
        if (digitValue(peek()) >= radix)
          fail(invalid, here());
      }
      int d = digitValue(peek());
      if (d >= radix)
        break;
      if (value > (std::numeric_limits<uint64_t>::max() - d) / radix)
        overflow = true;
      value = value * radix + d;
      ++digits;
      advance();
    }
    if (isDigit(peek()))
      fail(std::string("invalid digit '") + peek() + "' in " + radixName +
               " literal",
           here());
    if (digits == 0 || isIdentChar(peek()))
      fail(invalid, here());
    if (overflow ||
        value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail("integer literal too large", loc);
    push(TokenKind::Int, loc, src.substr(start, pos - start));
    pending.back().intValue = static_cast<int64_t>(value);
    return;
  }

  // Decimal: digits ('_' digits)* [. digits] [e [+-] digits] [j]
  std::string clean; // the literal without underscores
  auto readDigits = [&] {
    while (isDigit(peek())) {
      clean += peek();
      advance();
      if (peek() == '_') {
        advance();
        if (!isDigit(peek()))
          fail("invalid decimal literal", here());
      }
    }
  };
  bool isFloat = false;
  readDigits();
  if (peek() == '.') {
    isFloat = true;
    clean += '.';
    advance();
    readDigits();
  }
  if (peek() == 'e' || peek() == 'E') {
    char sign = peek(1);
    bool hasSign = sign == '+' || sign == '-';
    if (!isDigit(peek(hasSign ? 2 : 1)))
      fail("invalid decimal literal", loc);
    isFloat = true;
    clean += 'e';
    advance();
    if (hasSign) {
      clean += sign;
      advance();
    }
    readDigits();
  }
  bool isImag = false;
  if (peek() == 'j' || peek() == 'J') {
    isImag = true;
    advance();
  }
  if (isIdentChar(peek()))
    fail("invalid decimal literal", loc);
  std::string text = src.substr(start, pos - start);

  if (isFloat || isImag) {
    double value = 0;
    auto [ptr, ec] =
        std::from_chars(clean.data(), clean.data() + clean.size(), value);
    (void)ptr;
    // Out of range: Python gives inf for huge literals, 0 for tiny ones.
    if (ec == std::errc::result_out_of_range)
      value = clean.find("e-") != std::string::npos
                  ? 0.0
                  : std::numeric_limits<double>::infinity();
    push(isImag ? TokenKind::Imag : TokenKind::Float, loc, text);
    pending.back().floatValue = value;
    return;
  }

  if (clean.size() > 1 && clean[0] == '0' &&
      clean.find_first_not_of('0') != std::string::npos)
    fail("leading zeros in decimal integer literals are not permitted; use "
         "an 0o prefix for octal integers",
         loc);
  int64_t value = 0;
  auto [ptr, ec] =
      std::from_chars(clean.data(), clean.data() + clean.size(), value);
  (void)ptr;
  if (ec != std::errc())
    fail("integer literal too large", loc);
  push(TokenKind::Int, loc, text);
  pending.back().intValue = value;
}

void Lexer::decodeEscape(std::string &out) {
  SourceLoc loc = here();
  advance(); // the backslash
  char c = peek();
  auto readHex = [&](int count, const char *what) {
    uint32_t cp = 0;
    for (int i = 0; i < count; ++i) {
      int d = digitValue(peek());
      if (d >= 16)
        fail(std::string("truncated ") + what + " escape", loc);
      cp = cp * 16 + d;
      advance();
    }
    if (cp > 0x10FFFF)
      fail("illegal Unicode character", loc);
    appendUtf8(out, cp);
  };
  switch (c) {
  case '\n':
    advance();
    return;
  case '\\':
  case '\'':
  case '"':
    out += c;
    advance();
    return;
  case 'a':
    out += '\a';
    advance();
    return;
  case 'b':
    out += '\b';
    advance();
    return;
  case 'f':
    out += '\f';
    advance();
    return;
  case 'n':
    out += '\n';
    advance();
    return;
  case 'r':
    out += '\r';
    advance();
    return;
  case 't':
    out += '\t';
    advance();
    return;
  case 'v':
    out += '\v';
    advance();
    return;
  case 'x':
    advance();
    readHex(2, "\\xXX");
    return;
  case 'u':
    advance();
    readHex(4, "\\uXXXX");
    return;
  case 'U':
    advance();
    readHex(8, "\\UXXXXXXXX");
    return;
  case 'N':
    fail("\\N{...} escapes are not supported", loc);
  default:
    break;
  }
  if (c >= '0' && c <= '7') {
    uint32_t cp = 0;
    for (int i = 0; i < 3 && peek() >= '0' && peek() <= '7'; ++i) {
      cp = cp * 8 + (peek() - '0');
      advance();
    }
    appendUtf8(out, cp);
    return;
  }
  // An unknown escape keeps its backslash, as Python does.
  out += '\\';
}

void Lexer::lexString(SourceLoc loc, size_t start, bool raw) {
  char quote = peek();
  bool triple = peek(1) == quote && peek(2) == quote;
  advance();
  if (triple) {
    advance();
    advance();
  }
  const char *unterminated = triple
                                 ? "unterminated triple-quoted string literal"
                                 : "unterminated string literal";
  std::string value;
  for (;;) {
    if (atEnd())
      fail(unterminated, loc, /*incompleteInput=*/triple);
    char c = peek();
    if (c == '\n' && !triple)
      fail(unterminated, loc);
    if (c == quote) {
      if (!triple) {
        advance();
        break;
      }
      if (peek(1) == quote && peek(2) == quote) {
        advance();
        advance();
        advance();
        break;
      }
    }
    if (c != '\\') {
      value += c;
      advance();
      continue;
    }
    if (pos + 1 >= src.size())
      fail(unterminated, loc, /*incompleteInput=*/triple);
    if (raw) {
      // In a raw string a backslash only keeps the next character from
      // ending the string; both stay.
      value += c;
      advance();
      value += peek();
      advance();
      continue;
    }
    decodeEscape(value);
  }
  push(TokenKind::String, loc, src.substr(start, pos - start));
  pending.back().stringValue = std::move(value);
}

void Lexer::lexPunct() {
  SourceLoc loc = here();
  static const struct {
    const char *text;
    TokenKind kind;
  } puncts[] = {
#define THJIT_PUNCT_ENTRY(KIND, TEXT) {TEXT, TokenKind::KIND},
      THJIT_PUNCT_TOKENS(THJIT_PUNCT_ENTRY)
#undef THJIT_PUNCT_ENTRY
  };
  // Longest match.
  const char *bestText = nullptr;
  TokenKind bestKind = TokenKind::EndOfFile;
  size_t bestLen = 0;
  for (const auto &p : puncts) {
    size_t len = std::strlen(p.text);
    if (len > bestLen && src.compare(pos, len, p.text) == 0) {
      bestText = p.text;
      bestKind = p.kind;
      bestLen = len;
    }
  }
  if (!bestText) {
    size_t len = 1;
    uint32_t cp = decodeUtf8(src, pos, len);
    char buf[16];
    std::snprintf(buf, sizeof(buf), "U+%04X", cp);
    fail("invalid character '" + src.substr(pos, len) + "' (" + buf + ")", loc);
  }

  char c = bestText[0];
  if (bestLen == 1 && (c == '(' || c == '[' || c == '{')) {
    if (brackets.size() >= kMaxBrackets)
      fail("too many nested parentheses", loc);
    brackets.push_back({c, loc});
  } else if (bestLen == 1 && (c == ')' || c == ']' || c == '}')) {
    if (brackets.empty())
      fail(std::string("unmatched '") + c + "'", loc);
    const OpenBracket &open = brackets.back();
    char expected = open.ch == '(' ? ')' : open.ch == '[' ? ']' : '}';
    if (c != expected) {
      std::string message = std::string("closing parenthesis '") + c +
                            "' does not match opening parenthesis '" + open.ch +
                            "'";
      if (open.loc.line != loc.line)
        message += " on line " + std::to_string(open.loc.line);
      fail(message, loc);
    }
    brackets.pop_back();
  }
  for (size_t i = 0; i < bestLen; ++i)
    advance();
  push(bestKind, loc, bestText);
}

std::vector<Token> tokenize(const std::string &source,
                            const std::string &filename) {
  Lexer lexer(source, filename);
  std::vector<Token> tokens;
  do
    tokens.push_back(lexer.next());
  while (tokens.back().kind != TokenKind::EndOfFile);
  return tokens;
}

} // namespace thjit::frontend
