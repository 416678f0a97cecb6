//===- thjit/Frontend/Interpreter.h - Running scripts -----------*- C++ -*-===//
///
/// \file
/// The interpreter of the script language (LANGUAGE.md): it walks the AST of
/// Parser.h over the C++ API. Errors a script causes are reported as
/// `FILE:LINE:COL: error: KIND: message` with the source line and a caret;
/// a script stops at its first uncaught error, the REPL goes on.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_FRONTEND_INTERPRETER_H
#define THJIT_FRONTEND_INTERPRETER_H

#include "thjit/Frontend/Value.h"

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace thjit::frontend {

struct InterpreterOptions {
  /// Print every function the script compiles (--emit=): "graph" (as
  /// given, or after the passes of --passes=), "graph-opt" (after the
  /// mode's passes), "llvm" (the optimized LLVM IR) or "asm"; the script's
  /// own output is then suppressed. Empty: run normally.
  std::string emit;
  /// The mode functions get when the script does not say (--mode=).
  std::string defaultMode;
  /// Colour in error messages (on a terminal only).
  bool color = false;
  /// sys.argv: the script's name (or "-c", "-") and its arguments.
  std::vector<std::string> argv = {""};
};

class Interpreter {
public:
  Interpreter(std::ostream &out, std::ostream &err,
              InterpreterOptions options = {});
  ~Interpreter();

  /// Runs a script; returns the process exit status (0, or 1 after an
  /// uncaught error, which is printed).
  int runSource(const std::string &source, const std::string &filename);
  int runFile(const std::string &path);
  /// Runs one REPL input: prints the value of an expression statement,
  /// prints an error and returns false when one occurs.
  bool runInteractive(const std::string &source);

  /// Evaluates the expression that starts at column `start` of `line` (a
  /// REPL command's argument) in the session's globals. Errors are thrown,
  /// located in `line`. With a `calleeMap`, the expression must be a call
  /// and its callee is replaced by calleeMap(callee) (`:profile f(x)`).
  using CalleeMap = std::function<Value(const Value &)>;
  Value evaluate(const std::string &line, size_t start = 0,
                 const CalleeMap &calleeMap = nullptr);
  /// The same, parsed once and evaluated each time the result is called
  /// (`:time EXPR`); it must not outlive the interpreter.
  std::function<Value()> prepare(const std::string &line, size_t start = 0,
                                 const CalleeMap &calleeMap = nullptr);
  /// Prints an error in a REPL command's `line` as a script's are printed:
  /// location, line and caret.
  void report(const Error &e, const std::string &line);
  /// The session's global names and the built-ins, sorted.
  std::vector<std::string> names() const;
  /// A global variable or built-in by name, or null.
  const Value *lookup(const std::string &name) const;
  /// The attributes of a value, sorted.
  std::vector<std::string> attributeNames(const Value &v);

  /// Where `print` writes.
  std::ostream &out();
  /// Calls a callable value.
  Value call(const Value &callee, CallArgs &args);
  /// Called by `function(...)` with each compiled function.
  void functionCompiled(const Function &f);
  const InterpreterOptions &options() const;

  struct Impl;
  Impl *impl_();

private:
  std::unique_ptr<Impl> impl;
};

} // namespace thjit::frontend

#endif
