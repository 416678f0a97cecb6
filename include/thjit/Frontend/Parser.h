//===- thjit/Frontend/Parser.h - Parsing scripts into ASTs ------*- C++ -*-===//
///
/// \file
/// A recursive-descent parser for the script language (a small subset of
/// Python 3), producing the AST of AST.h.
///
/// Every function here throws ParseError (a thjit::SyntaxError) for
/// malformed input, with Python's wording ("invalid syntax", "expected ':'",
/// "unexpected indent", "'(' was never closed") and the location of the
/// offending token. Besides the grammar it checks what CPython reports at
/// compile time: assignment targets, argument and parameter order,
/// `return`/`break`/`continue`/`nonlocal` placement, and Python 2's print
/// statement ("Missing parentheses in call to 'print'...").
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_FRONTEND_PARSER_H
#define THJIT_FRONTEND_PARSER_H

#include "thjit/Frontend/AST.h"
#include "thjit/Frontend/Lexer.h"

#include <string>

namespace thjit::frontend {

/// Parses a whole script (or one REPL input) into its statements.
Module parseModule(const std::string &source, const std::string &filename);

/// Parses a single expression, as for the REPL's `:type EXPR`: an
/// expression list (`a, b` is a Tuple) surrounded by optional whitespace
/// and newlines; anything after it is an error.
ExprPtr parseExpression(const std::string &source,
                        const std::string &filename = "");

/// For the REPL's multi-line input: true when `source` cannot be complete
/// yet, as Python's interactive prompt decides. Pass the lines typed so far,
/// each with its '\n' (so the text after a blank line ends in "\n\n").
///   - It ends inside an open bracket or a triple-quoted string, or after a
///     backslash continuation (blank lines do not end these): true.
///   - It holds a compound statement (`if`, `for`, `while`, `def`, `try`)
///     and its last line is not blank: true. A block ends with an empty
///     line, so `for i in x:\n`, `if x: y = 1\n` and
///     `def f():\n  return 1\n` need more lines, and
///     `def f():\n  return 1\n\n` does not.
/// Otherwise it is false, including for input with a syntax error, which
/// parseModule then reports (`if x:\n\n` is complete and an error).
bool isIncomplete(const std::string &source);

} // namespace thjit::frontend

#endif
