//===- thjit/Frontend/Repl.h - The REPL's commands and completion -*- C++ -*-=//
///
/// \file
/// What `thjit` does with each input at its interactive prompt, apart from
/// reading lines (the tool reads them with LLVM's LineEditor on a terminal,
/// or plainly from a pipe): statements run in the session, `:commands`
/// (LANGUAGE.md) show what thjit made of a graph, and completion offers the
/// session's names and a value's attributes. An error is printed and the
/// session goes on with its variables intact.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_FRONTEND_REPL_H
#define THJIT_FRONTEND_REPL_H

#include "thjit/Frontend/Interpreter.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace thjit::frontend {

class Repl {
public:
  Repl(Interpreter &interp, std::ostream &out);

  /// Runs one complete input: a block of statements or a `:command`.
  /// Returns false when the session should end (`:quit`).
  bool handle(const std::string &input);
  /// Whether the lines typed so far need more before they can run (an
  /// open block or bracket); a `:command` is always one line.
  static bool needsMore(const std::string &buffer);
  /// The words that can complete the one before `cursor` in `line`, whole:
  /// commands after a leading ':', attributes after `name.`, else names.
  std::vector<std::string> complete(const std::string &line,
                                    size_t cursor);
  /// The text of `:help`.
  static std::string help();

private:
  Interpreter &interp;
  std::ostream &out;

  void command(const std::string &line);
};

/// Writes a graph's DOT text to `path`: as text for `.dot` and `.gv`,
/// rendered by Graphviz's `dot` for `.svg`, `.png` and `.pdf`. Returns what
/// was written, for the message; throws ValueError for another extension,
/// IOError when the file cannot be written or Graphviz is not installed.
std::string writeGraphPicture(const std::string &dot, const std::string &path);

} // namespace thjit::frontend

#endif
