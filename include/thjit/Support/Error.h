//===- thjit/Support/Error.h - Exceptions of the public API -----*- C++ -*-===//
///
/// \file
/// Every error a user can cause is thrown as a subclass of thjit::Error. The
/// kind name (TypeError, ShapeError, ...) is what the script language catches
/// with `except KIND` and what it prints before the message.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_SUPPORT_ERROR_H
#define THJIT_SUPPORT_ERROR_H

#include <stdexcept>
#include <string>

namespace thjit {

/// A place in a script (or a name given from C++) where something was made.
struct SourceLoc {
  std::string file; ///< Script path, or empty when created from C++.
  int line = 0;
  int col = 0;

  bool valid() const { return line > 0; }
  /// "file:line:col", or "" when invalid.
  std::string str() const;
};

/// The location recorded on nodes created by the current thread. The script
/// interpreter sets it around each expression it evaluates.
const SourceLoc &currentLocation();
/// Sets the current location for its lifetime, restoring the old one after.
class LocationScope {
public:
  explicit LocationScope(SourceLoc loc);
  ~LocationScope();
  LocationScope(const LocationScope &) = delete;
  LocationScope &operator=(const LocationScope &) = delete;

private:
  SourceLoc saved;
};

/// The error kinds, each a subclass of Error with the same name.
#define THJIT_ERROR_KINDS(X)                                                   \
  X(TypeError)                                                                 \
  X(ShapeError)                                                                \
  X(ValueError)                                                                \
  X(IndexError)                                                                \
  X(KeyError)                                                                  \
  X(NameError)                                                                 \
  X(AttributeError)                                                            \
  X(ZeroDivisionError)                                                         \
  X(AssertionError)                                                            \
  X(SyntaxError)                                                               \
  X(IOError)                                                                   \
  X(ImportError)                                                               \
  X(CompileError)                                                              \
  X(NotImplementedError)                                                       \
  X(GradientError)                                                             \
  X(RuntimeError)                                                              \
  X(FloatingPointError)

/// Base of all thjit exceptions.
class Error : public std::runtime_error {
public:
  Error(const char *kind, const std::string &message)
      : std::runtime_error(message), kindName(kind) {}
  /// The exception kind, e.g. "TypeError".
  const char *kind() const { return kindName; }

private:
  const char *kindName;
};

#define THJIT_DECLARE_ERROR(NAME)                                              \
  class NAME : public Error {                                                  \
  public:                                                                      \
    explicit NAME(const std::string &message) : Error(#NAME, message) {}      \
  };
THJIT_ERROR_KINDS(THJIT_DECLARE_ERROR)
#undef THJIT_DECLARE_ERROR

/// Throws the Error subclass named by `kind` (used by the script `raise`).
[[noreturn]] void throwErrorOfKind(const std::string &kind,
                                   const std::string &message);
/// True when `kind` names one of THJIT_ERROR_KINDS.
bool isErrorKind(const std::string &kind);

} // namespace thjit

#endif
