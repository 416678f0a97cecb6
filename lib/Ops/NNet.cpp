//===- NNet.cpp - softmax and log_softmax ---------------------------------===//
///
/// \file
/// Softmax and log-softmax over the last axis, computed with the maximum
/// subtracted so that they never overflow.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"

#include <cmath>

namespace thjit {

static std::vector<const TensorType *>
softmaxTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  const TensorType *t = ops[0].type();
  if (t->ndim() < 1)
    throw TypeError("needs at least one axis; got " + t->str());
  if (isComplex(t->dtype()))
    throw TypeError("not defined for complex numbers");
  return {t->withDType(upcastToFloat(t->dtype()))};
}

static std::vector<SymShape> softmaxShape(const Node &,
                                          const std::vector<SymShape> &in) {
  return {in[0]};
}

static std::vector<NDArray> softmaxEval(const Node &n,
                                        const std::vector<NDArray> &in) {
  const NDArray &x = in[0];
  int64_t cols = x.dim(x.ndim() - 1);
  int64_t rows = cols ? x.size() / cols : 0;
  NDArray xs = x.astype(DType::Float64).reshape({rows, cols});
  NDArray out = NDArray::empty(DType::Float64, {rows, cols});
  bool isLog = n.kind() == OpKind::LogSoftmax;
  const double *p = xs.data<double>();
  double *o = out.data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    const double *row = p + r * cols;
    double m = -INFINITY;
    for (int64_t j = 0; j < cols; ++j)
      m = std::isnan(row[j]) || row[j] > m ? row[j] : m;
    if (std::isinf(m))
      m = 0; // all -inf (or an inf): let the arithmetic give inf/NaN
    double s = 0;
    for (int64_t j = 0; j < cols; ++j)
      s += std::exp(row[j] - m);
    for (int64_t j = 0; j < cols; ++j)
      o[r * cols + j] =
          isLog ? row[j] - m - std::log(s) : std::exp(row[j] - m) / s;
  }
  return {out.reshape(x.shape()).astype(n.resultTypes()[0]->dtype())};
}

static std::vector<Var> softmaxGrad(const Node &n, const std::vector<Var> &g) {
  Var z = const_cast<Node &>(n).result(0);
  int last = z.ndim() - 1;
  if (n.kind() == OpKind::Softmax)
    return {(g[0] - sum(g[0] * z, Axes(last), true)) * z};
  return {g[0] - exp(z) * sum(g[0], Axes(last), true)};
}

static std::vector<Var> softmaxRop(const Node &n, const std::vector<Var> &t) {
  if (!t[0].defined())
    return {Var()};
  Var z = const_cast<Node &>(n).result(0);
  int last = z.ndim() - 1;
  if (n.kind() == OpKind::Softmax)
    return {z * (t[0] - sum(z * t[0], Axes(last), true))};
  return {t[0] - sum(exp(z) * t[0], Axes(last), true)};
}

Var softmax(const Var &x) { return makeOp(OpKind::Softmax, {x})[0]; }
Var logSoftmax(const Var &x) { return makeOp(OpKind::LogSoftmax, {x})[0]; }

Var categoricalCrossentropy(const Var &p, const Var &target) {
  if (p.ndim() < 1)
    throw TypeError("categorical_crossentropy: the distributions need an "
                    "axis; got " + p.type()->str());
  int last = p.ndim() - 1;
  if (target.ndim() == p.ndim())
    return neg(sum(target * log(p), last));
  if (target.ndim() != last || isFloat(target.dtype()) ||
      isComplex(target.dtype()))
    throw TypeError("categorical_crossentropy: the target is a distribution "
                    "of p's type " + p.type()->str() +
                    " or integer class indices of one rank less; got " +
                    target.type()->str());
  // Where the class is the target's: log(p) there, 0 elsewhere (a product
  // would make 0 * -inf where p underflowed).
  std::vector<int> pattern;
  for (int i = 0; i < last; ++i)
    pattern.push_back(i);
  pattern.push_back(-1); // 'x': broadcast along the classes
  Var isTarget = eq(dimshuffle(target, pattern),
                    arange(0, shapeOf(p, last), 1, target.dtype()));
  return neg(sum(where(isTarget, log(p), 0.0), last));
}

/// Over the last axis, which the batch axis is not.
static std::vector<Var> softmaxVectorize(const Node &n,
                                         const std::vector<Var> &ops,
                                         const std::vector<bool> &,
                                         const Var &) {
  return makeOp(n.kind(), ops);
}

void registerNNetOps(OpDef *t) {
  t[(int)OpKind::Softmax] = {softmaxTypes,
                             softmaxShape,
                             softmaxEval,
                             softmaxGrad,
                             "exp(x) / sum(exp(x)) over the last axis",
                             softmaxRop,
                             softmaxVectorize};
  t[(int)OpKind::LogSoftmax] = {softmaxTypes,
                                softmaxShape,
                                softmaxEval,
                                softmaxGrad,
                                "log(softmax(x)) over the last axis, stably",
                                softmaxRop,
                                softmaxVectorize};
}

} // namespace thjit
