//===- Reduce.cpp - Reductions: sum, prod, max, min, all, any, argmax -----===//
///
/// \file
/// Reductions over any set of axes, with keepdims. Sums and products of
/// integers accumulate in int64/uint64 (NumPy's rule); float sums are
/// pairwise in double, at least as accurate as NumPy's. mean, var and std are
/// built from these.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <complex>

namespace thjit {

using C = std::complex<double>;

static bool isArgReduce(OpKind k) {
  return k == OpKind::ArgMax || k == OpKind::ArgMin;
}

static DType reduceResultDType(OpKind kind, DType in) {
  switch (kind) {
  case OpKind::Sum:
  case OpKind::Prod:
    return sumResultType(in);
  case OpKind::All:
  case OpKind::Any:
    return DType::Bool;
  case OpKind::ArgMax:
  case OpKind::ArgMin:
    return DType::Int64;
  default:
    return in;
  }
}

bool reductionHasIdentity(OpKind kind) {
  return kind == OpKind::Sum || kind == OpKind::Prod || kind == OpKind::All ||
         kind == OpKind::Any;
}

std::vector<int> reducedAxes(OpKind kind, const Attrs &a, int ndim) {
  if (isArgReduce(kind) && a.axes.empty()) {
    std::vector<int> all(ndim);
    for (int i = 0; i < ndim; ++i)
      all[i] = i;
    return all;
  }
  return a.axes;
}

static std::vector<const TensorType *>
reduceTypes(OpKind kind, const std::vector<Var> &ops, const Attrs &a) {
  const TensorType *t = ops[0].type();
  bool ordered =
      kind == OpKind::Max || kind == OpKind::Min || isArgReduce(kind);
  if (ordered && isComplex(t->dtype()))
    throw TypeError("not defined for complex numbers");
  std::vector<int> axes = reducedAxes(kind, a, t->ndim());
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= t->ndim() || (i && axes[i] <= axes[i - 1]))
      throw ValueError("invalid axes for " + t->str());
  if (isArgReduce(kind) && a.axes.size() > 1)
    throw ValueError("takes one axis or none");
  std::vector<int64_t> shape;
  for (int i = 0; i < t->ndim(); ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced)
      shape.push_back(t->size(i));
    else if (a.keepdims)
      shape.push_back(1);
  }
  return {TensorType::get(reduceResultDType(kind, t->dtype()), shape)};
}

static std::vector<SymShape> reduceShape(const Node &n,
                                         const std::vector<SymShape> &in) {
  std::vector<int> axes = reducedAxes(n.kind(), n.attrs(), n.operand(0).ndim());
  SymShape out;
  for (int i = 0; i < (int)in[0].size(); ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (!reduced)
      out.push_back(in[0][i]);
    else if (n.attrs().keepdims)
      out.push_back(constant(Scalar::fromInt(1)));
  }
  return {out};
}

// ---- Reference kernel
// ---------------------------------------------------------

/// Pairwise summation of v[0..n) with stride: error O(log n) ulps.
template <class T> static T pairwiseSum(const T *v, int64_t n, int64_t step) {
  if (n <= 8) {
    T s = T(0);
    for (int64_t i = 0; i < n; ++i)
      s += v[i * step];
    return s;
  }
  int64_t half = n / 2;
  return pairwiseSum(v, half, step) +
         pairwiseSum(v + half * step, n - half, step);
}

template <class T> static bool isNaN(T v) {
  if constexpr (std::is_same_v<T, double>)
    return std::isnan(v);
  else
    return false;
}

/// Reduces each row of a (rows x cols) contiguous array in compute type T.
template <class T>
static Scalar reduceRow(OpKind kind, const T *row, int64_t n) {
  auto toScalar = [](auto v) {
    using V = decltype(v);
    if constexpr (std::is_same_v<V, C>)
      return Scalar(v);
    else if constexpr (std::is_same_v<V, double>)
      return Scalar(v);
    else if constexpr (std::is_same_v<V, int64_t>)
      return Scalar::fromInt(v);
    else if constexpr (std::is_same_v<V, uint64_t>)
      return Scalar::fromUInt(v);
    else
      return Scalar::fromBool(v);
  };
  switch (kind) {
  case OpKind::Sum:
    if constexpr (std::is_integral_v<T>) {
      uint64_t s = 0; // wraps like NumPy's int64 accumulator
      for (int64_t i = 0; i < n; ++i)
        s += (uint64_t)row[i];
      return toScalar((T)s);
    } else {
      return toScalar(pairwiseSum(row, n, 1));
    }
  case OpKind::Prod: {
    if constexpr (std::is_integral_v<T>) {
      uint64_t p = 1;
      for (int64_t i = 0; i < n; ++i)
        p *= (uint64_t)row[i];
      return toScalar((T)p);
    } else {
      T p = T(1);
      for (int64_t i = 0; i < n; ++i)
        p *= row[i];
      return toScalar(p);
    }
  }
  case OpKind::All:
  case OpKind::Any: {
    bool all = kind == OpKind::All;
    for (int64_t i = 0; i < n; ++i)
      if ((row[i] != T(0)) != all)
        return Scalar::fromBool(!all);
    return Scalar::fromBool(all);
  }
  default:
    break;
  }
  if constexpr (std::is_same_v<T, C>) {
    throw TypeError("not defined for complex numbers");
  } else {
    bool wantMax = kind == OpKind::Max || kind == OpKind::ArgMax;
    if (n == 0)
      throw ValueError("zero-size array to a reduction with no identity");
    int64_t best = 0;
    for (int64_t i = 1; i < n && !isNaN(row[best]); ++i)
      if (isNaN(row[i]) || (wantMax ? row[i] > row[best] : row[i] < row[best]))
        best = i;
    if (isArgReduce(kind))
      return Scalar::fromInt(best);
    return toScalar(row[best]);
  }
}

static std::vector<NDArray> reduceEval(const Node &n,
                                       const std::vector<NDArray> &in) {
  const NDArray &x = in[0];
  std::vector<int> axes = reducedAxes(n.kind(), n.attrs(), x.ndim());
  // Kept axes first, reduced axes last, then one row per result element.
  std::vector<int> perm;
  Shape keptShape;
  int64_t cols = 1;
  for (int i = 0; i < x.ndim(); ++i)
    if (!std::binary_search(axes.begin(), axes.end(), i)) {
      perm.push_back(i);
      keptShape.push_back(x.dim(i));
    }
  for (int a : axes) {
    perm.push_back(a);
    cols *= x.dim(a);
  }
  int64_t rows = shapeSize(keptShape);
  DType k = kernelDType(x.dtype());
  NDArray flat = x.permute(perm).astype(k).reshape({rows, cols});
  const TensorType *rt = n.resultTypes()[0];
  NDArray out = NDArray::empty(rt->dtype(), keptShape);
  size_t item = itemSize(rt->dtype());
  dispatchDType(k, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t> ||
                  std::is_same_v<T, double> || std::is_same_v<T, C>) {
      const T *p = flat.data<T>();
      for (int64_t r = 0; r < rows; ++r)
        reduceRow<T>(n.kind(), p + r * cols, cols)
            .store(out.data() + r * item, rt->dtype());
    }
  });
  Shape resultShape;
  int next = 0;
  for (int i = 0; i < x.ndim(); ++i) {
    if (!std::binary_search(axes.begin(), axes.end(), i))
      resultShape.push_back(keptShape[next++]);
    else if (n.attrs().keepdims)
      resultShape.push_back(1);
  }
  return {out.reshape(resultShape)};
}

// ---- Gradients
// ----------------------------------------------------------------

/// g (reduced, without kept axes) broadcast back to x's shape.
static Var broadcastBack(const Var &g, const Var &x,
                         const std::vector<int> &axes, bool keepdims) {
  Var gk = g;
  if (!keepdims) {
    std::vector<int> pattern;
    int next = 0;
    for (int i = 0; i < x.ndim(); ++i)
      pattern.push_back(
          std::binary_search(axes.begin(), axes.end(), i) ? -1 : next++);
    gk = dimshuffle(g, pattern);
  }
  return gk;
}

static std::vector<Var> reduceGrad(const Node &n, const std::vector<Var> &g) {
  const Var &x = n.operand(0);
  std::vector<int> axes = reducedAxes(n.kind(), n.attrs(), x.ndim());
  bool keep = n.attrs().keepdims;
  Var gk = broadcastBack(g[0], x, axes, keep);
  Var zk = broadcastBack(const_cast<Node &>(n).result(0), x, axes, keep);
  switch (n.kind()) {
  case OpKind::Sum:
    return {alloc(gk, sizesOf(x))};
  case OpKind::Max:
  case OpKind::Min:
    return {where(eq(x, zk), gk, 0)};
  case OpKind::Prod: {
    // Exact with zeros: the product of the others where x is the only zero.
    Var isZero = eq(x, 0);
    Var zeroCount =
        broadcastBack(sum(isZero, Axes(axes), false), x, axes, false);
    Var prodNonZero =
        broadcastBack(prod(where(isZero, 1, x), Axes(axes)), x, axes, false);
    Var noZero = gk * zk / where(isZero, 1, x);
    Var oneZero = where(isZero, gk * prodNonZero, 0);
    return {
        where(eq(zeroCount, 0), noZero, where(eq(zeroCount, 1), oneZero, 0))};
  }
  default:
    return {isFloat(x.dtype()) ? zerosLike(x) : Var()};
  }
}

/// Forward mode: sum is linear; prod, max and min weigh each tangent by
/// the result's derivative with respect to that element (their L-op's
/// factor), consistently with the L-op at ties.
static std::vector<Var> reduceRop(const Node &n, const std::vector<Var> &t) {
  Var z = const_cast<Node &>(n).result(0);
  if (!isFloat(z.dtype()) || !t[0].defined())
    return {Var()};
  if (n.kind() == OpKind::Sum)
    return linearRop(n, t);
  std::vector<int> axes = reducedAxes(n.kind(), n.attrs(), n.operand(0).ndim());
  Var factor = reduceGrad(n, {onesLike(z)})[0];
  return {sum(t[0] * factor, Axes(axes), n.attrs().keepdims)};
}

/// The same axes of each item; an arg-reduction over all axes reduces each
/// item flattened.
static std::vector<Var> reduceVectorize(const Node &n,
                                        const std::vector<Var> &ops,
                                        const std::vector<bool> &,
                                        const Var &) {
  Attrs a = n.attrs();
  int rank = n.operand(0).ndim();
  if (isArgReduce(n.kind()) && a.axes.empty()) {
    a.axes = {1};
    a.keepdims = false;
    Var items = rank == 0 ? dimshuffle(ops[0], {0, -1}) : flatten(ops[0], 2);
    Var r = makeOp(n.kind(), {items}, a)[0];
    if (n.attrs().keepdims)
      r = alignBatched(r, rank);
    return {r};
  }
  for (int &axis : a.axes)
    ++axis;
  return makeOp(n.kind(), {ops[0]}, a);
}

// ---- Builders
// -----------------------------------------------------------------

static std::vector<int> normalizeAxes(const Axes &axes, int ndim,
                                      const char *op) {
  std::vector<int> out;
  if (!axes.list) {
    for (int i = 0; i < ndim; ++i)
      out.push_back(i);
    return out;
  }
  for (int a : *axes.list)
    out.push_back(normalizeAxis(a, ndim, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ValueError(std::string(op) + ": an axis is repeated");
  return out;
}

static Var reduce(OpKind kind, const Var &x, const Axes &axes, bool keepdims) {
  Attrs a;
  a.axes = normalizeAxes(axes, x.ndim(), opName(kind));
  a.keepdims = keepdims;
  // max and min of a 0-d value are the value (all and any give bools).
  if (a.axes.empty() && (kind == OpKind::Max || kind == OpKind::Min) &&
      x.ndim() == 0)
    return x;
  return makeOp(kind, {x}, a)[0];
}

Var sum(const Var &x, const Axes &axes, bool keepdims) {
  return reduce(OpKind::Sum, x, axes, keepdims);
}
Var prod(const Var &x, const Axes &axes, bool keepdims) {
  return reduce(OpKind::Prod, x, axes, keepdims);
}
Var max(const Var &x, const Axes &axes, bool keepdims) {
  return reduce(OpKind::Max, x, axes, keepdims);
}
Var min(const Var &x, const Axes &axes, bool keepdims) {
  return reduce(OpKind::Min, x, axes, keepdims);
}
Var all(const Var &x, const Axes &axes, bool keepdims) {
  return reduce(OpKind::All, x, axes, keepdims);
}
Var any(const Var &x, const Axes &axes, bool keepdims) {
  return reduce(OpKind::Any, x, axes, keepdims);
}

/// The number of elements reduced over, as a scalar of dtype t.
static Var countOf(const Var &x, const std::vector<int> &axes, DType t) {
  Var n = constant(Scalar::fromInt(1));
  for (int a : axes)
    n = n * shapeOf(x, a);
  return cast(n, t);
}

static DType meanDType(DType t) { return isInexact(t) ? t : DType::Float64; }

Var mean(const Var &x, const Axes &axes, bool keepdims) {
  std::vector<int> ax = normalizeAxes(axes, x.ndim(), "mean");
  DType t = meanDType(x.dtype());
  // As NumPy: integers are summed in float64, float16 in float32.
  DType acc = t == DType::Float16 ? DType::Float32 : t;
  Var s = sum(cast(x, acc), Axes(ax), keepdims);
  return cast(trueDiv(s, countOf(x, ax, realPart(acc))), t);
}

Var var(const Var &x, const Axes &axes, bool keepdims, int ddof) {
  if (isComplex(x.dtype()))
    throw TypeError("var: complex values are not supported");
  std::vector<int> ax = normalizeAxes(axes, x.ndim(), "var");
  DType t = meanDType(x.dtype());
  Var xf = cast(x, t);
  Var d = xf - mean(xf, Axes(ax), true);
  Var count = countOf(x, ax, t);
  if (ddof)
    count = count - ddof;
  return trueDiv(sum(sqr(d), Axes(ax), keepdims), count);
}

Var std(const Var &x, const Axes &axes, bool keepdims, int ddof) {
  return sqrt(var(x, axes, keepdims, ddof));
}

static Var argReduce(OpKind kind, const Var &x, std::optional<int> axis,
                     bool keepdims) {
  Attrs a;
  if (axis)
    a.axes = {normalizeAxis(*axis, x.ndim(), opName(kind))};
  a.keepdims = keepdims;
  return makeOp(kind, {x}, a)[0];
}

Var argmax(const Var &x, std::optional<int> axis, bool keepdims) {
  return argReduce(OpKind::ArgMax, x, axis, keepdims);
}
Var argmin(const Var &x, std::optional<int> axis, bool keepdims) {
  return argReduce(OpKind::ArgMin, x, axis, keepdims);
}

void registerReduceOps(OpDef *t) {
  const struct {
    OpKind kind;
    bool differentiable;
    const char *doc;
  } ops[] = {
      {OpKind::Sum, true, "the sum over axes (ints accumulate in 64 bits)"},
      {OpKind::Prod, true, "the product over axes"},
      {OpKind::Max, true, "the largest element over axes (NaN if any is)"},
      {OpKind::Min, true, "the smallest element over axes (NaN if any is)"},
      {OpKind::All, true, "whether every element over axes is true"},
      {OpKind::Any, true, "whether some element over axes is true"},
      {OpKind::ArgMax, true, "the index of the first largest element"},
      {OpKind::ArgMin, true, "the index of the first smallest element"},
  };
  for (const auto &o : ops)
    t[(int)o.kind] = {reduceTypes,    reduceShape,
                      reduceEval,     o.differentiable ? reduceGrad : nullptr,
                      o.doc,          o.differentiable ? reduceRop : nullptr,
                      reduceVectorize};
}

} // namespace thjit
