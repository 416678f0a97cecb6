//===- thjit/Frontend/Lexer.h - Tokens of the script language ---*- C++ -*-===//
///
/// \file
/// The lexer turns script text into Python's tokens, including the NEWLINE,
/// INDENT and DEDENT tokens that carry the block structure:
///
/// - A logical line ends with NEWLINE. Lines that are blank or hold only a
///   comment produce no tokens; newlines inside (), [] and {} and after a
///   backslash continuation are ignored.
/// - Indentation is measured at the start of each logical line (a tab
///   advances to the next multiple of 8); a deeper line produces INDENT, a
///   shallower one a DEDENT for each block it closes. A dedent to a column
///   that no open block has is an error, and so is indentation whose meaning
///   depends on the tab size.
/// - At the end of input: NEWLINE if the last line was not terminated, a
///   DEDENT for each open block, then EndOfFile (repeated on further calls).
///
/// Token columns count Unicode code points, from 1; "\r\n" and "\r" are read
/// as "\n". Errors are thrown as ParseError.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_FRONTEND_LEXER_H
#define THJIT_FRONTEND_LEXER_H

#include "thjit/Support/Error.h"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace thjit::frontend {

/// A syntax error in a script: a SyntaxError with the location of the
/// offending token. The message is short and Python-like ("invalid syntax",
/// "expected ':'"); the location is not part of it.
class ParseError : public SyntaxError {
public:
  ParseError(const std::string &message, SourceLoc loc,
             bool incompleteInput = false)
      : SyntaxError(message), location(std::move(loc)),
        incomplete(incompleteInput) {}

  /// Where the offending token starts.
  const SourceLoc &loc() const { return location; }
  /// True when the input ended where more text could have completed it: in
  /// an open bracket, a triple-quoted string, or after a backslash.
  bool isIncompleteInput() const { return incomplete; }

private:
  SourceLoc location;
  bool incomplete;
};

/// The tokens without a fixed spelling: X(Kind, "description").
#define THJIT_SPECIAL_TOKENS(X)                                                \
  X(EndOfFile, "end of file")                                                  \
  X(Newline, "NEWLINE")                                                        \
  X(Indent, "INDENT")                                                          \
  X(Dedent, "DEDENT")                                                          \
  X(Name, "NAME")                                                              \
  X(Int, "INT")                                                                \
  X(Float, "FLOAT")                                                            \
  X(Imag, "IMAG")                                                              \
  X(String, "STRING")

/// Operators and delimiters: X(Kind, "spelling").
#define THJIT_PUNCT_TOKENS(X)                                                  \
  X(LParen, "(")                                                               \
  X(RParen, ")")                                                               \
  X(LSquare, "[")                                                              \
  X(RSquare, "]")                                                              \
  X(LBrace, "{")                                                               \
  X(RBrace, "}")                                                               \
  X(Comma, ",")                                                                \
  X(Colon, ":")                                                                \
  X(Semi, ";")                                                                 \
  X(Dot, ".")                                                                  \
  X(Ellipsis, "...")                                                           \
  X(Arrow, "->")                                                               \
  X(Equal, "=")                                                                \
  X(ColonEqual, ":=")                                                          \
  X(Plus, "+")                                                                 \
  X(Minus, "-")                                                                \
  X(Star, "*")                                                                 \
  X(Slash, "/")                                                                \
  X(DoubleSlash, "//")                                                         \
  X(Percent, "%")                                                              \
  X(DoubleStar, "**")                                                          \
  X(At, "@")                                                                   \
  X(Amp, "&")                                                                  \
  X(Pipe, "|")                                                                 \
  X(Caret, "^")                                                                \
  X(Tilde, "~")                                                                \
  X(LShift, "<<")                                                              \
  X(RShift, ">>")                                                              \
  X(Less, "<")                                                                 \
  X(Greater, ">")                                                              \
  X(LessEqual, "<=")                                                           \
  X(GreaterEqual, ">=")                                                        \
  X(EqualEqual, "==")                                                          \
  X(NotEqual, "!=")                                                            \
  X(PlusEqual, "+=")                                                           \
  X(MinusEqual, "-=")                                                          \
  X(StarEqual, "*=")                                                           \
  X(SlashEqual, "/=")                                                          \
  X(DoubleSlashEqual, "//=")                                                   \
  X(PercentEqual, "%=")                                                        \
  X(DoubleStarEqual, "**=")                                                    \
  X(AtEqual, "@=")                                                             \
  X(AmpEqual, "&=")                                                            \
  X(PipeEqual, "|=")                                                           \
  X(CaretEqual, "^=")                                                          \
  X(LShiftEqual, "<<=")                                                        \
  X(RShiftEqual, ">>=")

/// Python's keywords: X(Kind, "spelling"); the enumerator is Kw##Kind.
#define THJIT_KEYWORD_TOKENS(X)                                                \
  X(False, "False")                                                            \
  X(None, "None")                                                              \
  X(True, "True")                                                              \
  X(And, "and")                                                                \
  X(As, "as")                                                                  \
  X(Assert, "assert")                                                          \
  X(Async, "async")                                                            \
  X(Await, "await")                                                            \
  X(Break, "break")                                                            \
  X(Class, "class")                                                            \
  X(Continue, "continue")                                                      \
  X(Def, "def")                                                                \
  X(Del, "del")                                                                \
  X(Elif, "elif")                                                              \
  X(Else, "else")                                                              \
  X(Except, "except")                                                          \
  X(Finally, "finally")                                                        \
  X(For, "for")                                                                \
  X(From, "from")                                                              \
  X(Global, "global")                                                          \
  X(If, "if")                                                                  \
  X(Import, "import")                                                          \
  X(In, "in")                                                                  \
  X(Is, "is")                                                                  \
  X(Lambda, "lambda")                                                          \
  X(Nonlocal, "nonlocal")                                                      \
  X(Not, "not")                                                                \
  X(Or, "or")                                                                  \
  X(Pass, "pass")                                                              \
  X(Raise, "raise")                                                            \
  X(Return, "return")                                                          \
  X(Try, "try")                                                                \
  X(While, "while")                                                            \
  X(With, "with")                                                              \
  X(Yield, "yield")

// clang-format off
enum class TokenKind : uint8_t {
#define THJIT_TOKEN_ENUM(KIND, TEXT) KIND,
#define THJIT_KEYWORD_ENUM(KIND, TEXT) Kw##KIND,
  THJIT_SPECIAL_TOKENS(THJIT_TOKEN_ENUM)
  THJIT_PUNCT_TOKENS(THJIT_TOKEN_ENUM)
  THJIT_KEYWORD_TOKENS(THJIT_KEYWORD_ENUM)
#undef THJIT_TOKEN_ENUM
#undef THJIT_KEYWORD_ENUM
};
// clang-format on

/// "NAME", "'+'", "'if'": how a message names the kind.
std::string tokenKindName(TokenKind kind);
/// True for the keyword kinds (KwFalse ... KwYield).
bool isKeyword(TokenKind kind);

/// One token.
struct Token {
  TokenKind kind = TokenKind::EndOfFile;
  SourceLoc loc; ///< Where the token starts.
  /// The source spelling (a NAME's identifier, a number as written, an
  /// operator); empty for NEWLINE/INDENT/DEDENT/EndOfFile.
  std::string text;
  std::string stringValue; ///< STRING: the decoded value (UTF-8).
  int64_t intValue = 0;    ///< INT: the value.
  double floatValue = 0;   ///< FLOAT: the value; IMAG: the imaginary part.

  bool is(TokenKind k) const { return kind == k; }
};

/// A compact description for tests and debugging: `NAME(x)`, `INT(42)`,
/// `FLOAT(1.5)`, `IMAG(2.0)`, `STRING('a\n')`, `'+'`, `'if'`, `NEWLINE`,
/// `INDENT`, `DEDENT`, `EOF`.
std::string describeToken(const Token &token);

/// Python's repr() of a str: `'it\'s'` is written "it's", with \n, \t, \\,
/// other control characters as \xNN, and the quote chosen as Python does.
std::string reprString(const std::string &value);

/// Produces tokens on demand, so that an error late in the input is only
/// reported once the parser gets there.
class Lexer {
public:
  Lexer(const std::string &source, const std::string &filename);

  /// The next token; EndOfFile forever once the input is exhausted. Throws
  /// ParseError for malformed input.
  Token next();

  /// A bracket that is open at the current position.
  struct OpenBracket {
    char ch; ///< '(', '[' or '{'.
    SourceLoc loc;
  };
  /// The brackets open after the last token produced, innermost last.
  const std::vector<OpenBracket> &openBrackets() const { return brackets; }

private:
  /// One open block's indentation: the column with tabs to multiples of 8,
  /// and with tabs as one column (to detect tab-size dependence).
  struct Indent {
    int col;
    int altCol;
  };

  void lexMore();
  void lexLineStart();
  void lexEnd();
  void lexName();
  void lexNumber();
  /// A string literal whose prefix (if any) is consumed; `loc` and `start`
  /// are where the token (with its prefix) begins.
  void lexString(SourceLoc loc, size_t start, bool raw);
  void lexPunct();
  void decodeEscape(std::string &out);

  char peek(size_t ahead = 0) const {
    return pos + ahead < src.size() ? src[pos + ahead] : '\0';
  }
  bool atEnd() const { return pos >= src.size(); }
  void advance();
  SourceLoc here() const;
  void push(TokenKind kind, SourceLoc loc, std::string text = {});
  [[noreturn]] void fail(const std::string &message, SourceLoc loc,
                         bool incompleteInput = false) const;

  /// CPython's limits, which also bound the parser's recursion.
  static constexpr size_t kMaxBrackets = 200;
  static constexpr size_t kMaxIndents = 100;

  std::string src;
  std::string file;
  size_t pos = 0;
  int line = 1;
  int col = 1;
  bool atLineStart = true;
  bool lineHasTokens = false;
  bool finished = false;
  std::vector<Indent> indents{{0, 0}};
  std::vector<OpenBracket> brackets;
  std::deque<Token> pending;
};

/// Every token of `source` up to and including EndOfFile.
std::vector<Token> tokenize(const std::string &source,
                            const std::string &filename = "");

} // namespace thjit::frontend

#endif
