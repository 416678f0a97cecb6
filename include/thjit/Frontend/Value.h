//===- thjit/Frontend/Value.h - Values of the script language ---*- C++ -*-===//
///
/// \file
/// A Value is anything a script can hold: Python's None, bools, ints,
/// floats, complex numbers, strings, lists, tuples, dicts, slices and
/// callables, plus thjit's arrays (eager NumPy values), symbolic variables
/// and compiled functions, and namespaces (`T`, `np`). Small values are held
/// inline; containers and objects are shared, as Python's references are.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_FRONTEND_VALUE_H
#define THJIT_FRONTEND_VALUE_H

#include "thjit/Array/NDArray.h"
#include "thjit/IR/Node.h"
#include "thjit/Runtime/Function.h"

#include <complex>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace thjit::frontend {

class Interpreter;
struct Value;

/// Python's list (mutable, shared by reference).
struct ListObj {
  std::vector<Value> items;
};
/// Python's tuple.
struct TupleObj {
  std::vector<Value> items;
};
/// Python's dict, in insertion order.
struct DictObj {
  std::vector<std::pair<Value, Value>> items;
  /// The value at `key`, or null.
  Value *find(const Value &key);
  void set(const Value &key, const Value &value);
};
/// A slice `a:b:c`; each part may be None.
struct SliceObj;
/// range(start, stop, step), iterated lazily.
struct RangeObj {
  int64_t start, stop, step;
  int64_t size() const;
};
/// An exception value (`except E as e`, `raise E("...")`).
struct ExceptionObj {
  std::string kind;
  std::string message;
};
/// The positional and keyword arguments of a call.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
};
/// Anything callable: built-in functions and methods, user functions.
struct Callable {
  std::string name;
  explicit Callable(std::string n) : name(std::move(n)) {}
  virtual ~Callable() = default;
  virtual Value call(Interpreter &interp, CallArgs &args) = 0;
  /// Python's repr() and type name; classes and Theano's types (callable
  /// objects too) print and are typed as themselves.
  virtual std::string repr() const { return "<function " + name + ">"; }
  virtual std::string typeName() const { return "function"; }
};
/// A namespace of named values: the `T`, `np` and `theano` modules.
struct Namespace {
  std::string name;
  std::map<std::string, Value> members;
};
/// A function compiled by `function(...)`.
struct CompiledFunction {
  Function fn;
  bool singleOutput = false;
  /// Default values of inputs (In(x, value=...)), undefined when none.
  std::vector<NDArray> defaults;
  /// The keyword naming each input in a call: In(x, name=...)'s, else the
  /// variable's name.
  std::vector<std::string> inputNames;
  /// What function() was given, so that it can be compiled again in
  /// another mode (the REPL's :profile).
  std::vector<Var> inputs, outputs;
  FunctionOptions options;
};
/// Opaque objects with a type name (RandomState, ...), for extension.
struct Object {
  virtual ~Object() = default;
  virtual std::string typeName() const = 0;
};

/// The kinds of value, in the order of Value's variant.
enum class ValueKind {
  None,
  Bool,
  Int,
  Float,
  Complex,
  Str,
  List,
  Tuple,
  Dict,
  Slice,
  Ellipsis,
  Range,
  Array,
  Symbolic,
  Function,
  Callable,
  Namespace,
  DType,
  Exception,
  Object
};

struct EllipsisTag {};

struct Value {
  using Storage =
      std::variant<std::monostate, bool, int64_t, double, std::complex<double>,
                   std::string, std::shared_ptr<ListObj>,
                   std::shared_ptr<TupleObj>, std::shared_ptr<DictObj>,
                   std::shared_ptr<SliceObj>, EllipsisTag,
                   std::shared_ptr<RangeObj>, NDArray, Var,
                   std::shared_ptr<CompiledFunction>, std::shared_ptr<Callable>,
                   std::shared_ptr<Namespace>, DType,
                   std::shared_ptr<ExceptionObj>, std::shared_ptr<Object>>;
  Storage v;

  Value() = default;
  Value(bool b) : v(b) {}
  Value(int64_t i) : v(i) {}
  Value(int i) : v((int64_t)i) {}
  Value(double d) : v(d) {}
  Value(std::complex<double> c) : v(c) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char *s) : v(std::string(s)) {}
  Value(NDArray a) : v(std::move(a)) {}
  Value(Var x) : v(std::move(x)) {}
  Value(DType t) : v(t) {}
  template <class T> Value(std::shared_ptr<T> p) : v(std::move(p)) {}
  Value(EllipsisTag e) : v(e) {}

  ValueKind kind() const { return (ValueKind)v.index(); }
  bool is(ValueKind k) const { return kind() == k; }
  bool isNone() const { return is(ValueKind::None); }
  /// bool, int or float (Python's real numbers).
  bool isNumber() const {
    return is(ValueKind::Bool) || is(ValueKind::Int) || is(ValueKind::Float) ||
           is(ValueKind::Complex);
  }
  template <class T> const T &as() const { return std::get<T>(v); }
  template <class T> T &as() { return std::get<T>(v); }

  static Value list(std::vector<Value> items = {});
  static Value tuple(std::vector<Value> items = {});
};

struct SliceObj {
  Value start, stop, step;
};

/// Python's type name of a value, for messages: "int", "list",
/// "numpy.ndarray", "TensorVariable".
std::string typeName(const Value &v);
/// Python's repr() and str().
std::string repr(const Value &v);
std::string str(const Value &v);
/// Python's truth value; a symbolic variable has none (TypeError).
bool truthy(const Value &v);
/// Python's == for plain values (arrays and symbols compare by identity).
bool valuesEqual(const Value &a, const Value &b);

/// A built-in function from a lambda.
std::shared_ptr<Callable>
makeBuiltin(std::string name,
            std::function<Value(Interpreter &, CallArgs &)> fn);

/// Python's TypeError for a call of `fn` with `given` positional arguments
/// where it takes from `required` to `most`.
TypeError tooManyPositional(const std::string &fn, size_t required,
                            size_t most, size_t given);

/// Binds a call's arguments to named parameters, Python style:
/// `ArgBinder b(args, "sum", {"x", "axis", "keepdims"}, 1)` requires x and
/// accepts axis and keepdims by position or keyword. `keywordOnly` names
/// parameters given by keyword only (print's sep and end).
class ArgBinder {
public:
  ArgBinder(const CallArgs &args, std::string function,
            std::vector<std::string> params, size_t required,
            bool variadic = false, std::vector<std::string> keywordOnly = {});
  /// The argument for a parameter, or null when not given.
  const Value *get(const std::string &param) const;
  bool has(const std::string &param) const { return get(param) != nullptr; }
  /// The argument, or `dflt` when missing or None.
  Value getOr(const std::string &param, Value dflt) const;
  /// Extra positional arguments (when the function is variadic).
  const std::vector<Value> &rest() const { return extra; }

private:
  std::string fn;
  std::vector<std::string> names;
  std::vector<const Value *> bound;
  std::vector<Value> extra;
};

} // namespace thjit::frontend

#endif
