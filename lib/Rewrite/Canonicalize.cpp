//===- Canonicalize.cpp - The canonicalize pass's rewrites ----------------===//
///
/// \file
/// Normal forms the later passes (and the code generator) rely on: constants
/// folded through the reference kernels, mul/div chains as one fraction,
/// identities removed (neg-neg, exp/log, x*1, x+0), shape chains collapsed,
/// sums of broadcast factors simplified, and useless casts, allocs and
/// subtensors dropped. Merging and dead-code elimination are the driver's.
///
/// NaN semantics (docs/passes/canonicalize.md): a rewrite keeps every value
/// up to rounding, with these documented exceptions: factor cancellation in
/// fractions (x/x -> 1) gives the simplified value where the original is NaN
/// through 0/0 or inf/inf; x + 0 -> x keeps a -0.0; log(exp x) -> x and the
/// reassociated products do not overflow where the original did; sum(x * c)
/// -> c * sum(x) may give +-inf where the original had 0 * inf = NaN. x - x
/// -> 0 is for integers only; exp(log x) -> x keeps NaN for x < 0.
///
//===----------------------------------------------------------------------===//
#include "Match.h"

#include <algorithm>
#include <cmath>

namespace thjit {

using namespace match;

namespace {

using Result = std::vector<Var>;

/// `r` only when it can stand for n's result as it is (no cast or alloc).
Result exactly(const Var &r, const Node &n) {
  if (r == const_cast<Node &>(n).result(0) ||
      !isAssignable(r.type(), n.resultTypes()[0]))
    return {};
  return {r};
}

/// Whether every dimension of v has static size 1 (0-d included): a value
/// that broadcasts like a scalar.
bool scalarLike(const Var &v) {
  for (int64_t d : v.type()->shape())
    if (d != 1)
      return false;
  return true;
}

// ---- Constant folding -------------------------------------------------------

/// Results larger than this are not folded unless no larger than an
/// operand (a constant the program would copy anyway).
constexpr int64_t kMaxFoldedElements = 65536;

/// Ops whose result is never larger than their first operand.
bool neverEnlarges(OpKind k) {
  OpFamily f = opFamily(k);
  return f == OpFamily::Reduce || k == OpKind::Subtensor ||
         k == OpKind::Reshape || k == OpKind::DimShuffle ||
         k == OpKind::Shape || k == OpKind::ShapeI || k == OpKind::Split;
}

/// A node all of whose operands are constants: its values, computed now by
/// the reference kernel. Shared variables are not constants (their values
/// change); an evaluation that fails is left for run time, where the error
/// points at the user's code.
Result constantFold(const Node &n, const RewriteContext &) {
  if (n.numOperands() == 0)
    return {};
  int64_t largestOperand = 0;
  for (const Var &v : n.operands()) {
    if (!v.isConstant())
      return {};
    largestOperand = std::max(largestOperand, v.node()->constantValue().size());
  }
  for (const TensorType *t : n.resultTypes()) {
    int64_t size = 1;
    bool known = true;
    for (int64_t d : t->shape())
      known &= d != TensorType::kUnknown, size *= std::max<int64_t>(d, 1);
    if (known ? size > kMaxFoldedElements && size > largestOperand
              : !neverEnlarges(n.kind()))
      return {};
  }
  std::vector<NDArray> in;
  for (const Var &v : n.operands())
    in.push_back(v.node()->constantValue());
  std::vector<NDArray> out;
  try {
    out = evaluateNode(n, in);
  } catch (const std::exception &) {
    return {};
  }
  Result r;
  for (int i = 0; i < n.numResults(); ++i) {
    const TensorType *t = n.resultTypes()[i];
    // A result of unknown size that turns out large stays unfolded.
    if (out[i].size() > kMaxFoldedElements && out[i].size() > largestOperand)
      return {};
    if (out[i].dtype() != t->dtype() || !typeMismatch(out[i], t).empty())
      return {};
    // The node's type, not the value's exact shape: a size-1 dimension the
    // type does not know stays non-broadcastable.
    r.push_back(makeConstant(out[i].copy(), t));
  }
  return r;
}

/// shape_i and shape of dimensions whose sizes the type knows.
Result shapeConstant(const Node &n, const RewriteContext &) {
  const TensorType *t = n.operand(0).type();
  if (n.kind() == OpKind::ShapeI) {
    int64_t d = t->size(n.attrs().axes[0]);
    if (d == TensorType::kUnknown)
      return {};
    return {constant(Scalar::fromInt(d))};
  }
  Var s = shape(n.operand(0));
  return s.isConstant() ? Result{s} : Result{};
}

/// shape(x)[i] -> shape_i(x, i) (a constant when the type knows it).
Result shapeSubscript(const Node &n, const RewriteContext &) {
  const Node *sh = def(n.operand(0), OpKind::Shape);
  const std::vector<IndexEntry> &index = n.attrs().index;
  if (!sh || index.size() != 1 || index[0].kind != IndexEntry::Int)
    return {};
  std::optional<int64_t> i = staticInt(n.operand(1));
  int rank = sh->operand(0).ndim();
  if (!i || *i < -rank || *i >= rank)
    return {};
  return exactly(shapeOf(sh->operand(0), (int)*i), n);
}

/// shape_i(y, k) -> the size y's op infers when that is a constant or the
/// shape_i of another value (an operand's, for element-wise ops), so that
/// y's computation is not kept only for its shape.
Result shapeInfer(const Node &n, const RewriteContext &) {
  const Var &y = n.operand(0);
  if (y.isLeaf())
    return {};
  // One level: the operands' sizes as shape_i (or constants), which this
  // rewrite then looks at in turn.
  const Node &yn = *y.node();
  std::vector<SymShape> in;
  for (const Var &v : yn.operands()) {
    in.emplace_back();
    for (int k = 0; k < v.ndim(); ++k)
      in.back().push_back(shapeOf(v, k));
  }
  std::vector<SymShape> shapes = opDef(yn.kind()).inferShape(yn, in);
  const Var &s = shapes[y.index()][n.attrs().axes[0]];
  // Only down the graph (a constant, or the size of one of y's operands):
  // some ops answer with sizes of nodes they make, which would go round.
  const Node *si = def(s, OpKind::ShapeI);
  const auto &ops = yn.operands();
  if (!s.isConstant() &&
      !(si && std::find(ops.begin(), ops.end(), si->operand(0)) != ops.end()))
    return {};
  return exactly(s, n);
}

// ---- Element-wise identities
// --------------------------------------------------

/// neg(neg(x)) -> x (exact for every dtype: integers wrap both ways).
Result negNeg(const Node &n, const RewriteContext &) {
  if (const Node *inner = def(n.operand(0), OpKind::Neg))
    return replaceWith(inner->operand(0), n);
  return {};
}

/// exp(log(x)) -> x where x >= 0 or NaN, NaN where x < 0 (what log gives):
/// exact where the original is only approximately x.
Result expLog(const Node &n, const RewriteContext &) {
  const Node *inner = def(n.operand(0), OpKind::Log);
  if (!inner || isComplex(n.resultTypes()[0]->dtype()))
    return {};
  DType t = n.resultTypes()[0]->dtype();
  Var x = cast(inner->operand(0), t);
  return replaceWith(
      where(lt(x, scalarConstant(0, t)), scalarConstant(std::nan(""), t), x),
      n);
}

/// log(exp(x)) -> x: differs only where exp overflows or underflows, where
/// the rewritten value is the exact one.
Result logExp(const Node &n, const RewriteContext &) {
  const Node *inner = def(n.operand(0), OpKind::Exp);
  if (!inner || isComplex(n.resultTypes()[0]->dtype()))
    return {};
  return replaceWith(inner->operand(0), n);
}

/// x + 0, 0 + x, x - 0 -> x; x * 1, 1 * x, x / 1 -> x (cast and broadcast
/// as the result). Exact but for x + 0.0 with x = -0.0, which stays -0.0.
Result identityOperand(const Node &n, const RewriteContext &) {
  if (n.resultTypes()[0]->dtype() == DType::Bool)
    return {};
  const Var &a = n.operand(0), &b = n.operand(1);
  switch (n.kind()) {
  case OpKind::Add:
    if (isConstant(b, 0))
      return replaceWith(a, n);
    if (isConstant(a, 0))
      return replaceWith(b, n);
    return {};
  case OpKind::Sub:
    return isConstant(b, 0) ? replaceWith(a, n) : Result{};
  case OpKind::Mul:
    if (isConstant(b, 1))
      return replaceWith(a, n);
    if (isConstant(a, 1))
      return replaceWith(b, n);
    return {};
  case OpKind::TrueDiv:
    return isConstant(b, 1) ? replaceWith(a, n) : Result{};
  default:
    return {};
  }
}

/// x - x -> 0 for integers (floats keep it: inf - inf and NaN - NaN are NaN).
Result subSelf(const Node &n, const RewriteContext &) {
  DType t = n.resultTypes()[0]->dtype();
  if (n.operand(0) != n.operand(1) || !isInteger(t))
    return {};
  return replaceWith(scalarConstant(0, t), n);
}

// ---- Fractions
// ------------------------------------------------------------------

/// A product of factors over a product of factors, times a sign, with the
/// scalar constants apart.
struct Fraction {
  DType type = DType::Float64;
  std::vector<Var> num, den;
  double cNum = 1, cDen = 1;
  bool negative = false;
  bool descended = false; // looked into a nested mul/div/neg
  bool unit = false;      // met a constant factor of +-1
  bool cancelled = false;

  void collect(const Var &v, bool inDen, bool root) {
    if (v.dtype() == type && v.index() == 0) {
      OpKind k = v.node()->kind();
      const Node *n = v.node();
      if (k == OpKind::Mul || k == OpKind::TrueDiv || k == OpKind::Neg) {
        descended |= !root;
        if (k == OpKind::Neg) {
          negative = !negative;
          collect(n->operand(0), inDen, false);
          return;
        }
        collect(n->operand(0), inDen, false);
        collect(n->operand(1), k == OpKind::TrueDiv ? !inDen : inDen, false);
        return;
      }
    }
    if (scalarLike(v)) {
      std::optional<double> c = constantValue(v);
      if (c && std::isfinite(*c) && *c != 0) {
        unit |= std::fabs(*c) == 1;
        (inDen ? cDen : cNum) *= *c;
        return;
      }
    }
    (inDen ? den : num).push_back(v);
  }

  /// Removes the factors in both the numerator and the denominator.
  void cancel() {
    for (size_t i = 0; i < den.size();) {
      auto it = std::find(num.begin(), num.end(), den[i]);
      if (it == num.end()) {
        ++i;
        continue;
      }
      num.erase(it);
      den.erase(den.begin() + i);
      cancelled = true;
    }
  }

  /// x rounded to the fraction's dtype; nothing if it is not finite and
  /// non-zero (the product of the constants would overflow or underflow).
  std::optional<double> rounded(double x) const {
    double r = scalarConstant(x, type).constantValue().item().toDouble();
    if (!std::isfinite(r) || r == 0)
      return std::nullopt;
    return r;
  }

  Var product(const std::vector<Var> &fs) const {
    Var acc;
    for (const Var &f : fs)
      acc = acc.defined() ? mul(acc, cast(f, type)) : cast(f, type);
    return acc;
  }

  /// (num * cNum) / (den * cDen) with the sign on the constant or the
  /// numerator; undefined when the constants do not combine.
  Var build() const {
    std::optional<double> c = rounded(cNum), d = rounded(cDen);
    if (!c || !d)
      return Var();
    bool neg = negative;
    if (*c < 0)
      c = -*c, neg = !neg;
    if (*d < 0)
      d = -*d, neg = !neg;
    // One constant, in the numerator unless it is only a divisor.
    if (*d != 1 && (*c != 1 || num.empty())) {
      c = rounded(*c / *d);
      d = 1;
      if (!c)
        return Var();
    }
    Var top = product(num);
    if (neg && (*c != 1 || !top.defined()))
      c = -*c, neg = false;
    if (!top.defined())
      top = scalarConstant(*c, type);
    else if (*c != 1)
      top = mul(top, scalarConstant(*c, type));
    if (neg)
      top = thjit::neg(top);
    Var bottom = product(den);
    if (*d != 1)
      bottom = bottom.defined() ? mul(bottom, scalarConstant(*d, type))
                                : scalarConstant(*d, type);
    return bottom.defined() ? trueDiv(top, bottom) : top;
  }
};

/// Equal factors above and below would cancel (Theano's x / x -> 1), but
/// that turns the NaN of 0/0, inf/inf and NaN/NaN into a number, and the
/// compiled function must compute what the graph says on every input: off.
constexpr bool kCancelFactors = false;

/// Chains of mul, true_div and neg (float dtypes) as one fraction
/// (n1 * n2 * .. * c) / (d1 * d2 * ..): factors in both cancel, scalar
/// constants combine, the sign goes onto the constant or the numerator.
Result fraction(const Node &n, const RewriteContext &) {
  DType t = n.resultTypes()[0]->dtype();
  if (!isFloat(t))
    return {};
  Fraction f;
  f.type = t;
  Node &self = const_cast<Node &>(n);
  f.collect(self.result(0), false, true);
  if (kCancelFactors) {
    f.cancel();
  } else {
    // Left as written: stabilize recognises (a / z) * z (the softmax
    // cross-entropy gradient) and makes it exact.
    for (const Var &d : f.den)
      if (std::find(f.num.begin(), f.num.end(), d) != f.num.end())
        return {};
  }
  // A node over two plain factors is its own normal form; rebuilding it
  // would only add casts its operands get anyway.
  if (!f.descended && !f.cancelled && !f.unit)
    return {};
  Var r = f.build();
  if (!r.defined() || r == self.result(0))
    return {};
  return replaceWith(r, n);
}

// ---- Shapes
// ---------------------------------------------------------------------

/// dimshuffle(dimshuffle(x, p), q) -> dimshuffle(x, p o q), or x when that
/// is the identity.
Result dimshuffleChain(const Node &n, const RewriteContext &) {
  const Node *inner = def(n.operand(0), OpKind::DimShuffle);
  if (!inner)
    return {};
  const std::vector<int> &p = inner->attrs().axes;
  std::vector<int> composed;
  for (int a : n.attrs().axes)
    composed.push_back(a < 0 ? -1 : p[a]);
  return exactly(dimshuffle(inner->operand(0), composed), n);
}

/// Whether size operand `s` of a reshape is the size of x's axis `i`.
bool sameSize(const Var &s, const Var &x, int i) {
  int64_t d = x.type()->size(i);
  if (std::optional<int64_t> k = staticInt(s))
    return d != TensorType::kUnknown && *k == d;
  const Node *si = def(s, OpKind::ShapeI);
  return si && si->operand(0) == x && si->attrs().axes[0] == i;
}

/// reshape(reshape(x, s), t) -> reshape(x, t); reshape(x, s) -> x when s is
/// x's shape (static sizes, shape(x) or its shape_i's; [-1] of a vector).
Result reshapeChain(const Node &n, const RewriteContext &) {
  Var x = n.operand(0), s = n.operand(1);
  if (const Node *inner = def(x, OpKind::Reshape))
    return exactly(reshape(inner->operand(0), s), n);
  int rank = n.resultTypes()[0]->ndim();
  if (rank != x.ndim())
    return {};
  if (const Node *sh = def(s, OpKind::Shape))
    return sh->operand(0) == x ? exactly(x, n) : Result{};
  if (rank == 1 && isConstant(s, -1))
    return exactly(x, n);
  std::vector<Var> sizes;
  if (s.isConstant()) {
    for (int i = 0; i < rank; ++i)
      sizes.push_back(constant(s.constantValue().flatAt(i)));
  } else if (const Node *mv = def(s, OpKind::MakeVector)) {
    sizes = mv->operands();
  } else {
    return {};
  }
  for (int i = 0; i < rank; ++i)
    if (!sameSize(sizes[i], x, i))
      return {};
  return exactly(x, n);
}

// ---- Reductions
// -----------------------------------------------------------------

/// sum(a * c) -> sum(a) * c and sum(a / c) -> sum(a) / c for a factor c
/// that is broadcast along every summed axis (a scalar, a row summed over
/// rows); floats only (integer products wrap before the sum).
Result sumBroadcastFactor(const Node &n, const RewriteContext &) {
  const Var &x = n.operand(0);
  DType t = x.dtype();
  const std::vector<int> &axes = n.attrs().axes;
  bool keepdims = n.attrs().keepdims;
  if (!isFloat(t) || axes.empty())
    return {};
  const Node *m = def(x, OpKind::Mul);
  const Node *op = m ? m : def(x, OpKind::TrueDiv);
  if (!op)
    return {};
  // c's axes that stay (all of them with keepdims), or nothing when c
  // varies along a summed axis.
  auto keptAxes = [&](const Var &c) -> std::optional<std::vector<int>> {
    int lead = x.ndim() - c.ndim();
    std::vector<int> kept;
    for (int i = lead; i < x.ndim(); ++i) {
      bool summed = std::binary_search(axes.begin(), axes.end(), i);
      if (summed && !c.type()->isBroadcastable(i - lead))
        return std::nullopt;
      if (!summed || keepdims)
        kept.push_back(i - lead);
    }
    return kept;
  };
  Var a = op->operand(0), c = op->operand(1);
  std::optional<std::vector<int>> kept = keptAxes(c);
  if (m && (!kept || a.ndim() != x.ndim())) {
    std::swap(a, c);
    kept = keptAxes(c);
  }
  // a must have the shape of the product: c adds nothing to it.
  if (!kept || !sameBroadcast(a, x.type()))
    return {};
  Var s = sum(cast(a, t), Axes(axes), keepdims);
  Var ck = dimshuffle(cast(c, t), *kept);
  return replaceWith(m ? mul(s, ck) : trueDiv(s, ck), n);
}

/// sum(sum(x, a), b) -> one sum of x over a and b's axes (in x's
/// numbering) when the inner sum has no other reader and both keep their
/// dims or both drop them: one reduction instead of two (the mean of a
/// cost's row sums), added up in one accumulator.
Result sumSum(const Node &n, const RewriteContext &ctx) {
  const Node *inner = def(n.operand(0), OpKind::Sum);
  if (!inner || ctx.numClients(n.operand(0)) != 1 ||
      inner->attrs().keepdims != n.attrs().keepdims)
    return {};
  const Var &x = inner->operand(0);
  const std::vector<int> &first = inner->attrs().axes;
  std::vector<int> left; // x's axes in the inner sum's result
  for (int i = 0; i < x.ndim(); ++i)
    if (n.attrs().keepdims || !std::binary_search(first.begin(), first.end(), i))
      left.push_back(i);
  std::vector<int> axes = first;
  for (int a : n.attrs().axes)
    axes.push_back(left[a]);
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return replaceWith(sum(x, Axes(axes), n.attrs().keepdims), n);
}

/// sum(alloc(v, sizes)) over axes where v is broadcast -> v * (the number
/// of elements summed), for integer v or a finite constant (0 * inf would
/// be NaN where an empty sum is 0).
Result sumAlloc(const Node &n, const RewriteContext &) {
  const Node *al = def(n.operand(0), OpKind::Alloc);
  if (!al)
    return {};
  Var v = al->operand(0);
  DType t = n.resultTypes()[0]->dtype();
  std::optional<double> c = constantValue(v);
  if (!(isInteger(v.dtype()) || isBool(v.dtype()) ||
        (c && std::isfinite(*c))) ||
      isComplex(t))
    return {};
  int rank = al->numOperands() - 1, lead = rank - v.ndim();
  const std::vector<int> &axes = n.attrs().axes;
  std::vector<int> kept;
  Var count = constant(Scalar::fromInt(1));
  for (int i = 0; i < rank; ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), i);
    if (reduced) {
      if (i >= lead && !v.type()->isBroadcastable(i - lead))
        return {};
      count = count * al->operand(i + 1);
    } else if (i >= lead) {
      kept.push_back(i - lead);
    }
  }
  Var vk = dimshuffle(v, kept);
  return replaceWith(mul(cast(vk, t), cast(count, t)), n);
}

/// Reductions over axes of size 1: those axes are dropped (a reduction of
/// one element is the element).
Result reduceBroadcastAxes(const Node &n, const RewriteContext &) {
  const Var &x = n.operand(0);
  const std::vector<int> &axes = n.attrs().axes;
  bool keepdims = n.attrs().keepdims;
  std::vector<int> rest, keptAxes;
  bool any = axes.empty();
  for (int a : axes) {
    if (x.type()->isBroadcastable(a))
      any = true;
    else
      rest.push_back(a);
  }
  if (!any)
    return {};
  Var y = x;
  if (!keepdims) {
    // Drop the size-1 reduced axes; the others are renumbered.
    std::vector<int> renumbered;
    for (int i = 0; i < x.ndim(); ++i) {
      bool reduced = std::binary_search(axes.begin(), axes.end(), i);
      if (reduced && x.type()->isBroadcastable(i))
        continue;
      if (reduced)
        renumbered.push_back((int)keptAxes.size());
      keptAxes.push_back(i);
    }
    y = dimshuffle(x, keptAxes);
    rest = renumbered;
  }
  if (!rest.empty()) {
    Attrs a = n.attrs();
    a.axes = rest;
    y = makeOp(n.kind(), {y}, a)[0];
  }
  return replaceWith(y, n);
}

// ---- Useless nodes
// --------------------------------------------------------------

/// cast(x) to x's own dtype -> x.
Result castSame(const Node &n, const RewriteContext &) {
  return exactly(n.operand(0), n);
}

/// alloc(v, sizes) -> v when the sizes are provably v's (static sizes, or
/// shape_i of v), so that it neither broadcasts nor checks anything.
Result allocUseless(const Node &n, const RewriteContext &) {
  const Var &v = n.operand(0);
  if (v.ndim() != n.numOperands() - 1)
    return {};
  for (int i = 0; i < v.ndim(); ++i)
    if (!sameSize(n.operand(i + 1), v, i))
      return {};
  return exactly(v, n);
}

/// Whether size `s` (a static size or a shape_i) is the size of u's axis j:
/// u is the shape_i's value, or an element-wise op one of whose operands
/// not broadcast along j is (an element-wise op fails unless they all have
/// its size there), a few levels down.
static bool knownSize(const Var &s, const Var &u, int j, int depth = 8) {
  if (sameSize(s, u, j))
    return true;
  const Node &n = *u.node();
  if (depth == 0 || u.isLeaf() || opFamily(n.kind()) != OpFamily::Elemwise)
    return false;
  for (const Var &w : n.operands()) {
    int k = j - (u.ndim() - w.ndim());
    if (k >= 0 && !w.type()->isBroadcastable(k) && knownSize(s, w, k, depth - 1))
      return true;
  }
  return false;
}

/// An element-wise op over alloc(v, sizes) reads v itself, broadcast, where
/// the alloc adds nothing: each of its sizes along an axis of the result is
/// known to be the size another operand (or v) has there (a shape_i of it,
/// or a static size), so the op's shape and its shape errors stay the same.
/// Gradients are full of these (a scalar's gradient put in the shape of x).
Result elemwiseAlloc(const Node &n, const RewriteContext &) {
  if (opFamily(n.kind()) != OpFamily::Elemwise)
    return {};
  const int R = n.resultTypes()[0]->ndim();
  for (int k = 0; k < n.numOperands(); ++k) {
    const Node *al = def(n.operand(k), OpKind::Alloc);
    if (!al || n.operand(k).ndim() > R)
      continue;
    const Var &allocated = n.operand(k);
    const Var &v = al->operand(0);
    const int rank = al->numOperands() - 1, lead = R - rank;
    bool known = true;
    for (int i = 0; i < rank && known; ++i) {
      if (allocated.type()->isBroadcastable(i))
        continue; // size 1 either way
      // Another operand (or v) with this axis of the result, of that size.
      auto sizeOf = [&](const Var &u) {
        int j = lead + i - (R - u.ndim());
        return j >= 0 && !u.type()->isBroadcastable(j) &&
               knownSize(al->operand(i + 1), u, j);
      };
      known = (i - (rank - v.ndim()) >= 0 &&
               sameSize(al->operand(i + 1), v, i - (rank - v.ndim()))) ||
              std::any_of(n.operands().begin(), n.operands().end(),
                          [&](const Var &u) { return u != allocated && sizeOf(u); });
    }
    if (!known || v.dtype() != allocated.dtype())
      continue;
    std::vector<Var> operands = n.operands();
    operands[k] = v;
    Var r(rebuild(n, std::move(operands)));
    if (r.type() == n.resultTypes()[0])
      return exactly(r, n);
  }
  return {};
}

/// f(dimshuffle{x,...}(s), x) -> f(s, x) for a 0-d s: the op broadcasts a
/// number itself, and the view would be one more step to run (the gradient
/// of a mean scales by one made a vector).
Result elemwiseScalarView(const Node &n, const RewriteContext &) {
  if (opFamily(n.kind()) != OpFamily::Elemwise)
    return {};
  for (int k = 0; k < n.numOperands(); ++k) {
    const Node *ds = def(n.operand(k), OpKind::DimShuffle);
    if (!ds || ds->operand(0).ndim() != 0)
      continue;
    std::vector<Var> operands = n.operands();
    operands[k] = ds->operand(0);
    Var r(rebuild(n, std::move(operands)));
    if (r.type() == n.resultTypes()[0])
      return exactly(r, n);
  }
  return {};
}

/// x[:], x[0:], x[::1], x[:len] ... -> x: every entry a slice that
/// selects all of its axis.
Result subtensorFull(const Node &n, const RewriteContext &) {
  const Var &x = n.operand(0);
  int next = 1, axis = 0;
  for (const IndexEntry &e : n.attrs().index) {
    if (e.kind != IndexEntry::Slice)
      return {};
    if (e.hasStart && staticInt(n.operand(next++)) != 0)
      return {};
    if (e.hasStop) {
      const Var &stop = n.operand(next++);
      std::optional<int64_t> k = staticInt(stop);
      int64_t len = x.type()->size(axis);
      bool all = (k && len != TensorType::kUnknown && *k >= len) ||
                 (k && *k >= (int64_t(1) << 62)) || sameSize(stop, x, axis);
      if (!all)
        return {};
    }
    if (e.hasStep && staticInt(n.operand(next++)) != 1)
      return {};
    ++axis;
  }
  return exactly(x, n);
}

const RewriteSet &makeSet() {
  static const RewriteSet set({
      {"constant_fold",
       {},
       constantFold,
       "nodes of constant operands computed now (not when large or when "
       "evaluation fails)"},
      {"shape_constant",
       {OpKind::ShapeI, OpKind::Shape},
       shapeConstant,
       "shape_i/shape of sizes the type knows -> constant"},
      {"shape_subscript",
       {OpKind::Subtensor},
       shapeSubscript,
       "shape(x)[i] -> shape_i(x, i)"},
      {"shape_infer",
       {OpKind::ShapeI},
       shapeInfer,
       "shape_i(y) -> the size y's op infers, when a constant or a shape_i"},
      {"neg_neg", {OpKind::Neg}, negNeg, "neg(neg(x)) -> x"},
      {"exp_log",
       {OpKind::Exp},
       expLog,
       "exp(log(x)) -> switch(x < 0, nan, x)"},
      {"log_exp", {OpKind::Log}, logExp, "log(exp(x)) -> x"},
      {"identity_operand",
       {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::TrueDiv},
       identityOperand,
       "x + 0, x - 0, x * 1, x / 1 -> x"},
      {"sub_self", {OpKind::Sub}, subSelf, "x - x -> 0 (integers only)"},
      {"fraction",
       {OpKind::Mul, OpKind::TrueDiv, OpKind::Neg},
       fraction,
       "mul/div/neg chains -> (n1 * .. * c) / (d1 * ..), equal factors "
       "cancelled, constants combined"},
      {"dimshuffle_chain",
       {OpKind::DimShuffle},
       dimshuffleChain,
       "dimshuffle(dimshuffle(x)) -> one dimshuffle, or x"},
      {"reshape_chain",
       {OpKind::Reshape},
       reshapeChain,
       "reshape(reshape(x)) -> one reshape; reshape to x's shape -> x"},
      {"sum_broadcast_factor",
       {OpKind::Sum},
       sumBroadcastFactor,
       "sum(x * c) -> sum(x) * c, sum(x / c) -> sum(x) / c for c broadcast "
       "along the summed axes"},
      {"sum_sum",
       {OpKind::Sum},
       sumSum,
       "sum(sum(x, a), b) -> sum(x, a and b) when the inner sum has no other "
       "reader"},
      {"sum_alloc",
       {OpKind::Sum},
       sumAlloc,
       "sum(alloc(c, shape)) -> c * (elements summed)"},
      {"reduce_broadcast_axes",
       {OpKind::Sum, OpKind::Prod, OpKind::Max, OpKind::Min},
       reduceBroadcastAxes,
       "reductions over size-1 axes drop them"},
      {"cast_same", {OpKind::Cast}, castSame, "cast to x's dtype -> x"},
      {"alloc_useless",
       {OpKind::Alloc},
       allocUseless,
       "alloc(x, x's shape) -> x"},
      {"subtensor_full", {OpKind::Subtensor}, subtensorFull, "x[:] -> x"},
      {"elemwise_alloc",
       {},
       elemwiseAlloc,
       "f(alloc(v, x's sizes), x) -> f(v, x): v broadcast by the op itself"},
      {"elemwise_scalar_view",
       {},
       elemwiseScalarView,
       "f(dimshuffle{x,...}(s), x) -> f(s, x) for a 0-d s, when the result's "
       "type stays the same"},
  });
  return set;
}

} // namespace

const RewriteSet *canonicalizeRewrites() { return &makeSet(); }

} // namespace thjit
