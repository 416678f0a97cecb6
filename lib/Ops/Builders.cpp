//===- Builders.cpp - The op table, makeOp, leaves, Python numbers --------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

namespace thjit {

const OpDef &opDef(OpKind kind) {
  static const std::vector<OpDef> table = [] {
    std::vector<OpDef> t(kNumOpKinds);
    registerElemwiseOps(t.data());
    registerReduceOps(t.data());
    registerBlasOps(t.data());
    registerShapeOps(t.data());
    registerSubtensorOps(t.data());
    registerNNetOps(t.data());
    registerGradControlOps(t.data());
    registerOpFromGraphOps(t.data());
    return t;
  }();
  return table[(int)kind];
}

DType kernelDType(DType t) {
  if (isBool(t) || isSignedInt(t))
    return DType::Int64;
  if (isUnsignedInt(t))
    return DType::UInt64;
  if (isFloat(t))
    return DType::Float64;
  return DType::Complex128;
}

int normalizeAxis(int axis, int ndim, const char *op) {
  if (axis < -ndim || axis >= ndim) {
    if (ndim == 0)
      throw ValueError(std::string(op) + ": axis " + std::to_string(axis) +
                       " is out of bounds for a 0-d value");
    throw ValueError(std::string(op) + ": axis " + std::to_string(axis) +
                     " is out of bounds for a value of rank " +
                     std::to_string(ndim));
  }
  return axis < 0 ? axis + ndim : axis;
}

// Prefixes an error from type inference with the op's name (once).
[[noreturn]] static void rethrowFor(OpKind kind, const Error &e) {
  std::string msg = e.what();
  std::string prefix = std::string(opName(kind)) + ":";
  if (msg.compare(0, prefix.size(), prefix) != 0)
    msg = prefix + " " + msg;
  throwErrorOfKind(e.kind(), msg);
}

std::vector<Var> makeOp(OpKind kind, std::vector<Var> operands, Attrs attrs) {
  for (const Var &v : operands)
    if (!v.defined())
      throw ValueError(std::string(opName(kind)) + ": an operand is undefined");
  const OpDef &def = opDef(kind);
  if (!def.inferTypes)
    throw CompileError(std::string(opName(kind)) + " cannot be built directly");
  std::vector<const TensorType *> types;
  try {
    types = def.inferTypes(kind, operands, attrs);
  } catch (const Error &e) {
    rethrowFor(kind, e);
  }
  NodeRef n = makeNode(kind, std::move(operands), std::move(attrs),
                       std::move(types));
  std::vector<Var> results;
  for (int i = 0; i < n->numResults(); ++i)
    results.push_back(Var(n, i));
  return results;
}

std::vector<const TensorType *> inferNodeTypes(const Node &node) {
  const OpDef &def = opDef(node.kind());
  if (node.isLeaf())
    return node.resultTypes();
  return def.inferTypes(node.kind(), node.operands(), node.attrs());
}

std::vector<NDArray> evaluateNode(const Node &node,
                                  const std::vector<NDArray> &operands) {
  try {
    return opDef(node.kind()).evaluate(node, operands);
  } catch (const Error &e) {
    std::string msg = e.what();
    std::string prefix = std::string(node.name()) + ":";
    if (msg.compare(0, prefix.size(), prefix) != 0)
      msg = prefix + " " + msg;
    throwErrorOfKind(e.kind(), msg + node.whereCreated());
  }
}

std::vector<SymShape> inferNodeShape(const Node &node) {
  if (node.isLeaf()) {
    Var v = const_cast<Node &>(node).result(0);
    SymShape s;
    for (int i = 0; i < v.ndim(); ++i)
      s.push_back(shapeOf(v, i));
    return {s};
  }
  std::vector<SymShape> in;
  for (const Var &v : node.operands())
    in.push_back(inferNodeShape(*v.node())[v.index()]);
  return opDef(node.kind()).inferShape(node, in);
}

// ---- Python numbers ---------------------------------------------------------

// The dtype a lone Python number has.
static DType pyDefaultDType(PyScalarKind k) {
  switch (k) {
  case PyScalarKind::Bool:
    return DType::Bool;
  case PyScalarKind::Int:
    return DType::Int64;
  case PyScalarKind::Float:
    return DType::Float64;
  case PyScalarKind::Complex:
    return DType::Complex128;
  }
  return DType::Float64;
}

// A Python int must fit the integer dtype it becomes (NEP 50).
static void checkIntFits(const Scalar &v, DType t, const char *op) {
  if (!isInteger(t))
    return;
  int64_t x = v.toInt();
  bool fits = true;
  dispatchDType(t, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if constexpr (std::is_unsigned_v<T>)
        fits = x >= 0 && (uint64_t)x <= std::numeric_limits<T>::max();
      else
        fits = x >= std::numeric_limits<T>::min() &&
               x <= std::numeric_limits<T>::max();
    }
  });
  if (!fits)
    throw ValueError(std::string(op) + ": Python integer " + v.str() +
                     " is out of bounds for " + dtypeName(t));
}

std::vector<Var> asTensors(const std::vector<Operand> &operands,
                           const char *op) {
  std::optional<DType> strong;
  PyScalarKind widest = PyScalarKind::Bool;
  for (const Operand &o : operands) {
    if (o.isVar())
      strong = strong ? promoteTypes(*strong, o.asVar().dtype())
                      : o.asVar().dtype();
    else if ((int)o.pyKind() > (int)widest)
      widest = o.pyKind();
  }
  std::vector<Var> out;
  for (const Operand &o : operands) {
    if (o.isVar()) {
      out.push_back(o.asVar());
      continue;
    }
    DType t = strong ? promoteWithPyScalar(*strong, o.pyKind())
                     : pyDefaultDType(widest);
    if (o.pyKind() == PyScalarKind::Int)
      checkIntFits(o.pyValue(), t, op);
    out.push_back(constant(o.pyValue().cast(t)));
  }
  return out;
}

Var asTensor(const Operand &operand) {
  return asTensors({operand}, "as_tensor")[0];
}

// ---- Leaves -----------------------------------------------------------------

Var tensor(DType dtype, const std::vector<int64_t> &shape,
           const std::string &name) {
  for (int64_t s : shape)
    if (s < TensorType::kUnknown)
      throw ValueError("tensor: negative static size in shape " +
                       formatShape(shape));
  return makeInput(TensorType::get(dtype, shape), name);
}

static Var leafOfRank(const std::string &name, std::optional<DType> dtype,
                      std::vector<int64_t> shape) {
  return tensor(dtype.value_or(floatX()), shape, name);
}

static constexpr int64_t U = TensorType::kUnknown;
Var scalar(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {});
}
Var vector(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {U});
}
Var matrix(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {U, U});
}
Var row(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {1, U});
}
Var col(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {U, 1});
}
Var tensor3(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {U, U, U});
}
Var tensor4(const std::string &name, std::optional<DType> dtype) {
  return leafOfRank(name, dtype, {U, U, U, U});
}

Var shared(const NDArray &value, const std::string &name,
           const std::vector<bool> &broadcastable) {
  if (!value.defined())
    throw ValueError("shared: no value given");
  std::vector<bool> bcast = broadcastable;
  if (bcast.empty())
    bcast.assign(value.ndim(), false);
  if ((int)bcast.size() != value.ndim())
    throw ValueError("shared: the broadcastable pattern has " +
                     std::to_string(bcast.size()) +
                     " entries but the value has rank " +
                     std::to_string(value.ndim()));
  return makeShared(value.copy(),
                    TensorType::getBroadcastable(value.dtype(), bcast), name);
}

Var constant(const NDArray &value) { return makeConstant(value); }
Var constant(const Scalar &value) {
  return makeConstant(NDArray::scalar(value));
}

std::vector<NDArray> evaluateGraph(const Graph &g,
                                   const std::vector<NDArray> &inputValues) {
  const std::vector<Node *> &nodes = g.nodes();
  std::unordered_map<Node *, std::vector<NDArray>> values;
  for (size_t i = 0; i < g.inputs().size(); ++i)
    values[g.inputs()[i].node()] = {inputValues[i]};
  // Free each intermediate after its last use.
  std::unordered_map<Node *, size_t> lastUse;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const Var &v : nodes[i]->operands())
      lastUse[v.node()] = i;
  std::set<Node *> outputNodes;
  for (const Var &o : g.outputs())
    outputNodes.insert(o.node());
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node *n = nodes[i];
    switch (n->kind()) {
    case OpKind::Input:
      if (!values.count(n))
        throw ValueError("evaluate: no value for input " + n->userName());
      continue;
    case OpKind::Shared:
      values[n] = {n->sharedStorage()->get()};
      continue;
    case OpKind::Constant:
      values[n] = {n->constantValue()};
      continue;
    default:
      break;
    }
    std::vector<NDArray> operands;
    for (const Var &v : n->operands())
      operands.push_back(values.at(v.node())[v.index()]);
    values[n] = evaluateNode(*n, operands);
    for (const Var &v : n->operands())
      if (lastUse[v.node()] == i && !outputNodes.count(v.node()))
        values.erase(v.node());
  }
  std::vector<NDArray> out;
  for (const Var &o : g.outputs())
    out.push_back(values.at(o.node())[o.index()]);
  return out;
}

} // namespace thjit
