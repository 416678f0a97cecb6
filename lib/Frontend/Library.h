//===- Library.h - Operators, attributes and modules of scripts -*- C++ -*-===//
///
/// \file
/// What the interpreter does with values: operators, attributes, indexing,
/// iteration, calls, and the `theano`, `T` and `numpy` modules. Array
/// functions have one definition that serves symbolic variables (building
/// graphs) and arrays (computed eagerly through the same ops' reference
/// kernels, with NumPy's semantics).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_LIB_FRONTEND_LIBRARY_H
#define THJIT_LIB_FRONTEND_LIBRARY_H

#include "thjit/Frontend/AST.h"
#include "thjit/Frontend/Value.h"

#include <functional>
#include <map>

namespace thjit::frontend {

class Library {
public:
  explicit Library(Interpreter &interp);

  /// A built-in name (print, len, range, exception kinds, ...), or null.
  const Value *builtin(const std::string &name) const;
  /// sys.argv.
  void setArguments(const std::vector<std::string> &argv);
  /// Every built-in name, sorted.
  std::vector<std::string> builtinNames() const;
  /// The attributes of a value, sorted (tab completion, dir()).
  std::vector<std::string> attributeNames(const Value &obj);
  /// A module by dotted name ("theano.tensor"); ImportError when unknown.
  Value module(const std::string &name) const;

  Value call(const Value &callee, CallArgs &args);
  Value callValue(const Value &callee, std::vector<Value> positional);

  Value unary(UnaryOp op, const Value &v);
  Value binary(BinaryOp op, const Value &a, const Value &b);
  Value compare(CmpOp op, const Value &a, const Value &b);
  Value getAttr(const Value &obj, const std::string &name);
  void setAttr(const Value &obj, const std::string &name, const Value &v);
  Value getItem(const Value &obj, const Value &index);
  void setItem(const Value &obj, const Value &index, const Value &v);

  /// Calls fn with each element; stops when fn returns false.
  void forEach(const Value &iterable,
               const std::function<bool(const Value &)> &fn);
  std::vector<Value> toList(const Value &iterable);
  /// True when an `except` clause naming `kindValue` catches `kind`.
  bool exceptionMatches(const Value &kindValue, const std::string &kind);

  struct Impl;

private:
  std::shared_ptr<Impl> impl;
};

} // namespace thjit::frontend

#endif
