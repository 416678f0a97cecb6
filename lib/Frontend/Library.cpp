//===- Library.cpp - Operators, attributes, built-ins and modules ---------===//
#include "Library.h"
#include "thjit/Array/Npy.h"
#include "thjit/Array/Random.h"
#include "thjit/Frontend/Interpreter.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/Frontend/Repl.h"
#include "thjit/Grad/Grad.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Runtime/VerifyGrad.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <iostream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

namespace thjit::frontend {

using ListPtr = std::shared_ptr<ListObj>;
using TuplePtr = std::shared_ptr<TupleObj>;
using DictPtr = std::shared_ptr<DictObj>;
using CallablePtr = std::shared_ptr<Callable>;
using NamespacePtr = std::shared_ptr<Namespace>;
using FunctionPtr = std::shared_ptr<CompiledFunction>;

// ---- Conversions ------------------------------------------------------------

/// The items of a list or tuple, else null.
static const std::vector<Value> *sequenceItems(const Value &v) {
  if (v.is(ValueKind::List))
    return &v.as<ListPtr>()->items;
  if (v.is(ValueKind::Tuple))
    return &v.as<TuplePtr>()->items;
  return nullptr;
}

static bool containsSymbolic(const Value &v) {
  if (v.is(ValueKind::Symbolic))
    return true;
  if (const auto *items = sequenceItems(v))
    for (const Value &x : *items)
      if (containsSymbolic(x))
        return true;
  return false;
}

/// A Python number as a weakly typed Operand.
static std::optional<Operand> pyNumber(const Value &v) {
  switch (v.kind()) {
  case ValueKind::Bool:
    return Operand(v.as<bool>());
  case ValueKind::Int:
    return Operand(v.as<int64_t>());
  case ValueKind::Float:
    return Operand(v.as<double>());
  case ValueKind::Complex:
    return Operand(v.as<std::complex<double>>());
  default:
    return std::nullopt;
  }
}

static Scalar scalarOf(const Value &v) {
  switch (v.kind()) {
  case ValueKind::Bool:
    return Scalar::fromBool(v.as<bool>());
  case ValueKind::Int:
    return Scalar::fromInt(v.as<int64_t>());
  case ValueKind::Float:
    return Scalar(v.as<double>());
  case ValueKind::Complex:
    return Scalar(v.as<std::complex<double>>());
  case ValueKind::Array:
    return v.as<NDArray>().item();
  default:
    throw TypeError("expected a number, got " + typeName(v));
  }
}

/// NumPy's np.array(nested lists): shape from the nesting, dtype from the
/// widest kind of element (bool < int64 < float64 < complex128).
static NDArray arrayFromValue(const Value &v, std::optional<DType> dtype = {}) {
  if (v.is(ValueKind::Array)) {
    const NDArray &a = v.as<NDArray>();
    return dtype && *dtype != a.dtype() ? a.astype(*dtype) : a;
  }
  Shape shape;
  std::vector<Scalar> flat;
  std::optional<DType> widest;
  std::function<void(const Value &, size_t)> walk = [&](const Value &x,
                                                        size_t depth) {
    if (const auto *items = sequenceItems(x)) {
      if (depth == shape.size())
        shape.push_back((int64_t)items->size());
      else if (shape[depth] != (int64_t)items->size() || depth > shape.size())
        throw ValueError("setting an array element with a sequence: the "
                         "nested lists have different lengths");
      for (const Value &item : *items)
        walk(item, depth + 1);
      return;
    }
    if (depth != shape.size())
      throw ValueError("setting an array element with a sequence: the "
                       "nested lists have different depths");
    if (x.is(ValueKind::Array)) {
      const NDArray &a = x.as<NDArray>();
      if (a.ndim() != 0)
        throw NotImplementedError("lists of arrays; use np.stack");
      flat.push_back(a.item());
      widest = widest ? promoteTypes(*widest, a.dtype()) : a.dtype();
      return;
    }
    Scalar s = scalarOf(x);
    flat.push_back(s);
    widest = widest ? promoteTypes(*widest, s.dtype()) : s.dtype();
  };
  if (v.is(ValueKind::Range)) {
    const auto &r = *v.as<std::shared_ptr<RangeObj>>();
    for (int64_t i = 0; i < r.size(); ++i)
      flat.push_back(Scalar::fromInt(r.start + i * r.step));
    return NDArray::fromValues(dtype.value_or(DType::Int64), flat,
                               {r.size()});
  }
  walk(v, 0);
  DType t = dtype.value_or(widest.value_or(DType::Float64));
  return NDArray::fromValues(t, flat, shape);
}

static DType dtypeFromValue(const Value &v) {
  if (v.is(ValueKind::DType))
    return v.as<DType>();
  if (v.is(ValueKind::Str)) {
    if (auto t = parseDType(v.as<std::string>()))
      return *t;
    throw TypeError("data type '" + v.as<std::string>() + "' not understood");
  }
  if (v.is(ValueKind::Callable)) {
    const std::string &n = v.as<CallablePtr>()->name;
    if (n == "float")
      return DType::Float64;
    if (n == "int")
      return DType::Int64;
    if (n == "bool")
      return DType::Bool;
    if (n == "complex")
      return DType::Complex128;
  }
  throw TypeError("expected a dtype, got " + typeName(v));
}

static int64_t toInt(const Value &v, const char *what) {
  if (v.is(ValueKind::Int))
    return v.as<int64_t>();
  if (v.is(ValueKind::Bool))
    return v.as<bool>();
  if (v.is(ValueKind::Array)) {
    const NDArray &a = v.as<NDArray>();
    if (a.ndim() == 0 && (isInteger(a.dtype()) || isBool(a.dtype())))
      return a.item().toInt();
  }
  throw TypeError(std::string(what) + " must be an integer, not " +
                  typeName(v));
}

static double toDouble(const Value &v) {
  switch (v.kind()) {
  case ValueKind::Bool:
    return v.as<bool>();
  case ValueKind::Int:
    return (double)v.as<int64_t>();
  case ValueKind::Float:
    return v.as<double>();
  case ValueKind::Array:
    return v.as<NDArray>().item().toDouble();
  default:
    throw TypeError("must be a real number, not " + typeName(v));
  }
}

/// An eager 0-d result of a Python-native dtype becomes a Python number, as
/// NumPy's scalars print like them.
static Value simplifyScalar(const NDArray &a) {
  if (a.ndim() != 0)
    return Value(a);
  Scalar s = a.item();
  switch (a.dtype()) {
  case DType::Float64:
    return Value(s.toDouble());
  case DType::Int64:
    return Value(s.toInt());
  case DType::Bool:
    return Value(s.toBool());
  case DType::Complex128:
    return Value(s.toComplex());
  default:
    return Value(a);
  }
}

// ---- Symbolic or eager ----------------------------------------------------------

/// Turns the arguments of an array function into operands: symbolic values
/// stay, arrays become constants (symbolic mode) or inputs of exactly their
/// type (eager mode, where finish() evaluates the graph at once).
class OpContext {
public:
  explicit OpContext(bool symbolic) : symbolic(symbolic) {}

  bool isSymbolic() const { return symbolic; }

  Operand operand(const Value &v) {
    if (v.is(ValueKind::Symbolic))
      return v.as<Var>();
    if (auto n = pyNumber(v))
      return *n;
    if (v.is(ValueKind::Array) || sequenceItems(v) || v.is(ValueKind::Range)) {
      if (sequenceItems(v) && containsSymbolic(v))
        return stackSymbolic(v);
      NDArray a = arrayFromValue(v);
      if (symbolic)
        return constant(a);
      Var x = tensor(a.dtype(), a.shape());
      inputs.push_back(x);
      values.push_back(a);
      return x;
    }
    throw TypeError("expected an array, a symbolic variable or a number; "
                    "got " +
                    typeName(v));
  }

  Var var(const Value &v) { return asTensor(operand(v)); }

  Value finish(const Var &r) {
    if (symbolic)
      return Value(r);
    return simplifyScalar(evaluateGraph(Graph(inputs, {r}), values)[0]);
  }

  Value finishAll(const std::vector<Var> &rs) {
    if (symbolic) {
      std::vector<Value> items(rs.begin(), rs.end());
      return Value::list(items);
    }
    std::vector<Value> items;
    for (const NDArray &a : evaluateGraph(Graph(inputs, rs), values))
      items.push_back(simplifyScalar(a));
    return Value::list(items);
  }

private:
  // [x, y] with symbolic elements: T.stack of them.
  Var stackSymbolic(const Value &v) {
    std::vector<Var> parts;
    for (const Value &x : *sequenceItems(v))
      parts.push_back(var(x));
    return stack(parts, 0);
  }

  bool symbolic;
  std::vector<Var> inputs;
  std::vector<NDArray> values;
};

static Axes axesFrom(const Value *v) {
  if (!v || v->isNone())
    return Axes();
  if (const auto *items = sequenceItems(*v)) {
    std::vector<int> axes;
    for (const Value &x : *items)
      axes.push_back((int)toInt(x, "axis"));
    return Axes(axes);
  }
  return Axes((int)toInt(*v, "axis"));
}

static std::optional<int> optionalAxis(const Value *v) {
  if (!v || v->isNone())
    return std::nullopt;
  return (int)toInt(*v, "axis");
}

static bool boolArg(const ArgBinder &b, const std::string &name,
                    bool dflt = false) {
  const Value *v = b.get(name);
  return v ? truthy(*v) : dflt;
}

static std::optional<DType> dtypeArg(const ArgBinder &b,
                                     const std::string &name) {
  const Value *v = b.get(name);
  if (!v || v->isNone())
    return std::nullopt;
  return dtypeFromValue(*v);
}

/// A shape given as an int, a sequence of ints and int scalars, or (with
/// `allowVector`) a symbolic vector.
static std::vector<Operand> shapeFrom(OpContext &ctx, const Value &v) {
  std::vector<Operand> out;
  if (const auto *items = sequenceItems(v)) {
    for (const Value &x : *items)
      out.push_back(ctx.operand(x));
    return out;
  }
  if (v.is(ValueKind::Symbolic) && v.as<Var>().ndim() == 1) {
    const Var &s = v.as<Var>();
    if (s.type()->size(0) == TensorType::kUnknown)
      throw TypeError("a shape vector must have a known length");
    for (int64_t i = 0; i < s.type()->size(0); ++i)
      out.push_back(subtensor(s, {Index::at(i)}));
    return out;
  }
  out.push_back(ctx.operand(v));
  return out;
}

// ---- Array functions --------------------------------------------------------------

/// One function over arrays and symbolic variables: a definition shared by
/// `T.NAME`, `np.NAME` and the `x.NAME()` method.
struct ArrayFunction {
  std::vector<std::string> params;
  size_t required;
  bool variadic = false;
  std::function<Value(OpContext &, const ArgBinder &)> body;
  /// T.* functions always build graphs (arrays become constants).
  bool alwaysSymbolic = false;
  /// Parameters given by keyword only (after variadic positionals).
  std::vector<std::string> keywordOnly = {};
};

struct ArrayFunctionCallable : Callable {
  ArrayFunction def;
  bool symbolic;
  ArrayFunctionCallable(std::string n, ArrayFunction d, bool sym)
      : Callable(std::move(n)), def(std::move(d)), symbolic(sym) {}
  Value call(Interpreter &, CallArgs &args) override {
    bool sym = symbolic;
    for (const Value &v : args.positional)
      sym |= containsSymbolic(v);
    for (const auto &kv : args.keywords)
      sym |= containsSymbolic(kv.second);
    OpContext ctx(sym);
    ArgBinder b(args, name, def.params, def.required, def.variadic,
                def.keywordOnly);
    return def.body(ctx, b);
  }
};

/// A method: the callable with `self` as its first argument.
struct BoundMethod : Callable {
  Value self;
  CallablePtr fn;
  BoundMethod(std::string n, Value s, CallablePtr f)
      : Callable(std::move(n)), self(std::move(s)), fn(std::move(f)) {}
  Value call(Interpreter &interp, CallArgs &args) override {
    CallArgs full = args;
    full.positional.insert(full.positional.begin(), self);
    return fn->call(interp, full);
  }
};

static Value bind(const Value &self, const std::string &name, CallablePtr fn) {
  return Value(std::static_pointer_cast<Callable>(
      std::make_shared<BoundMethod>(name, self, std::move(fn))));
}

// ---- Types and classes ------------------------------------------------------------

/// Theano's str() of a TensorType: "TensorType(float64, matrix)", with the
/// broadcastable pattern named when it has a name, else "3D" or the pattern
/// as a tuple. Static sizes other than 1 (which Theano's types cannot hold)
/// print as a shape, "?" where unknown.
static std::string theanoTypeStr(const TensorType *t) {
  static const std::map<std::vector<int64_t>, const char *> named = {
      {{}, "scalar"},
      {{TensorType::kUnknown}, "vector"},
      {{TensorType::kUnknown, 1}, "col"},
      {{1, TensorType::kUnknown}, "row"},
      {{TensorType::kUnknown, TensorType::kUnknown}, "matrix"}};
  std::string pattern;
  bool onlyBroadcast = true, anyBroadcast = false;
  for (int64_t d : t->shape()) {
    onlyBroadcast &= d == 1 || d == TensorType::kUnknown;
    anyBroadcast |= d == 1;
  }
  if (auto it = named.find(t->shape()); it != named.end()) {
    pattern = it->second;
  } else if (onlyBroadcast && !anyBroadcast) {
    pattern = std::to_string(t->ndim()) + "D";
  } else {
    std::vector<std::string> parts;
    for (int64_t d : t->shape())
      parts.push_back(onlyBroadcast ? (d == 1 ? "True" : "False")
                      : d == TensorType::kUnknown ? "?"
                                                  : std::to_string(d));
    pattern = "(" + join(parts, ", ") + (parts.size() == 1 ? ",)" : ")");
  }
  return "TensorType(" + std::string(dtypeName(t->dtype())) + ", " + pattern +
         ")";
}

/// A Theano TensorType (`T.dmatrix`, `x.type`): calling it makes a new
/// variable of the type. One object per type, so that `x.type is T.dscalar`.
struct TensorTypeObject : Callable {
  const TensorType *type;
  TensorTypeObject(std::string n, const TensorType *t)
      : Callable(std::move(n)), type(t) {}
  Value call(Interpreter &, CallArgs &args) override {
    ArgBinder b(args, name, {"name"}, 0);
    return Value(tensor(type->dtype(), type->shape(),
                        b.has("name") ? str(b.getOr("name", Value(""))) : ""));
  }
  std::string repr() const override { return theanoTypeStr(type); }
  std::string typeName() const override { return "TensorType"; }
};

/// A class: int, float, the exception kinds, ..., and what type() gives for
/// any other value. Calling it constructs a value, where that can be done.
struct ClassObject : Callable {
  std::string qualified;
  std::function<Value(Interpreter &, CallArgs &)> construct;
  ClassObject(std::string n, std::string q,
              std::function<Value(Interpreter &, CallArgs &)> c)
      : Callable(std::move(n)), qualified(std::move(q)),
        construct(std::move(c)) {}
  Value call(Interpreter &interp, CallArgs &args) override {
    if (!construct)
      throw TypeError("cannot create '" + qualified + "' instances");
    return construct(interp, args);
  }
  std::string repr() const override { return "<class '" + qualified + "'>"; }
  std::string typeName() const override { return "type"; }
};

/// The module path Python shows for a type name ("TensorVariable" is
/// theano.tensor.var.TensorVariable).
static std::string qualifiedTypeName(const std::string &name) {
  static const std::map<std::string, std::string> paths = {
      {"TensorVariable", "theano.tensor.var.TensorVariable"},
      {"SharedVariable", "theano.tensor.sharedvar.TensorSharedVariable"},
      {"TensorType", "theano.tensor.type.TensorType"},
      {"Function", "theano.compile.function_module.Function"},
      {"In", "theano.compile.io.In"}};
  auto it = paths.find(name);
  return it == paths.end() ? name : it->second;
}

/// Theano's pp(): an expression as math, every operation in parentheses
/// ("((x + y) * TensorConstant{2.0})"), other ops as calls, unnamed
/// variables by type and constants as TensorConstant{value}.
static std::string prettyPrint(const Var &v) {
  Node *n = v.node();
  if (n->kind() == OpKind::Constant) {
    // Theano's TensorConstant.__str__: equal elements shown once.
    const NDArray &a = n->constantValue();
    std::string text = a.str();
    std::vector<Scalar> vals = a.values();
    if (a.ndim() > 0 && !vals.empty() &&
        std::all_of(vals.begin(), vals.end(),
                    [&](const Scalar &x) { return x.identical(vals[0]); })) {
      std::vector<Value> dims;
      for (int64_t d : a.shape())
        dims.push_back(Value(d));
      text = repr(Value::tuple(dims)) + " of " +
             NDArray::scalar(vals[0].cast(a.dtype())).str();
    }
    if (text.size() > 20)
      text = text.substr(0, 10) + ".." + text.substr(text.size() - 10);
    return "TensorConstant{" + text + "}";
  }
  if (n->isLeaf()) {
    static const std::set<std::string> greek = {"alpha", "beta", "gamma",
                                                "delta", "epsilon"};
    const std::string &name = v.name();
    if (name.empty())
      return "<" + theanoTypeStr(v.type()) + ">";
    return greek.count(name) ? "\\" + name : name;
  }
  static const std::map<OpKind, const char *> operators = {
      {OpKind::Add, "+"},       {OpKind::Sub, "-"},
      {OpKind::Mul, "*"},       {OpKind::TrueDiv, "/"},
      {OpKind::FloorDiv, "//"}, {OpKind::Mod, "%"},
      {OpKind::Pow, "**"},      {OpKind::Neg, "-"},
      {OpKind::BitAnd, "&"},    {OpKind::BitOr, "|"},
      {OpKind::BitXor, "^"},    {OpKind::Invert, "~"},
      {OpKind::Dot, "\\dot"}};
  std::vector<std::string> args;
  for (const Var &x : n->operands())
    args.push_back(prettyPrint(x));
  if (auto it = operators.find(n->kind()); it != operators.end()) {
    std::string op = it->second;
    return "(" +
           (args.size() == 1 ? op + args[0] : join(args, " " + op + " ")) +
           ")";
  }
  const Attrs &a = n->attrs();
  switch (n->kind()) {
  case OpKind::Abs:
    return "|" + args[0] + "|";
  case OpKind::DimShuffle: {
    // New broadcastable axes in front do not show; a full reversal is .T.
    std::vector<int> order = a.axes;
    while (!order.empty() && order[0] < 0)
      order.erase(order.begin());
    int rank = n->operand(0).ndim();
    bool same = (int)order.size() == rank, reversed = same;
    for (int i = 0; i < (int)order.size(); ++i) {
      same &= order[i] == i;
      reversed &= order[i] == rank - 1 - i;
    }
    if (same)
      return args[0];
    if (reversed)
      return args[0] + ".T";
    std::vector<std::string> parts;
    for (int d : a.axes)
      parts.push_back(d < 0 ? "x" : std::to_string(d));
    return "DimShuffle{" + join(parts, ",") + "}(" + args[0] + ")";
  }
  case OpKind::Subtensor: {
    // x[i, a:b]: constant bounds print bare, as in Theano's index list.
    auto bound = [&](int i) {
      const Var &x = n->operand(i);
      return x.isConstant() && x.ndim() == 0
                 ? x.constantValue().item().str()
                 : args[i];
    };
    std::vector<std::string> parts;
    int next = 1;
    for (const IndexEntry &e : a.index) {
      if (e.kind == IndexEntry::Int) {
        parts.push_back(bound(next++));
      } else if (e.kind == IndexEntry::NewAxis) {
        parts.push_back("None");
      } else {
        std::string p = e.hasStart ? bound(next++) : "";
        p += ":";
        if (e.hasStop)
          p += bound(next++);
        if (e.hasStep)
          p += ":" + bound(next++);
        parts.push_back(p);
      }
    }
    return args[0] + "[" + join(parts, ", ") + "]";
  }
  default:
    break;
  }
  // Theano's names where they differ from thjit's.
  static const std::map<OpKind, const char *> theanoNames = {
      {OpKind::Sign, "sgn"}};
  auto named = theanoNames.find(n->kind());
  std::string name = named != theanoNames.end() ? named->second : n->name();
  std::vector<std::string> attrs;
  if (opFamily(n->kind()) == OpFamily::Reduce) {
    std::vector<std::string> axes;
    for (int d : a.axes)
      axes.push_back(std::to_string(d));
    attrs.push_back("axis=[" + join(axes, ", ") + "]");
  }
  if (a.dtype)
    attrs.push_back(dtypeName(*a.dtype));
  if (!attrs.empty())
    name += "{" + join(attrs, ", ") + "}";
  return name + "(" + join(args, ", ") + ")";
}

/// theano.Mode(linker=..., optimizer=...): one of function()'s modes.
struct ModeObject : Object {
  std::string mode, linker, optimizer;
  std::string typeName() const override { return "Mode"; }
};

/// theano.In(variable, name=None, value=None) (and the older Param, whose
/// default is called `default`): an input of function() with a default
/// value and a keyword name of its own.
struct InObject : Object {
  Var variable;
  std::string name; ///< "" for the variable's own name
  Value value;      ///< None when there is no default
  std::string typeName() const override { return "In"; }
};

using Unary = Var (*)(const Var &);
using Binary = Var (*)(const Operand &, const Operand &);

static std::map<std::string, ArrayFunction> arrayFunctions() {
  std::map<std::string, ArrayFunction> f;
  auto unary = [&](const char *name, Unary fn) {
    f[name] = {{"x"}, 1, false, [fn](OpContext &c, const ArgBinder &b) {
                 return c.finish(fn(c.var(*b.get("x"))));
               }};
  };
  auto binary = [&](const char *name, Binary fn) {
    f[name] = {{"x", "y"}, 2, false, [fn](OpContext &c, const ArgBinder &b) {
                 return c.finish(
                     fn(c.operand(*b.get("x")), c.operand(*b.get("y"))));
               }};
  };
  // clang-format off
  unary("exp", exp); unary("exp2", exp2); unary("expm1", expm1);
  unary("log", log); unary("log2", log2); unary("log10", log10);
  unary("log1p", log1p); unary("sqrt", sqrt); unary("sqr", sqr);
  unary("sin", sin); unary("cos", cos); unary("tan", tan);
  unary("arcsin", arcsin); unary("arccos", arccos); unary("arctan", arctan);
  unary("sinh", sinh); unary("cosh", cosh); unary("tanh", tanh);
  unary("arcsinh", arcsinh); unary("arccosh", arccosh);
  unary("arctanh", arctanh); unary("floor", floor); unary("ceil", ceil);
  unary("trunc", trunc); unary("erf", erf); unary("erfc", erfc);
  unary("sigmoid", sigmoid); unary("softplus", softplus);
  unary("isnan", isnan); unary("isinf", isinf); unary("abs", abs);
  unary("sign", sign); unary("neg", neg); unary("invert", invert);
  unary("logical_not", logicalNot); unary("softmax", softmax);
  unary("log_softmax", logSoftmax);
  binary("add", add); binary("sub", sub); binary("mul", mul);
  binary("true_div", trueDiv); binary("floor_div", floorDiv);
  binary("mod", mod); binary("pow", pow); binary("maximum", maximum);
  binary("minimum", minimum); binary("arctan2", arctan2);
  binary("eq", eq); binary("neq", neq); binary("lt", lt); binary("le", le);
  binary("gt", gt); binary("ge", ge); binary("logical_and", logicalAnd);
  binary("logical_or", logicalOr); binary("logical_xor", logicalXor);
  binary("bitwise_and", bitwiseAnd); binary("bitwise_or", bitwiseOr);
  binary("bitwise_xor", bitwiseXor);
  // clang-format on
  f["categorical_crossentropy"] = {
      {"coding_dist", "true_dist"}, 2, false,
      [](OpContext &c, const ArgBinder &b) {
        return c.finish(categoricalCrossentropy(c.var(*b.get("coding_dist")),
                                                c.var(*b.get("true_dist"))));
      }};
  f["round"] = {{"x", "decimals"}, 1, false,
                [](OpContext &c, const ArgBinder &b) {
                  if (b.has("decimals") && toInt(*b.get("decimals"), "decimals"))
                    throw NotImplementedError("round with decimals");
                  return c.finish(round(c.var(*b.get("x"))));
                }};
  f["where"] = {{"cond", "x", "y"}, 3, false,
                [](OpContext &c, const ArgBinder &b) {
                  return c.finish(where(c.operand(*b.get("cond")),
                                        c.operand(*b.get("x")),
                                        c.operand(*b.get("y"))));
                }};
  f["clip"] = {{"x", "lo", "hi"}, 3, false,
               [](OpContext &c, const ArgBinder &b) {
                 return c.finish(clip(c.operand(*b.get("x")),
                                      c.operand(*b.get("lo")),
                                      c.operand(*b.get("hi"))));
               }};
  f["cast"] = {{"x", "dtype"}, 2, false, [](OpContext &c, const ArgBinder &b) {
                 return c.finish(cast(c.var(*b.get("x")),
                                      dtypeFromValue(*b.get("dtype"))));
               }};
  using Reduce = Var (*)(const Var &, const Axes &, bool);
  auto reduction = [&](const char *name, Reduce fn) {
    f[name] = {{"x", "axis", "keepdims", "dtype"}, 1, false,
               [fn](OpContext &c, const ArgBinder &b) {
                 Var x = c.var(*b.get("x"));
                 if (auto t = dtypeArg(b, "dtype"))
                   x = cast(x, *t);
                 return c.finish(
                     fn(x, axesFrom(b.get("axis")), boolArg(b, "keepdims")));
               }};
  };
  reduction("sum", sum);
  reduction("prod", prod);
  reduction("max", max);
  reduction("min", min);
  reduction("all", all);
  reduction("any", any);
  reduction("mean", mean);
  auto moment = [&](const char *name, bool isStd) {
    f[name] = {{"x", "axis", "keepdims", "ddof"}, 1, false,
               [isStd](OpContext &c, const ArgBinder &b) {
                 Var x = c.var(*b.get("x"));
                 int ddof = (int)toInt(b.getOr("ddof", Value(0)), "ddof");
                 Axes axes = axesFrom(b.get("axis"));
                 bool keep = boolArg(b, "keepdims");
                 return c.finish(isStd ? std(x, axes, keep, ddof)
                                       : var(x, axes, keep, ddof));
               }};
  };
  moment("var", false);
  moment("std", true);
  auto arg = [&](const char *name, bool isMax) {
    f[name] = {{"x", "axis", "keepdims"}, 1, false,
               [isMax](OpContext &c, const ArgBinder &b) {
                 Var x = c.var(*b.get("x"));
                 auto axis = optionalAxis(b.get("axis"));
                 bool keep = boolArg(b, "keepdims");
                 return c.finish(isMax ? argmax(x, axis, keep)
                                       : argmin(x, axis, keep));
               }};
  };
  arg("argmax", true);
  arg("argmin", false);
  f["dot"] = {{"a", "b"}, 2, false, [](OpContext &c, const ArgBinder &b) {
                return c.finish(dot(c.var(*b.get("a")), c.var(*b.get("b"))));
              }};
  f["matmul"] = {{"a", "b"}, 2, false, [](OpContext &c, const ArgBinder &b) {
                   return c.finish(
                       matmul(c.var(*b.get("a")), c.var(*b.get("b"))));
                 }};
  f["outer"] = {{"a", "b"}, 2, false, [](OpContext &c, const ArgBinder &b) {
                  return c.finish(outer(c.var(*b.get("a")), c.var(*b.get("b"))));
                }};
  // BLAS's updates, by Theano's names and argument orders.
  f["gemm"] = {{"C", "alpha", "A", "B", "beta"}, 5, false,
               [](OpContext &c, const ArgBinder &b) {
                 return c.finish(gemm(c.var(*b.get("C")), c.var(*b.get("alpha")),
                                      c.var(*b.get("A")), c.var(*b.get("B")),
                                      c.var(*b.get("beta"))));
               }};
  f["gemv"] = {{"y", "alpha", "A", "x", "beta"}, 5, false,
               [](OpContext &c, const ArgBinder &b) {
                 Var A = c.var(*b.get("A")), x = c.var(*b.get("x"));
                 if (A.ndim() != 2 || x.ndim() != 1)
                   throw TypeError("gemv of " + A.type()->str() + " and " +
                                   x.type()->str() +
                                   ": A must be a matrix and x a vector");
                 return c.finish(gemm(c.var(*b.get("y")), c.var(*b.get("alpha")),
                                      A, x, c.var(*b.get("beta"))));
               }};
  f["ger"] = {{"A", "alpha", "x", "y"}, 4, false,
              [](OpContext &c, const ArgBinder &b) {
                return c.finish(ger(c.var(*b.get("A")), c.var(*b.get("alpha")),
                                    c.var(*b.get("x")), c.var(*b.get("y"))));
              }};
  f["batched_dot"] = {{"a", "b"}, 2, false,
                      [](OpContext &c, const ArgBinder &b) {
                        return c.finish(batchedDot(c.var(*b.get("a")),
                                                   c.var(*b.get("b"))));
                      }};
  f["tensordot"] = {
      {"a", "b", "axes"}, 2, false, [](OpContext &c, const ArgBinder &b) {
        Var x = c.var(*b.get("a")), y = c.var(*b.get("b"));
        Value axes = b.getOr("axes", Value(2));
        if (const auto *items = sequenceItems(axes)) {
          if (items->size() != 2)
            throw ValueError("tensordot: axes must be an int or a pair of "
                             "axis lists");
          auto list = [](const Value &v) {
            std::vector<int> out;
            if (const auto *xs = sequenceItems(v))
              for (const Value &x : *xs)
                out.push_back((int)toInt(x, "axis"));
            else
              out.push_back((int)toInt(v, "axis"));
            return out;
          };
          return c.finish(tensordot(x, y, list((*items)[0]), list((*items)[1])));
        }
        return c.finish(tensordot(x, y, (int)toInt(axes, "axes")));
      }};
  // x.reshape(2, 3) as well as x.reshape((2, 3)); Theano's ndim= by
  // keyword only, so that a second size is never taken for it.
  f["reshape"] = {{"x", "shape"}, 2, true,
                  [](OpContext &c, const ArgBinder &b) {
                    Var x = c.var(*b.get("x"));
                    Value s = *b.get("shape");
                    // x.reshape(2, 3) as well as x.reshape((2, 3)).
                    if (!b.rest().empty() || pyNumber(s)) {
                      std::vector<Value> all{s};
                      all.insert(all.end(), b.rest().begin(), b.rest().end());
                      s = Value::tuple(all);
                    }
                    if (s.is(ValueKind::Symbolic) && s.as<Var>().ndim() == 1)
                      return c.finish(reshape(x, s.as<Var>()));
                    return c.finish(reshape(x, shapeFrom(c, s)));
                  },
                  false,
                  {"ndim"}};
  f["flatten"] = {{"x", "ndim"}, 1, false, [](OpContext &c, const ArgBinder &b) {
                    return c.finish(flatten(
                        c.var(*b.get("x")),
                        (int)toInt(b.getOr("ndim", Value(1)), "ndim")));
                  }};
  f["transpose"] = {{"x", "axes"}, 1, true, [](OpContext &c, const ArgBinder &b) {
                      std::vector<int> perm;
                      std::vector<Value> given;
                      if (const Value *a = b.get("axes"); a && !a->isNone()) {
                        if (const auto *items = sequenceItems(*a))
                          given = *items;
                        else
                          given.push_back(*a);
                      }
                      given.insert(given.end(), b.rest().begin(), b.rest().end());
                      for (const Value &v : given)
                        perm.push_back((int)toInt(v, "axis"));
                      return c.finish(transpose(c.var(*b.get("x")), perm));
                    }};
  f["dimshuffle"] = {{"x"}, 1, true, [](OpContext &c, const ArgBinder &b) {
                       std::vector<Value> given = b.rest();
                       if (given.size() == 1 && sequenceItems(given[0]))
                         given = *sequenceItems(given[0]);
                       std::vector<int> pattern;
                       for (const Value &v : given) {
                         if (v.is(ValueKind::Str) && v.as<std::string>() == "x")
                           pattern.push_back(-1);
                         else
                           pattern.push_back((int)toInt(v, "dimshuffle entry"));
                       }
                       return c.finish(dimshuffle(c.var(*b.get("x")), pattern));
                     }};
  f["shape"] = {{"x"}, 1, false, [](OpContext &c, const ArgBinder &b) {
                  return c.finish(shape(c.var(*b.get("x"))));
                }};
  f["fill"] = {{"model", "value"}, 2, false, [](OpContext &c, const ArgBinder &b) {
                 return c.finish(
                     fill(c.var(*b.get("model")), c.operand(*b.get("value"))));
               }};
  f["alloc"] = {{"value"}, 1, true, [](OpContext &c, const ArgBinder &b) {
                  std::vector<Operand> sizes;
                  for (const Value &v : b.rest())
                    sizes.push_back(c.operand(v));
                  return c.finish(alloc(c.operand(*b.get("value")), sizes));
                }};
  auto filled = [&](const char *name, bool one) {
    f[name] = {{"shape", "dtype"}, 1, false,
               [one](OpContext &c, const ArgBinder &b) {
                 auto sizes = shapeFrom(c, *b.get("shape"));
                 auto t = dtypeArg(b, "dtype");
                 return c.finish(one ? ones(sizes, t) : zeros(sizes, t));
               }};
  };
  filled("zeros", false);
  filled("ones", true);
  auto like = [&](const char *name, bool one) {
    f[name] = {{"x", "dtype"}, 1, false, [one](OpContext &c, const ArgBinder &b) {
                 Var x = c.var(*b.get("x"));
                 auto t = dtypeArg(b, "dtype");
                 return c.finish(one ? onesLike(x, t) : zerosLike(x, t));
               }};
  };
  like("zeros_like", false);
  like("ones_like", true);
  f["arange"] = {{"start", "stop", "step", "dtype"}, 1, false,
                 [](OpContext &c, const ArgBinder &b) {
                   Value start = *b.get("start");
                   Value stop = b.getOr("stop", Value());
                   if (stop.isNone()) {
                     stop = start;
                     start = Value(0);
                   }
                   return c.finish(arange(c.operand(start), c.operand(stop),
                                          c.operand(b.getOr("step", Value(1))),
                                          dtypeArg(b, "dtype")));
                 }};
  f["eye"] = {{"n", "m", "k", "dtype"}, 1, false,
              [](OpContext &c, const ArgBinder &b) {
                Value n = *b.get("n");
                return c.finish(eye(c.operand(n),
                                    c.operand(b.getOr("m", n)),
                                    c.operand(b.getOr("k", Value(0))),
                                    dtypeArg(b, "dtype")));
              }};
  auto varList = [](OpContext &c, const Value &v) {
    std::vector<Var> out;
    for (const Value &x : *sequenceItems(v))
      out.push_back(c.var(x));
    return out;
  };
  f["concatenate"] = {{"tensors", "axis"}, 1, false,
                      [varList](OpContext &c, const ArgBinder &b) {
                        if (!sequenceItems(*b.get("tensors")))
                          throw TypeError("concatenate takes a list of arrays");
                        return c.finish(concatenate(
                            varList(c, *b.get("tensors")),
                            (int)toInt(b.getOr("axis", Value(0)), "axis")));
                      }};
  f["join"] = {{"axis"}, 1, true, [](OpContext &c, const ArgBinder &b) {
                 std::vector<Var> xs;
                 for (const Value &v : b.rest())
                   xs.push_back(c.var(v));
                 return c.finish(
                     concatenate(xs, (int)toInt(*b.get("axis"), "axis")));
               }};
  f["stack"] = {{"tensors", "axis"}, 1, false,
                [varList](OpContext &c, const ArgBinder &b) {
                  if (!sequenceItems(*b.get("tensors")))
                    throw TypeError("stack takes a list of arrays");
                  return c.finish(stack(varList(c, *b.get("tensors")),
                                        (int)toInt(b.getOr("axis", Value(0)),
                                                   "axis")));
                }};
  f["split"] = {{"x", "splits_size", "n_splits", "axis"}, 3, false,
                [](OpContext &c, const ArgBinder &b) {
                  Var x = c.var(*b.get("x"));
                  Operand sizes = c.operand(*b.get("splits_size"));
                  int n = (int)toInt(*b.get("n_splits"), "n_splits");
                  int axis = (int)toInt(b.getOr("axis", Value(0)), "axis");
                  return c.finishAll(split(x, sizes, n, axis));
                }};
  auto write = [&](const char *name, bool set) {
    f[name] = {{"x", "y"}, 2, false, [set](OpContext &c, const ArgBinder &b) {
                 Var view = c.var(*b.get("x"));
                 Operand y = c.operand(*b.get("y"));
                 return c.finish(set ? setSubtensor(view, y)
                                     : incSubtensor(view, y));
               }};
  };
  write("set_subtensor", true);
  write("inc_subtensor", false);
  return f;
}

// ---- Python arithmetic --------------------------------------------------------------

static bool isPyReal(const Value &v) {
  return v.is(ValueKind::Bool) || v.is(ValueKind::Int) ||
         v.is(ValueKind::Float);
}
static bool isPyInt(const Value &v) {
  return v.is(ValueKind::Bool) || v.is(ValueKind::Int);
}
static int64_t pyInt(const Value &v) {
  return v.is(ValueKind::Bool) ? v.as<bool>() : v.as<int64_t>();
}

/// a OP b with OP one of __builtin_{add,sub,mul}_overflow; ValueError on
/// overflow (thjit's Python ints have 64 bits).
template <class F> static int64_t checked(F op, int64_t a, int64_t b) {
  int64_t r;
  if (op(a, b, &r))
    throw ValueError("integer overflow (thjit's Python ints have 64 bits)");
  return r;
}
static bool addOverflow(int64_t a, int64_t b, int64_t *r) {
  return __builtin_add_overflow(a, b, r);
}
static bool subOverflow(int64_t a, int64_t b, int64_t *r) {
  return __builtin_sub_overflow(a, b, r);
}
static bool mulOverflow(int64_t a, int64_t b, int64_t *r) {
  return __builtin_mul_overflow(a, b, r);
}

static int64_t floorDivInt(int64_t a, int64_t b) {
  if (b == 0)
    throw ZeroDivisionError("integer division or modulo by zero");
  if (a == std::numeric_limits<int64_t>::min() && b == -1)
    throw ValueError("integer overflow");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    --q;
  return q;
}

static Value pyArith(BinaryOp op, const Value &a, const Value &b) {
  if (a.is(ValueKind::Complex) || b.is(ValueKind::Complex)) {
    std::complex<double> x = scalarOf(a).toComplex(), y = scalarOf(b).toComplex();
    switch (op) {
    case BinaryOp::Add:
      return Value(x + y);
    case BinaryOp::Sub:
      return Value(x - y);
    case BinaryOp::Mul:
      return Value(x * y);
    case BinaryOp::Div:
      if (y == 0.0)
        throw ZeroDivisionError("complex division by zero");
      return Value(x / y);
    case BinaryOp::Pow:
      return Value(std::pow(x, y));
    default:
      throw TypeError(std::string("unsupported operand type(s) for ") +
                      binaryOpSpelling(op) + ": complex");
    }
  }
  if (isPyInt(a) && isPyInt(b)) {
    int64_t x = pyInt(a), y = pyInt(b);
    switch (op) {
    case BinaryOp::Add:
      return Value(checked(addOverflow, x, y));
    case BinaryOp::Sub:
      return Value(checked(subOverflow, x, y));
    case BinaryOp::Mul:
      return Value(checked(mulOverflow, x, y));
    case BinaryOp::Div:
      if (y == 0)
        throw ZeroDivisionError("division by zero");
      return Value((double)x / (double)y);
    case BinaryOp::FloorDiv:
      return Value(floorDivInt(x, y));
    case BinaryOp::Mod: {
      int64_t q = floorDivInt(x, y);
      return Value(x - q * y);
    }
    case BinaryOp::Pow: {
      if (y < 0)
        return Value(std::pow((double)x, (double)y));
      int64_t result = 1;
      for (int64_t i = 0; i < y; ++i)
        result = checked(mulOverflow, result, x);
      return Value(result);
    }
    case BinaryOp::LShift:
      return Value(x << y);
    case BinaryOp::RShift:
      return Value(x >> y);
    case BinaryOp::BitAnd:
      if (a.is(ValueKind::Bool) && b.is(ValueKind::Bool))
        return Value((bool)(x & y));
      return Value(x & y);
    case BinaryOp::BitOr:
      if (a.is(ValueKind::Bool) && b.is(ValueKind::Bool))
        return Value((bool)(x | y));
      return Value(x | y);
    case BinaryOp::BitXor:
      if (a.is(ValueKind::Bool) && b.is(ValueKind::Bool))
        return Value((bool)(x ^ y));
      return Value(x ^ y);
    case BinaryOp::MatMul:
      break;
    }
    throw TypeError("unsupported operand type(s) for @: 'int' and 'int'");
  }
  double x = toDouble(a), y = toDouble(b);
  switch (op) {
  case BinaryOp::Add:
    return Value(x + y);
  case BinaryOp::Sub:
    return Value(x - y);
  case BinaryOp::Mul:
    return Value(x * y);
  case BinaryOp::Div:
    if (y == 0)
      throw ZeroDivisionError("float division by zero");
    return Value(x / y);
  case BinaryOp::FloorDiv:
    if (y == 0)
      throw ZeroDivisionError("float floor division by zero");
    return Value(std::floor(x / y));
  case BinaryOp::Mod: {
    if (y == 0)
      throw ZeroDivisionError("float modulo");
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0)))
      m += y;
    return Value(m);
  }
  case BinaryOp::Pow:
    if (x == 0 && y < 0)
      throw ZeroDivisionError("0.0 cannot be raised to a negative power");
    return Value(std::pow(x, y));
  default:
    throw TypeError(std::string("unsupported operand type(s) for ") +
                    binaryOpSpelling(op) + ": 'float'");
  }
}

/// printf-style `fmt % args` for the common conversions.
static std::string percentFormat(const std::string &fmt, const Value &args) {
  std::vector<Value> items = sequenceItems(args) && args.is(ValueKind::Tuple)
                                 ? *sequenceItems(args)
                                 : std::vector<Value>{args};
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (i + 1 < fmt.size() && fmt[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < fmt.size() && std::strchr("-+ #0123456789.", fmt[j]))
      ++j;
    if (j >= fmt.size())
      throw ValueError("incomplete format");
    std::string spec = fmt.substr(i, j - i);
    char conv = fmt[j];
    if (next >= items.size())
      throw TypeError("not enough arguments for format string");
    const Value &v = items[next++];
    char buf[512];
    switch (conv) {
    case 'd':
    case 'i':
      std::snprintf(buf, sizeof buf, (spec + "lld").c_str(),
                    (long long)(isPyReal(v) || v.is(ValueKind::Array)
                                    ? (int64_t)toDouble(v)
                                    : toInt(v, "%d")));
      out += buf;
      break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      std::snprintf(buf, sizeof buf, (spec + conv).c_str(), toDouble(v));
      out += buf;
      break;
    case 's':
    case 'r': {
      std::string s = conv == 's' ? str(v) : repr(v);
      std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.c_str());
      out += s.size() < 400 ? std::string(buf) : s;
      break;
    }
    default:
      throw ValueError(std::string("unsupported format character '") + conv +
                       "'");
    }
    i = j;
  }
  if (next < items.size())
    throw TypeError("not all arguments converted during string formatting");
  return out;
}

/// Python's format(value, spec) for the common specs: [width][.prec][type].
static std::string formatValue(const Value &v, const std::string &spec) {
  if (spec.empty())
    return str(v);
  std::string s = spec;
  char type = std::isalpha((unsigned char)s.back()) || s.back() == '%'
                  ? s.back()
                  : 0;
  if (type)
    s.pop_back();
  char align = 0;
  if (!s.empty() && std::strchr("<>^", s[0])) {
    align = s[0];
    s.erase(0, 1);
  }
  char buf[512];
  std::string out;
  if (type == 'f' || type == 'e' || type == 'g' || type == 'E' ||
      type == 'G' || type == '%') {
    double x = toDouble(v) * (type == '%' ? 100 : 1);
    std::snprintf(buf, sizeof buf, ("%" + s + (type == '%' ? 'f' : type)).c_str(),
                  x);
    out = buf;
    if (type == '%')
      out += "%";
  } else if (type == 'd') {
    std::snprintf(buf, sizeof buf, ("%" + s + "lld").c_str(),
                  (long long)toInt(v, "format"));
    out = buf;
  } else {
    std::string text = str(v);
    size_t width = s.empty() ? 0 : std::stoul(s.substr(0, s.find('.')));
    if (text.size() < width) {
      size_t pad = width - text.size();
      bool number = isPyReal(v);
      if (align == '>' || (!align && number))
        text = std::string(pad, ' ') + text;
      else if (align == '^')
        text = std::string(pad / 2, ' ') + text +
               std::string(pad - pad / 2, ' ');
      else
        text += std::string(pad, ' ');
    }
    return text;
  }
  if (align == '<') {
    size_t width = s.empty() ? 0 : std::stoul(s.substr(0, s.find('.')));
    std::string trimmed = out.substr(out.find_first_not_of(' '));
    if (trimmed.size() < width)
      trimmed += std::string(width - trimmed.size(), ' ');
    return trimmed;
  }
  return out;
}

/// str.format with `{}`, `{0}`, `{name}` and `{:spec}` fields.
static std::string braceFormat(const std::string &fmt, const CallArgs &args) {
  std::string out;
  size_t auto_ = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    char ch = fmt[i];
    if (ch == '{' && i + 1 < fmt.size() && fmt[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (ch == '}' && i + 1 < fmt.size() && fmt[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (ch != '{') {
      out += ch;
      continue;
    }
    size_t close = fmt.find('}', i);
    if (close == std::string::npos)
      throw ValueError("single '{' encountered in format string");
    std::string field = fmt.substr(i + 1, close - i - 1);
    std::string spec;
    if (size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field = field.substr(0, colon);
    }
    const Value *v = nullptr;
    if (field.empty()) {
      if (auto_ >= args.positional.size())
        throw IndexError("Replacement index " + std::to_string(auto_) +
                         " out of range for positional args tuple");
      v = &args.positional[auto_++];
    } else if (std::isdigit((unsigned char)field[0])) {
      size_t k = std::stoul(field);
      if (k >= args.positional.size())
        throw IndexError("Replacement index " + field +
                         " out of range for positional args tuple");
      v = &args.positional[k];
    } else {
      for (const auto &kv : args.keywords)
        if (kv.first == field)
          v = &kv.second;
      if (!v)
        throw KeyError("'" + field + "'");
    }
    out += formatValue(*v, spec);
    i = close;
  }
  return out;
}

// ---- The library ----------------------------------------------------------------

struct Library::Impl {
  Interpreter &interp;
  Library &lib;
  std::map<std::string, ArrayFunction> functions = arrayFunctions();
  std::map<std::string, Value> builtins;
  std::map<std::string, Value> modules;
  std::map<std::string, CallablePtr> methods; // Var and array methods
  /// The TensorType objects made so far, one per type.
  std::map<const TensorType *, CallablePtr> typeObjects;
  /// The classes type() gave for values that have no built-in class.
  std::map<std::string, CallablePtr> classes;

  Impl(Interpreter &i, Library &l) : interp(i), lib(l) {}

  /// The TensorType object of `t` (`name` names a new one in messages).
  Value typeObject(const TensorType *t, const std::string &name = "") {
    CallablePtr &obj = typeObjects[t];
    if (!obj)
      obj = std::make_shared<TensorTypeObject>(
          name.empty() ? "TensorType" : name, t);
    return Value(obj);
  }
  /// Python's type(v): the built-in class of that name, or one made for it.
  Value classOf(const Value &v) {
    std::string n = typeName(v);
    auto b = builtins.find(n);
    if (b != builtins.end() && b->second.is(ValueKind::Callable) &&
        b->second.as<CallablePtr>()->typeName() == "type")
      return b->second;
    CallablePtr &c = classes[n];
    if (!c)
      c = std::make_shared<ClassObject>(n, qualifiedTypeName(n), nullptr);
    return Value(c);
  }
  Value callCopy(const FunctionPtr &cf, CallArgs &args);
  Value eval(const Var &x, CallArgs &args);

  CallablePtr fn(const std::string &name, bool symbolic,
                 const std::string &shown = "") {
    auto it = functions.find(name);
    if (it == functions.end())
      throw CompileError("no array function " + name);
    return std::make_shared<ArrayFunctionCallable>(
        shown.empty() ? name : shown, it->second, symbolic);
  }

  Value compile(CallArgs &args);
  Value callCompiled(CompiledFunction &cf, CallArgs &args);
  void buildModules();
};

Library::Library(Interpreter &interp)
    : impl(std::make_shared<Impl>(interp, *this)) {
  impl->buildModules();
}

const Value *Library::builtin(const std::string &name) const {
  auto it = impl->builtins.find(name);
  return it == impl->builtins.end() ? nullptr : &it->second;
}

void Library::setArguments(const std::vector<std::string> &argv) {
  std::vector<Value> items;
  for (const std::string &a : argv)
    items.push_back(Value(a));
  impl->modules.at("sys").as<NamespacePtr>()->members["argv"] =
      Value::list(items);
}

std::vector<std::string> Library::builtinNames() const {
  std::vector<std::string> names;
  for (const auto &[name, value] : impl->builtins)
    names.push_back(name);
  return names;
}

/// The attributes getAttr knows apart from the methods table, for
/// attributeNames (completion, dir()).
/// (ReplTest checks that each resolves for some value.)
static const char *const kPlainAttributes[] = {
    "ndim", "dtype", "name", "type", "broadcastable", "shape", "T",
    "get_value", "set_value", "size", "nbytes", "itemsize", "copy", "tolist",
    "item", "astype", "args", "profile_report", "append", "extend", "pop",
    "insert", "reverse", "index", "keys", "values", "items", "get", "update",
    "eval", "make_variable", "format", "join", "lower", "upper", "strip",
    "startswith", "endswith", "split", "splitlines", "replace", "device"};

std::vector<std::string> Library::attributeNames(const Value &obj) {
  std::vector<std::string> names;
  if (obj.is(ValueKind::Namespace)) {
    for (const auto &[name, value] : obj.as<NamespacePtr>()->members)
      names.push_back(name);
    return names;
  }
  std::set<std::string> candidates(std::begin(kPlainAttributes),
                                   std::end(kPlainAttributes));
  for (const auto &[name, method] : impl->methods)
    candidates.insert(name);
  // An attribute exists when getAttr gives it; getAttr has no effects.
  for (const std::string &name : candidates) {
    try {
      getAttr(obj, name);
      names.push_back(name);
    } catch (const Error &) {
    }
  }
  return names;
}

Value Library::module(const std::string &name) const {
  auto it = impl->modules.find(name);
  if (it == impl->modules.end())
    throw ImportError("no module named '" + name +
                      "' (thjit provides theano, theano.tensor, numpy and "
                      "time)");
  return it->second;
}

Value Library::callValue(const Value &callee, std::vector<Value> positional) {
  CallArgs args;
  args.positional = std::move(positional);
  return call(callee, args);
}

bool Library::exceptionMatches(const Value &kindValue, const std::string &kind) {
  std::string name;
  if (kindValue.is(ValueKind::Callable))
    name = kindValue.as<CallablePtr>()->name;
  if (name == "Exception")
    return true;
  return name == kind;
}

// ---- Iteration --------------------------------------------------------------------

void Library::forEach(const Value &v,
                      const std::function<bool(const Value &)> &fn) {
  switch (v.kind()) {
  case ValueKind::List: {
    // Iterate a snapshot: the body may append to the list.
    std::vector<Value> items = v.as<ListPtr>()->items;
    for (const Value &x : items)
      if (!fn(x))
        return;
    return;
  }
  case ValueKind::Tuple:
    for (const Value &x : v.as<TuplePtr>()->items)
      if (!fn(x))
        return;
    return;
  case ValueKind::Range: {
    const auto &r = *v.as<std::shared_ptr<RangeObj>>();
    for (int64_t i = 0, n = r.size(); i < n; ++i)
      if (!fn(Value(r.start + i * r.step)))
        return;
    return;
  }
  case ValueKind::Dict: {
    std::vector<Value> keys;
    for (const auto &kv : v.as<DictPtr>()->items)
      keys.push_back(kv.first);
    for (const Value &k : keys)
      if (!fn(k))
        return;
    return;
  }
  case ValueKind::Str:
    for (char c : v.as<std::string>())
      if (!fn(Value(std::string(1, c))))
        return;
    return;
  case ValueKind::Array: {
    const NDArray &a = v.as<NDArray>();
    if (a.ndim() == 0)
      throw TypeError("iteration over a 0-d array");
    for (int64_t i = 0; i < a.dim(0); ++i)
      if (!fn(simplifyScalar(a.select(0, i))))
        return;
    return;
  }
  case ValueKind::Symbolic:
    throw TypeError("a symbolic variable cannot be iterated (its length is "
                    "only known when a function runs); index it instead");
  default:
    throw TypeError("'" + typeName(v) + "' object is not iterable");
  }
}

std::vector<Value> Library::toList(const Value &v) {
  if (const auto *items = sequenceItems(v))
    return *items;
  std::vector<Value> out;
  forEach(v, [&](const Value &x) {
    out.push_back(x);
    return true;
  });
  return out;
}

// ---- Operators ----------------------------------------------------------------------

static bool isArrayLike(const Value &v) {
  return v.is(ValueKind::Array) || v.is(ValueKind::Symbolic);
}

/// The array function of an operator.
static const char *operatorFunction(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "add";
  case BinaryOp::Sub:
    return "sub";
  case BinaryOp::Mul:
    return "mul";
  case BinaryOp::Div:
    return "true_div";
  case BinaryOp::FloorDiv:
    return "floor_div";
  case BinaryOp::Mod:
    return "mod";
  case BinaryOp::Pow:
    return "pow";
  case BinaryOp::MatMul:
    return "matmul";
  case BinaryOp::BitAnd:
    return "bitwise_and";
  case BinaryOp::BitOr:
    return "bitwise_or";
  case BinaryOp::BitXor:
    return "bitwise_xor";
  default:
    return nullptr;
  }
}

Value Library::binary(BinaryOp op, const Value &a, const Value &b) {
  // "%.3f" % x formats x, whatever x is (Python's str.__mod__ comes first).
  if (op == BinaryOp::Mod && a.is(ValueKind::Str))
    return Value(percentFormat(a.as<std::string>(), b));
  if (isArrayLike(a) || isArrayLike(b)) {
    const char *name = operatorFunction(op);
    if (!name)
      throw TypeError(std::string("unsupported operand type(s) for ") +
                      binaryOpSpelling(op) + ": '" + typeName(a) + "' and '" +
                      typeName(b) + "'");
    return callValue(Value(std::static_pointer_cast<Callable>(
                         impl->fn(name, false, binaryOpSpelling(op)))),
                     {a, b});
  }
  if ((a.isNumber()) && (b.isNumber()))
    return pyArith(op, a, b);
  if (op == BinaryOp::Add) {
    if (a.is(ValueKind::Str) && b.is(ValueKind::Str))
      return Value(a.as<std::string>() + b.as<std::string>());
    if (a.is(ValueKind::List) && b.is(ValueKind::List)) {
      auto items = a.as<ListPtr>()->items;
      for (const Value &x : b.as<ListPtr>()->items)
        items.push_back(x);
      return Value::list(items);
    }
    if (a.is(ValueKind::Tuple) && b.is(ValueKind::Tuple)) {
      auto items = a.as<TuplePtr>()->items;
      for (const Value &x : b.as<TuplePtr>()->items)
        items.push_back(x);
      return Value::tuple(items);
    }
  }
  if (op == BinaryOp::Mul && (isPyInt(a) || isPyInt(b))) {
    const Value &seq = isPyInt(a) ? b : a;
    int64_t n = std::max<int64_t>(0, pyInt(isPyInt(a) ? a : b));
    if (seq.is(ValueKind::Str)) {
      std::string s;
      for (int64_t i = 0; i < n; ++i)
        s += seq.as<std::string>();
      return Value(s);
    }
    if (const auto *items = sequenceItems(seq)) {
      std::vector<Value> out;
      for (int64_t i = 0; i < n; ++i)
        out.insert(out.end(), items->begin(), items->end());
      return seq.is(ValueKind::List) ? Value::list(out) : Value::tuple(out);
    }
  }
  throw TypeError(std::string("unsupported operand type(s) for ") +
                  binaryOpSpelling(op) + ": '" + typeName(a) + "' and '" +
                  typeName(b) + "'");
}

Value Library::unary(UnaryOp op, const Value &v) {
  if (op == UnaryOp::Not)
    return Value(!truthy(v));
  if (isArrayLike(v)) {
    if (op == UnaryOp::Pos)
      return v;
    return callValue(Value(std::static_pointer_cast<Callable>(impl->fn(
                         op == UnaryOp::Neg ? "neg" : "invert", false))),
                     {v});
  }
  switch (v.kind()) {
  case ValueKind::Bool:
  case ValueKind::Int: {
    int64_t x = pyInt(v);
    if (op == UnaryOp::Neg)
      return Value(checked(subOverflow, 0, x));
    if (op == UnaryOp::Invert)
      return Value(~x);
    return Value(x);
  }
  case ValueKind::Float:
    if (op == UnaryOp::Invert)
      break;
    return Value(op == UnaryOp::Neg ? -v.as<double>() : v.as<double>());
  case ValueKind::Complex:
    if (op == UnaryOp::Invert)
      break;
    return Value(op == UnaryOp::Neg ? -v.as<std::complex<double>>()
                                    : v.as<std::complex<double>>());
  default:
    break;
  }
  throw TypeError(std::string("bad operand type for unary ") +
                  unaryOpSpelling(op) + ": '" + typeName(v) + "'");
}

static bool sameObject(const Value &a, const Value &b) {
  if (a.kind() != b.kind())
    return false;
  if (a.isNone() || a.is(ValueKind::Ellipsis))
    return true;
  if (a.is(ValueKind::Bool))
    return a.as<bool>() == b.as<bool>();
  return valuesEqual(a, b) && !a.isNumber() && !a.is(ValueKind::Str);
}

Value Library::compare(CmpOp op, const Value &a, const Value &b) {
  switch (op) {
  case CmpOp::Is:
    return Value(sameObject(a, b));
  case CmpOp::IsNot:
    return Value(!sameObject(a, b));
  case CmpOp::In:
  case CmpOp::NotIn: {
    bool found = false;
    if (b.is(ValueKind::Str) && a.is(ValueKind::Str))
      found = b.as<std::string>().find(a.as<std::string>()) != std::string::npos;
    else if (b.is(ValueKind::Dict))
      found = b.as<DictPtr>()->find(a) != nullptr;
    else
      forEach(b, [&](const Value &x) {
        found = valuesEqual(x, a);
        return !found;
      });
    return Value(found == (op == CmpOp::In));
  }
  default:
    break;
  }
  // Symbolic == is identity, as in Theano (use T.eq for element-wise).
  bool symbolic = a.is(ValueKind::Symbolic) || b.is(ValueKind::Symbolic);
  if ((op == CmpOp::Eq || op == CmpOp::NotEq) && symbolic)
    return Value(valuesEqual(a, b) == (op == CmpOp::Eq));
  if (isArrayLike(a) || isArrayLike(b)) {
    static const char *names[] = {"eq", "neq", "lt", "le", "gt", "ge"};
    return callValue(Value(std::static_pointer_cast<Callable>(impl->fn(
                         names[(int)op], false, cmpOpSpelling(op)))),
                     {a, b});
  }
  if (op == CmpOp::Eq)
    return Value(valuesEqual(a, b));
  if (op == CmpOp::NotEq)
    return Value(!valuesEqual(a, b));
  int c;
  if (isPyReal(a) && isPyReal(b)) {
    double x = toDouble(a), y = toDouble(b);
    if (isPyInt(a) && isPyInt(b))
      c = pyInt(a) < pyInt(b) ? -1 : pyInt(a) > pyInt(b);
    else if (std::isnan(x) || std::isnan(y))
      return Value(false);
    else
      c = x < y ? -1 : x > y;
  } else if (a.is(ValueKind::Str) && b.is(ValueKind::Str)) {
    c = a.as<std::string>().compare(b.as<std::string>());
  } else if (sequenceItems(a) && sequenceItems(b) && a.kind() == b.kind()) {
    const auto &x = *sequenceItems(a), &y = *sequenceItems(b);
    c = 0;
    for (size_t i = 0; i < std::min(x.size(), y.size()) && !c; ++i) {
      if (valuesEqual(x[i], y[i]))
        continue;
      c = truthy(compare(CmpOp::Lt, x[i], y[i])) ? -1 : 1;
    }
    if (!c)
      c = x.size() < y.size() ? -1 : x.size() > y.size();
  } else {
    throw TypeError(std::string("'") + cmpOpSpelling(op) +
                    "' not supported between instances of '" + typeName(a) +
                    "' and '" + typeName(b) + "'");
  }
  switch (op) {
  case CmpOp::Lt:
    return Value(c < 0);
  case CmpOp::LtE:
    return Value(c <= 0);
  case CmpOp::Gt:
    return Value(c > 0);
  default:
    return Value(c >= 0);
  }
}

// ---- Indexing ---------------------------------------------------------------------

/// A subscript as index entries: arrays of rank >= 1, lists and ranges are
/// index arrays (advanced indexing), as in NumPy.
static std::vector<Index> indexFrom(OpContext &ctx, const Value &index) {
  std::vector<Value> parts = index.is(ValueKind::Tuple)
                                 ? index.as<TuplePtr>()->items
                                 : std::vector<Value>{index};
  std::vector<Index> out;
  auto part = [&](const Value &v) -> std::optional<Operand> {
    if (v.isNone())
      return std::nullopt;
    return ctx.operand(v);
  };
  for (const Value &p : parts) {
    if (p.isNone()) {
      out.push_back(Index::newAxis());
    } else if (p.is(ValueKind::Ellipsis)) {
      out.push_back(Index::ellipsisAll());
    } else if (p.is(ValueKind::Slice)) {
      const auto &s = *p.as<std::shared_ptr<SliceObj>>();
      out.push_back(Index::slice(part(s.start), part(s.stop), part(s.step)));
    } else if (isPyInt(p) || p.is(ValueKind::Symbolic) ||
               p.is(ValueKind::Array)) {
      // Arrays of rank >= 1 (and symbolic ones) index as arrays.
      out.push_back(Index::at(ctx.operand(p)));
    } else if (sequenceItems(p) || p.is(ValueKind::Range)) {
      // A list is an index array; an empty one holds integers (NumPy).
      if (sequenceItems(p) && sequenceItems(p)->empty())
        out.push_back(Index::array(
            ctx.operand(Value(NDArray::empty(DType::Int64, {0})))));
      else
        out.push_back(Index::array(ctx.operand(p)));
    } else {
      throw IndexError("only integers, slices (':'), ellipsis ('...'), "
                       "None and integer or boolean arrays are valid "
                       "indices; got " +
                       typeName(p));
    }
  }
  return out;
}

static int64_t sequenceIndex(const Value &index, size_t size) {
  int64_t i = toInt(index, "list indices");
  if (i < 0)
    i += (int64_t)size;
  if (i < 0 || i >= (int64_t)size)
    throw IndexError("index out of range");
  return i;
}

static std::vector<Value> sliceSequence(const std::vector<Value> &items,
                                        const SliceObj &s) {
  int64_t n = (int64_t)items.size();
  int64_t step = s.step.isNone() ? 1 : toInt(s.step, "slice step");
  if (step == 0)
    throw ValueError("slice step cannot be zero");
  auto clamp = [&](const Value &v, int64_t dflt) {
    if (v.isNone())
      return dflt;
    int64_t x = toInt(v, "slice index");
    if (x < 0)
      x = std::max<int64_t>(x + n, step < 0 ? -1 : 0);
    else
      x = std::min<int64_t>(x, step < 0 ? n - 1 : n);
    return x;
  };
  int64_t start = clamp(s.start, step < 0 ? n - 1 : 0);
  int64_t stop = clamp(s.stop, step < 0 ? -1 : n);
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
    out.push_back(items[i]);
  return out;
}

Value Library::getItem(const Value &obj, const Value &index) {
  if (isArrayLike(obj)) {
    OpContext ctx(obj.is(ValueKind::Symbolic) || containsSymbolic(index));
    Var x = ctx.var(obj);
    return ctx.finish(subtensor(x, indexFrom(ctx, index)));
  }
  if (const auto *items = sequenceItems(obj)) {
    if (index.is(ValueKind::Slice)) {
      auto out = sliceSequence(*items, *index.as<std::shared_ptr<SliceObj>>());
      return obj.is(ValueKind::List) ? Value::list(out) : Value::tuple(out);
    }
    return (*items)[sequenceIndex(index, items->size())];
  }
  if (obj.is(ValueKind::Str)) {
    const std::string &s = obj.as<std::string>();
    if (index.is(ValueKind::Slice)) {
      std::vector<Value> chars;
      for (char c : s)
        chars.push_back(Value(std::string(1, c)));
      std::string out;
      for (const Value &c :
           sliceSequence(chars, *index.as<std::shared_ptr<SliceObj>>()))
        out += c.as<std::string>();
      return Value(out);
    }
    return Value(std::string(1, s[sequenceIndex(index, s.size())]));
  }
  if (obj.is(ValueKind::Dict)) {
    if (Value *v = obj.as<DictPtr>()->find(index))
      return *v;
    throw KeyError(repr(index));
  }
  if (obj.is(ValueKind::Range)) {
    const auto &r = *obj.as<std::shared_ptr<RangeObj>>();
    return Value(r.start + sequenceIndex(index, r.size()) * r.step);
  }
  throw TypeError("'" + typeName(obj) + "' object is not subscriptable");
}

void Library::setItem(const Value &obj, const Value &index, const Value &v) {
  if (obj.is(ValueKind::List)) {
    auto &items = obj.as<ListPtr>()->items;
    items[sequenceIndex(index, items.size())] = v;
    return;
  }
  if (obj.is(ValueKind::Dict)) {
    obj.as<DictPtr>()->set(index, v);
    return;
  }
  if (obj.is(ValueKind::Array)) {
    // The eager subtensor is a view of the array: write through it.
    OpContext ctx(false);
    Var x = ctx.var(obj);
    Var selection = subtensor(x, indexFrom(ctx, index));
    if (selection.node()->kind() == OpKind::AdvancedSubtensor) {
      // Index arrays select a copy: the array with the selection replaced
      // (the value cast to the array's dtype, as NumPy does), written back.
      const NDArray &a = obj.as<NDArray>();
      Var source = ctx.var(Value(arrayFromValue(v, a.dtype())));
      Value r = ctx.finish(setSubtensor(selection, source));
      const_cast<NDArray &>(a).assign(r.as<NDArray>());
      return;
    }
    Value view = ctx.finish(selection);
    NDArray target = view.is(ValueKind::Array)
                         ? view.as<NDArray>()
                         : NDArray(); // a scalar element: use setAt below
    NDArray source = arrayFromValue(v);
    if (!target.defined()) {
      // 0-d results were turned into numbers: index again without that.
      std::vector<int64_t> at;
      for (const Value &p : index.is(ValueKind::Tuple)
                                ? index.as<TuplePtr>()->items
                                : std::vector<Value>{index})
        at.push_back(toInt(p, "index"));
      const NDArray &a = obj.as<NDArray>();
      for (size_t i = 0; i < at.size(); ++i)
        if (at[i] < 0)
          at[i] += a.dim((int)i);
      const_cast<NDArray &>(a).setAt(at, source.item());
      return;
    }
    if (!target.mayShareMemory(obj.as<NDArray>()) && target.size() > 0)
      throw NotImplementedError("this index makes a copy; cannot assign");
    target.assign(source);
    return;
  }
  if (obj.is(ValueKind::Symbolic))
    throw TypeError("symbolic variables are immutable; use "
                    "T.set_subtensor(x[...], y) to get a modified copy");
  throw TypeError("'" + typeName(obj) + "' object does not support item "
                                        "assignment");
}

// ---- Attributes -----------------------------------------------------------------

static Value shapeTuple(const Shape &shape) {
  std::vector<Value> dims;
  for (int64_t d : shape)
    dims.push_back(Value(d));
  return Value::tuple(dims);
}

Value Library::getAttr(const Value &obj, const std::string &name) {
  auto method = [&](const std::string &fnName) -> std::optional<Value> {
    auto it = impl->methods.find(fnName);
    if (it == impl->methods.end())
      return std::nullopt;
    return bind(obj, name, it->second);
  };
  switch (obj.kind()) {
  case ValueKind::Symbolic: {
    const Var &x = obj.as<Var>();
    if (name == "ndim")
      return Value((int64_t)x.ndim());
    if (name == "dtype")
      return Value(std::string(dtypeName(x.dtype())));
    if (name == "name")
      return x.name().empty() ? Value() : Value(x.name());
    if (name == "type")
      return impl->typeObject(x.type());
    if (name == "eval")
      return Value(
          makeBuiltin("eval", [this, x](Interpreter &, CallArgs &args) {
            return impl->eval(x, args);
          }));
    if (name == "broadcastable") {
      std::vector<Value> b;
      for (bool v : x.type()->broadcastable())
        b.push_back(Value(v));
      return Value::tuple(b);
    }
    if (name == "shape")
      return Value(shape(x));
    if (name == "T")
      return Value(transpose(x));
    // Only shared variables have values (AttributeError otherwise, as in
    // Theano).
    if ((name == "get_value" || name == "set_value") && x.isShared()) {
      bool get = name == "get_value";
      return Value(makeBuiltin(name, [x, get](Interpreter &, CallArgs &args) {
        ArgBinder b(args, get ? "get_value" : "set_value",
                    get ? std::vector<std::string>{"borrow"}
                        : std::vector<std::string>{"value", "borrow"},
                    get ? 0 : 1);
        if (get)
          return Value(x.getValue());
        NDArray v = arrayFromValue(*b.get("value"));
        // A Python number or list converts losslessly to the variable's
        // dtype, as Theano's filter does.
        if (v.dtype() != x.dtype() &&
            promoteTypes(v.dtype(), x.dtype()) == x.dtype())
          v = v.astype(x.dtype());
        x.setValue(v);
        return Value();
      }));
    }
    if (auto m = method(name))
      return *m;
    break;
  }
  case ValueKind::Array: {
    const NDArray &a = obj.as<NDArray>();
    if (name == "shape")
      return shapeTuple(a.shape());
    if (name == "ndim")
      return Value((int64_t)a.ndim());
    if (name == "size")
      return Value(a.size());
    if (name == "dtype")
      return Value(a.dtype());
    if (name == "T")
      return Value(a.transpose());
    if (name == "nbytes")
      return Value((int64_t)a.nbytes());
    if (name == "itemsize")
      return Value((int64_t)itemSize(a.dtype()));
    if (name == "copy")
      return Value(makeBuiltin("copy", [a](Interpreter &, CallArgs &) {
        return Value(a.copy());
      }));
    if (name == "tolist")
      return Value(makeBuiltin("tolist", [a](Interpreter &, CallArgs &) {
        std::function<Value(const NDArray &)> conv = [&](const NDArray &x) {
          if (x.ndim() == 0) {
            Scalar s = x.item();
            if (isBool(x.dtype()))
              return Value(s.toBool());
            if (isInteger(x.dtype()))
              return Value(s.toInt());
            if (isComplex(x.dtype()))
              return Value(s.toComplex());
            return Value(s.toDouble());
          }
          std::vector<Value> items;
          for (int64_t i = 0; i < x.dim(0); ++i)
            items.push_back(conv(x.select(0, i)));
          return Value::list(items);
        };
        return conv(a);
      }));
    if (name == "item")
      return Value(makeBuiltin("item", [a](Interpreter &, CallArgs &) {
        return simplifyScalar(NDArray::scalar(a.item().cast(
            isInexact(a.dtype()) ? (isComplex(a.dtype()) ? DType::Complex128
                                                         : DType::Float64)
            : isBool(a.dtype()) ? DType::Bool
                                : DType::Int64)));
      }));
    if (name == "astype")
      return bind(obj, name, impl->methods.at("cast"));
    if (auto m = method(name))
      return *m;
    break;
  }
  case ValueKind::Namespace: {
    const auto &ns = obj.as<NamespacePtr>();
    auto it = ns->members.find(name);
    if (it != ns->members.end())
      return it->second;
    throw AttributeError("module '" + ns->name + "' has no attribute '" +
                         name + "'");
  }
  case ValueKind::Exception:
    if (name == "args")
      return Value::tuple(
          {Value(obj.as<std::shared_ptr<ExceptionObj>>()->message)});
    break;
  case ValueKind::Callable:
    if (auto *t = dynamic_cast<TensorTypeObject *>(
            obj.as<CallablePtr>().get())) {
      if (name == "dtype")
        return Value(std::string(dtypeName(t->type->dtype())));
      if (name == "ndim")
        return Value((int64_t)t->type->ndim());
      if (name == "broadcastable") {
        std::vector<Value> b;
        for (bool v : t->type->broadcastable())
          b.push_back(Value(v));
        return Value::tuple(b);
      }
      if (name == "make_variable")
        return obj;
    }
    break;
  case ValueKind::Function: {
    const auto &cf = obj.as<FunctionPtr>();
    if (name == "name")
      return Value(cf->fn.name());
    if (name == "device") // where it runs: 'cpu' or 'cuda'
      return Value(cf->fn.device());
    if (name == "copy")
      return Value(
          makeBuiltin("copy", [this, cf](Interpreter &, CallArgs &args) {
            return impl->callCopy(cf, args);
          }));
    if (name == "profile_report") // PROFILE's report so far, as a string
      return Value(makeBuiltin("profile_report", [cf](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "profile_report", {}, 0);
        return Value(cf->fn.profileReport());
      }));
    break;
  }
  case ValueKind::List: {
    ListPtr l = obj.as<ListPtr>();
    if (name == "append")
      return Value(makeBuiltin("append", [l](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "append", {"x"}, 1);
        l->items.push_back(*b.get("x"));
        return Value();
      }));
    if (name == "extend")
      return Value(makeBuiltin("extend", [l, this](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "extend", {"xs"}, 1);
        for (const Value &v : toList(*b.get("xs")))
          l->items.push_back(v);
        return Value();
      }));
    if (name == "pop")
      return Value(makeBuiltin("pop", [l](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "pop", {"i"}, 0);
        if (l->items.empty())
          throw IndexError("pop from empty list");
        int64_t i = sequenceIndex(b.getOr("i", Value(-1)), l->items.size());
        Value v = l->items[i];
        l->items.erase(l->items.begin() + i);
        return v;
      }));
    if (name == "insert")
      return Value(makeBuiltin("insert", [l](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "insert", {"i", "x"}, 2);
        int64_t n = (int64_t)l->items.size();
        int64_t i = toInt(*b.get("i"), "index");
        i = std::clamp<int64_t>(i < 0 ? i + n : i, 0, n);
        l->items.insert(l->items.begin() + i, *b.get("x"));
        return Value();
      }));
    if (name == "reverse")
      return Value(makeBuiltin("reverse", [l](Interpreter &, CallArgs &) {
        std::reverse(l->items.begin(), l->items.end());
        return Value();
      }));
    if (name == "index")
      return Value(makeBuiltin("index", [l](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "index", {"x"}, 1);
        for (size_t i = 0; i < l->items.size(); ++i)
          if (valuesEqual(l->items[i], *b.get("x")))
            return Value((int64_t)i);
        throw ValueError(repr(*b.get("x")) + " is not in list");
      }));
    break;
  }
  case ValueKind::Dict: {
    DictPtr d = obj.as<DictPtr>();
    auto view = [d](int which) {
      std::vector<Value> out;
      for (const auto &[k, v] : d->items)
        out.push_back(which == 0   ? k
                      : which == 1 ? v
                                   : Value::tuple({k, v}));
      return Value::list(out);
    };
    if (name == "keys" || name == "values" || name == "items") {
      int which = name == "keys" ? 0 : name == "values" ? 1 : 2;
      return Value(makeBuiltin(name, [view, which](Interpreter &, CallArgs &) {
        return view(which);
      }));
    }
    if (name == "get")
      return Value(makeBuiltin("get", [d](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "get", {"key", "default"}, 1);
        if (Value *v = d->find(*b.get("key")))
          return *v;
        return b.getOr("default", Value());
      }));
    if (name == "update")
      return Value(makeBuiltin("update", [d](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "update", {"other"}, 1);
        const Value &o = *b.get("other");
        if (!o.is(ValueKind::Dict))
          throw TypeError("update takes a dict");
        for (const auto &[k, v] : o.as<DictPtr>()->items)
          d->set(k, v);
        return Value();
      }));
    break;
  }
  case ValueKind::Str: {
    std::string s = obj.as<std::string>();
    if (name == "format")
      return Value(makeBuiltin("format", [s](Interpreter &, CallArgs &args) {
        return Value(braceFormat(s, args));
      }));
    if (name == "join")
      return Value(makeBuiltin("join", [s, this](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "join", {"items"}, 1);
        std::vector<std::string> parts;
        for (const Value &v : toList(*b.get("items"))) {
          if (!v.is(ValueKind::Str))
            throw TypeError("sequence item: expected str instance, " +
                            typeName(v) + " found");
          parts.push_back(v.as<std::string>());
        }
        return Value(thjit::join(parts, s));
      }));
    if (name == "upper" || name == "lower" || name == "strip")
      return Value(makeBuiltin(name, [s, name](Interpreter &, CallArgs &) {
        std::string r = s;
        if (name == "strip") {
          size_t a = r.find_first_not_of(" \t\n\r");
          size_t b = r.find_last_not_of(" \t\n\r");
          return Value(a == std::string::npos ? "" : r.substr(a, b - a + 1));
        }
        for (char &c : r)
          c = name == "upper" ? (char)std::toupper((unsigned char)c)
                              : (char)std::tolower((unsigned char)c);
        return Value(r);
      }));
    if (name == "startswith" || name == "endswith")
      return Value(makeBuiltin(name, [s, name](Interpreter &, CallArgs &args) {
        ArgBinder b(args, name, {"prefix"}, 1);
        const std::string &p = b.get("prefix")->as<std::string>();
        if (p.size() > s.size())
          return Value(false);
        return Value(name == "startswith" ? s.compare(0, p.size(), p) == 0
                                          : s.compare(s.size() - p.size(),
                                                      p.size(), p) == 0);
      }));
    if (name == "split" || name == "splitlines")
      return Value(makeBuiltin(name, [s, name](Interpreter &, CallArgs &args) {
        // Python's: no separator splits at runs of whitespace; splitlines
        // at line ends.
        ArgBinder b(args, name, name == "split" ? std::vector<std::string>{"sep"}
                                                : std::vector<std::string>{},
                    0);
        std::vector<Value> parts;
        Value sepValue = b.getOr("sep", Value());
        if (name == "split" && !sepValue.isNone()) {
          std::string sep = str(sepValue);
          if (sep.empty())
            throw ValueError("empty separator");
          size_t from = 0, at;
          while ((at = s.find(sep, from)) != std::string::npos) {
            parts.push_back(Value(s.substr(from, at - from)));
            from = at + sep.size();
          }
          parts.push_back(Value(s.substr(from)));
        } else if (name == "splitlines") {
          std::istringstream in(s);
          std::string line;
          while (std::getline(in, line))
            parts.push_back(Value(line));
        } else {
          std::istringstream in(s);
          std::string word;
          while (in >> word)
            parts.push_back(Value(word));
        }
        return Value::list(parts);
      }));
    if (name == "replace")
      return Value(makeBuiltin(name, [s](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "replace", {"old", "new"}, 2);
        std::string old = str(*b.get("old")), repl = str(*b.get("new")), r;
        if (old.empty())
          return Value(s);
        size_t from = 0, at;
        while ((at = s.find(old, from)) != std::string::npos) {
          r += s.substr(from, at - from) + repl;
          from = at + old.size();
        }
        return Value(r + s.substr(from));
      }));
    break;
  }
  default:
    break;
  }
  throw AttributeError("'" + typeName(obj) + "' object has no attribute '" +
                       name + "'");
}

void Library::setAttr(const Value &obj, const std::string &name,
                      const Value &v) {
  if (obj.is(ValueKind::Symbolic) && name == "name") {
    Var x = obj.as<Var>();
    x.setName(v.isNone() ? "" : str(v));
    return;
  }
  throw AttributeError("cannot set attribute '" + name + "' of '" +
                       typeName(obj) + "' object");
}

// ---- Calls ----------------------------------------------------------------------------

Value Library::call(const Value &callee, CallArgs &args) {
  switch (callee.kind()) {
  case ValueKind::Callable:
    return callee.as<CallablePtr>()->call(impl->interp, args);
  case ValueKind::Function:
    return impl->callCompiled(*callee.as<FunctionPtr>(), args);
  case ValueKind::DType: {
    // np.float32(1.5): a 0-d array of that dtype.
    ArgBinder b(args, dtypeName(callee.as<DType>()), {"value"}, 0);
    return Value(arrayFromValue(b.getOr("value", Value(0)), callee.as<DType>()));
  }
  default:
    throw TypeError("'" + typeName(callee) + "' object is not callable");
  }
}

/// Converts a script argument for input `i`: Python numbers and lists are
/// accepted when their values convert without loss.
static NDArray argumentFor(const Function &f, size_t i, const Value &v) {
  const TensorType *t = f.inputs()[i].type();
  if (pyNumber(v) || sequenceItems(v)) {
    NDArray a = arrayFromValue(v);
    if (a.dtype() != t->dtype()) {
      NDArray converted = a.astype(t->dtype());
      // Exact round trip: the values fit the input's dtype.
      bool exact = true;
      std::vector<Scalar> before = a.values(), after = converted.values();
      for (size_t k = 0; k < before.size() && exact; ++k)
        exact = after[k].cast(a.dtype()).identical(before[k]);
      if (exact)
        return f.convertArgument(i, converted);
    }
    return f.convertArgument(i, a);
  }
  if (!v.is(ValueKind::Array))
    throw TypeError(f.name() + ": argument " + std::to_string(i + 1) +
                    " must be an array or a number, not " + typeName(v));
  return f.convertArgument(i, v.as<NDArray>());
}

Value Library::Impl::callCompiled(CompiledFunction &cf, CallArgs &args) {
  const Function &f = cf.fn;
  size_t n = f.inputs().size();
  std::vector<const Value *> given(n, nullptr);
  if (args.positional.size() > n)
    throw TypeError(f.name() + "() takes " + std::to_string(n) +
                    " argument" + (n == 1 ? "" : "s") + " but " +
                    std::to_string(args.positional.size()) + " were given");
  for (size_t i = 0; i < args.positional.size(); ++i)
    given[i] = &args.positional[i];
  for (const auto &[key, v] : args.keywords) {
    size_t i = 0;
    while (i < n && cf.inputNames[i] != key)
      ++i;
    if (i == n)
      throw TypeError(f.name() + "() got an unexpected keyword argument '" +
                      key + "'");
    if (given[i])
      throw TypeError(f.name() + "() got multiple values for argument '" +
                      key + "'");
    given[i] = &v;
  }
  std::vector<NDArray> arrays;
  for (size_t i = 0; i < n; ++i) {
    if (given[i]) {
      arrays.push_back(argumentFor(f, i, *given[i]));
    } else if (i < cf.defaults.size() && cf.defaults[i].defined()) {
      arrays.push_back(cf.defaults[i]);
    } else {
      throw TypeError(f.name() + "() missing argument for input " +
                      (cf.inputNames[i].empty()
                           ? "#" + std::to_string(i + 1)
                           : "'" + cf.inputNames[i] + "'"));
    }
  }
  std::vector<NDArray> results = f(arrays);
  if (cf.singleOutput)
    return Value(results[0]);
  std::vector<Value> items(results.begin(), results.end());
  return Value::list(items);
}

/// (key, value) pairs from a dict or a list of pairs.
static std::vector<std::pair<Var, Var>> pairsFrom(Library &lib,
                                                  const Value &v,
                                                  const char *what) {
  std::vector<std::pair<Value, Value>> raw;
  if (v.is(ValueKind::Dict)) {
    raw = v.as<DictPtr>()->items;
  } else {
    for (const Value &item : lib.toList(v)) {
      std::vector<Value> kv = lib.toList(item);
      if (kv.size() != 2)
        throw TypeError(std::string(what) +
                        " must be a dict or a list of (variable, value) "
                        "pairs");
      raw.push_back({kv[0], kv[1]});
    }
  }
  std::vector<std::pair<Var, Var>> out;
  for (const auto &[k, val] : raw) {
    if (!k.is(ValueKind::Symbolic))
      throw TypeError(std::string(what) + ": keys must be symbolic variables, "
                                          "not " +
                      typeName(k));
    const Var &key = k.as<Var>();
    Var value;
    if (val.is(ValueKind::Symbolic)) {
      value = val.as<Var>();
    } else {
      // A constant: typed like the variable it replaces.
      NDArray a = arrayFromValue(val);
      if (a.dtype() != key.dtype() &&
          promoteTypes(a.dtype(), key.dtype()) == key.dtype())
        a = a.astype(key.dtype());
      value = constant(a);
    }
    out.push_back({key, value});
  }
  return out;
}

Value Library::Impl::compile(CallArgs &args) {
  ArgBinder b(args, "function",
              {"inputs", "outputs", "mode", "updates", "givens",
               "no_default_updates", "accept_inplace", "name",
               "rebuild_strict", "allow_input_downcast", "profile",
               "on_unused_input", "device", "allow_tf32"},
              1);
  std::vector<Var> inputs;
  std::vector<NDArray> defaults;
  std::vector<std::string> inputNames;
  for (const Value &v : lib.toList(*b.get("inputs"))) {
    if (v.is(ValueKind::Symbolic)) {
      inputs.push_back(v.as<Var>());
      defaults.push_back(NDArray());
      inputNames.push_back(v.as<Var>().name());
      continue;
    }
    // In(x, value=..., name=...): an input with a default, or a name.
    auto *in = v.is(ValueKind::Object)
                   ? dynamic_cast<InObject *>(
                         v.as<std::shared_ptr<Object>>().get())
                   : nullptr;
    if (in) {
      const Var &x = in->variable;
      inputs.push_back(x);
      defaults.push_back(in->value.isNone()
                             ? NDArray()
                             : arrayFromValue(in->value).astype(x.dtype()));
      inputNames.push_back(in->name.empty() ? x.name() : in->name);
      continue;
    }
    throw TypeError("function: inputs must be symbolic variables or In(...); "
                    "got " +
                    typeName(v));
  }
  auto cf = std::make_shared<CompiledFunction>();
  std::vector<Var> outputs;
  Value outs = b.getOr("outputs", Value::list());
  if (outs.is(ValueKind::Symbolic)) {
    outputs.push_back(outs.as<Var>());
    cf->singleOutput = true;
  } else {
    for (const Value &v : lib.toList(outs)) {
      OpContext ctx(true);
      outputs.push_back(ctx.var(v));
    }
  }
  FunctionOptions opts;
  if (const Value *u = b.get("updates"); u && !u->isNone())
    opts.updates = pairsFrom(lib, *u, "updates");
  if (const Value *g = b.get("givens"); g && !g->isNone())
    opts.givens = pairsFrom(lib, *g, "givens");
  Value mode = b.getOr("mode", Value(interp.options().defaultMode));
  if (mode.is(ValueKind::Object))
    if (auto *m = dynamic_cast<ModeObject *>(
            mode.as<std::shared_ptr<Object>>().get()))
      mode = Value(m->mode);
  if (!mode.is(ValueKind::Str))
    throw TypeError("function: mode must be a mode's name or theano.Mode(...), "
                    "not " +
                    typeName(mode));
  opts.mode = str(mode);
  // Theano's profile=True: the PROFILE mode, unless a mode is named.
  if (!b.get("mode") && truthy(b.getOr("profile", Value(false))))
    opts.mode = "PROFILE";
  opts.allowInputDowncast = truthy(b.getOr("allow_input_downcast", Value(false)));
  opts.name = str(b.getOr("name", Value("f")));
  if (const Value *d = b.get("device"); d && !d->isNone())
    opts.device = str(*d);
  // thjit's own: float32 products on the GPU may use tf32 tensor cores.
  if (const Value *t = b.get("allow_tf32"); t && !t->isNone()) {
    if (!t->is(ValueKind::Bool))
      throw TypeError("function: allow_tf32 must be True or False, not " + typeName(*t));
    opts.allowTF32 = t->as<bool>();
  }
  std::string unused = str(b.getOr("on_unused_input", Value("raise")));
  if (unused == "raise")
    opts.onUnusedInput = OnUnusedInput::Raise;
  else if (unused == "warn")
    opts.onUnusedInput = OnUnusedInput::Warn;
  else if (unused == "ignore")
    opts.onUnusedInput = OnUnusedInput::Ignore;
  else
    throw ValueError("on_unused_input must be 'raise', 'warn' or 'ignore'; "
                     "got '" +
                     unused + "'");
  cf->fn = function(inputs, outputs, opts);
  cf->defaults = defaults;
  cf->inputNames = inputNames;
  cf->inputs = inputs;
  cf->outputs = outputs;
  cf->options = opts;
  interp.functionCompiled(cf->fn);
  return Value(cf);
}

/// f.copy(share_memory=False, swap=None, delete_updates=False, name=None):
/// the function compiled again, with shared variables swapped for others
/// of the same type (in its graph and its updates) or without its updates.
Value Library::Impl::callCopy(const FunctionPtr &cf, CallArgs &args) {
  ArgBinder b(args, "copy",
              {"share_memory", "swap", "delete_updates", "name", "profile"}, 0);
  if (truthy(b.getOr("share_memory", Value(false))))
    throw NotImplementedError("copy: share_memory=True (the copy always has "
                              "storage of its own)");
  FunctionOptions opts = cf->options;
  // The original's inputs were checked; without its updates some may be
  // unused, and the copy still takes them (as Theano's does).
  opts.onUnusedInput = OnUnusedInput::Ignore;
  if (truthy(b.getOr("delete_updates", Value(false))))
    opts.updates.clear();
  if (const Value *sw = b.get("swap"); sw && !sw->isNone()) {
    for (const auto &[old, repl] : pairsFrom(lib, *sw, "copy: swap")) {
      if (!old.isShared() || !repl.isShared())
        throw TypeError("copy: swap must map shared variables to shared "
                        "variables; " +
                        repr(Value(old.isShared() ? repl : old)) +
                        " is not one");
      if (old.type() != repl.type())
        throw TypeError("copy: cannot swap " + repr(Value(old)) +
                        " of type " + theanoTypeStr(old.type()) + " for " +
                        repr(Value(repl)) + " of type " +
                        theanoTypeStr(repl.type()));
      for (auto &[var, value] : opts.updates)
        if (var == old)
          var = repl;
      std::erase_if(opts.givens, [&](const auto &g) { return g.first == old; });
      opts.givens.push_back({old, repl});
    }
  }
  if (const Value *n = b.get("name"); n && !n->isNone())
    opts.name = str(*n);
  auto copy = std::make_shared<CompiledFunction>(*cf);
  copy->fn = function(cf->inputs, cf->outputs, opts);
  copy->options = opts;
  interp.functionCompiled(copy->fn);
  return Value(copy);
}

/// x.eval({x: 1, ...}): x computed by a function of the dict's keys.
Value Library::Impl::eval(const Var &x, CallArgs &args) {
  ArgBinder b(args, "eval", {"inputs_to_values"}, 0);
  std::vector<Value> keys, values;
  if (const Value *d = b.get("inputs_to_values"); d && !d->isNone()) {
    if (!d->is(ValueKind::Dict))
      throw TypeError("eval: inputs_to_values must be a dict, not " +
                      typeName(*d));
    for (const auto &[k, v] : d->as<DictPtr>()->items) {
      keys.push_back(k);
      values.push_back(v);
    }
  }
  CallArgs compileArgs;
  compileArgs.positional = {Value::list(keys), Value(x)};
  compileArgs.keywords = {{"name", Value("eval")}};
  Value f = compile(compileArgs);
  CallArgs callArgs;
  callArgs.positional = values;
  return callCompiled(*f.as<FunctionPtr>(), callArgs);
}

} // namespace thjit::frontend

// ---- Modules and built-ins -------------------------------------------------------

namespace thjit::frontend {

namespace {
/// np.random.RandomState(seed) objects.
struct RandomStateObject : Object {
  RandomState rs;
  explicit RandomStateObject(int64_t seed) : rs(seed) {}
  RandomStateObject() = default;
  std::string typeName() const override { return "RandomState"; }
};
} // namespace

/// The size argument of np.random functions: None, an int or a tuple.
static std::optional<Shape> sizeArg(const ArgBinder &b, const char *name) {
  const Value *v = b.get(name);
  if (!v || v->isNone())
    return std::nullopt;
  Shape s;
  if (const auto *items = sequenceItems(*v))
    for (const Value &x : *items)
      s.push_back(toInt(x, "size"));
  else
    s.push_back(toInt(*v, "size"));
  return s;
}

/// The np.random functions over one generator.
static NamespacePtr randomNamespace(std::function<RandomState &()> rng,
                                    const std::string &name) {
  auto ns = std::make_shared<Namespace>();
  ns->name = name;
  auto def = [&](const std::string &n,
                 std::function<Value(RandomState &, CallArgs &)> fn) {
    ns->members[n] = Value(makeBuiltin(
        n, [rng, fn](Interpreter &, CallArgs &args) { return fn(rng(), args); }));
  };
  auto dims = [](const CallArgs &args) {
    Shape s;
    for (const Value &v : args.positional)
      s.push_back(toInt(v, "dimension"));
    return s;
  };
  auto result = [](NDArray a, bool scalar) {
    return scalar ? Value(a.item().toDouble()) : Value(a);
  };
  def("seed", [](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "seed", {"seed"}, 0);
    const Value *s = b.get("seed");
    if (!s || s->isNone())
      r = RandomState();
    else
      r.seed(toInt(*s, "seed"));
    return Value();
  });
  def("rand", [dims, result](RandomState &r, CallArgs &args) {
    Shape s = dims(args);
    return result(r.rand(s), args.positional.empty());
  });
  def("randn", [dims, result](RandomState &r, CallArgs &args) {
    Shape s = dims(args);
    return result(r.randn(s), args.positional.empty());
  });
  def("random", [result](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "random", {"size"}, 0);
    auto s = sizeArg(b, "size");
    return result(r.rand(s.value_or(Shape{})), !s);
  });
  def("random_sample", [result](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "random_sample", {"size"}, 0);
    auto s = sizeArg(b, "size");
    return result(r.rand(s.value_or(Shape{})), !s);
  });
  def("uniform", [result](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "uniform", {"low", "high", "size"}, 0);
    auto s = sizeArg(b, "size");
    return result(r.uniform(toDouble(b.getOr("low", Value(0.0))),
                            toDouble(b.getOr("high", Value(1.0))),
                            s.value_or(Shape{})),
                  !s);
  });
  def("normal", [result](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "normal", {"loc", "scale", "size"}, 0);
    auto s = sizeArg(b, "size");
    return result(r.normal(toDouble(b.getOr("loc", Value(0.0))),
                           toDouble(b.getOr("scale", Value(1.0))),
                           s.value_or(Shape{})),
                  !s);
  });
  def("randint", [](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "randint", {"low", "high", "size", "dtype"}, 1);
    int64_t low = toInt(*b.get("low"), "low");
    int64_t high;
    if (const Value *h = b.get("high"); h && !h->isNone()) {
      high = toInt(*h, "high");
    } else {
      high = low;
      low = 0;
    }
    auto s = sizeArg(b, "size");
    DType t = dtypeArg(b, "dtype").value_or(DType::Int64);
    NDArray a = r.randint(low, high, s.value_or(Shape{}), t);
    return s ? Value(a) : simplifyScalar(a);
  });
  def("permutation", [](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "permutation", {"x"}, 1);
    const Value &x = *b.get("x");
    if (x.is(ValueKind::Int))
      return Value(r.permutation(x.as<int64_t>()));
    return Value(r.permutation(arrayFromValue(x)));
  });
  def("shuffle", [](RandomState &r, CallArgs &args) {
    ArgBinder b(args, "shuffle", {"x"}, 1);
    if (!b.get("x")->is(ValueKind::Array))
      throw TypeError("shuffle takes an array");
    NDArray a = b.get("x")->as<NDArray>();
    r.shuffle(a);
    return Value();
  });
  return ns;
}

void Library::Impl::buildModules() {
  auto T = std::make_shared<Namespace>();
  T->name = "theano.tensor";
  auto np = std::make_shared<Namespace>();
  np->name = "numpy";
  auto theano = std::make_shared<Namespace>();
  theano->name = "theano";
  auto nnet = std::make_shared<Namespace>();
  nnet->name = "theano.tensor.nnet";
  auto asValue = [](CallablePtr c) { return Value(c); };

  // Array functions: symbolic under T (Theano's names), eager under np
  // (NumPy's names), and methods of variables and arrays.
  for (const auto &[name, def] : functions) {
    T->members[name] = asValue(fn(name, true));
    np->members[name] = asValue(fn(name, false));
    methods[name] = fn(name, false);
  }
  const std::pair<const char *, const char *> theanoAliases[] = {
      {"abs_", "abs"},     {"sgn", "sign"},         {"int_div", "floor_div"},
      {"switch", "where"}, {"and_", "bitwise_and"}, {"or_", "bitwise_or"},
      {"xor", "bitwise_xor"}, {"pow", "pow"},       {"true_div", "true_div"},
      {"neg", "neg"},      {"logsoftmax", "log_softmax"}};
  for (const auto &[alias, name] : theanoAliases)
    T->members[alias] = asValue(fn(name, true, alias));
  const std::pair<const char *, const char *> numpyAliases[] = {
      {"absolute", "abs"},        {"square", "sqr"},
      {"subtract", "sub"},        {"multiply", "mul"},
      {"divide", "true_div"},     {"true_divide", "true_div"},
      {"floor_divide", "floor_div"}, {"remainder", "mod"},
      {"power", "pow"},           {"negative", "neg"},
      {"equal", "eq"},            {"not_equal", "neq"},
      {"less", "lt"},             {"less_equal", "le"},
      {"greater", "gt"},          {"greater_equal", "ge"},
      {"amax", "max"},            {"amin", "min"},
      {"bitwise_not", "invert"},  {"rint", "round"},
      {"around", "round"}};
  for (const auto &[alias, name] : numpyAliases)
    np->members[alias] = asValue(fn(name, false, alias));
  methods["astype"] = fn("cast", false, "astype");
  for (const char *n : {"sigmoid", "softplus", "softmax",
                        "categorical_crossentropy"})
    nnet->members[n] = asValue(fn(n, true));
  nnet->members["logsoftmax"] = asValue(fn("log_softmax", true, "logsoftmax"));
  nnet->members["log_softmax"] = asValue(fn("log_softmax", true));
  T->members["nnet"] = Value(nnet);

  // Symbolic variable constructors: scalar, dvector, fmatrices, ...
  struct Kind {
    const char *name;
    std::vector<int64_t> shape;
  };
  const Kind kinds[] = {{"scalar", {}},
                        {"vector", {-1}},
                        {"matrix", {-1, -1}},
                        {"row", {1, -1}},
                        {"col", {-1, 1}},
                        {"tensor3", {-1, -1, -1}},
                        {"tensor4", {-1, -1, -1, -1}}};
  const std::pair<char, DType> prefixes[] = {
      {'b', DType::Int8},    {'w', DType::Int16},    {'i', DType::Int32},
      {'l', DType::Int64},   {'f', DType::Float32},  {'d', DType::Float64},
      {'c', DType::Complex64}, {'z', DType::Complex128}};
  for (const Kind &k : kinds) {
    auto make = [shape = k.shape, fn = std::string(k.name)]() {
      return [shape, fn](Interpreter &, CallArgs &args) -> Value {
        ArgBinder b(args, fn, {"name", "dtype"}, 0);
        std::string name = b.has("name") && !b.get("name")->isNone()
                               ? str(*b.get("name"))
                               : "";
        DType t = dtypeArg(b, "dtype").value_or(floatX());
        return Value(tensor(t, shape, name));
      };
    };
    auto plural = [shape = k.shape](std::optional<DType> fixed) {
      return [shape, fixed](Interpreter &, CallArgs &args) -> Value {
        std::vector<Value> out;
        std::vector<std::string> names;
        if (args.positional.size() == 1 &&
            args.positional[0].is(ValueKind::Int)) {
          for (int64_t i = 0; i < args.positional[0].as<int64_t>(); ++i)
            names.push_back("");
        } else if (args.positional.size() == 1) {
          // Theano's scalars('xyz'): one variable per character.
          for (char c : str(args.positional[0]))
            names.push_back(std::string(1, c));
        } else {
          for (const Value &v : args.positional)
            names.push_back(str(v));
        }
        for (const std::string &n : names)
          out.push_back(Value(tensor(fixed.value_or(floatX()), shape, n)));
        return Value::list(out);
      };
    };
    std::string base = k.name;
    T->members[base] = Value(makeBuiltin(base, make()));
    std::string pluralName = base == "matrix" ? "matrices" : base + "s";
    T->members[pluralName] =
        Value(makeBuiltin(pluralName, plural(std::nullopt)));
    for (const auto &[c, t] : prefixes) {
      // Theano's dmatrix, fvector, ... are TensorTypes, not functions.
      std::string n = std::string(1, c) + base;
      T->members[n] = typeObject(TensorType::get(t, k.shape), n);
      std::string pn = std::string(1, c) + pluralName;
      T->members[pn] = Value(makeBuiltin(pn, plural(t)));
    }
  }
  T->members["constant"] = Value(makeBuiltin(
      "constant", [](Interpreter &, CallArgs &args) -> Value {
        // No name: equal constants are one node, which one name would
        // rename everywhere.
        ArgBinder b(args, "constant", {"x", "ndim", "dtype"}, 1);
        NDArray a = arrayFromValue(*b.get("x"), dtypeArg(b, "dtype"));
        if (const Value *nd = b.get("ndim"); nd && !nd->isNone() &&
                                             toInt(*nd, "ndim") != a.ndim())
          throw ValueError("constant: the value has " +
                           std::to_string(a.ndim()) + " dimensions, not " +
                           std::to_string(toInt(*nd, "ndim")));
        return Value(constant(a));
      }));
  T->members["TensorType"] = Value(std::static_pointer_cast<Callable>(
      std::make_shared<ClassObject>(
          "TensorType", qualifiedTypeName("TensorType"),
          [this](Interpreter &, CallArgs &args) -> Value {
            ArgBinder b(args, "TensorType", {"dtype", "broadcastable", "name"},
                        2);
            std::vector<bool> bcast;
            for (const Value &v : lib.toList(*b.get("broadcastable")))
              bcast.push_back(truthy(v));
            return typeObject(TensorType::getBroadcastable(
                dtypeFromValue(*b.get("dtype")), bcast));
          })));
  T->members["tensor"] = Value(makeBuiltin(
      "tensor", [](Interpreter &, CallArgs &args) -> Value {
        ArgBinder b(args, "tensor", {"dtype", "broadcastable", "name", "shape"},
                    1);
        DType t = dtypeFromValue(*b.get("dtype"));
        std::vector<int64_t> shape;
        if (const Value *bc = b.get("broadcastable"); bc && !bc->isNone())
          for (const Value &v : *sequenceItems(*bc))
            shape.push_back(truthy(v) ? 1 : TensorType::kUnknown);
        if (const Value *s = b.get("shape"); s && !s->isNone())
          for (const Value &v : *sequenceItems(*s))
            shape.push_back(v.isNone() ? TensorType::kUnknown
                                       : toInt(v, "shape"));
        std::string name = b.has("name") && !b.get("name")->isNone()
                               ? str(*b.get("name"))
                               : "";
        return Value(tensor(t, shape, name));
      }));

  // theano.function, shared, grad, In.
  Value functionValue(makeBuiltin("function", [this](Interpreter &,
                                                     CallArgs &args) {
    return compile(args);
  }));
  Value sharedValue(makeBuiltin("shared", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "shared",
                {"value", "name", "borrow", "broadcastable", "device"}, 1);
    NDArray value = arrayFromValue(*b.get("value"));
    std::string name = b.has("name") && !b.get("name")->isNone()
                           ? str(*b.get("name"))
                           : "";
    std::vector<bool> bcast;
    if (const Value *bc = b.get("broadcastable"); bc && !bc->isNone())
      for (const Value &v : *sequenceItems(*bc))
        bcast.push_back(truthy(v));
    std::string device = "cpu";
    if (const Value *d = b.get("device"); d && !d->isNone()) {
      device = str(*d);
      if (device == "cuda") // at once, not at the first call
        cuda::requireDevice();
    }
    return Value(shared(value, name, bcast, device));
  }));
  // Differentiation: grad, Lop, Rop and the gradient controls.
  // One symbolic variable (single) or a list of them.
  auto symbolics = [this](const Value &v, const std::string &what,
                          bool &single) {
    single = v.is(ValueKind::Symbolic);
    std::vector<Var> vars;
    for (const Value &x : single ? std::vector<Value>{v} : lib.toList(v)) {
      if (!x.is(ValueKind::Symbolic))
        throw TypeError(what + " must be symbolic variables, not " +
                        typeName(x));
      vars.push_back(x.as<Var>());
    }
    return vars;
  };
  auto results = [](const std::vector<Var> &vs, bool single) {
    std::vector<Value> out;
    for (const Var &v : vs) // an undefined Var is None
      out.push_back(v.defined() ? Value(v) : Value());
    return single ? out[0] : Value::list(out);
  };
  auto choice = [](const ArgBinder &b, const char *name, const char *dflt,
                   const std::vector<std::string> &options) {
    std::string got = b.has(name) && b.get(name)->isNone()
                          ? "None"
                          : str(b.getOr(name, Value(std::string(dflt))));
    for (size_t i = 0; i < options.size(); ++i)
      if (got == options[i])
        return (int)i;
    std::string list;
    for (size_t i = 0; i < options.size(); ++i)
      list += (i ? (i + 1 == options.size() ? " or " : ", ") : "") +
              ("'" + options[i] + "'");
    throw ValueError(std::string(name) + " must be " + list + "; got '" + got +
                     "'");
  };
  auto gradOptions = [this, choice](const ArgBinder &b) {
    GradOptions opts;
    if (const Value *c = b.get("consider_constant"); c && !c->isNone())
      for (const Value &v : lib.toList(*c))
        if (v.is(ValueKind::Symbolic))
          opts.considerConstant.push_back(v.as<Var>());
    opts.disconnectedInputs = (DisconnectedInputs)choice(
        b, "disconnected_inputs", "raise", {"raise", "warn", "ignore"});
    return opts;
  };
  auto returnDisconnected = [choice](const ArgBinder &b) {
    return choice(b, "return_disconnected", "zero", {"zero", "None", "none"})
               ? ReturnDisconnected::None
               : ReturnDisconnected::Zero;
  };
  Value gradValue(makeBuiltin("grad", [=, this](Interpreter &,
                                                CallArgs &args) {
    ArgBinder b(args, "grad",
                {"cost", "wrt", "consider_constant", "disconnected_inputs",
                 "known_grads", "return_disconnected", "null_gradients"},
                2);
    const Value &cost = *b.get("cost");
    if (!cost.is(ValueKind::Symbolic) && !cost.isNone())
      throw TypeError("grad: the cost must be a symbolic variable, not " +
                      typeName(cost));
    GradOptions opts = gradOptions(b);
    if (const Value *k = b.get("known_grads"); k && !k->isNone())
      opts.knownGrads = pairsFrom(lib, *k, "known_grads");
    opts.returnDisconnected = returnDisconnected(b);
    opts.nullGradients = choice(b, "null_gradients", "raise",
                                {"raise", "return_nan"})
                             ? NullGradients::ReturnNaN
                             : NullGradients::Raise;
    bool single;
    std::vector<Var> wrt = symbolics(*b.get("wrt"), "grad: wrt", single);
    Var c = cost.isNone() ? Var() : cost.as<Var>();
    return results(grad(c, wrt, opts), single);
  }));
  Value lopValue(makeBuiltin("Lop", [=](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "Lop",
                {"f", "wrt", "eval_points", "consider_constant",
                 "disconnected_inputs"},
                3);
    bool singleF, singleWrt, singleV;
    std::vector<Var> f = symbolics(*b.get("f"), "Lop: f", singleF);
    std::vector<Var> wrt = symbolics(*b.get("wrt"), "Lop: wrt", singleWrt);
    std::vector<Var> v =
        symbolics(*b.get("eval_points"), "Lop: eval_points", singleV);
    return results(Lop(f, wrt, v, gradOptions(b)), singleWrt);
  }));
  Value ropValue(makeBuiltin("Rop", [=](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "Rop",
                {"f", "wrt", "eval_points", "disconnected_outputs",
                 "return_disconnected"},
                3);
    bool singleF, singleWrt, singleV;
    std::vector<Var> f = symbolics(*b.get("f"), "Rop: f", singleF);
    std::vector<Var> wrt = symbolics(*b.get("wrt"), "Rop: wrt", singleWrt);
    std::vector<Var> v =
        symbolics(*b.get("eval_points"), "Rop: eval_points", singleV);
    RopOptions opts;
    opts.disconnectedOutputs = (DisconnectedInputs)choice(
        b, "disconnected_outputs", "raise", {"raise", "warn", "ignore"});
    opts.returnDisconnected = returnDisconnected(b);
    return results(Rop(f, wrt, v, opts), singleF);
  }));
  // jacobian(expression, wrt, ...) and hessian(cost, wrt, ...).
  auto jacobianLike = [=, this](const char *name) {
    bool isJacobian = std::string(name) == "jacobian";
    const char *first = isJacobian ? "expression" : "cost";
    return Value(makeBuiltin(name, [=, this](Interpreter &, CallArgs &args) {
      ArgBinder b(args, name,
                  {first, "wrt", "consider_constant", "disconnected_inputs",
                   "vectorize"},
                  2);
      const Value &e = *b.get(first);
      if (!e.is(ValueKind::Symbolic))
        throw TypeError(std::string(name) + ": the " + first +
                        " must be a symbolic variable, not " + typeName(e));
      GradOptions g = gradOptions(b);
      JacobianOptions opts;
      opts.considerConstant = g.considerConstant;
      opts.disconnectedInputs = g.disconnectedInputs;
      opts.vectorize = truthy(b.getOr("vectorize", Value(true)));
      bool single;
      std::vector<Var> wrt =
          symbolics(*b.get("wrt"), std::string(name) + ": wrt", single);
      return results(isJacobian ? jacobian(e.as<Var>(), wrt, opts)
                                : hessian(e.as<Var>(), wrt, opts),
                     single);
    }));
  };
  Value jacobianValue = jacobianLike("jacobian");
  Value hessianValue = jacobianLike("hessian");
  auto gradient = std::make_shared<Namespace>();
  gradient->name = "theano.gradient";
  // A gradient control: x, then the operands `make` reads from the binder.
  using MakeControl = Var (*)(OpContext &, const ArgBinder &, const Var &);
  auto control = [&](const char *name, std::vector<std::string> params,
                     MakeControl make) {
    Value v(makeBuiltin(name, [name, params, make](Interpreter &,
                                                   CallArgs &args) {
      ArgBinder b(args, name, params, params.size());
      OpContext c(true);
      return Value(make(c, b, c.var(*b.get("x"))));
    }));
    gradient->members[name] = v;
    T->members[name] = v;
  };
  control("disconnected_grad", {"x"},
          [](OpContext &, const ArgBinder &, const Var &x) {
            return disconnectedGrad(x);
          });
  control("zero_grad", {"x"}, [](OpContext &, const ArgBinder &,
                                 const Var &x) { return zeroGrad(x); });
  control("undefined_grad", {"x"},
          [](OpContext &, const ArgBinder &, const Var &x) {
            return undefinedGrad(x);
          });
  control("grad_clip", {"x", "lower_bound", "upper_bound"},
          [](OpContext &c, const ArgBinder &b, const Var &x) {
            return gradClip(x, c.operand(*b.get("lower_bound")),
                            c.operand(*b.get("upper_bound")));
          });
  control("grad_scale", {"x", "multiplier"},
          [](OpContext &c, const ArgBinder &b, const Var &x) {
            return gradScale(x, c.operand(*b.get("multiplier")));
          });
  for (auto [name, value] : {std::pair{"grad", gradValue},
                             std::pair{"Lop", lopValue},
                             std::pair{"Rop", ropValue},
                             std::pair{"jacobian", jacobianValue},
                             std::pair{"hessian", hessianValue}}) {
    gradient->members[name] = value;
    T->members[name] = value;
  }
  Value verifyValue(makeBuiltin("verify_grad", [this](Interpreter &interp,
                                                      CallArgs &args) {
    ArgBinder b(args, "verify_grad",
                {"fun", "pt", "n_tests", "rng", "eps", "abs_tol", "rel_tol",
                 "mode"},
                2);
    Value fun = *b.get("fun");
    std::vector<NDArray> pt;
    for (const Value &p : lib.toList(*b.get("pt")))
      pt.push_back(arrayFromValue(p));
    VerifyGradOptions opts;
    opts.nTests = (int)toInt(b.getOr("n_tests", Value(2)), "n_tests");
    if (const Value *r = b.get("rng"); r && !r->isNone()) {
      if (r->is(ValueKind::Namespace)) { // np.random.RandomState(...)
        CallArgs draw;
        draw.positional = {Value(int64_t(1) << 31)};
        opts.seed = toInt(interp.call(lib.getAttr(*r, "randint"), draw),
                          "rng");
      } else {
        opts.seed = toInt(*r, "rng");
      }
    }
    auto number = [&](const char *name, double &out) {
      if (const Value *v = b.get(name); v && !v->isNone())
        out = toDouble(*v);
    };
    number("eps", opts.eps);
    number("abs_tol", opts.absTol);
    number("rel_tol", opts.relTol);
    if (const Value *m = b.get("mode"); m && !m->isNone())
      opts.mode = str(*m);
    verifyGrad(
        [&](const std::vector<Var> &xs) {
          CallArgs call;
          for (const Var &x : xs)
            call.positional.push_back(Value(x));
          Value out = interp.call(fun, call);
          if (!out.is(ValueKind::Symbolic))
            throw TypeError("verify_grad: the function must return a "
                            "symbolic expression, not " +
                            typeName(out));
          return out.as<Var>();
        },
        pt, opts);
    return Value();
  }));
  gradient->members["verify_grad"] = verifyValue;
  T->members["verify_grad"] = verifyValue;
  theano->members["gradient"] = Value(gradient);
  // theano.OpFromGraph(inputs, outputs, ...): a callable op.
  Value opFromGraphValue(makeBuiltin("OpFromGraph", [=, this](
                                                        Interpreter &interp,
                                                        CallArgs &args) {
    ArgBinder b(args, "OpFromGraph",
                {"inputs", "outputs", "inline", "grad_overrides",
                 "rop_overrides", "name"},
                2);
    bool single;
    std::vector<Var> ins =
        symbolics(*b.get("inputs"), "OpFromGraph: inputs", single);
    std::vector<Var> outs =
        symbolics(*b.get("outputs"), "OpFromGraph: outputs", single);
    OpFromGraphOptions o;
    if (const Value *n = b.get("name"); n && !n->isNone())
      o.name = str(*n);
    o.inlined = truthy(b.getOr("inline", Value(false)));
    auto list = [](const std::vector<Var> &vs) {
      std::vector<Value> items;
      for (const Var &v : vs)
        items.push_back(Value(v));
      return Value::list(items);
    };
    auto symbolicOrNone = [](const Value &v, const std::string &what) {
      if (!v.isNone() && !v.is(ValueKind::Symbolic))
        throw TypeError(what + " must give symbolic variables or None, "
                        "not " + typeName(v));
      return v.isNone() ? Var() : v.as<Var>();
    };
    Interpreter *in = &interp;
    // An override is a script function of (inputs, gradients or tangents)
    // returning a list (None: no gradient).
    auto whole = [=, this](const Value &callable, const std::string &what) {
      return [=, this](const std::vector<Var> &xs, const std::vector<Var> &gs) {
        CallArgs call;
        call.positional = {list(xs), list(gs)};
        std::vector<Var> out;
        for (const Value &v : lib.toList(in->call(callable, call)))
          out.push_back(symbolicOrNone(v, what));
        return out;
      };
    };
    if (const Value *g = b.get("grad_overrides"); g && !g->isNone()) {
      std::string what = "OpFromGraph: grad_overrides";
      if (!sequenceItems(*g)) {
        o.lopOverride = whole(*g, what);
      } else {
        // Theano's list form: per input, 'default' (through the graph), a
        // function of (inputs, gradients) giving that input's gradient, or
        // None (no gradient).
        std::vector<Value> entries = lib.toList(*g);
        if (entries.size() != ins.size())
          throw ValueError(what + " has " + std::to_string(entries.size()) +
                           " entries for " + std::to_string(ins.size()) +
                           " inputs");
        for (const Value &e : entries) {
          bool isDefault = e.is(ValueKind::Str);
          if (isDefault && str(e) != "default")
            throw ValueError(what + ": an entry must be 'default', a "
                             "function or None; got '" + str(e) + "'");
          o.lopThroughGraph.push_back(isDefault);
        }
        o.lopOverride = [=, this](const std::vector<Var> &xs,
                                  const std::vector<Var> &gs) {
          std::vector<Var> out;
          for (const Value &e : entries) {
            if (e.isNone() || e.is(ValueKind::Str)) { // none, or 'default'
              out.push_back(Var());
              continue;
            }
            CallArgs call;
            call.positional = {list(xs), list(gs)};
            out.push_back(symbolicOrNone(in->call(e, call), what));
          }
          return out;
        };
      }
    }
    if (const Value *r = b.get("rop_overrides"); r && !r->isNone())
      o.ropOverride = whole(*r, "OpFromGraph: rop_overrides");
    GraphOp op = opFromGraph(ins, outs, o);
    return Value(makeBuiltin(o.name, [op](Interpreter &, CallArgs &call) {
      OpContext c(true);
      std::vector<Var> xs;
      for (const Value &v : call.positional)
        xs.push_back(c.var(v));
      if (!call.keywords.empty())
        throw TypeError(op->name + " takes positional arguments only");
      std::vector<Var> rs = applyOp(op, xs);
      if (rs.size() == 1)
        return Value(rs[0]);
      std::vector<Value> items;
      for (const Var &r : rs)
        items.push_back(Value(r));
      return Value::list(items);
    }));
  }));
  theano->members["OpFromGraph"] = opFromGraphValue;
  // In(variable, name=None, value=None) and Theano's older
  // Param(variable, default=None, name=None).
  auto inputSpec = [](const char *fn, std::vector<std::string> params,
                      const char *valueParam) {
    return Value(makeBuiltin(fn, [=](Interpreter &, CallArgs &args) {
      ArgBinder b(args, fn, params, 1);
      const Value &v = *b.get("variable");
      if (!v.is(ValueKind::Symbolic))
        throw TypeError(std::string(fn) + ": the variable must be symbolic, "
                                          "not " +
                        typeName(v));
      auto in = std::make_shared<InObject>();
      in->variable = v.as<Var>();
      if (const Value *n = b.get("name"); n && !n->isNone())
        in->name = str(*n);
      in->value = b.getOr(valueParam, Value());
      return Value(std::static_pointer_cast<Object>(in));
    }));
  };
  Value inValue = inputSpec("In", {"variable", "name", "value"}, "value");
  Value paramValue =
      inputSpec("Param", {"variable", "default", "name"}, "default");
  theano->members["function"] = functionValue;
  theano->members["shared"] = sharedValue;
  theano->members["grad"] = gradValue;
  theano->members["In"] = inValue;
  Value ppValue(makeBuiltin("pp", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "pp", {"variable"}, 1);
    const Value &v = *b.get("variable");
    if (!v.is(ValueKind::Symbolic))
      throw TypeError("pp: expected a symbolic variable, not " + typeName(v));
    return Value(prettyPrint(v.as<Var>()));
  }));
  theano->members["pp"] = ppValue;
  auto printing = std::make_shared<Namespace>();
  printing->name = "theano.printing";
  printing->members["pp"] = ppValue;
  printing->members["pprint"] = ppValue;
  // debugprint and pydotprint: a compiled function's graph after rewriting,
  // a variable's as built (as Theano's do).
  auto graphOf = [](const Value &v, const char *fn, bool dot) -> std::string {
    if (v.is(ValueKind::Function)) {
      const Function &f = v.as<FunctionPtr>()->fn;
      return dot ? f.dot() : f.str();
    }
    if (v.is(ValueKind::Symbolic)) {
      Var x = v.as<Var>();
      Graph g(Graph({}, {x}).missingInputs(), {x});
      std::string title = x.name().empty() ? "expr" : x.name();
      return dot ? printDot(g, title) : printGraph(g, title);
    }
    throw TypeError(std::string(fn) + ": expected a compiled function or a "
                                      "symbolic variable, not " +
                    typeName(v));
  };
  printing->members["debugprint"] = Value(makeBuiltin(
      "debugprint", [graphOf](Interpreter &interp, CallArgs &args) {
        ArgBinder b(args, "debugprint", {"obj", "file", "print_type"}, 1);
        std::string text = graphOf(*b.get("obj"), "debugprint", false);
        Value file = b.getOr("file", Value());
        if (file.is(ValueKind::Str) && str(file) == "str")
          return Value(text);
        interp.out() << text;
        return Value();
      }));
  printing->members["pydotprint"] = Value(makeBuiltin(
      "pydotprint", [graphOf](Interpreter &interp, CallArgs &args) {
        // Theano's drawing options are accepted; the picture is thjit's.
        ArgBinder b(args, "pydotprint",
                    {"fct", "outfile", "compact", "format", "with_ids",
                     "high_contrast", "cond_highlight", "colorCodes",
                     "max_label_size", "scan_graphs", "var_with_name_simple",
                     "print_output_file", "return_image"},
                    1);
        std::string format = str(b.getOr("format", Value("png")));
        std::string path =
            str(b.getOr("outfile", Value("pydotprint." + format)));
        std::string dot = graphOf(*b.get("fct"), "pydotprint", true);
        writeGraphPicture(dot, path);
        if (truthy(b.getOr("print_output_file", Value(true))))
          interp.out() << "The output file is available at " << path << "\n";
        return Value();
      }));
  theano->members["printing"] = Value(printing);
  theano->members["Param"] = paramValue;
  // theano.Mode(linker, optimizer): Theano's linkers all run compiled code
  // here except 'py' (Python's implementations: the reference kernels);
  // its optimizers map to the modes with those passes.
  theano->members["Mode"] = Value(makeBuiltin(
      "Mode", [](Interpreter &, CallArgs &args) -> Value {
        ArgBinder b(args, "Mode", {"linker", "optimizer"}, 0);
        auto m = std::make_shared<ModeObject>();
        m->linker = str(b.getOr("linker", Value("cvm")));
        m->optimizer = b.has("optimizer") && b.get("optimizer")->isNone()
                           ? "None"
                           : str(b.getOr("optimizer", Value("default")));
        static const std::set<std::string> linkers = {
            "cvm", "vm", "c", "c|py", "py", "c|py_nogc", "cvm_nogc",
            "vm_nogc"};
        if (!linkers.count(m->linker))
          throw ValueError("Mode: unknown linker '" + m->linker + "'");
        if (m->linker == "py") {
          m->mode = "REFERENCE";
        } else if (m->optimizer == "default" || m->optimizer == "fast_run") {
          m->mode = "FAST_RUN";
        } else if (m->optimizer == "fast_compile" || m->optimizer == "None" ||
                   m->optimizer == "merge") {
          m->mode = "FAST_COMPILE";
        } else {
          throw ValueError("Mode: unknown optimizer '" + m->optimizer +
                           "' (expected 'default', 'fast_run', "
                           "'fast_compile', 'merge' or None)");
        }
        return Value(std::static_pointer_cast<Object>(m));
      }));
  // theano.ifelse.ifelse(condition, then, else): not lazy here; both
  // branches are computed and the condition picks one (a switch), so they
  // must have the same shape when the function runs.
  auto ifelseModule = std::make_shared<Namespace>();
  ifelseModule->name = "theano.ifelse";
  ifelseModule->members["ifelse"] = Value(makeBuiltin(
      "ifelse", [this](Interpreter &, CallArgs &args) -> Value {
        ArgBinder b(args, "ifelse",
                    {"condition", "then_branch", "else_branch", "name"}, 3);
        OpContext c(true);
        Var cond = c.var(*b.get("condition"));
        if (cond.ndim() != 0)
          throw TypeError("ifelse: the condition must be a scalar, not of "
                          "type " +
                          theanoTypeStr(cond.type()));
        const Value &thenV = *b.get("then_branch");
        const Value &elseV = *b.get("else_branch");
        bool single = !sequenceItems(thenV);
        std::vector<Value> thens = single ? std::vector<Value>{thenV}
                                          : lib.toList(thenV);
        std::vector<Value> elses = single ? std::vector<Value>{elseV}
                                          : lib.toList(elseV);
        if (thens.size() != elses.size())
          throw ValueError("ifelse: " + std::to_string(thens.size()) +
                           " then branches but " +
                           std::to_string(elses.size()) + " else branches");
        std::vector<Value> out;
        for (size_t i = 0; i < thens.size(); ++i) {
          Var t = c.var(thens[i]), e = c.var(elses[i]);
          if (t.dtype() != e.dtype() ||
              t.type()->broadcastable() != e.type()->broadcastable())
            throw TypeError("ifelse: the two branches should have identical "
                            "types, but they are " +
                            theanoTypeStr(t.type()) + " and " +
                            theanoTypeStr(e.type()) +
                            (t.dtype() != e.dtype() ? " (cast one of them)"
                                                    : ""));
          out.push_back(Value(where(cond, t, e)));
        }
        return single ? out[0] : Value::list(out);
      }));
  theano->members["ifelse"] = Value(ifelseModule);
  theano->members["tensor"] = Value(T);
  auto config = std::make_shared<Namespace>();
  config->name = "theano.config";
  config->members["floatX"] = Value(std::string(dtypeName(floatX())));
  theano->members["config"] = Value(config);

  // numpy: array constructors, dtypes, constants, random.
  for (int i = 0; i < kNumDTypes; ++i)
    np->members[dtypeName((DType)i)] = Value((DType)i);
  np->members["bool_"] = Value(DType::Bool);
  np->members["pi"] = Value(M_PI);
  np->members["e"] = Value(M_E);
  np->members["inf"] = Value(INFINITY);
  np->members["nan"] = Value(NAN);
  np->members["newaxis"] = Value();
  auto arrayFn = [](const char *name, bool copy) {
    return Value(makeBuiltin(name, [name, copy](Interpreter &, CallArgs &args) {
      ArgBinder b(args, name, {"object", "dtype"}, 1);
      NDArray a = arrayFromValue(*b.get("object"), dtypeArg(b, "dtype"));
      if (copy && b.get("object")->is(ValueKind::Array) &&
          a.data() == b.get("object")->as<NDArray>().data())
        a = a.copy();
      return Value(a);
    }));
  };
  np->members["array"] = arrayFn("array", true);
  np->members["asarray"] = arrayFn("asarray", false);
  np->members["empty"] = np->members["zeros"];
  np->members["full"] = Value(makeBuiltin("full", [](Interpreter &,
                                                     CallArgs &args) {
    ArgBinder b(args, "full", {"shape", "fill_value", "dtype"}, 2);
    Shape shape;
    if (const auto *items = sequenceItems(*b.get("shape")))
      for (const Value &v : *items)
        shape.push_back(toInt(v, "shape"));
    else
      shape.push_back(toInt(*b.get("shape"), "shape"));
    NDArray v = arrayFromValue(*b.get("fill_value"), dtypeArg(b, "dtype"));
    return Value(NDArray::full(v.dtype(), shape, v.item()));
  }));
  np->members["linspace"] = Value(makeBuiltin("linspace", [](Interpreter &,
                                                             CallArgs &args) {
    ArgBinder b(args, "linspace", {"start", "stop", "num", "endpoint", "dtype"},
                2);
    double start = toDouble(*b.get("start")), stop = toDouble(*b.get("stop"));
    int64_t num = toInt(b.getOr("num", Value(50)), "num");
    if (num < 0)
      throw ValueError("Number of samples, " + std::to_string(num) +
                       ", must be non-negative.");
    bool endpoint = truthy(b.getOr("endpoint", Value(true)));
    int64_t div = endpoint ? num - 1 : num;
    double step = div > 0 ? (stop - start) / (double)div : 0;
    NDArray a = NDArray::empty(DType::Float64, {num});
    for (int64_t i = 0; i < num; ++i)
      a.setAt({i}, Scalar(start + (double)i * step));
    if (endpoint && num > 1)
      a.setAt({num - 1}, Scalar(stop));
    if (auto t = dtypeArg(b, "dtype"))
      a = a.astype(*t);
    return Value(a);
  }));
  np->members["allclose"] = Value(makeBuiltin("allclose", [](Interpreter &,
                                                             CallArgs &args) {
    ArgBinder b(args, "allclose", {"a", "b", "rtol", "atol"}, 2);
    NDArray x = arrayFromValue(*b.get("a")), y = arrayFromValue(*b.get("b"));
    double rtol = toDouble(b.getOr("rtol", Value(1e-5)));
    double atol = toDouble(b.getOr("atol", Value(1e-8)));
    Shape s = broadcastShapes(x.shape(), y.shape());
    std::vector<Scalar> xs = x.broadcastTo(s).values(),
                        ys = y.broadcastTo(s).values();
    for (size_t i = 0; i < xs.size(); ++i) {
      double p = xs[i].toDouble(), q = ys[i].toDouble();
      if (!(std::fabs(p - q) <= atol + rtol * std::fabs(q)) && p != q)
        return Value(false);
    }
    return Value(true);
  }));
  auto random = randomNamespace([]() -> RandomState & {
    return globalRandomState();
  }, "numpy.random");
  random->members["RandomState"] = Value(makeBuiltin(
      "RandomState", [](Interpreter &, CallArgs &args) {
        ArgBinder b(args, "RandomState", {"seed"}, 0);
        auto obj = std::make_shared<RandomStateObject>();
        if (const Value *s = b.get("seed"); s && !s->isNone())
          obj->rs.seed(toInt(*s, "seed"));
        // A namespace of its methods, bound to this generator.
        auto ns = randomNamespace([obj]() -> RandomState & { return obj->rs; },
                                  "RandomState");
        return Value(ns);
      }));
  np->members["random"] = Value(random);

  // load / save of .npy files.
  Value loadValue(makeBuiltin("load", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "load", {"path"}, 1);
    return Value(loadNpy(str(*b.get("path"))));
  }));
  Value saveValue(makeBuiltin("save", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "save", {"path", "value"}, 2);
    saveNpy(str(*b.get("path")), arrayFromValue(*b.get("value")));
    return Value();
  }));
  np->members["load"] = loadValue;
  np->members["save"] = saveValue;

  modules["theano"] = Value(theano);
  modules["theano.tensor"] = Value(T);
  modules["theano.tensor.nnet"] = Value(nnet);
  modules["theano.printing"] = Value(printing);
  modules["theano.gradient"] = theano->members.at("gradient");
  modules["theano.ifelse"] = Value(ifelseModule);

  // time: clocks for the tutorials' timings (clock() is Python 2's).
  auto time = std::make_shared<Namespace>();
  time->name = "time";
  auto clock = [](const char *name, bool wall) {
    return [name, wall](Interpreter &, CallArgs &args) -> Value {
      ArgBinder b(args, name, {}, 0);
      if (wall)
        return Value(std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
      return Value(std::chrono::duration<double>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count());
    };
  };
  time->members["time"] = Value(makeBuiltin("time", clock("time", true)));
  time->members["perf_counter"] = Value(
      makeBuiltin("perf_counter", clock("perf_counter", false)));
  time->members["clock"] = Value(makeBuiltin("clock", clock("clock", false)));
  time->members["sleep"] = Value(makeBuiltin(
      "sleep", [](Interpreter &, CallArgs &args) -> Value {
        ArgBinder b(args, "sleep", {"seconds"}, 1);
        double secs = toDouble(*b.get("seconds"));
        if (secs < 0)
          throw ValueError("sleep length must be non-negative");
        std::this_thread::sleep_for(std::chrono::duration<double>(secs));
        return Value();
      }));
  modules["time"] = Value(time);
  // sys.argv (setArguments): the script's name and what followed it.
  auto sys = std::make_shared<Namespace>();
  sys->name = "sys";
  sys->members["argv"] = Value::list({Value("")});
  modules["sys"] = Value(sys);
  // `from __future__ import print_function, division`: already so.
  auto future = std::make_shared<Namespace>();
  future->name = "__future__";
  for (const char *f : {"absolute_import", "print_function", "division",
                        "unicode_literals", "generators", "with_statement"})
    future->members[f] = Value(true);
  modules["__future__"] = Value(future);
  modules["numpy"] = Value(np);
  modules["numpy.random"] = Value(random);

  // ---- Python built-ins
  auto def = [&](const std::string &n,
                 std::function<Value(Interpreter &, CallArgs &)> f) {
    builtins[n] = Value(makeBuiltin(n, std::move(f)));
  };
  // Python's classes (int, list, TypeError, ...): type() gives them back.
  auto defClass = [&](const std::string &n,
                      std::function<Value(Interpreter &, CallArgs &)> f) {
    builtins[n] = Value(std::static_pointer_cast<Callable>(
        std::make_shared<ClassObject>(n, n, std::move(f))));
  };
  builtins["function"] = functionValue;
  builtins["shared"] = sharedValue;
  builtins["grad"] = gradValue;
  builtins["load"] = loadValue;
  builtins["save"] = saveValue;
  def("print", [](Interpreter &in, CallArgs &args) {
    ArgBinder b(args, "print", {}, 0, true, {"sep", "end", "flush"});
    std::string sep = str(b.getOr("sep", Value(" ")));
    std::string end = str(b.getOr("end", Value("\n")));
    std::ostream &o = in.out();
    for (size_t i = 0; i < b.rest().size(); ++i)
      o << (i ? sep : "") << str(b.rest()[i]);
    o << end;
    if (boolArg(b, "flush"))
      o.flush();
    return Value();
  });
  // dir(obj): its attributes; dir(): the session's names.
  def("dir", [this](Interpreter &interp, CallArgs &args) {
    ArgBinder b(args, "dir", {"obj"}, 0);
    std::vector<Value> names;
    for (const std::string &n : b.has("obj") ? lib.attributeNames(*b.get("obj"))
                                             : interp.names())
      names.push_back(Value(n));
    return Value::list(names);
  });
  def("len", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "len", {"x"}, 1);
    const Value &x = *b.get("x");
    if (const auto *items = sequenceItems(x))
      return Value((int64_t)items->size());
    switch (x.kind()) {
    case ValueKind::Str:
      return Value((int64_t)x.as<std::string>().size());
    case ValueKind::Dict:
      return Value((int64_t)x.as<DictPtr>()->items.size());
    case ValueKind::Range:
      return Value(x.as<std::shared_ptr<RangeObj>>()->size());
    case ValueKind::Array:
      if (x.as<NDArray>().ndim() == 0)
        throw TypeError("len() of unsized object");
      return Value(x.as<NDArray>().dim(0));
    default:
      throw TypeError("object of type '" + typeName(x) + "' has no len()");
    }
  });
  defClass("range", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "range", {"a", "b", "step"}, 1);
    auto r = std::make_shared<RangeObj>();
    if (b.has("b")) {
      r->start = toInt(*b.get("a"), "range()");
      r->stop = toInt(*b.get("b"), "range()");
    } else {
      r->start = 0;
      r->stop = toInt(*b.get("a"), "range()");
    }
    r->step = toInt(b.getOr("step", Value(1)), "range()");
    if (r->step == 0)
      throw ValueError("range() arg 3 must not be zero");
    return Value(r);
  });
  auto extremum = [this](bool isMax) {
    return [this, isMax](Interpreter &, CallArgs &args) -> Value {
      ArgBinder b(args, isMax ? "max" : "min", {}, 0, true);
      std::vector<Value> items = b.rest().size() == 1 ? lib.toList(b.rest()[0])
                                                      : b.rest();
      if (items.empty())
        throw ValueError(std::string(isMax ? "max" : "min") +
                         "() arg is an empty sequence");
      Value best = items[0];
      for (size_t i = 1; i < items.size(); ++i)
        if (truthy(lib.compare(isMax ? CmpOp::Gt : CmpOp::Lt, items[i], best)))
          best = items[i];
      return best;
    };
  };
  def("max", extremum(true));
  def("min", extremum(false));
  def("abs", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "abs", {"x"}, 1);
    const Value &x = *b.get("x");
    if (isArrayLike(x))
      return lib.callValue(Value(std::static_pointer_cast<Callable>(
                               fn("abs", false))),
                           {x});
    if (isPyInt(x))
      return Value(std::abs(pyInt(x)));
    if (x.is(ValueKind::Complex))
      return Value(std::abs(x.as<std::complex<double>>()));
    return Value(std::fabs(toDouble(x)));
  });
  defClass("float", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "float", {"x"}, 0);
    const Value &x = b.getOr("x", Value(0.0));
    if (x.is(ValueKind::Str)) {
      std::string s = x.as<std::string>();
      char *end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (s.empty() || *end)
        throw ValueError("could not convert string to float: " + repr(x));
      return Value(d);
    }
    if (x.is(ValueKind::Array))
      return Value(x.as<NDArray>().item().toDouble());
    return Value(toDouble(x));
  });
  defClass("int", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "int", {"x"}, 0);
    const Value &x = b.getOr("x", Value(0));
    if (x.is(ValueKind::Str)) {
      std::string s = x.as<std::string>();
      char *end = nullptr;
      long long v = std::strtoll(s.c_str(), &end, 10);
      if (s.empty() || *end)
        throw ValueError("invalid literal for int() with base 10: " + repr(x));
      return Value((int64_t)v);
    }
    if (isPyInt(x))
      return Value(pyInt(x));
    double d = toDouble(x);
    if (!std::isfinite(d))
      throw ValueError("cannot convert float " + formatPyFloat(d) +
                       " to integer");
    return Value((int64_t)std::trunc(d));
  });
  defClass("bool", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "bool", {"x"}, 0);
    return Value(truthy(b.getOr("x", Value(false))));
  });
  defClass("complex", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "complex", {"real", "imag"}, 0);
    return Value(std::complex<double>(toDouble(b.getOr("real", Value(0.0))),
                                      toDouble(b.getOr("imag", Value(0.0)))));
  });
  defClass("str", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "str", {"x"}, 0);
    return Value(str(b.getOr("x", Value(""))));
  });
  def("repr", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "repr", {"x"}, 1);
    return Value(repr(*b.get("x")));
  });
  defClass("list", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "list", {"x"}, 0);
    return Value::list(b.has("x") ? lib.toList(*b.get("x"))
                                  : std::vector<Value>{});
  });
  defClass("tuple", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "tuple", {"x"}, 0);
    return Value::tuple(b.has("x") ? lib.toList(*b.get("x"))
                                   : std::vector<Value>{});
  });
  defClass("dict", [this](Interpreter &, CallArgs &args) {
    // Keywords are entries: dict(a=1). (The binder points into its args.)
    CallArgs positional{args.positional, {}};
    ArgBinder b(positional, "dict", {"x"}, 0);
    auto d = std::make_shared<DictObj>();
    if (b.has("x"))
      for (const Value &kv : lib.toList(*b.get("x"))) {
        std::vector<Value> pair = lib.toList(kv);
        if (pair.size() != 2)
          throw ValueError("dictionary update sequence element has length " +
                           std::to_string(pair.size()) + "; 2 is required");
        d->set(pair[0], pair[1]);
      }
    for (const auto &[k, v] : args.keywords)
      d->set(Value(k), v);
    return Value(d);
  });
  def("zip", [this](Interpreter &, CallArgs &args) {
    std::vector<std::vector<Value>> seqs;
    size_t n = std::numeric_limits<size_t>::max();
    for (const Value &v : args.positional) {
      seqs.push_back(lib.toList(v));
      n = std::min(n, seqs.back().size());
    }
    std::vector<Value> out;
    for (size_t i = 0; i < n && !seqs.empty(); ++i) {
      std::vector<Value> t;
      for (const auto &s : seqs)
        t.push_back(s[i]);
      out.push_back(Value::tuple(t));
    }
    return Value::list(out);
  });
  def("enumerate", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "enumerate", {"x", "start"}, 1);
    int64_t i = toInt(b.getOr("start", Value(0)), "start");
    std::vector<Value> out;
    for (const Value &v : lib.toList(*b.get("x")))
      out.push_back(Value::tuple({Value(i++), v}));
    return Value::list(out);
  });
  def("sum", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "sum", {"x", "start"}, 1);
    Value total = b.getOr("start", Value(0));
    for (const Value &v : lib.toList(*b.get("x")))
      total = lib.binary(BinaryOp::Add, total, v);
    return total;
  });
  def("sorted", [this](Interpreter &in, CallArgs &args) {
    ArgBinder b(args, "sorted", {"x", "key", "reverse"}, 1);
    std::vector<Value> items = lib.toList(*b.get("x"));
    const Value *key = b.get("key");
    std::vector<std::pair<Value, Value>> keyed;
    for (const Value &v : items)
      keyed.push_back({key && !key->isNone() ? lib.callValue(*key, {v}) : v, v});
    std::stable_sort(keyed.begin(), keyed.end(), [&](auto &x, auto &y) {
      return truthy(lib.compare(CmpOp::Lt, x.first, y.first));
    });
    if (truthy(b.getOr("reverse", Value(false))))
      std::reverse(keyed.begin(), keyed.end());
    std::vector<Value> out;
    for (auto &kv : keyed)
      out.push_back(kv.second);
    (void)in;
    return Value::list(out);
  });
  def("reversed", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "reversed", {"x"}, 1);
    std::vector<Value> items = lib.toList(*b.get("x"));
    std::reverse(items.begin(), items.end());
    return Value::list(items);
  });
  def("any", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "any", {"x"}, 1);
    for (const Value &v : lib.toList(*b.get("x")))
      if (truthy(v))
        return Value(true);
    return Value(false);
  });
  def("all", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "all", {"x"}, 1);
    for (const Value &v : lib.toList(*b.get("x")))
      if (!truthy(v))
        return Value(false);
    return Value(true);
  });
  def("map", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "map", {"f", "x"}, 2);
    std::vector<Value> out;
    for (const Value &v : lib.toList(*b.get("x")))
      out.push_back(lib.callValue(*b.get("f"), {v}));
    return Value::list(out);
  });
  def("round", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "round", {"x", "ndigits"}, 1);
    double x = toDouble(*b.get("x"));
    if (!b.has("ndigits") || b.get("ndigits")->isNone())
      return Value((int64_t)std::nearbyint(x));
    double scale = std::pow(10.0, (double)toInt(*b.get("ndigits"), "ndigits"));
    return Value(std::nearbyint(x * scale) / scale);
  });
  def("type", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "type", {"object"}, 1);
    return classOf(*b.get("object"));
  });
  def("isinstance", [](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "isinstance", {"x", "kind"}, 2);
    const Value &x = *b.get("x");
    std::string have = typeName(x);
    // A class or a tuple of them; bool is an int, every exception an
    // Exception.
    std::function<bool(const Value &)> matches = [&](const Value &k) {
      if (k.is(ValueKind::Tuple))
        return std::any_of(k.as<TuplePtr>()->items.begin(),
                           k.as<TuplePtr>()->items.end(), matches);
      std::string want = k.is(ValueKind::Callable)
                             ? k.as<CallablePtr>()->name
                             : str(k);
      return have == want || (want == "int" && have == "bool") ||
             (want == "Exception" && x.is(ValueKind::Exception));
    };
    return Value(matches(*b.get("kind")));
  });
  def("timeit", [this](Interpreter &, CallArgs &args) {
    ArgBinder b(args, "timeit", {"f"}, 1, true, {"number", "repeat"});
    int64_t number = toInt(b.getOr("number", Value(1)), "number");
    int64_t repeat = toInt(b.getOr("repeat", Value(3)), "repeat");
    if (number < 1 || repeat < 1)
      throw ValueError("timeit: number and repeat must be positive");
    double best = INFINITY;
    for (int64_t r = 0; r < repeat; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < number; ++i)
        lib.callValue(*b.get("f"), b.rest());
      std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
      best = std::min(best, dt.count() / (double)number);
    }
    return Value(best);
  });
  for (const char *kind : {
#define THJIT_ERROR_NAME(NAME) #NAME,
           THJIT_ERROR_KINDS(THJIT_ERROR_NAME)
#undef THJIT_ERROR_NAME
               "Exception"}) {
    std::string k = kind;
    defClass(k, [k](Interpreter &, CallArgs &args) {
      ArgBinder b(args, k, {"message"}, 0);
      auto e = std::make_shared<ExceptionObj>();
      e->kind = k == "Exception" ? "RuntimeError" : k;
      e->message = b.has("message") ? str(*b.get("message")) : "";
      return Value(e);
    });
  }
}

} // namespace thjit::frontend
