//===- GradControl.cpp - Ops that change gradients, not values ------------===//
///
/// \file
/// Theano's gradient controls. Each is the identity on values (compiled
/// code aliases its operand: it costs nothing at run time) and changes what
/// flows back through it:
///   disconnected_grad(x)   nothing: x counts as a constant
///   zero_grad(x)           zeros
///   grad_clip(x, lo, hi)   the gradient clipped to [lo, hi]
///   grad_scale(x, k)       the gradient times k
///   undefined_grad(x)      an error where the gradient is used (grad's
///                          null_gradients says raise or NaN); Grad.cpp
///                          handles it by kind
/// Forward mode follows the Jacobian each implies: disconnected_grad and
/// zero_grad give zero tangents, grad_scale k times the tangent, grad_clip
/// the tangent itself (clipping is not linear), undefined_grad an error.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

namespace thjit {

static std::vector<const TensorType *>
controlTypes(OpKind kind, const std::vector<Var> &ops, const Attrs &) {
  for (size_t i = 1; i < ops.size(); ++i)
    if (ops[i].ndim() != 0 ||
        (!isFloat(ops[i].dtype()) && !isInteger(ops[i].dtype())))
      throw TypeError(
          std::string(kind == OpKind::GradScale ? "the factor" : "the bounds") +
          " must be real scalars; got " + ops[i].type()->str());
  return {ops[0].type()};
}

static std::vector<SymShape> controlShape(const Node &,
                                          const std::vector<SymShape> &in) {
  return {in[0]};
}

static std::vector<NDArray> controlEval(const Node &,
                                        const std::vector<NDArray> &in) {
  return {in[0]};
}

static std::vector<Var> controlGrad(const Node &n, const std::vector<Var> &g) {
  std::vector<Var> out(n.numOperands());
  switch (n.kind()) {
  case OpKind::ZeroGrad:
    out[0] = zerosLike(n.operand(0));
    break;
  case OpKind::GradClip:
    out[0] = clip(g[0], n.operand(1), n.operand(2));
    break;
  case OpKind::GradScale:
    out[0] = g[0] * n.operand(1);
    break;
  default: // disconnected_grad: nothing; undefined_grad: see Grad.cpp
    break;
  }
  return out;
}

static std::vector<Var> controlRop(const Node &n, const std::vector<Var> &t) {
  switch (n.kind()) {
  case OpKind::GradClip:
    return {t[0]};
  case OpKind::GradScale:
    return {t[0].defined() ? t[0] * n.operand(1) : Var()};
  case OpKind::UndefinedGrad:
    throw ValueError("Rop: the gradient of undefined_grad" + n.whereCreated() +
                     " is undefined");
  default:
    return {Var()};
  }
}

/// x varies per item; the bounds and the factor are one for the batch.
static std::vector<Var> controlVectorize(const Node &n,
                                         const std::vector<Var> &ops,
                                         const std::vector<bool> &batched,
                                         const Var &) {
  for (size_t i = 1; i < ops.size(); ++i)
    if (batched[i])
      cannotVectorize(n, n.kind() == OpKind::GradScale ? "the factor"
                                                       : "the bounds");
  return makeOp(n.kind(), ops);
}

static Var control(OpKind kind, std::vector<Var> ops) {
  if (!isFloat(ops[0].dtype()))
    throw TypeError(std::string(opName(kind)) + ": " + ops[0].type()->str() +
                    " has no gradient to control (not a float value)");
  return makeOp(kind, std::move(ops))[0];
}

Var disconnectedGrad(const Var &x) {
  return control(OpKind::DisconnectedGrad, {x});
}
Var zeroGrad(const Var &x) { return control(OpKind::ZeroGrad, {x}); }
Var gradClip(const Var &x, const Operand &lo, const Operand &hi) {
  return control(OpKind::GradClip, {x, asTensor(lo), asTensor(hi)});
}
Var gradScale(const Var &x, const Operand &factor) {
  return control(OpKind::GradScale, {x, asTensor(factor)});
}
Var undefinedGrad(const Var &x) { return control(OpKind::UndefinedGrad, {x}); }

bool isGradControl(OpKind kind) {
  return opFamily(kind) == OpFamily::GradControl;
}

void registerGradControlOps(OpDef *t) {
  const char *docs[] = {
      "x, through which no gradient flows (x counts as a constant)",
      "x, whose gradient is zero", "x, whose gradient is clipped to [lo, hi]",
      "x, whose gradient is multiplied by a factor",
      "x, whose gradient is an error where it is used"};
  OpKind kinds[] = {OpKind::DisconnectedGrad, OpKind::ZeroGrad,
                    OpKind::GradClip, OpKind::GradScale, OpKind::UndefinedGrad};
  for (int i = 0; i < 5; ++i)
    t[(int)kinds[i]] = {controlTypes,    controlShape, controlEval,
                        controlGrad,     docs[i],      controlRop,
                        controlVectorize};
}

} // namespace thjit
