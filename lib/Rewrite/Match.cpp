//===- Match.cpp - Helpers of the rewrite sets ----------------------------===//
#include "Match.h"

namespace thjit::match {

const Node *def(const Var &v, OpKind k) {
  if (!v.defined() || v.index() != 0 || v.node()->kind() != k)
    return nullptr;
  return v.node();
}

std::optional<double> constantValue(const Var &v) {
  Node *n = v.node();
  switch (n->kind()) {
  case OpKind::Constant: {
    const NDArray &a = n->constantValue();
    if (isComplex(a.dtype()) || a.size() == 0)
      return std::nullopt;
    double first = a.flatAt(0).toDouble();
    for (int64_t i = 1; i < a.size(); ++i)
      if (a.flatAt(i).toDouble() != first)
        return std::nullopt;
    return first;
  }
  case OpKind::DimShuffle:
  case OpKind::Alloc:
    return constantValue(n->operand(0));
  default:
    return std::nullopt;
  }
}

bool isConstant(const Var &v, double x) {
  std::optional<double> c = constantValue(v);
  return c && *c == x;
}

NodeRef rebuild(const Node &n, std::vector<Var> operands) {
  LocationScope scope(n.location());
  NodeRef m = makeOp(n.kind(), std::move(operands), n.attrs())[0].nodeRef();
  if (m->userName().empty() && !n.userName().empty())
    m->setUserName(n.userName());
  return m;
}

Var scalarConstant(double x, DType t) {
  Scalar s = isFloat(t) ? Scalar(x, t)
             : isBool(t) ? Scalar::fromBool(x != 0)
             : isUnsignedInt(t) ? Scalar::fromUInt((uint64_t)x, t)
                                : Scalar::fromInt((int64_t)x, t);
  return constant(s);
}

bool sameBroadcast(const Var &v, const TensorType *t) {
  if (v.ndim() != t->ndim())
    return false;
  for (int a = 0; a < t->ndim(); ++a)
    if (v.type()->isBroadcastable(a) != t->isBroadcastable(a))
      return false;
  return true;
}

Var asResult(const Var &r, const Node &n, int i) {
  const TensorType *t = n.resultTypes()[i];
  Var v = r.dtype() == t->dtype() ? r : cast(r, t->dtype());
  if (sameBroadcast(v, t) && isAssignable(v.type(), t))
    return v;
  // A named vector: the range-for would not keep the temporary alive.
  std::vector<SymShape> shapes = inferNodeShape(n);
  std::vector<Operand> sizes;
  for (const Var &s : shapes[i])
    sizes.push_back(s);
  Var a = alloc(v, sizes);
  return isAssignable(a.type(), t) ? a : Var();
}

} // namespace thjit::match
