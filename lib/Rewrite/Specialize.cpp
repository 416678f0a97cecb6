//===- Specialize.cpp - The specialize pass's rewrites --------------------===//
///
/// \file
/// Faster forms of what canonicalize left: powers by constants as squares
/// and reciprocals, integer powers as products; sums of scaled products as one
/// BLAS call (gemm, gemv: the scalings become alpha and beta, the addition
/// BLAS's update); transposes lifted through dot so that they reach BLAS as
/// flags; sum(x * y) of long float64 vectors as one dot. Each fires only
/// where it does not compute a product twice (the dot's only reader is the
/// expression it folds into), where the types are BLAS's (float32 or
/// float64, no broadcasting by the addition) and where it was measured not
/// to be slower (outer products stay element-wise: one fused loop beats a
/// copy of C and a ger). docs/passes/specialize.md has each rewrite's
/// before and after.
///
//===----------------------------------------------------------------------===//
#include "Match.h"

#include <cmath>

namespace thjit {
namespace {

using namespace match;

bool isBlasType(DType t) { return t == DType::Float32 || t == DType::Float64; }

/// replaceWith, but no rewrite where r's static sizes are less known than
/// the result's: an alloc would only restate sizes (a broadcast constant
/// exponent can give the result its sizes).
std::vector<Var> replaceKnownSizes(const Var &r, const Node &n) {
  const TensorType *t = n.resultTypes()[0];
  if (sameBroadcast(r, t) && !isAssignable(r.type()->withDType(t->dtype()), t))
    return {};
  return replaceWith(r, n);
}

// ---- Powers by constants ----------------------------------------------------

/// The exponent of pow node n when it is a constant of equal elements;
/// none for complex results unless `complexOk` (there only x ** 2 and
/// x ** 1 are rewritten).
std::optional<double> exponent(const Node &n, bool complexOk = false) {
  if (isComplex(n.resultTypes()[0]->dtype()) && !complexOk)
    return std::nullopt;
  return constantValue(n.operand(1));
}

/// pow's base in the result's dtype, where pow computes.
Var base(const Node &n) {
  DType t = n.resultTypes()[0]->dtype();
  const Var &x = n.operand(0);
  return x.dtype() == t ? x : cast(x, t);
}

bool floatResult(const Node &n) { return isFloat(n.resultTypes()[0]->dtype()); }

/// x ** n, n >= 1, by repeated squaring: x * sqr(x), sqr(sqr(x)), ...
Var multiplies(const Var &x, unsigned n) {
  Var r, square = x;
  for (; n; n >>= 1) {
    if (n & 1)
      r = r ? mul(r, square) : square;
    if (n > 1)
      square = sqr(square);
  }
  return r;
}

std::vector<Var> powOne(const Node &n, const RewriteContext &) {
  if (exponent(n, /*complexOk=*/true) != 1)
    return {};
  return replaceKnownSizes(base(n), n);
}

/// NaN ** 0 is 1 too (NumPy's and C's pow), so x need not be read.
std::vector<Var> powZero(const Node &n, const RewriteContext &) {
  if (exponent(n) != 0)
    return {};
  return replaceKnownSizes(scalarConstant(1, n.resultTypes()[0]->dtype()), n);
}

std::vector<Var> powSqr(const Node &n, const RewriteContext &) {
  if (exponent(n, /*complexOk=*/true) != 2)
    return {};
  return replaceKnownSizes(sqr(base(n)), n);
}

// x ** 0.5 and x ** -0.5 stay pow: sqrt differs at -0 and -inf, and the
// loop emitter already computes x ** 0.5 as a square root with pow's
// answers there (ScalarEmitter::powByConstant).

/// Integers to negative powers raise (NumPy): floats only.
std::vector<Var> powReciprocal(const Node &n, const RewriteContext &) {
  if (exponent(n) != -1 || !floatResult(n))
    return {};
  Var x = base(n);
  return replaceKnownSizes(trueDiv(scalarConstant(1, x.dtype()), x), n);
}

/// Integer exponents up to this size become multiplications, for integer
/// results (exact, wrapping as pow does). Float powers stay pow: the loop
/// emitter computes them by squaring in double-double, as accurate as pow,
/// where plain multiplications would round at every step.
constexpr int kMaxMultiplies = 8;

std::vector<Var> powMultiplies(const Node &n, const RewriteContext &) {
  std::optional<double> e = exponent(n);
  if (!e || *e != std::floor(*e) || std::fabs(*e) > kMaxMultiplies ||
      (*e >= -1 && *e <= 2))
    return {};
  DType t = n.resultTypes()[0]->dtype();
  if (isFloat(t) || isComplex(t) || *e < 0)
    return {};
  return replaceKnownSizes(multiplies(base(n), (unsigned)*e), n);
}

// ---- BLAS updates -----------------------------------------------------------

/// Whether v is one number broadcast: every axis broadcastable, real.
bool isScalarLike(const Var &v) {
  if (isComplex(v.dtype()) || isBool(v.dtype()))
    return false;
  for (int a = 0; a < v.ndim(); ++a)
    if (!v.type()->isBroadcastable(a))
      return false;
  return true;
}

/// A scalar-like value as a 0-d value of dtype t.
Var asScalar(const Var &s, DType t) {
  if (std::optional<double> c = constantValue(s))
    return scalarConstant(*c, t);
  Var v = s;
  // A number made a matrix to scale one: the number.
  while (const Node *d = def(v, OpKind::DimShuffle))
    v = d->operand(0);
  if (v.ndim() != 0)
    v = dimshuffle(v, {});
  return v.dtype() == t ? v : cast(v, t);
}

/// alpha * dot(a, b) + beta * c: a BLAS product scaled by a number, plus
/// a scaled term when it is a gemm already (c null: a plain product).
struct Product {
  Var alpha; ///< 0-d of the product's dtype; null for 1
  Var a, b;
  Var c, beta; ///< the gemm's C and its scaling (beta null: 1)
};

/// x * y of 0-d numbers of dtype t (null: 1), folded when both are constants.
Var times(const Var &x, const Var &y, DType t) {
  if (!x || !y)
    return x ? x : y;
  std::optional<double> cx = constantValue(x), cy = constantValue(y);
  if (cx && cy)
    return scalarConstant(*cx * *cy, t);
  if (cx == 1.0 || cy == 1.0)
    return cx == 1.0 ? y : x;
  if (cx == -1.0 || cy == -1.0)
    return neg(cx == -1.0 ? y : x);
  return mul(x, y);
}

/// x + y of 0-d numbers of dtype t (null: 1), folded when both are constants.
Var plus(const Var &x, const Var &y, DType t) {
  Var one = scalarConstant(1, t);
  const Var &a = x ? x : one, &b = y ? y : one;
  std::optional<double> ca = constantValue(a), cb = constantValue(b);
  if (ca && cb)
    return scalarConstant(*ca + *cb, t);
  return add(a, b);
}

/// -alpha (alpha null: 1).
Var negated(const Var &alpha, DType t) {
  if (!alpha)
    return scalarConstant(-1, t);
  if (std::optional<double> c = constantValue(alpha))
    return scalarConstant(-*c, t);
  return neg(alpha);
}

/// v as an unscaled product A . B of dtype t that only v's reader reads: a
/// dot of matrices, or of a matrix and a vector (gemv).
std::optional<Product> product(const Var &v, DType t,
                               const RewriteContext &ctx) {
  if (v.dtype() != t || ctx.numClients(v) != 1)
    return std::nullopt;
  // A gemm already: what scales it scales its alpha and beta too.
  if (const Node *g = def(v, OpKind::Gemm))
    return Product{g->operand(1), g->operand(2), g->operand(3), g->operand(0),
                   g->operand(4)};
  const Node *d = def(v, OpKind::Dot);
  // A dot of vectors is one number: nothing to gain.
  if (!d || d->operand(0).ndim() + d->operand(1).ndim() < 3)
    return std::nullopt;
  return Product{Var(), d->operand(0), d->operand(1), Var(), Var()};
}

/// s * p: alpha and beta scaled by the 0-d number s.
Product scaled(Product p, const Var &s, DType t) {
  p.alpha = times(s, p.alpha, t);
  if (p.c)
    p.beta = times(s, p.beta, t);
  return p;
}

/// v as alpha * product (see product()): the product itself, a number
/// times it (either side), or its negation; v of type `result`, read once.
std::optional<Product> scaledProduct(const Var &v, const TensorType *result,
                                     const RewriteContext &ctx) {
  DType t = result->dtype();
  if (!sameBroadcast(v, result) || v.dtype() != t)
    return std::nullopt;
  if (std::optional<Product> p = product(v, t, ctx))
    return p;
  if (ctx.numClients(v) != 1)
    return std::nullopt;
  if (const Node *m = def(v, OpKind::Mul))
    for (int i : {0, 1}) {
      const Var &s = m->operand(i), &x = m->operand(1 - i);
      if (!isScalarLike(s) || !sameBroadcast(x, result))
        continue;
      if (std::optional<Product> p = product(x, t, ctx)) {
        // A zero alpha would not read A and B (NaNs there would vanish).
        if (isConstant(s, 0))
          return std::nullopt;
        return scaled(*p, asScalar(s, t), t);
      }
    }
  if (const Node *ng = def(v, OpKind::Neg))
    if (std::optional<Product> p = product(ng->operand(0), t, ctx))
      return scaled(*p, negated(Var(), t), t);
  return std::nullopt;
}

/// c as beta * C: C itself (beta 1), a number times it, or its negation;
/// C of the result's type exactly (gemm's C has the product's shape).
bool scaledTerm(const Var &c, const TensorType *result,
                const RewriteContext &ctx, Var &term, Var &beta) {
  DType t = result->dtype();
  if (!sameBroadcast(c, result) || c.dtype() != t)
    return false;
  term = c;
  beta = scalarConstant(1, t);
  if (ctx.numClients(c) != 1)
    return true;
  if (const Node *m = def(c, OpKind::Mul))
    for (int i : {0, 1}) {
      const Var &s = m->operand(i), &x = m->operand(1 - i);
      // A zero beta would not read C.
      if (isScalarLike(s) && sameBroadcast(x, result) && x.dtype() == t &&
          !isConstant(s, 0)) {
        term = x;
        beta = asScalar(s, t);
        return true;
      }
    }
  if (const Node *ng = def(c, OpKind::Neg)) {
    term = ng->operand(0);
    beta = scalarConstant(-1, t);
  }
  return true;
}

/// beta * C + alpha * p, or minus, as one gemm (BLAS's gemm or gemv by the
/// operands' ranks).
std::vector<Var> gemmOf(const Node &n, const Var &c, bool subtractC, Product p,
                        bool subtractP, const RewriteContext &ctx) {
  const TensorType *result = n.resultTypes()[0];
  Var term, beta;
  if (!scaledTerm(c, result, ctx, term, beta))
    return {};
  DType t = result->dtype();
  if (subtractC)
    beta = negated(beta, t);
  if (subtractP)
    p = scaled(p, negated(Var(), t), t);
  if (p.c) {
    // beta * C + (alpha * A.B + beta' * C): one gemm, of beta + beta'.
    if (!(p.c == term))
      return {};
    beta = plus(beta, p.beta, t);
    // A zero beta would not read C (NaNs there would vanish).
    if (isConstant(beta, 0))
      return {};
  }
  Var alpha = p.alpha ? p.alpha : scalarConstant(1, t);
  return replaceKnownSizes(gemm(term, alpha, p.a, p.b, beta), n);
}

/// C + alpha * dot(A, B) (either order), C - ..., ... - C.
std::vector<Var> formGemm(const Node &n, const RewriteContext &ctx) {
  const TensorType *result = n.resultTypes()[0];
  if (!isBlasType(result->dtype()) || result->ndim() < 1 || result->ndim() > 2)
    return {};
  bool isSub = n.kind() == OpKind::Sub;
  for (int i : {1, 0}) {
    std::optional<Product> p = scaledProduct(n.operand(i), result, ctx);
    if (!p)
      continue;
    std::vector<Var> r =
        gemmOf(n, n.operand(1 - i), isSub && i == 0, *p, isSub && i == 1, ctx);
    if (!r.empty())
      return r;
  }
  return {};
}

/// dot(A, B).T -> dot(B.T, A.T): the transposes are views BLAS reads as
/// flags, and the product is written in the order its readers read it
/// (a gemm can then take it, an element-wise loop runs contiguous).
std::vector<Var> dotTranspose(const Node &n, const RewriteContext &ctx) {
  if (n.attrs().axes != std::vector<int>{1, 0})
    return {};
  const Var &v = n.operand(0);
  const Node *d = def(v, OpKind::Dot);
  if (!d || ctx.numClients(v) != 1 || d->operand(0).ndim() != 2 ||
      d->operand(1).ndim() != 2)
    return {};
  auto transposed = [](const Var &m) {
    const Node *s = def(m, OpKind::DimShuffle);
    if (s && s->attrs().axes == std::vector<int>{1, 0})
      return s->operand(0);
    return dimshuffle(m, {1, 0});
  };
  return replaceKnownSizes(dot(transposed(d->operand(1)), transposed(d->operand(0))),
                     n);
}

// ---- Reductions
// ---------------------------------------------------------------

/// Vectors known to be shorter than this keep sum(x * y): the fused loop
/// is as fast there and has no BLAS call to make.
constexpr int64_t kMinDotSize = 16384;

/// sum(x * y) of two float64 vectors, no broadcasting -> dot(x, y): ddot
/// is up to twice as fast on long vectors as the fused reduction, and as
/// accurate to about 1e-15. float32 keeps the reduction: sdot accumulates
/// in float32 (70 ulp off at 4e6 elements) where the reduction
/// accumulates in double with compensation.
std::vector<Var> sumMulDot(const Node &n, const RewriteContext &ctx) {
  const Var &v = n.operand(0);
  const Node *m = def(v, OpKind::Mul);
  if (!m || v.ndim() != 1 || n.attrs().keepdims || ctx.numClients(v) != 1)
    return {};
  const Var &x = m->operand(0), &y = m->operand(1);
  DType t = n.resultTypes()[0]->dtype();
  if (t != DType::Float64 || x.dtype() != t || y.dtype() != t ||
      v.dtype() != t || x.ndim() != 1 || y.ndim() != 1 ||
      x.type()->isBroadcastable(0) || y.type()->isBroadcastable(0))
    return {};
  int64_t size = v.type()->size(0);
  if (size != TensorType::kUnknown && size < kMinDotSize)
    return {};
  return replaceKnownSizes(dot(x, y), n);
}

} // namespace

const RewriteSet *specializeRewrites() {
  // clang-format off
  static const RewriteSet set({
      {"pow_one", {OpKind::Pow}, powOne, "x ** 1 -> x"},
      {"pow_zero", {OpKind::Pow}, powZero,
       "x ** 0 -> ones (NaN ** 0 is 1: x is not read)"},
      {"pow_sqr", {OpKind::Pow}, powSqr, "x ** 2 -> sqr(x)"},
      {"pow_reciprocal", {OpKind::Pow}, powReciprocal,
       "x ** -1 -> 1 / x (floats)"},
      {"pow_multiplies", {OpKind::Pow}, powMultiplies,
       "integer x ** n, 3 <= n <= 8 -> multiplications by repeated squaring "
       "(exact; float powers are squared in double-double by the loop "
       "emitter)"},
      {"dot_transpose", {OpKind::DimShuffle}, dotTranspose,
       "dot(A, B).T -> dot(B.T, A.T) when the dot has no other reader: the "
       "transposes become BLAS flags"},
      {"gemm", {OpKind::Add, OpKind::Sub}, formGemm,
       "beta * C +- alpha * dot(A, B) -> gemm(C, alpha, A, B, beta) (BLAS's "
       "gemm, or gemv for a matrix and a vector) when the dot has no other "
       "reader; float32/64, C not broadcast. Also beta * C +- s * gemm(C, "
       "alpha, A, B, beta') -> gemm(C, +-s * alpha, A, B, beta +- s * beta') "
       "(SGD with weight decay: one gemv over W)"},
      {"sum_mul_dot", {OpKind::Sum}, sumMulDot,
       "sum(x * y) of float64 vectors -> dot(x, y) when x * y has no other "
       "reader and the vectors are not known to be short"},
  });
  // clang-format on
  return &set;
}

} // namespace thjit
