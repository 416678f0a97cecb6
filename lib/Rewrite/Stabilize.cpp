//===- Stabilize.cpp - The stabilize pass's rewrites ----------------------===//
///
/// \file
/// Rewrites of forms that overflow, underflow or cancel in floating point
/// into equal forms that do not (docs/passes/stabilize.md): softplus,
/// log1p, expm1, log-sigmoid, log_softmax, log-sum-exp with the maximum
/// subtracted, the closed form of softmax's gradient through a log, and
/// sqrt(x*x). Each looks at one node and what computes its operands; the
/// forms users write are matched in both operand orders, with constants
/// 0-d or broadcast. Only real floating-point results are rewritten (the
/// stable ops are real; integer results do not round).
///
//===----------------------------------------------------------------------===//
#include "Match.h"

#include <algorithm>

namespace thjit {

using namespace match;

namespace {

/// Whether the node's (first) result is a real floating-point value.
bool realFloat(const Node &n) { return isFloat(n.resultTypes()[0]->dtype()); }

/// x in the dtype of n's result, which the naive form computes in (an int
/// x of exp(x), a float32 x added to a float64 1).
Var inType(const Var &x, const Node &n) {
  DType t = n.resultTypes()[0]->dtype();
  return x.dtype() == t ? x : cast(x, t);
}

/// -x, without a double negation.
Var negate(const Var &x) {
  if (const Node *m = def(x, OpKind::Neg))
    return m->operand(0);
  return neg(x);
}

/// The x of `1 + x` or `x + 1`.
std::optional<Var> onePlus(const Var &v) {
  const Node *a = def(v, OpKind::Add);
  if (!a)
    return std::nullopt;
  if (isConstant(a->operand(0), 1))
    return a->operand(1);
  if (isConstant(a->operand(1), 1))
    return a->operand(0);
  return std::nullopt;
}

/// The x of `1 - x`, `1 + (-x)` or `(-x) + 1`.
std::optional<Var> oneMinus(const Var &v) {
  if (const Node *s = def(v, OpKind::Sub))
    return isConstant(s->operand(0), 1) ? std::optional<Var>(s->operand(1))
                                        : std::nullopt;
  if (std::optional<Var> y = onePlus(v))
    if (const Node *m = def(*y, OpKind::Neg))
      return m->operand(0);
  return std::nullopt;
}

/// The x of exp(x).
std::optional<Var> expOf(const Var &v) {
  if (const Node *e = def(v, OpKind::Exp))
    return e->operand(0);
  return std::nullopt;
}

/// The x of sigmoid(x).
std::optional<Var> sigmoidOf(const Var &v) {
  if (const Node *s = def(v, OpKind::Sigmoid))
    return s->operand(0);
  return std::nullopt;
}

// ---- log(1 + exp x), log(1 + x), exp(x) - 1 -------------------------------

/// log(1 + exp x) -> softplus x: exp overflows for x > 709 (float64).
std::vector<Var> logOnePlusExp(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  std::optional<Var> e =
      n.kind() == OpKind::Log ? onePlus(n.operand(0)) : n.operand(0);
  std::optional<Var> x = e ? expOf(*e) : std::nullopt;
  if (!x)
    return {};
  return replaceWith(softplus(inType(*x, n)), n);
}

/// log(1 + x) -> log1p x: 1 + x rounds x away when |x| < 1e-16.
std::vector<Var> logOnePlus(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  if (std::optional<Var> x = onePlus(n.operand(0)))
    return replaceWith(log1p(inType(*x, n)), n);
  if (std::optional<Var> x = oneMinus(n.operand(0)))
    return replaceWith(log1p(negate(inType(*x, n))), n);
  return {};
}

/// exp(x) - 1 -> expm1 x: the subtraction cancels every digit near x = 0.
std::vector<Var> expMinusOne(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  const Var &a = n.operand(0), &b = n.operand(1);
  std::optional<Var> x;
  if (n.kind() == OpKind::Sub) {
    if (isConstant(b, 1))
      x = expOf(a);
  } else if (isConstant(b, -1)) {
    x = expOf(a);
  } else if (isConstant(a, -1)) {
    x = expOf(b);
  }
  if (!x)
    return {};
  return replaceWith(expm1(inType(*x, n)), n);
}

// ---- sigmoid ---------------------------------------------------------------

/// log(sigmoid x) -> -softplus(-x): sigmoid underflows to 0 for x < -745.
std::vector<Var> logSigmoid(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  std::optional<Var> x = sigmoidOf(n.operand(0));
  if (!x)
    return {};
  return replaceWith(neg(softplus(negate(inType(*x, n)))), n);
}

/// log(1 - sigmoid x), log1p(-sigmoid x) -> -softplus x: sigmoid rounds to
/// 1 for x > 37.
std::vector<Var> logOneMinusSigmoid(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  std::optional<Var> s;
  if (n.kind() == OpKind::Log)
    s = oneMinus(n.operand(0));
  else if (const Node *m = def(n.operand(0), OpKind::Neg))
    s = m->operand(0);
  std::optional<Var> x = s ? sigmoidOf(*s) : std::nullopt;
  if (!x)
    return {};
  return replaceWith(neg(softplus(inType(*x, n))), n);
}

/// 1 - sigmoid x -> sigmoid(-x): the subtraction gives 0 for x > 37.
std::vector<Var> oneMinusSigmoid(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  std::optional<Var> s = oneMinus(const_cast<Node &>(n).result(0));
  std::optional<Var> x = s ? sigmoidOf(*s) : std::nullopt;
  if (!x)
    return {};
  return replaceWith(sigmoid(negate(inType(*x, n))), n);
}

/// exp(x) / (1 + exp x) -> sigmoid x (inf / inf for x > 709), and
/// 1 / (1 + exp x) -> sigmoid(-x).
std::vector<Var> sigmoidForm(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  std::optional<Var> d = onePlus(n.operand(1));
  std::optional<Var> x = d ? expOf(*d) : std::nullopt;
  if (!x)
    return {};
  if (isConstant(n.operand(0), 1))
    return replaceWith(sigmoid(negate(inType(*x, n))), n);
  if (expOf(n.operand(0)) == x)
    return replaceWith(sigmoid(inType(*x, n)), n);
  return {};
}

// ---- products of exp(u), 1 + exp(u) and sigmoids ---------------------------
//
// The gradient of 1 / (1 + exp(-z)) (the paper's logistic regression writes
// its sigmoid so) and of the logs of it is a product such as
//   (c(1-y) / sigmoid(-z) - c y (1 + exp(-z))) * exp(-z) / (1 + exp(-z))^2
// which is NaN once exp overflows (|z| > 709 in float64) although it equals
// c (sigmoid(z) - y). Written with E = exp(u) and P = 1 + exp(u), sigmoid(u)
// is E / P and sigmoid(-u) is 1 / P: a product whose powers of E and P
// come out as E^a P^-b with 0 <= a <= b is sigmoid(u)^a sigmoid(-u)^(b-a),
// which never overflows. A factor that is a sum is multiplied out when
// that makes every term such a product.

/// A product's factors: values with integer powers, and a sign.
struct Factors {
  std::vector<std::pair<Var, int>> items;
  bool negative = false;
};

/// Adds v^power to f, looking through products, quotients, negations and
/// squares that only this product reads (`root`: v is the rewritten node's
/// own value, read by others).
void flattenProduct(const Var &v, int power, bool root,
                    const RewriteContext &ctx, Factors &f) {
  const Node *n = v.node();
  bool inner = root || ctx.numClients(v) == 1;
  if (inner && v.index() == 0 && isFloat(v.dtype())) {
    switch (n->kind()) {
    case OpKind::Mul:
      flattenProduct(n->operand(0), power, false, ctx, f);
      flattenProduct(n->operand(1), power, false, ctx, f);
      return;
    case OpKind::TrueDiv:
      flattenProduct(n->operand(0), power, false, ctx, f);
      flattenProduct(n->operand(1), -power, false, ctx, f);
      return;
    case OpKind::Neg:
      f.negative ^= (power % 2 != 0);
      flattenProduct(n->operand(0), power, false, ctx, f);
      return;
    case OpKind::Sqr:
      flattenProduct(n->operand(0), 2 * power, false, ctx, f);
      return;
    default:
      break;
    }
  }
  f.items.push_back({v, power});
}

/// The terms of a sum only this product reads, with their signs.
void flattenSum(const Var &v, bool negative, const RewriteContext &ctx,
                std::vector<std::pair<Var, bool>> &terms) {
  const Node *n = v.node();
  if (ctx.numClients(v) == 1 && v.index() == 0) {
    if (n->kind() == OpKind::Add || n->kind() == OpKind::Sub) {
      flattenSum(n->operand(0), negative, ctx, terms);
      flattenSum(n->operand(1), negative ^ (n->kind() == OpKind::Sub), ctx,
                 terms);
      return;
    }
    if (n->kind() == OpKind::Neg) {
      flattenSum(n->operand(0), !negative, ctx, terms);
      return;
    }
  }
  terms.push_back({v, negative});
}

bool isSum(const Var &v) {
  return def(v, OpKind::Add) || def(v, OpKind::Sub);
}

/// A product in terms of the bases u of exp(u) and 1 + exp(u).
struct SigmoidProduct {
  struct Base {
    Var u;
    int e = 0, p = 0; ///< the powers of exp(u) and 1 + exp(u)
  };
  std::vector<Base> bases;
  std::vector<std::pair<Var, int>> others;
  bool negative = false;
  bool unstable = false; ///< exp(u) or 1 + exp(u) among the factors

  Base &base(const Var &u) {
    for (Base &b : bases)
      if (b.u == u)
        return b;
    bases.push_back({u});
    return bases.back();
  }
  /// Whether every base's powers make sigmoids.
  bool stable() const {
    for (const Base &b : bases)
      if (b.e < 0 || b.e > -b.p)
        return false;
    return true;
  }
};

SigmoidProduct classify(const Factors &f) {
  SigmoidProduct sp;
  sp.negative = f.negative;
  // The bases: every u of exp(u) or 1 + exp(u) here.
  for (const auto &[v, k] : f.items) {
    std::optional<Var> x = onePlus(v);
    std::optional<Var> u = expOf(x ? *x : v);
    if (u) {
      (x ? sp.base(*u).p : sp.base(*u).e) += k;
      sp.unstable = true;
    }
  }
  for (const auto &[v, k] : f.items) {
    std::optional<Var> x = onePlus(v);
    if (expOf(x ? *x : v))
      continue;
    std::optional<Var> s = sigmoidOf(v);
    SigmoidProduct::Base *b = nullptr;
    bool flipped = false;
    if (s)
      for (SigmoidProduct::Base &c : sp.bases) {
        const Node *ns = def(*s, OpKind::Neg), *nu = def(c.u, OpKind::Neg);
        if (c.u == *s) {
          b = &c;
        } else if ((ns && c.u == ns->operand(0)) || (nu && nu->operand(0) == *s)) {
          b = &c; // sigmoid(-u)
          flipped = true;
        }
      }
    if (!b) {
      sp.others.push_back({v, k});
      continue;
    }
    // sigmoid(u) = E / P, sigmoid(-u) = 1 / P.
    if (!flipped)
      b->e += k;
    b->p -= k;
  }
  return sp;
}

/// v^k as products (k >= 1).
Var power(const Var &v, int k) {
  Var r = v;
  for (int i = 1; i < k; ++i)
    r = mul(r, v);
  return r;
}

/// `start` (1 when undefined) times the factors with positive powers,
/// divided by those with negative ones, in dtype t; factors equal to 1
/// are left out.
Var productOf(const std::vector<std::pair<Var, int>> &items, DType t,
              Var start = Var()) {
  Var num = start, den;
  for (const auto &[v, k] : items) {
    if (k == 0 || isConstant(v, 1))
      continue;
    Var &acc = k > 0 ? num : den;
    Var p = power(v, std::abs(k));
    acc = acc ? mul(acc, p) : p;
  }
  Var r = num ? num : scalarConstant(1, t);
  return den ? trueDiv(r, den) : r;
}

/// The value of a stable product, in dtype t.
Var valueOf(const SigmoidProduct &sp, DType t) {
  std::vector<std::pair<Var, int>> items = sp.others;
  for (const SigmoidProduct::Base &b : sp.bases) {
    if (b.e > 0)
      items.push_back({sigmoid(b.u), b.e});
    if (-b.p - b.e > 0)
      items.push_back({sigmoid(negate(b.u)), -b.p - b.e});
  }
  Var r = productOf(items, t);
  return sp.negative ? neg(r) : r;
}

std::vector<Var> sigmoidProducts(const Node &n, const RewriteContext &ctx) {
  if (!realFloat(n))
    return {};
  DType t = n.resultTypes()[0]->dtype();
  Factors all;
  flattenProduct(const_cast<Node &>(n).result(0), 1, true, ctx, all);
  // Multiplied out over a sum: every term's product stable.
  for (size_t i = 0; i < all.items.size(); ++i) {
    const auto &[sum, k] = all.items[i];
    if (k != 1 || !isSum(sum) || ctx.numClients(sum) != 1)
      continue;
    Factors rest = all;
    rest.items.erase(rest.items.begin() + i);
    if (!classify(rest).unstable)
      continue;
    std::vector<std::pair<Var, bool>> terms;
    flattenSum(sum, false, ctx, terms);
    Var r;
    for (const auto &[term, negative] : terms) {
      Factors f = rest;
      f.negative ^= negative;
      flattenProduct(term, 1, false, ctx, f);
      SigmoidProduct sp = classify(f);
      if (!sp.stable()) {
        r = Var();
        break;
      }
      Var v = valueOf(sp, t);
      if (!r)
        r = v;
      else if (const Node *m = def(v, OpKind::Neg))
        r = sub(r, m->operand(0));
      else
        r = add(r, v);
    }
    if (r)
      return replaceWith(r, n);
  }
  SigmoidProduct sp = classify(all);
  if (!sp.unstable || !sp.stable())
    return {};
  return replaceWith(valueOf(sp, t), n);
}

// ---- sigmoid(u) + sigmoid(-u) = 1 --------------------------------------------
//
// The cross-entropy's gradient comes out of sigmoid_products as
//   c (1 - y) sigmoid(z) - c y sigmoid(-z)
// which is c (sigmoid(z) - y): one exp less per element, and what one
// would write by hand. A sum's terms are multiplied out over factors that
// are sums; two terms equal but for sigmoid(u) in one and sigmoid(-u) in
// the other are one term without it; factors every term has are taken out.

/// Whether a and b are u and -u (either way round).
bool negations(const Var &a, const Var &b) {
  const Node *na = def(a, OpKind::Neg), *nb = def(b, OpKind::Neg);
  return (na && na->operand(0) == b) || (nb && nb->operand(0) == a);
}

/// The same factors with the same powers, in any order.
bool sameFactors(std::vector<std::pair<Var, int>> a,
                 std::vector<std::pair<Var, int>> b) {
  auto order = [](const std::pair<Var, int> &x, const std::pair<Var, int> &y) {
    return VarLess()(x.first, y.first) ||
           (x.first == y.first && x.second < y.second);
  };
  std::sort(a.begin(), a.end(), order);
  std::sort(b.begin(), b.end(), order);
  return a == b;
}

/// Terms i and j made one where they differ only in sigmoid(u) against
/// sigmoid(-u): true when they were.
bool mergeComplements(std::vector<Factors> &terms, size_t i, size_t j) {
  Factors &a = terms[i], &b = terms[j];
  if (a.negative != b.negative)
    return false;
  for (size_t fa = 0; fa < a.items.size(); ++fa) {
    std::optional<Var> u = sigmoidOf(a.items[fa].first);
    if (!u || a.items[fa].second != 1)
      continue;
    for (size_t fb = 0; fb < b.items.size(); ++fb) {
      std::optional<Var> v = sigmoidOf(b.items[fb].first);
      if (!v || b.items[fb].second != 1 || !negations(*u, *v))
        continue;
      auto restA = a.items, restB = b.items;
      restA.erase(restA.begin() + (long)fa);
      restB.erase(restB.begin() + (long)fb);
      if (!sameFactors(restA, restB))
        continue;
      a.items = std::move(restA);
      terms.erase(terms.begin() + (long)j);
      return true;
    }
  }
  return false;
}

/// f with negated factors as signs (shared negations too: only the
/// algebra changes, no node is computed again).
void signsOut(Factors &f) {
  for (auto &[v, k] : f.items)
    while (const Node *m = def(v, OpKind::Neg)) {
      f.negative ^= (k % 2 != 0);
      v = m->operand(0);
    }
}

/// Most terms a sum is multiplied out into.
constexpr size_t kMaxExpandedTerms = 16;

std::vector<Var> sigmoidComplements(const Node &n, const RewriteContext &ctx) {
  if (!realFloat(n))
    return {};
  DType t = n.resultTypes()[0]->dtype();
  std::vector<std::pair<Var, bool>> parts;
  flattenSum(n.operand(0), false, ctx, parts);
  flattenSum(n.operand(1), n.kind() == OpKind::Sub, ctx, parts);
  std::vector<Factors> terms;
  for (const auto &[v, negative] : parts) {
    Factors f;
    f.negative = negative;
    flattenProduct(v, 1, false, ctx, f);
    signsOut(f);
    terms.push_back(std::move(f));
  }
  // Only where two terms hold sigmoid(u) and sigmoid(-u).
  std::vector<std::pair<Var, size_t>> sigmoids; // argument, term
  bool complements = false;
  for (size_t i = 0; i < terms.size(); ++i)
    for (const auto &item : terms[i].items)
      if (std::optional<Var> u = sigmoidOf(item.first)) {
        for (const auto &[v, j] : sigmoids)
          complements |= j != i && negations(*u, v);
        sigmoids.push_back({*u, i});
      }
  if (!complements)
    return {};
  // Multiplied out: a factor that is a sum becomes a term per its terms.
  for (size_t i = 0; i < terms.size() && terms.size() <= kMaxExpandedTerms; ++i)
    for (size_t k = 0; k < terms[i].items.size() && terms.size() <= kMaxExpandedTerms;
         ++k) {
      const auto [w, power] = terms[i].items[k];
      if (power != 1 || !isSum(w))
        continue;
      std::vector<std::pair<Var, bool>> inner;
      const Node *s = w.node();
      flattenSum(s->operand(0), false, ctx, inner);
      flattenSum(s->operand(1), s->kind() == OpKind::Sub, ctx, inner);
      Factors rest = terms[i];
      rest.items.erase(rest.items.begin() + (long)k);
      std::vector<Factors> expanded;
      for (const auto &[v, negative] : inner) {
        Factors f = rest;
        f.negative ^= negative;
        flattenProduct(v, 1, false, ctx, f);
        signsOut(f);
        expanded.push_back(std::move(f));
      }
      terms.erase(terms.begin() + (long)i);
      terms.insert(terms.begin() + (long)i, expanded.begin(), expanded.end());
      k = (size_t)-1; // term i is new: from its first factor again
    }
  if (terms.size() > kMaxExpandedTerms)
    return {};
  bool merged = false;
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t j = i + 1; j < terms.size(); ++j)
      if (mergeComplements(terms, i, j)) {
        merged = true;
        j = i; // term i changed: compare it with the rest again
      }
  if (!merged)
    return {};
  // Factors every term has, taken out (each as often as every term has it).
  std::vector<std::pair<Var, int>> common;
  if (terms.size() > 1)
    for (const auto &f : terms[0].items) {
      bool everywhere = true;
      for (size_t i = 1; i < terms.size() && everywhere; ++i)
        everywhere = std::count(terms[i].items.begin(), terms[i].items.end(), f) >
                     std::count(common.begin(), common.end(), f);
      if (everywhere)
        common.push_back(f);
    }
  std::stable_partition(terms.begin(), terms.end(),
                        [](const Factors &f) { return !f.negative; });
  Var sum;
  for (Factors &f : terms) {
    for (const auto &c : common)
      f.items.erase(std::find(f.items.begin(), f.items.end(), c));
    Var v = productOf(f.items, t);
    if (!sum)
      sum = f.negative ? neg(v) : v;
    else
      sum = f.negative ? sub(sum, v) : add(sum, v);
  }
  return replaceWith(productOf(common, t, sum), n);
}

// ---- softmax, log-sum-exp ---------------------------------------------------

/// log(softmax x) -> log_softmax x: softmax underflows to 0 far from the
/// largest element, and log(0) = -inf.
std::vector<Var> logSoftmaxForm(const Node &n, const RewriteContext &) {
  const Node *s = def(n.operand(0), OpKind::Softmax);
  if (!s || !realFloat(n))
    return {};
  return replaceWith(logSoftmax(s->operand(0)), n);
}

/// The maximum M stands for when it is max(y, axes, keepdims), possibly
/// with infinities replaced by 0 (what logSumExp makes) or dimshuffled.
bool isMaxOf(Var m, const Var &y, const std::vector<int> &axes) {
  if (const Node *d = def(m, OpKind::DimShuffle))
    m = d->operand(0);
  if (const Node *w = def(m, OpKind::Switch))
    if (isConstant(w->operand(1), 0))
      m = w->operand(2);
  const Node *mx = def(m, OpKind::Max);
  return mx && mx->operand(0) == y && mx->attrs().axes == axes;
}

/// log(sum(exp x, axes)) -> m + log(sum(exp(x - m), axes)) with m the
/// maximum over the axes: exp overflows for x > 709 and underflows to a
/// sum of 0 for x < -745. Where m is infinite (a row of -inf, or one with
/// +inf) it is taken as 0, so that the result is the naive one (-inf or
/// inf) rather than NaN from -inf - -inf.
std::vector<Var> logSumExp(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  const Node *s = def(n.operand(0), OpKind::Sum);
  std::optional<Var> x = s ? expOf(s->operand(0)) : std::nullopt;
  if (!x || s->attrs().axes.empty() || isComplex(x->dtype()))
    return {};
  const std::vector<int> &axes = s->attrs().axes;
  // Already shifted (by the user, or by this rewrite).
  if (const Node *d = def(*x, OpKind::Sub))
    if (isMaxOf(d->operand(1), d->operand(0), axes))
      return {};
  Var xs = inType(*x, n);
  Var m = max(xs, Axes(axes), true);
  m = where(isinf(m), 0.0, m);
  Var lse = log(sum(exp(xs - m), Axes(axes), s->attrs().keepdims));
  if (!s->attrs().keepdims) {
    std::vector<int> kept;
    for (int a = 0; a < xs.ndim(); ++a)
      if (!std::binary_search(axes.begin(), axes.end(), a))
        kept.push_back(a);
    m = dimshuffle(m, kept);
  }
  return replaceWith(lse + m, n);
}

/// log(exp a + exp b) -> m + softplus(min(a, b) - m) with m = max(a, b)
/// (logaddexp); where m is infinite the result is m, which the naive form
/// gives too (and -inf - -inf would make NaN).
std::vector<Var> logAddExp(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  const Node *s = def(n.operand(0), OpKind::Add);
  if (!s)
    return {};
  std::optional<Var> a = expOf(s->operand(0)), b = expOf(s->operand(1));
  if (!a || !b)
    return {};
  Var x = inType(*a, n), y = inType(*b, n);
  Var m = maximum(x, y);
  return replaceWith(where(isinf(m), m, m + softplus(minimum(x, y) - m)), n);
}

/// The g and s of `g - s`, `g + (-s)` or `(-s) + g`.
std::optional<std::pair<Var, Var>> difference(const Var &v) {
  if (const Node *d = def(v, OpKind::Sub))
    return std::make_pair(d->operand(0), d->operand(1));
  if (const Node *a = def(v, OpKind::Add))
    for (int i = 0; i < 2; ++i)
      if (const Node *m = def(a->operand(1 - i), OpKind::Neg))
        return std::make_pair(a->operand(i), m->operand(0));
  return std::nullopt;
}

/// Softmax's gradient applied to `a / softmax(x)` (what the gradient of
/// `log(softmax(x))` sends it, as in cross-entropy) is
///   (a/z - sum(a/z * z, -1, keepdims)) * z     z = softmax(x)
/// With (a/z) * z -> a (in the sum, bottom-up) and (a/z - s) * z -> a - s*z
/// for any s, it becomes a - sum(a, -1, keepdims) * z. a/z is inf or NaN
/// where z underflowed to 0; the closed form is not.
std::vector<Var> softmaxGradOfLog(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  for (int i = 0; i < 2; ++i) {
    const Var &z = n.operand(i);
    if (!def(z, OpKind::Softmax))
      continue;
    if (const Node *div = def(n.operand(1 - i), OpKind::TrueDiv);
        div && div->operand(1) == z)
      return replaceWith(inType(div->operand(0), n), n);
    std::optional<std::pair<Var, Var>> p = difference(n.operand(1 - i));
    const Node *div = p ? def(p->first, OpKind::TrueDiv) : nullptr;
    if (!div || div->operand(1) != z)
      continue;
    Var a = inType(div->operand(0), n), s = inType(p->second, n);
    return replaceWith(a - s * inType(z, n), n);
  }
  return {};
}

// ---- sqrt(x * x) ------------------------------------------------------------

/// Whether every element of v is known to be >= 0 (or NaN).
bool nonNegative(const Var &v) {
  if (v.index() != 0)
    return false;
  const Node &n = *v.node();
  switch (n.kind()) {
  case OpKind::Exp:
  case OpKind::Exp2:
  case OpKind::Abs:
  case OpKind::Sqr:
  case OpKind::Sqrt:
  case OpKind::Sigmoid:
  case OpKind::Softplus:
  case OpKind::Cosh:
  case OpKind::Softmax:
    return !isComplex(v.dtype());
  case OpKind::Mul:
    return n.operand(0) == n.operand(1) && !isComplex(v.dtype());
  case OpKind::DimShuffle:
  case OpKind::Alloc:
    return nonNegative(n.operand(0));
  case OpKind::Constant: {
    const NDArray &c = n.constantValue();
    if (isComplex(c.dtype()))
      return false;
    for (int64_t i = 0; i < c.size(); ++i)
      if (c.flatAt(i).toDouble() < 0)
        return false;
    return true;
  }
  default:
    return false;
  }
}

/// sqrt(x*x), sqrt(sqr x), sqrt(x**2) -> x where x is known non-negative,
/// else abs x: x*x overflows for |x| > 1e154 and underflows for
/// |x| < 1e-162; |x| is the same value otherwise.
std::vector<Var> sqrtOfSquare(const Node &n, const RewriteContext &) {
  if (!realFloat(n))
    return {};
  const Var &v = n.operand(0);
  std::optional<Var> x;
  if (const Node *q = def(v, OpKind::Sqr))
    x = q->operand(0);
  else if (const Node *m = def(v, OpKind::Mul);
           m && m->operand(0) == m->operand(1))
    x = m->operand(0);
  else if (const Node *p = def(v, OpKind::Pow);
           p && isConstant(p->operand(1), 2))
    x = p->operand(0);
  // Integers square exactly (or wrap); leave them.
  if (!x || !isFloat(x->dtype()))
    return {};
  return replaceWith(nonNegative(*x) ? *x : abs(*x), n);
}

} // namespace

const RewriteSet *stabilizeRewrites() {
  using K = OpKind;
  // At a log, the specific forms come before log1p's general 1 + x.
  static const RewriteSet set({
      {"log_softmax",
       {K::Log},
       logSoftmaxForm,
       "log(softmax x) -> log_softmax x"},
      {"logsumexp",
       {K::Log},
       logSumExp,
       "log(sum(exp x, axes)) -> m + log(sum(exp(x - m), axes)), m the max"},
      {"logaddexp",
       {K::Log},
       logAddExp,
       "log(exp a + exp b) -> max(a,b) + softplus(min(a,b) - max(a,b))"},
      {"softplus",
       {K::Log, K::Log1p},
       logOnePlusExp,
       "log(1 + exp x), log1p(exp x) -> softplus x"},
      {"log_sigmoid", {K::Log}, logSigmoid, "log(sigmoid x) -> -softplus(-x)"},
      {"log1m_sigmoid",
       {K::Log, K::Log1p},
       logOneMinusSigmoid,
       "log(1 - sigmoid x), log1p(-sigmoid x) -> -softplus x"},
      {"log1p",
       {K::Log},
       logOnePlus,
       "log(1 + x) -> log1p x, log(1 - x) -> log1p(-x)"},
      {"expm1", {K::Sub, K::Add}, expMinusOne, "exp(x) - 1 -> expm1 x"},
      {"sigmoid_1m",
       {K::Sub, K::Add},
       oneMinusSigmoid,
       "1 - sigmoid x -> sigmoid(-x)"},
      {"sigmoid",
       {K::TrueDiv},
       sigmoidForm,
       "exp x / (1 + exp x) -> sigmoid x, 1 / (1 + exp x) -> sigmoid(-x)"},
      {"sigmoid_products",
       {K::Mul, K::TrueDiv},
       sigmoidProducts,
       "products of exp u, 1 + exp u and sigmoids -> products of sigmoid u "
       "and sigmoid(-u) (multiplied out over a sum where that makes every "
       "term one): exp u / (1 + exp u)^2 -> sigmoid u * sigmoid(-u)"},
      {"sigmoid_complements",
       {K::Add, K::Sub},
       sigmoidComplements,
       "a sigmoid(u) + a sigmoid(-u) -> a in a sum (multiplied out): "
       "c (1 - y) sigmoid z - c y sigmoid(-z) -> c (sigmoid z - y)"},
      {"softmax_grad_log",
       {K::Mul},
       softmaxGradOfLog,
       "with z = softmax x (cross-entropy's gradient): (a/z) * z -> a, "
       "(a/z - s) * z -> a - s * z"},
      {"sqrt_sqr",
       {K::Sqrt},
       sqrtOfSquare,
       "sqrt(x*x) -> x where x >= 0 is known, else abs x"},
  });
  return &set;
}

} // namespace thjit
