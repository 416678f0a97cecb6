//===- Blas.cpp - dot, tensordot, batched_dot -----------------------------===//
///
/// \file
/// Products of arrays. `dot` follows numpy.dot for vectors and matrices (the
/// Dot op) and for higher ranks lowers to TensorDot; BatchedDot is Theano's
/// batched_dot. The reference kernels compute in double (or complex, int64)
/// with plain loops: they are the semantics, not the speed.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <complex>
#include <numeric>

namespace thjit {

static constexpr int64_t kUnknown = TensorType::kUnknown;

static DType productDType(DType a, DType b) { return promoteTypes(a, b); }

static void checkInner(const TensorType *a, int axisA, const TensorType *b,
                       int axisB) {
  int64_t sa = a->size(axisA), sb = b->size(axisB);
  if (sa != kUnknown && sb != kUnknown && sa != sb)
    throw ShapeError(
        "shapes " + a->str() + " and " + b->str() + " are not aligned: axis " +
        std::to_string(axisA) + " (size " + std::to_string(sa) + ") and axis " +
        std::to_string(axisB) + " (size " + std::to_string(sb) + ") differ");
}

/// C = A (m x k) * B (k x n), contiguous, in compute type T.
template <class T>
static void matmulInto(const T *a, const T *b, T *c, int64_t m, int64_t k,
                       int64_t n) {
  std::fill(c, c + m * n, T(0));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) {
      T av = a[i * k + p];
      for (int64_t j = 0; j < n; ++j)
        c[i * n + j] += av * b[p * n + j];
    }
}

/// The matrix product of a (m x k) and b (k x n) arrays of any layout, with
/// result dtype `out`.
static NDArray matmul2d(const NDArray &a, const NDArray &b, DType out) {
  if (a.dim(1) != b.dim(0))
    throw ShapeError("shapes " + formatShape(a.shape()) + " and " +
                     formatShape(b.shape()) +
                     " are not aligned: " + std::to_string(a.dim(1)) +
                     " (dim 1) != " + std::to_string(b.dim(0)) + " (dim 0)");
  DType k = kernelDType(out);
  NDArray ac = a.astype(k), bc = b.astype(k);
  NDArray c = NDArray::empty(k, {a.dim(0), b.dim(1)});
  dispatchDType(k, [&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t> ||
                  std::is_same_v<T, double> ||
                  std::is_same_v<T, std::complex<double>>)
      matmulInto(ac.data<T>(), bc.data<T>(), c.data<T>(), a.dim(0), a.dim(1),
                 b.dim(1));
  });
  return c.astype(out);
}

TensordotLayout tensordotLayout(const Shape &a, const Shape &b,
                                const std::vector<int> &axesA,
                                const std::vector<int> &axesB) {
  TensordotLayout t;
  for (int i = 0; i < (int)a.size(); ++i)
    if (std::find(axesA.begin(), axesA.end(), i) == axesA.end()) {
      t.permA.push_back(i);
      t.shape.push_back(a[i]);
      t.m *= a[i];
    }
  t.permB = axesB;
  for (int i = 0; i < (int)b.size(); ++i)
    if (std::find(axesB.begin(), axesB.end(), i) == axesB.end()) {
      t.permB.push_back(i);
      t.shape.push_back(b[i]);
      t.n *= b[i];
    }
  for (size_t i = 0; i < axesA.size(); ++i) {
    if (a[axesA[i]] != b[axesB[i]] && t.mismatch < 0)
      t.mismatch = (int)i;
    t.k *= a[axesA[i]];
  }
  t.permA.insert(t.permA.end(), axesA.begin(), axesA.end());
  return t;
}

/// numpy.tensordot in the reference: both operands reshaped to matrices.
static NDArray tensordotEval(const NDArray &a, const NDArray &b,
                             const std::vector<int> &axesA,
                             const std::vector<int> &axesB, DType out) {
  TensordotLayout t = tensordotLayout(a.shape(), b.shape(), axesA, axesB);
  if (t.mismatch >= 0)
    throw ShapeError("shapes " + formatShape(a.shape()) + " and " +
                     formatShape(b.shape()) + " are not aligned: axis " +
                     std::to_string(axesA[t.mismatch]) + " and axis " +
                     std::to_string(axesB[t.mismatch]) + " differ");
  NDArray am = a.permute(t.permA).reshape({t.m, t.k});
  NDArray bm = b.permute(t.permB).reshape({t.k, t.n});
  return matmul2d(am, bm, out).reshape(t.shape);
}

// ---- dot (vectors and matrices)
// -----------------------------------------------

static std::vector<const TensorType *>
dotTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  const TensorType *a = ops[0].type(), *b = ops[1].type();
  if (a->ndim() < 1 || a->ndim() > 2 || b->ndim() < 1 || b->ndim() > 2)
    throw TypeError("dot of " + a->str() + " and " + b->str() +
                    ": the Dot op takes vectors and matrices");
  checkInner(a, a->ndim() - 1, b, 0);
  std::vector<int64_t> shape;
  if (a->ndim() == 2)
    shape.push_back(a->size(0));
  if (b->ndim() == 2)
    shape.push_back(b->size(1));
  return {TensorType::get(productDType(a->dtype(), b->dtype()), shape)};
}

static std::vector<SymShape> dotShape(const Node &n,
                                      const std::vector<SymShape> &in) {
  SymShape out;
  if (in[0].size() == 2)
    out.push_back(in[0][0]);
  if (in[1].size() == 2)
    out.push_back(in[1][1]);
  return {out};
}

static std::vector<NDArray> dotEval(const Node &n,
                                    const std::vector<NDArray> &in) {
  DType out = n.resultTypes()[0]->dtype();
  int last = in[0].ndim() - 1;
  return {tensordotEval(in[0], in[1], {last}, {0}, out)};
}

static std::vector<Var> dotGrad(const Node &n, const std::vector<Var> &g) {
  const Var &x = n.operand(0), &y = n.operand(1);
  const Var &gz = g[0];
  int rx = x.ndim(), ry = y.ndim();
  if (rx == 1 && ry == 1)
    return {gz * y, gz * x};
  if (rx == 2 && ry == 1)
    return {outer(gz, y), dot(transpose(x), gz)};
  if (rx == 1 && ry == 2)
    return {dot(y, gz), outer(x, gz)};
  return {dot(gz, transpose(y)), dot(transpose(x), gz)};
}

// ---- tensordot
// ------------------------------------------------------------------

void splitTensordotAxes(const Attrs &a, std::vector<int> &axesA,
                        std::vector<int> &axesB) {
  size_t half = a.axes.size() / 2;
  axesA.assign(a.axes.begin(), a.axes.begin() + half);
  axesB.assign(a.axes.begin() + half, a.axes.end());
}

static std::vector<int> freeAxes(int ndim, const std::vector<int> &contracted) {
  std::vector<int> out;
  for (int i = 0; i < ndim; ++i)
    if (std::find(contracted.begin(), contracted.end(), i) == contracted.end())
      out.push_back(i);
  return out;
}

static std::vector<const TensorType *>
tensordotTypes(OpKind, const std::vector<Var> &ops, const Attrs &a) {
  const TensorType *x = ops[0].type(), *y = ops[1].type();
  std::vector<int> axesA, axesB;
  splitTensordotAxes(a, axesA, axesB);
  if (axesA.size() != axesB.size() || a.axes.size() % 2)
    throw ValueError("the two axis lists must have the same length");
  auto check = [](const std::vector<int> &axes, const TensorType *t) {
    std::vector<int> sorted = axes;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] < 0 || sorted[i] >= t->ndim() ||
          (i && sorted[i] == sorted[i - 1]))
        throw ValueError("invalid axes for " + t->str());
  };
  check(axesA, x);
  check(axesB, y);
  std::vector<int64_t> shape;
  for (size_t i = 0; i < axesA.size(); ++i)
    checkInner(x, axesA[i], y, axesB[i]);
  for (int i : freeAxes(x->ndim(), axesA))
    shape.push_back(x->size(i));
  for (int i : freeAxes(y->ndim(), axesB))
    shape.push_back(y->size(i));
  return {TensorType::get(productDType(x->dtype(), y->dtype()), shape)};
}

static std::vector<SymShape> tensordotShape(const Node &n,
                                            const std::vector<SymShape> &in) {
  std::vector<int> axesA, axesB;
  splitTensordotAxes(n.attrs(), axesA, axesB);
  SymShape out;
  for (int i : freeAxes(n.operand(0).ndim(), axesA))
    out.push_back(in[0][i]);
  for (int i : freeAxes(n.operand(1).ndim(), axesB))
    out.push_back(in[1][i]);
  return {out};
}

static std::vector<NDArray> tensordotEvalNode(const Node &n,
                                              const std::vector<NDArray> &in) {
  std::vector<int> axesA, axesB;
  splitTensordotAxes(n.attrs(), axesA, axesB);
  return {
      tensordotEval(in[0], in[1], axesA, axesB, n.resultTypes()[0]->dtype())};
}

/// The rank of v among the sorted values of `set`.
static int rankIn(const std::vector<int> &set, int v) {
  std::vector<int> sorted = set;
  std::sort(sorted.begin(), sorted.end());
  return int(std::find(sorted.begin(), sorted.end(), v) - sorted.begin());
}

static std::vector<Var> tensordotGrad(const Node &n,
                                      const std::vector<Var> &g) {
  const Var &a = n.operand(0), &b = n.operand(1);
  std::vector<int> axesA, axesB;
  splitTensordotAxes(n.attrs(), axesA, axesB);
  std::vector<int> freeA = freeAxes(a.ndim(), axesA);
  std::vector<int> freeB = freeAxes(b.ndim(), axesB);
  int nfa = (int)freeA.size(), nfb = (int)freeB.size();
  // ga = tensordot(g, b) over b's free axes: axes [freeA..., contracted b
  // axes in increasing order]; then permuted into a's order.
  std::vector<int> gAxesB, gAxesA;
  for (int i = 0; i < nfb; ++i)
    gAxesB.push_back(nfa + i);
  for (int i = 0; i < nfa; ++i)
    gAxesA.push_back(i);
  Var ta = tensordot(g[0], b, gAxesB, freeB);
  std::vector<int> permA(a.ndim());
  for (int j = 0; j < a.ndim(); ++j) {
    auto f = std::find(freeA.begin(), freeA.end(), j);
    if (f != freeA.end()) {
      permA[j] = int(f - freeA.begin());
    } else {
      int k = int(std::find(axesA.begin(), axesA.end(), j) - axesA.begin());
      permA[j] = nfa + rankIn(axesB, axesB[k]);
    }
  }
  Var tb = tensordot(a, g[0], freeA, gAxesA);
  std::vector<int> permB(b.ndim());
  for (int j = 0; j < b.ndim(); ++j) {
    auto f = std::find(freeB.begin(), freeB.end(), j);
    if (f != freeB.end()) {
      permB[j] = (int)axesA.size() + int(f - freeB.begin());
    } else {
      int k = int(std::find(axesB.begin(), axesB.end(), j) - axesB.begin());
      permB[j] = rankIn(axesA, axesA[k]);
    }
  }
  return {transpose(ta, permA), transpose(tb, permB)};
}

// ---- batched_dot
// ------------------------------------------------------------------

static std::vector<const TensorType *>
batchedDotTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  const TensorType *a = ops[0].type(), *b = ops[1].type();
  if (a->ndim() < 2 || a->ndim() > 3 || b->ndim() < 2 || b->ndim() > 3)
    throw TypeError("batched_dot of " + a->str() + " and " + b->str() +
                    ": each operand must have rank 2 or 3");
  checkInner(a, 0, b, 0);
  checkInner(a, a->ndim() - 1, b, 1);
  std::vector<int64_t> shape{a->size(0) != kUnknown ? a->size(0) : b->size(0)};
  if (a->ndim() == 3)
    shape.push_back(a->size(1));
  if (b->ndim() == 3)
    shape.push_back(b->size(2));
  return {TensorType::get(productDType(a->dtype(), b->dtype()), shape)};
}

static std::vector<SymShape> batchedDotShape(const Node &n,
                                             const std::vector<SymShape> &in) {
  SymShape out{in[0][0]};
  if (in[0].size() == 3)
    out.push_back(in[0][1]);
  if (in[1].size() == 3)
    out.push_back(in[1][2]);
  return {out};
}

static std::vector<NDArray> batchedDotEval(const Node &n,
                                           const std::vector<NDArray> &in) {
  const NDArray &a = in[0], &b = in[1];
  if (a.dim(0) != b.dim(0))
    throw ShapeError("the batch sizes differ: " + formatShape(a.shape()) +
                     " and " + formatShape(b.shape()));
  DType t = n.resultTypes()[0]->dtype();
  Shape shape{a.dim(0)};
  if (a.ndim() == 3)
    shape.push_back(a.dim(1));
  if (b.ndim() == 3)
    shape.push_back(b.dim(2));
  NDArray out = NDArray::empty(t, shape);
  for (int64_t i = 0; i < a.dim(0); ++i)
    out.select(0, i).assign(
        tensordotEval(a.select(0, i), b.select(0, i), {a.ndim() - 2}, {0}, t));
  return {out};
}

static std::vector<Var> batchedDotGrad(const Node &n,
                                       const std::vector<Var> &g) {
  const Var &a = n.operand(0), &b = n.operand(1);
  const Var &gz = g[0];
  int ra = a.ndim(), rb = b.ndim();
  if (ra == 3 && rb == 3)
    return {batchedDot(gz, transpose(b, {0, 2, 1})),
            batchedDot(transpose(a, {0, 2, 1}), gz)};
  if (ra == 2 && rb == 2)
    return {dimshuffle(gz, {0, -1}) * b, dimshuffle(gz, {0, -1}) * a};
  if (ra == 3 && rb == 2)
    return {dimshuffle(gz, {0, 1, -1}) * dimshuffle(b, {0, -1, 1}),
            batchedDot(transpose(a, {0, 2, 1}), gz)};
  return {batchedDot(b, gz),
          dimshuffle(a, {0, 1, -1}) * dimshuffle(gz, {0, -1, 1})};
}

// ---- gemm
// -------------------------------------------------------------------------

// gemm(C, alpha, A, B, beta) = beta * C + alpha * dot(A, B), BLAS's update
// with dot's ranks (a matrix-vector product is gemv's). As in BLAS, a zero
// beta does not read C and a zero alpha does not read A and B: NaNs there
// do not reach the result.

static std::vector<const TensorType *>
gemmTypes(OpKind, const std::vector<Var> &ops, const Attrs &) {
  const TensorType *c = ops[0].type(), *a = ops[2].type(), *b = ops[3].type();
  for (int i : {1, 4})
    if (ops[i].ndim() != 0)
      throw TypeError(std::string(i == 1 ? "alpha" : "beta") +
                      " must be a scalar; got " + ops[i].type()->str());
  const TensorType *p = dotTypes(OpKind::Dot, {ops[2], ops[3]}, {})[0];
  DType t = promoteTypes(c->dtype(), p->dtype());
  if (t == DType::Bool)
    throw TypeError("gemm of booleans; use dot");
  for (int i : {1, 4})
    if (isComplex(ops[i].dtype()) && !isComplex(t))
      throw TypeError("a complex " + std::string(i == 1 ? "alpha" : "beta") +
                      " for a real product");
  if (c->ndim() != p->ndim())
    throw ShapeError("C is " + c->str() + " but dot(A, B) of " + a->str() +
                     " and " + b->str() + " has rank " +
                     std::to_string(p->ndim()));
  std::vector<int64_t> shape;
  for (int i = 0; i < p->ndim(); ++i) {
    int64_t sc = c->size(i), sp = p->size(i);
    if (sc != kUnknown && sp != kUnknown && sc != sp)
      throw ShapeError("C is " + c->str() + " but dot(A, B) is " + p->str());
    shape.push_back(sp != kUnknown ? sp : sc);
  }
  return {TensorType::get(t, shape)};
}

static std::vector<SymShape> gemmShape(const Node &n,
                                       const std::vector<SymShape> &in) {
  return dotShape(n, {in[2], in[3]});
}

static std::vector<NDArray> gemmEval(const Node &n,
                                     const std::vector<NDArray> &in) {
  const NDArray &c = in[0], &a = in[2], &b = in[3];
  DType t = n.resultTypes()[0]->dtype(), k = kernelDType(t);
  NDArray p = tensordotEval(a, b, {a.ndim() - 1}, {0}, k);
  if (p.shape() != c.shape())
    throw ShapeError("C has shape " + formatShape(c.shape()) +
                     " but dot(A, B) of " + formatShape(a.shape()) + " and " +
                     formatShape(b.shape()) + " has shape " +
                     formatShape(p.shape()));
  NDArray alpha = in[1].astype(k), beta = in[4].astype(k);
  NDArray out = NDArray::zeros(k, p.shape());
  if (alpha.item().toBool())
    out = evalElemwise(OpKind::Mul, {alpha, p});
  if (beta.item().toBool())
    out = evalElemwise(OpKind::Add,
                       {out, evalElemwise(OpKind::Mul, {beta, c.astype(k)})});
  return {out.astype(t)};
}

static std::vector<Var> gemmGrad(const Node &n, const std::vector<Var> &g) {
  const Var &c = n.operand(0), &alpha = n.operand(1), &a = n.operand(2),
            &b = n.operand(3), &beta = n.operand(4);
  const Var &gz = g[0];
  std::vector<Var> gab = dotGrad(*dot(a, b).node(), {gz * alpha});
  return {gz * beta, sum(gz * dot(a, b)), gab[0], gab[1], sum(gz * c)};
}

/// beta dC + dbeta C + dalpha AB + alpha (dA B + A dB).
static std::vector<Var> gemmRop(const Node &n, const std::vector<Var> &t) {
  const Var &c = n.operand(0), &alpha = n.operand(1), &a = n.operand(2),
            &b = n.operand(3), &beta = n.operand(4);
  Var out;
  auto add = [&](const Var &term) { out = out.defined() ? out + term : term; };
  if (t[0].defined())
    add(beta * t[0]);
  if (t[4].defined())
    add(t[4] * c);
  if (t[1].defined())
    add(t[1] * dot(a, b));
  if (t[2].defined())
    add(alpha * dot(t[2], b));
  if (t[3].defined())
    add(alpha * dot(a, t[3]));
  return {out};
}

// ---- Batch rules
// ----------------------------------------------------------------

/// The move of axis `from` of x to the front.
static Var toFront(const Var &x, int from) {
  std::vector<int> perm{from};
  for (int i = 0; i < x.ndim(); ++i)
    if (i != from)
      perm.push_back(i);
  return transpose(x, perm);
}

/// The product of the sizes of x's axes `axes` (1 when none).
static Var sizeProduct(const Var &x, const std::vector<int> &axes) {
  Var p = constant(Scalar::fromInt(1));
  for (int a : axes)
    p = p * shapeOf(x, a);
  return p;
}

/// tensordot of each item of batched a with the same item of batched b, as
/// one batched_dot of [n, free a, contracted] by [n, contracted, free b].
/// The axes are the items' axes.
static Var batchedTensordot(const Var &a, const Var &b,
                            const std::vector<int> &axesA,
                            const std::vector<int> &axesB) {
  auto layout = [](const Var &x, const std::vector<int> &contracted,
                   bool contractedFirst, std::vector<int> &free) {
    for (int i = 0; i < x.ndim() - 1; ++i)
      if (std::find(contracted.begin(), contracted.end(), i) ==
          contracted.end())
        free.push_back(i + 1);
    std::vector<int> shifted;
    for (int i : contracted)
      shifted.push_back(i + 1);
    std::vector<int> perm{0};
    const std::vector<int> &first = contractedFirst ? shifted : free;
    const std::vector<int> &second = contractedFirst ? free : shifted;
    perm.insert(perm.end(), first.begin(), first.end());
    perm.insert(perm.end(), second.begin(), second.end());
    Var n = shapeOf(x, 0);
    std::vector<Operand> sizes{n, sizeProduct(x, first),
                               sizeProduct(x, second)};
    return reshape(transpose(x, perm), sizes);
  };
  std::vector<int> freeA, freeB;
  Var r =
      batchedDot(layout(a, axesA, false, freeA), layout(b, axesB, true, freeB));
  std::vector<Operand> sizes{shapeOf(a, 0)};
  for (int i : freeA)
    sizes.push_back(shapeOf(a, i));
  for (int i : freeB)
    sizes.push_back(shapeOf(b, i));
  return reshape(r, sizes);
}

/// tensordot of operands of which some are batched.
static Var vectorizeTensordot(const std::vector<Var> &ops,
                              const std::vector<bool> &batched,
                              std::vector<int> axesA, std::vector<int> axesB) {
  if (batched[0] && batched[1])
    return batchedTensordot(ops[0], ops[1], axesA, axesB);
  if (batched[0]) { // [n, free a..., free b...]
    for (int &i : axesA)
      ++i;
    return tensordot(ops[0], ops[1], axesA, axesB);
  }
  for (int &i : axesB) // [free a..., n, free b...]
    ++i;
  int freeA = ops[0].ndim() - (int)axesA.size();
  return toFront(tensordot(ops[0], ops[1], axesA, axesB), freeA);
}

static std::vector<Var> dotVectorize(const Node &n, const std::vector<Var> &ops,
                                     const std::vector<bool> &batched,
                                     const Var &) {
  if (n.kind() == OpKind::TensorDot) {
    std::vector<int> axesA, axesB;
    splitTensordotAxes(n.attrs(), axesA, axesB);
    return {vectorizeTensordot(ops, batched, axesA, axesB)};
  }
  // dot contracts a's last axis with b's first.
  return {vectorizeTensordot(ops, batched, {n.operand(0).ndim() - 1}, {0})};
}

/// Both operands batched, then the batch and batched_dot's own first axis
/// merged into one.
static std::vector<Var> batchedDotVectorize(const Node &,
                                            const std::vector<Var> &ops,
                                            const std::vector<bool> &batched,
                                            const Var &n) {
  auto merged = [&](const Var &x) {
    std::vector<Operand> sizes{n * shapeOf(x, 1)};
    for (int i = 2; i < x.ndim(); ++i)
      sizes.push_back(shapeOf(x, i));
    return reshape(x, sizes);
  };
  Var a = batched[0] ? ops[0] : batchOf(ops[0], n);
  Var b = batched[1] ? ops[1] : batchOf(ops[1], n);
  Var r = batchedDot(merged(a), merged(b));
  std::vector<Operand> sizes{n, shapeOf(a, 1)};
  for (int i = 1; i < r.ndim(); ++i)
    sizes.push_back(shapeOf(r, i));
  return {reshape(r, sizes)};
}

/// beta * C + alpha * dot(A, B), each term zero where its factor is, as the
/// op reads its operands.
static std::vector<Var> gemmVectorize(const Node &node,
                                      const std::vector<Var> &ops,
                                      const std::vector<bool> &batched,
                                      const Var &) {
  int rank = node.resultTypes()[0]->ndim();
  auto aligned = [&](int i) {
    return batched[i] ? alignBatched(ops[i], rank) : ops[i];
  };
  Var c = aligned(0), alpha = aligned(1), beta = aligned(4);
  Var p = batched[2] || batched[3]
              ? vectorizeTensordot({ops[2], ops[3]}, {batched[2], batched[3]},
                                   {node.operand(2).ndim() - 1}, {0})
              : dot(ops[2], ops[3]);
  Var r = where(neq(beta, 0), beta * c, 0) + where(neq(alpha, 0), alpha * p, 0);
  return {cast(r, node.resultTypes()[0]->dtype())};
}

// ---- Builders
// -------------------------------------------------------------------

Var dot(const Var &a, const Var &b) {
  if (a.ndim() == 0 || b.ndim() == 0)
    return mul(a, b);
  if (a.ndim() <= 2 && b.ndim() <= 2)
    return makeOp(OpKind::Dot, {a, b})[0];
  return tensordot(a, b, {a.ndim() - 1}, {b.ndim() >= 2 ? b.ndim() - 2 : 0});
}

Var matmul(const Var &a, const Var &b) {
  if (a.ndim() == 0 || b.ndim() == 0)
    throw ValueError("matmul: an operand is a scalar; use * instead");
  if (a.ndim() > 2 || b.ndim() > 2)
    throw NotImplementedError("matmul (@) of rank " +
                              std::to_string(std::max(a.ndim(), b.ndim())) +
                              " operands; use batched_dot or tensordot");
  return dot(a, b);
}

Var outer(const Var &a, const Var &b) {
  Var x = a.ndim() == 1 ? a : flatten(a, 1);
  Var y = b.ndim() == 1 ? b : flatten(b, 1);
  return dimshuffle(x, {0, -1}) * dimshuffle(y, {-1, 0});
}

Var batchedDot(const Var &a, const Var &b) {
  return makeOp(OpKind::BatchedDot, {a, b})[0];
}

Var tensordot(const Var &a, const Var &b, const std::vector<int> &axesA,
              const std::vector<int> &axesB) {
  if (axesA.size() != axesB.size())
    throw ValueError("tensordot: the axis lists have lengths " +
                     std::to_string(axesA.size()) + " and " +
                     std::to_string(axesB.size()));
  Attrs attrs;
  for (int x : axesA)
    attrs.axes.push_back(normalizeAxis(x, a.ndim(), "tensordot"));
  for (int y : axesB)
    attrs.axes.push_back(normalizeAxis(y, b.ndim(), "tensordot"));
  return makeOp(OpKind::TensorDot, {a, b}, attrs)[0];
}

Var tensordot(const Var &a, const Var &b, int n) {
  if (n < 0 || n > a.ndim() || n > b.ndim())
    throw ValueError("tensordot: cannot contract " + std::to_string(n) +
                     " axes of " + a.type()->str() + " and " + b.type()->str());
  std::vector<int> axesA, axesB;
  for (int i = 0; i < n; ++i) {
    axesA.push_back(a.ndim() - n + i);
    axesB.push_back(i);
  }
  return tensordot(a, b, axesA, axesB);
}

Var gemm(const Var &c, const Var &alpha, const Var &a, const Var &b,
         const Var &beta) {
  return makeOp(OpKind::Gemm, {c, alpha, a, b, beta})[0];
}

Var ger(const Var &a, const Var &alpha, const Var &x, const Var &y) {
  if (x.ndim() != 1 || y.ndim() != 1)
    throw TypeError("ger of " + x.type()->str() + " and " + y.type()->str() +
                    ": x and y must be vectors");
  return gemm(a, alpha, dimshuffle(x, {0, -1}), dimshuffle(y, {-1, 0}),
              constant(Scalar::fromInt(1, a.dtype())));
}

Var productAsSum(const Node &n) {
  const DType t = n.resultTypes()[0]->dtype();
  if (n.kind() == OpKind::Gemm) {
    // beta * C + alpha * the product's sum in one loop, each term zero
    // where its factor is (not reading C, or A and B, as the op says).
    const Var &c = n.operand(0), &alpha = n.operand(1), &beta = n.operand(4);
    Var p = productAsSum(*dot(n.operand(2), n.operand(3)).node());
    if (!p)
      return Var();
    return fuse(cast(where(neq(beta, 0), beta * c, 0) +
                         where(neq(alpha, 0), alpha * p, 0),
                     t));
  }
  const Var &a = n.operand(0), &b = n.operand(1);
  if (isComplex(a.dtype()) || isComplex(b.dtype()))
    return Var();
  // Axes of a and b, paired: batch axes (shared, kept), contracted axes.
  std::vector<std::pair<int, int>> batch, contracted;
  switch (n.kind()) {
  case OpKind::Dot:
    contracted.push_back({a.ndim() - 1, 0});
    break;
  case OpKind::BatchedDot:
    batch.push_back({0, 0});
    contracted.push_back({a.ndim() - 1, 1});
    break;
  case OpKind::TensorDot: {
    std::vector<int> axesA, axesB;
    splitTensordotAxes(n.attrs(), axesA, axesB);
    for (size_t i = 0; i < axesA.size(); ++i)
      contracted.push_back({axesA[i], axesB[i]});
    break;
  }
  default:
    return Var();
  }
  std::vector<int> patA, patB, reduced;
  std::vector<bool> usedA(a.ndim()), usedB(b.ndim());
  for (auto [i, j] : batch) {
    patA.push_back(i);
    patB.push_back(j);
    usedA[i] = usedB[j] = true;
  }
  for (auto [i, j] : contracted)
    usedA[i] = usedB[j] = true;
  for (int i = 0; i < a.ndim(); ++i)
    if (!usedA[i]) {
      patA.push_back(i);
      patB.push_back(-1);
    }
  for (auto [i, j] : contracted) {
    reduced.push_back((int)patA.size());
    patA.push_back(i);
    patB.push_back(j);
  }
  for (int j = 0; j < b.ndim(); ++j)
    if (!usedB[j]) {
      patA.push_back(-1);
      patB.push_back(j);
    }
  // Paired axes must have equal sizes: a size-1 axis facing another would
  // broadcast where the product raises.
  for (size_t d = 0; d < patA.size(); ++d)
    if (patA[d] >= 0 && patB[d] >= 0 &&
        a.type()->isBroadcastable(patA[d]) !=
            b.type()->isBroadcastable(patB[d]))
      return Var();
  Var x = dimshuffle(a, patA), y = dimshuffle(b, patB);
  // Floats as the reference: products in double, the casts fused into the
  // product (which fuses into the sum): nothing is converted in memory.
  Var p = isFloat(t) ? fuse(mul(cast(x, DType::Float64), cast(y, DType::Float64))) : mul(x, y);
  return cast(sum(p, Axes(reduced)), t);
}

void registerBlasOps(OpDef *t) {
  t[(int)OpKind::Dot] = {dotTypes,
                         dotShape,
                         dotEval,
                         dotGrad,
                         "numpy.dot of vectors and matrices",
                         multilinearRop,
                         dotVectorize};
  t[(int)OpKind::TensorDot] = {tensordotTypes,
                               tensordotShape,
                               tensordotEvalNode,
                               tensordotGrad,
                               "numpy.tensordot: sums of products over "
                               "pairs of axes",
                               multilinearRop,
                               dotVectorize};
  t[(int)OpKind::BatchedDot] = {batchedDotTypes,
                                batchedDotShape,
                                batchedDotEval,
                                batchedDotGrad,
                                "dot(a[i], b[i]) for each i of the first "
                                "axis",
                                multilinearRop,
                                batchedDotVectorize};
  t[(int)OpKind::Gemm] = {gemmTypes,
                          gemmShape,
                          gemmEval,
                          gemmGrad,
                          "gemm(C, alpha, A, B, beta) = beta * C + alpha * "
                          "dot(A, B) (BLAS: zero beta ignores C, zero alpha "
                          "ignores A and B)",
                          gemmRop,
                          gemmVectorize};
}

} // namespace thjit
