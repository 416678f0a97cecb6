//===- LexerTest.cpp - Tokens, literals and indentation -------------------===//
#include "thjit/Frontend/Lexer.h"

#include <catch2/catch.hpp>

using namespace thjit;
using namespace thjit::frontend;

/// The tokens of `source`, described and separated by spaces, without the
/// final EOF.
static std::string lex(const std::string &source) {
  std::string out;
  for (const Token &t : tokenize(source, "t.th")) {
    if (t.is(TokenKind::EndOfFile))
      break;
    if (!out.empty())
      out += ' ';
    out += describeToken(t);
  }
  return out;
}

/// "line:col" of each token, separated by spaces, with the final EOF.
static std::string locations(const std::string &source) {
  std::string out;
  for (const Token &t : tokenize(source, "t.th")) {
    if (!out.empty())
      out += ' ';
    out += std::to_string(t.loc.line) + ":" + std::to_string(t.loc.col);
  }
  return out;
}

/// "line:col: message" of the error lexing `source`, or "no error".
static std::string lexError(const std::string &source) {
  try {
    tokenize(source, "t.th");
  } catch (const ParseError &e) {
    return std::to_string(e.loc().line) + ":" + std::to_string(e.loc().col) +
           ": " + e.what();
  }
  return "no error";
}

static const Token &single(const std::vector<Token> &tokens) {
  REQUIRE(tokens.size() == 3); // the token, NEWLINE, EOF
  return tokens[0];
}

TEST_CASE("names and keywords", "[lexer]") {
  CHECK(lex("x _y z9 if else None True False") ==
        "NAME(x) NAME(_y) NAME(z9) 'if' 'else' 'None' 'True' 'False' NEWLINE");
  CHECK(lex("print lambda not in is") ==
        "NAME(print) 'lambda' 'not' 'in' 'is' NEWLINE");
  CHECK(isKeyword(TokenKind::KwFalse));
  CHECK(isKeyword(TokenKind::KwYield));
  CHECK_FALSE(isKeyword(TokenKind::Name));
  CHECK(tokenKindName(TokenKind::KwDef) == "'def'");
  CHECK(tokenKindName(TokenKind::DoubleSlashEqual) == "'//='");
  CHECK(tokenKindName(TokenKind::Name) == "NAME");
}

TEST_CASE("integer literals", "[lexer]") {
  CHECK(lex("0 7 42 1_000 00 0_0") ==
        "INT(0) INT(7) INT(42) INT(1000) INT(0) INT(0) NEWLINE");
  CHECK(lex("0xff 0XFF 0x_f_f 0o17 0O7 0b101 0B1_1") ==
        "INT(255) INT(255) INT(255) INT(15) INT(7) INT(5) INT(3) NEWLINE");
  CHECK(lex("9223372036854775807") == "INT(9223372036854775807) NEWLINE");
  CHECK(lex("0x7fffffffffffffff") == "INT(9223372036854775807) NEWLINE");
  auto tokens = tokenize("1_000");
  CHECK(single(tokens).text == "1_000");
  CHECK(single(tokens).intValue == 1000);
}

TEST_CASE("float and imaginary literals", "[lexer]") {
  CHECK(lex("1. .5 1.5 1e-3 1.5E+10 1e5 1_0.2_5") ==
        "FLOAT(1.0) FLOAT(0.5) FLOAT(1.5) FLOAT(0.001) FLOAT(15000000000.0) "
        "FLOAT(100000.0) FLOAT(10.25) NEWLINE");
  CHECK(lex("2j 1.5J .5j 1e2j") ==
        "IMAG(2.0) IMAG(1.5) IMAG(0.5) IMAG(100.0) NEWLINE");
  CHECK(single(tokenize("1e400")).floatValue > 1e308);
  CHECK(single(tokenize("1e-400")).floatValue == 0.0);
  // `1 .real` is an int then an attribute; `x.y` is not a number.
  CHECK(lex("x.y") == "NAME(x) '.' NAME(y) NEWLINE");
  CHECK(lex("1 .real") == "INT(1) '.' NAME(real) NEWLINE");
}

TEST_CASE("number literal errors", "[lexer]") {
  CHECK(lexError("x = 0777") ==
        "1:5: leading zeros in decimal integer literals are not permitted; "
        "use an 0o prefix for octal integers");
  CHECK(lexError("1_") == "1:3: invalid decimal literal");
  CHECK(lexError("1__0") == "1:3: invalid decimal literal");
  CHECK(lexError("1e") == "1:1: invalid decimal literal");
  CHECK(lexError("12abc") == "1:1: invalid decimal literal");
  CHECK(lexError("0x") == "1:3: invalid hexadecimal literal");
  CHECK(lexError("0xfg") == "1:4: invalid hexadecimal literal");
  CHECK(lexError("0b102") == "1:5: invalid digit '2' in binary literal");
  CHECK(lexError("0o8") == "1:3: invalid digit '8' in octal literal");
  CHECK(lexError("9223372036854775808") == "1:1: integer literal too large");
  CHECK(lexError("0x1_0000_0000_0000_0000") ==
        "1:1: integer literal too large");
}

TEST_CASE("string literals", "[lexer]") {
  CHECK(lex("'a' \"b\" '''c''' \"\"\"d\"\"\"") ==
        "STRING('a') STRING('b') STRING('c') STRING('d') NEWLINE");
  CHECK(single(tokenize(R"('a\n\t\\\'\"\x41\101\0\u00e9\U0001F600')"))
            .stringValue ==
        "a\n\t\\'\"AA" + std::string(1, '\0') + "\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(single(tokenize(R"('\a\b\f\v\r')")).stringValue == "\a\b\f\v\r");
  // Unknown escapes keep their backslash.
  CHECK(single(tokenize(R"('\d\w')")).stringValue == "\\d\\w");
  // Raw strings keep backslashes; an escaped quote does not end them.
  CHECK(single(tokenize(R"(r'\n\'')")).stringValue == "\\n\\'");
  CHECK(single(tokenize(R"(R"\d")")).stringValue == "\\d");
  CHECK(single(tokenize(R"(u'x')")).stringValue == "x");
  // Triple-quoted strings span lines and may hold single quotes.
  CHECK(single(tokenize("'''a\n'b'\n\"c\"'''")).stringValue == "a\n'b'\n\"c\"");
  CHECK(single(tokenize("'''a''b'''")).stringValue == "a''b");
  // A backslash-newline inside a string continues it.
  CHECK(single(tokenize("'a\\\nb'")).stringValue == "ab");
  auto tokens = tokenize("'x'");
  CHECK(single(tokens).text == "'x'");
}

TEST_CASE("string literal errors", "[lexer]") {
  CHECK(lexError("x = 'abc") == "1:5: unterminated string literal");
  CHECK(lexError("x = 'abc\ny'") == "1:5: unterminated string literal");
  CHECK(lexError("x = '''abc\n\n") ==
        "1:5: unterminated triple-quoted string literal");
  CHECK(lexError(R"(x = '\x4')") == "1:6: truncated \\xXX escape");
  CHECK(lexError(R"('\u12')") == "1:2: truncated \\uXXXX escape");
  CHECK(lexError("b'x'") == "1:1: bytes literals are not supported");
  CHECK(lexError("f'{x}'") == "1:1: f-strings are not supported");
}

TEST_CASE("reprString follows Python", "[lexer]") {
  CHECK(reprString("abc") == "'abc'");
  CHECK(reprString("it's") == "\"it's\"");
  CHECK(reprString("both ' and \"") == "'both \\' and \"'");
  CHECK(reprString("a\nb\tc\\") == "'a\\nb\\tc\\\\'");
  CHECK(reprString(std::string("\x01", 1)) == "'\\x01'");
  CHECK(reprString("\xc3\xa9") == "'\xc3\xa9'");
}

TEST_CASE("operators by longest match", "[lexer]") {
  CHECK(lex("** // @ -> += -= *= /= //= %= **= @= &= |= ^= <<= >>=") ==
        "'**' '//' '@' '->' '+=' '-=' '*=' '/=' '//=' '%=' '**=' '@=' '&=' "
        "'|=' '^=' '<<=' '>>=' NEWLINE");
  CHECK(lex("<< >> == != <= >= < > = ... . , ; : ~ ^ & | % / * - +") ==
        "'<<' '>>' '==' '!=' '<=' '>=' '<' '>' '=' '...' '.' ',' ';' ':' "
        "'~' '^' '&' '|' '%' '/' '*' '-' '+' NEWLINE");
  CHECK(lex("a**-b") == "NAME(a) '**' '-' NAME(b) NEWLINE");
  CHECK(lex("x[::2]") == "NAME(x) '[' ':' ':' INT(2) ']' NEWLINE");
  CHECK(lex("...x") == "'...' NAME(x) NEWLINE");
}

TEST_CASE("newlines, comments and blank lines", "[lexer]") {
  CHECK(lex("x = 1  # one\n\n   \n# only a comment\n  # indented comment\n"
            "y\n") == "NAME(x) '=' INT(1) NEWLINE NAME(y) NEWLINE");
  // A missing final newline is supplied.
  CHECK(lex("x") == "NAME(x) NEWLINE");
  CHECK(lex("") == "");
  CHECK(lex("\n\n# c\n") == "");
  // "\r\n" and "\r" end lines too.
  CHECK(lex("a\r\nb\rc") == "NAME(a) NEWLINE NAME(b) NEWLINE NAME(c) NEWLINE");
  CHECK(lex("\xEF\xBB\xBFx") == "NAME(x) NEWLINE");
}

TEST_CASE("indentation produces INDENT and DEDENT", "[lexer]") {
  CHECK(lex("if a:\n  if b:\n    c\n  d\ne\n") ==
        "'if' NAME(a) ':' NEWLINE INDENT 'if' NAME(b) ':' NEWLINE INDENT "
        "NAME(c) NEWLINE DEDENT NAME(d) NEWLINE DEDENT NAME(e) NEWLINE");
  // Several blocks closed at once, and at the end of input.
  CHECK(lex("a\n b\n  c\nd") ==
        "NAME(a) NEWLINE INDENT NAME(b) NEWLINE INDENT NAME(c) NEWLINE DEDENT "
        "DEDENT NAME(d) NEWLINE");
  CHECK(lex("a:\n    b") ==
        "NAME(a) ':' NEWLINE INDENT NAME(b) NEWLINE DEDENT");
  // Tabs advance to multiples of 8, consistently.
  CHECK(lex("a\n\tb\n\tc\n") ==
        "NAME(a) NEWLINE INDENT NAME(b) NEWLINE NAME(c) NEWLINE DEDENT");
  // Blank and comment lines inside a block do not change indentation.
  CHECK(lex("a\n  b\n\n# x\n      # y\n  c\n") ==
        "NAME(a) NEWLINE INDENT NAME(b) NEWLINE NAME(c) NEWLINE DEDENT");
}

TEST_CASE("implicit and explicit line joining", "[lexer]") {
  CHECK(lex("f(a,\n      b)\nx") ==
        "NAME(f) '(' NAME(a) ',' NAME(b) ')' NEWLINE NAME(x) NEWLINE");
  CHECK(lex("x = [\n1,  # c\n\n  2]\n") ==
        "NAME(x) '=' '[' INT(1) ',' INT(2) ']' NEWLINE");
  CHECK(lex("d = {1:\n (2)}") ==
        "NAME(d) '=' '{' INT(1) ':' '(' INT(2) ')' '}' NEWLINE");
  CHECK(lex("x = 1 + \\\n    2\ny") ==
        "NAME(x) '=' INT(1) '+' INT(2) NEWLINE NAME(y) NEWLINE");
  // A continued line does not start a block.
  CHECK(lex("if a and \\\n        b:\n  c") ==
        "'if' NAME(a) 'and' NAME(b) ':' NEWLINE INDENT NAME(c) NEWLINE "
        "DEDENT");
}

TEST_CASE("token locations are 1-based line and column", "[lexer]") {
  CHECK(locations("x = 1") == "1:1 1:3 1:5 1:6 1:6");
  CHECK(locations("if a:\n  b\n") == "1:1 1:4 1:5 1:6 2:3 2:3 2:4 3:1 3:1");
  // Columns count code points, not bytes.
  CHECK(locations("s = '\xc3\xa9\xc3\xa9' + t") ==
        "1:1 1:3 1:5 1:10 1:12 1:13 1:13");
  auto tokens = tokenize("x", "file.th");
  CHECK(tokens[0].loc.file == "file.th");
  CHECK(tokens[0].loc.str() == "file.th:1:1");
}

TEST_CASE("indentation errors", "[lexer]") {
  CHECK(lexError("if a:\n    b\n  c\n") ==
        "3:3: unindent does not match any outer indentation level");
  CHECK(lexError("if a:\n        b\n\tc\n") ==
        "3:2: inconsistent use of tabs and spaces in indentation");
  CHECK(lexError("if a:\n\tb\n        c\n") ==
        "3:9: inconsistent use of tabs and spaces in indentation");
}

TEST_CASE("bracket and character errors", "[lexer]") {
  CHECK(lexError("x = (1,\n 2") == "1:5: '(' was never closed");
  CHECK(lexError("f([1, 2)") ==
        "1:8: closing parenthesis ')' does not match opening parenthesis '['");
  CHECK(lexError("f([1,\n2)") == "2:2: closing parenthesis ')' does not "
                                 "match opening parenthesis '[' on line 1");
  CHECK(lexError("x = 1)") == "1:6: unmatched ')'");
  CHECK(lexError("x = $y") == "1:5: invalid character '$' (U+0024)");
  CHECK(lexError("x = a ? b") == "1:7: invalid character '?' (U+003F)");
  CHECK(lexError("x = \xe2\x82\xac") ==
        "1:5: invalid character '\xe2\x82\xac' (U+20AC)");
  CHECK(lexError("x = \\ 1") ==
        "1:5: unexpected character after line continuation character");
  CHECK(lexError("x = 1 + \\") == "1:9: unexpected EOF while parsing");
}

TEST_CASE("ParseError is a SyntaxError with a location", "[lexer]") {
  try {
    tokenize("\n  x = 'a", "s.th");
    FAIL("no error");
  } catch (const SyntaxError &e) {
    CHECK(std::string(e.kind()) == "SyntaxError");
    const auto *parseError = dynamic_cast<const ParseError *>(&e);
    REQUIRE(parseError);
    CHECK(parseError->loc().str() == "s.th:2:7");
    CHECK_FALSE(parseError->isIncompleteInput());
  }
  // Errors that more input could fix are marked.
  auto incomplete = [](const std::string &source) {
    try {
      tokenize(source);
    } catch (const ParseError &e) {
      return e.isIncompleteInput();
    }
    return false;
  };
  CHECK(incomplete("f(1,"));
  CHECK(incomplete("s = '''abc"));
  CHECK(incomplete("x = 1 + \\\n"));
  CHECK_FALSE(incomplete("s = 'abc"));
  CHECK_FALSE(incomplete("x = )"));
}

TEST_CASE("the lexer hands out tokens on demand", "[lexer]") {
  // An error late in the input is not raised before its tokens are asked
  // for, and EOF repeats.
  Lexer lexer("a\n$", "t.th");
  CHECK(lexer.next().is(TokenKind::Name));
  CHECK(lexer.next().is(TokenKind::Newline));
  CHECK_THROWS_AS(lexer.next(), ParseError);

  Lexer done("(a", "t.th");
  CHECK(done.next().is(TokenKind::LParen));
  REQUIRE(done.openBrackets().size() == 1);
  CHECK(done.openBrackets().back().ch == '(');
  CHECK(done.next().is(TokenKind::Name));
  CHECK_THROWS_WITH(done.next(), "'(' was never closed");

  Lexer empty("", "t.th");
  CHECK(empty.next().is(TokenKind::EndOfFile));
  CHECK(empty.next().is(TokenKind::EndOfFile));
}
