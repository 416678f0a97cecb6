//===- DifferentialGen.h - Random graphs for the differential test -*- C++ -*-===//
//
// The generator behind DifferentialTest.cpp: random graphs over op set v1
// whose inputs have random dtypes and broadcast patterns, concrete arguments
// with random layouts (transposed, reversed, strided, offset, zero-stride,
// empty, 0-d), and the comparison of FAST_RUN results with REFERENCE ones.
//
// Tolerances. FAST_RUN may compute float32 in float32 where the reference
// computes in float64 and rounds once, may use other (vectorized)
// transcendental functions, and may sum in another order. A flat relative
// tolerance either hides real bugs or fails on cancellation and on
// discontinuous functions of slightly different values (floor, comparisons,
// casts to int). So every generated value carries an accuracy class:
//
//  - Exact: FAST_RUN must give the same bits (NaN matches NaN, -0 matches
//    +0). Integers and bools are always exact; so are floats computed only
//    with correctly rounded operations (+ - * / sqrt, casts, floor, max, ...)
//    from exact values. Discontinuous operations (comparisons, floor, mod,
//    casts to integers, argmax, where's condition, ...) are only ever applied
//    to exact values, so a few ulps of difference upstream can never flip
//    them.
//  - Bounded: a float64 graph, evaluated by the REFERENCE mode next to the
//    value, bounds |FAST_RUN - REFERENCE| element by element: first-order
//    error propagation (evaluating the operation at the corners of its
//    operands' error intervals), plus some ulps for transcendental
//    functions, plus n ulps of the sum of magnitudes for sums, products and
//    dots of n elements. Where the bound is infinite or NaN (near overflow,
//    a domain edge, ...) the element is not checked.
//  - Loose: complex arithmetic on exact values (complex sums and dots are
//    Bounded); finite elements are compared with the relative tolerance of
//    the least precise dtype involved, scaled by the largest magnitude.
//    Loose values only flow into ops that keep errors relative (no add or
//    sub, which may cancel), and Bounded values never become Loose.
//
// The generator drops an op it cannot classify this way, as it drops ops
// that do not type-check.
//
// The exactness rules assume IEEE arithmetic per operation: no fast-math
// reassociation or FMA contraction of + - * /, no flush-to-zero of
// subnormals, and float16 rounded after each operation, as NumPy does.
//
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_CODEGEN_DIFFERENTIALGEN_H
#define THJIT_UNITTESTS_CODEGEN_DIFFERENTIALGEN_H

#include "thjit/Support/Format.h"
#include "thjit/thjit.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace thjit::difftest {

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- Random numbers ---------------------------------------------------------
// Only the raw mt19937_64 stream is used: std distributions differ between
// standard libraries, and a seed must reproduce a case everywhere.

class Rng {
public:
  explicit Rng(uint64_t seed) : gen(seed) {}
  uint64_t bits() { return gen(); }
  /// Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + (int64_t)(bits() % (uint64_t)(hi - lo + 1));
  }
  /// Uniform in [0, 1).
  double unit() { return (double)(bits() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }
  template <class T> const T &pick(const std::vector<T> &v) {
    return v[(size_t)range(0, (int64_t)v.size() - 1)];
  }
  /// An index drawn with the given weights.
  int weighted(const std::vector<double> &w) {
    double total = 0;
    for (double x : w)
      total += x;
    double u = unit() * total;
    for (size_t i = 0; i < w.size(); ++i) {
      if (u < w[i])
        return (int)i;
      u -= w[i];
    }
    return (int)w.size() - 1;
  }
  template <class T> void shuffle(std::vector<T> &v) {
    for (size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[(size_t)range(0, (int64_t)i - 1)]);
  }

private:
  std::mt19937_64 gen;
};

/// The seed of case `index` of a run seeded with `seed` (splitmix64).
inline uint64_t caseSeed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// ---- Float facts per dtype ------------------------------------------------------

inline double unitRoundoff(DType t) {
  switch (t) {
  case DType::Float16:
    return 0x1p-11;
  case DType::Float32:
  case DType::Complex64:
    return 0x1p-24;
  case DType::Float64:
  case DType::Complex128:
    return 0x1p-53;
  default:
    return 0;
  }
}
inline double denormMin(DType t) {
  switch (realPart(t)) {
  case DType::Float16:
    return 0x1p-24;
  case DType::Float32:
    return 0x1p-149;
  default:
    return std::numeric_limits<double>::denorm_min();
  }
}
inline double minNormal(DType t) {
  switch (realPart(t)) {
  case DType::Float16:
    return 0x1p-14;
  case DType::Float32:
    return FLT_MIN;
  default:
    return DBL_MIN;
  }
}
inline double maxFinite(DType t) {
  switch (realPart(t)) {
  case DType::Float16:
    return 65504.0;
  case DType::Float32:
    return FLT_MAX;
  default:
    return DBL_MAX;
  }
}
/// How many ulps a transcendental function of FAST_RUN may be off (float16
/// is computed in float32 and rounded once, so it is close to exact).
inline double transcendentalUlps(DType t) {
  return t == DType::Float16 ? 4 : 64;
}

inline const std::vector<DType> &realDTypes() {
  static const std::vector<DType> all{
      DType::Bool,   DType::Int8,   DType::Int16,   DType::Int32,
      DType::Int64,  DType::UInt8,  DType::UInt16,  DType::UInt32,
      DType::UInt64, DType::Float16, DType::Float32, DType::Float64};
  return all;
}

// ---- Size classes -------------------------------------------------------------
// Each axis of a generated value has a size class: values whose axes have the
// same class have the same size in every call, so element-wise ops, dot and
// join over them never fail on shapes. Class 0 is the broadcastable size 1.

constexpr int kOne = 0;

class SizeClasses {
public:
  enum Kind { One, Const, Free, Derived };
  SizeClasses() { add(One, 1); }
  int constant(int64_t n) {
    if (n == 1)
      return kOne;
    auto it = consts.find(n);
    if (it != consts.end())
      return it->second;
    return consts[n] = add(Const, n);
  }
  /// A size chosen anew for each call.
  int free() { return add(Free, -1); }
  /// A size that follows from a computation (a slice, a concatenation, a
  /// flattening), at most the sum over `bound` of the products of the sizes
  /// of its classes.
  int derived(std::vector<std::vector<int>> bound) {
    int c = add(Derived, -1);
    bounds[c] = std::move(bound);
    return c;
  }
  Kind kind(int c) const { return kinds[c]; }
  int64_t constSize(int c) const { return sizes[c]; }
  int count() const { return (int)kinds.size(); }
  /// Fills in the upper bounds of the derived sizes, given the others.
  void boundDerived(std::map<int, int64_t> &size) const {
    for (int c = 0; c < count(); ++c) {
      if (kinds[c] == One || kinds[c] == Const)
        size[c] = sizes[c];
      if (kinds[c] != Derived)
        continue;
      int64_t total = 0;
      for (const std::vector<int> &term : bounds.at(c)) {
        int64_t p = 1;
        for (int t : term)
          p = std::min<int64_t>(p * size.at(t), int64_t(1) << 40);
        total += p;
      }
      size[c] = total;
    }
  }

private:
  int add(Kind k, int64_t n) {
    kinds.push_back(k);
    sizes.push_back(n);
    return (int)kinds.size() - 1;
  }
  std::vector<Kind> kinds;
  std::vector<int64_t> sizes;
  std::map<int64_t, int> consts;
  std::map<int, std::vector<std::vector<int>>> bounds;
};

/// Element-wise compatibility (aligned on the right): equal classes, or one
/// broadcastable.
inline bool compatible(const std::vector<int> &a, const std::vector<int> &b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t k = 1; k <= n; ++k) {
    int ca = a[a.size() - k], cb = b[b.size() - k];
    if (ca != cb && ca != kOne && cb != kOne)
      return false;
  }
  return true;
}

inline std::vector<int> merged(const std::vector<int> &a,
                               const std::vector<int> &b) {
  const std::vector<int> &lo = a.size() < b.size() ? a : b;
  std::vector<int> out = a.size() < b.size() ? b : a;
  for (size_t k = 1; k <= lo.size(); ++k) {
    int &o = out[out.size() - k];
    if (o == kOne)
      o = lo[lo.size() - k];
  }
  return out;
}

// ---- Generated values ---------------------------------------------------------

enum class Acc { Exact, Bounded, Loose };

inline const char *accName(Acc a) {
  return a == Acc::Exact ? "exact" : a == Acc::Bounded ? "bounded" : "loose";
}

struct Entry {
  Var v;
  std::vector<int> dims; ///< size class per axis
  Acc acc = Acc::Exact;
  Var err; ///< Bounded: float64 bound on |FAST_RUN - REFERENCE|
  int uses = 0;
  /// Loose: the relative tolerance of the least precise dtype involved.
  double tol = 0;
};

/// The relative tolerance of Loose values computed in dtype t.
inline double looseTolerance(DType t) {
  switch (t) {
  case DType::Float16:
    return 5e-2;
  case DType::Float32:
  case DType::Complex64:
    return 1e-3;
  case DType::Float64:
  case DType::Complex128:
    return 1e-9;
  default:
    return 0;
  }
}

/// Thrown by the generator for an op whose operands it cannot bound: the op
/// is dropped, as one that does not type-check.
struct RejectOp {};

struct GenStats {
  int buildRejects = 0;  ///< random ops that did not type-check (expected)
  int boundErrors = 0;   ///< error bounds that failed to build (test bugs)
  std::string firstBoundError;
  /// Round-robin positions over unary kinds and identity ops, so that
  /// a default run makes each of them (the run is sequential).
  unsigned unaryTurn = 0, identityTurn = 0;
};

// ---- Error-bound graphs (float64) ---------------------------------------------

inline Var f64(const Var &x) { return cast(x, DType::Float64); }
inline Var isfinite(const Var &x) {
  return logicalNot(logicalOr(isinf(x), isnan(x)));
}
/// |x| as float64 (the modulus of a complex number).
inline Var magnitude(const Var &x) {
  return isComplex(x.dtype()) ? f64(abs(x)) : abs(f64(x));
}

/// |x - c|, where NaN and NaN, or equal infinities, differ by 0 and NaN
/// against a number by infinity (unbounded).
inline Var stableDiff(const Var &x, const Var &c) {
  Var same = logicalOr(eq(x, c), logicalAnd(isnan(x), isnan(c)));
  Var oneNan = logicalOr(isnan(x), isnan(c));
  return where(same, 0.0, where(oneNan, kInf, abs(x - c)));
}

/// `ulps` units in the last place of dtype `t` around the exact value c
/// (float64), including the subnormal range; unbounded when c is finite but
/// so close to overflow that one mode may round to infinity. Infinities and
/// NaN are stable: the other mode must give them too.
inline Var rounding(const Var &c, DType t, double ulps) {
  double u = unitRoundoff(t);
  Var a = abs(c);
  Var r = a * (ulps * 2 * u) + ulps * 2 * denormMin(t);
  Var nearOverflow = logicalAnd(gt(a, maxFinite(t) * (1 - 4 * ulps * u)),
                                logicalNot(isinf(a)));
  r = where(nearOverflow, kInf, r);
  return where(logicalOr(isinf(a), isnan(a)), 0.0, r);
}

/// Adds bounds; an undefined Var is 0.
inline Var plus(const Var &a, const Var &b) {
  if (!a.defined())
    return b;
  if (!b.defined())
    return a;
  return a + b;
}
inline Var larger(const Var &a, const Var &b) {
  if (!a.defined())
    return b;
  if (!b.defined())
    return a;
  return maximum(a, b);
}

/// Makes a bound at least as large (in shape) as the value it bounds.
inline Var fitTo(const Var &e, const Var &v) {
  if (!e.defined())
    return e;
  bool same = e.ndim() == v.ndim();
  for (int i = 0; same && i < v.ndim(); ++i)
    same = !(e.type()->size(i) == 1 && v.type()->size(i) != 1);
  return same ? e : e + zerosLike(v, DType::Float64);
}

/// One operand of an element-wise op as the bound builders see it.
struct Arg {
  Var v;
  Acc acc = Acc::Exact;
  Var err;
};

// ---- The generator -------------------------------------------------------------

class Generator {
public:
  /// `indexSeed` seeds the stream of the advanced-indexing ops.
  explicit Generator(Rng &r, GenStats &s, uint64_t indexSeed = 0)
      : rng(r), stats(s), indexRng(indexSeed) {}

  std::vector<Var> inputs;
  std::vector<Entry> pool; ///< inputs first, then every op's value
  std::vector<int> outputs; ///< indices into pool
  SizeClasses cls;
  std::vector<int> frame; ///< the free (or constant) classes of the frame

  /// Builds a random graph: 1 to 4 inputs, some ops, 3 to 6 outputs.
  void generate() {
    makeInputs();
    int numOps = (int)rng.range(6, 18);
    int made = 0;
    for (int attempt = 0; attempt < 200 && made < numOps; ++attempt)
      if (step())
        ++made;
    chooseOutputs();
    addIndexingOps();
  }

  // ---- Concrete arguments -------------------------------------------------

  struct Call {
    std::vector<NDArray> args;
    std::vector<std::string> layouts;
  };

  /// Arguments for one call: sizes for the free classes, then each input's
  /// values in a random layout.
  Call makeCall(Rng &r, bool big) const {
    std::map<int, int64_t> size;
    int R = (int)frame.size();
    int64_t maxSize = big ? (R <= 1 ? 300 : R == 2 ? 40 : 8)
                          : (R <= 2 ? 7 : R == 3 ? 5 : R == 4 ? 4 : 3);
    for (int attempt = 0;; ++attempt) {
      for (int c = 0; c < cls.count(); ++c) {
        if (cls.kind(c) != SizeClasses::Free)
          continue;
        double u = r.unit();
        size[c] = u < 0.06 ? 0 : u < 0.25 ? 1 : r.range(2, maxSize);
      }
      // Inputs stay small, and so does every value.
      cls.boundDerived(size);
      int64_t worstInput = 1, worstValue = 1;
      for (size_t i = 0; i < pool.size(); ++i) {
        int64_t n = elementCount(pool[i].dims, size);
        (i < inputs.size() ? worstInput : worstValue) =
            std::max(i < inputs.size() ? worstInput : worstValue, n);
      }
      if ((worstInput <= 2500 && worstValue <= 60000) || attempt > 30)
        break;
      maxSize = std::max<int64_t>(2, maxSize / 2);
    }
    Call call;
    for (size_t i = 0; i < inputs.size(); ++i) {
      Shape shape;
      for (int c : pool[i].dims)
        shape.push_back(c == kOne ? 1
                        : cls.kind(c) == SizeClasses::Const ? cls.constSize(c)
                                                            : size.at(c));
      std::string layout;
      call.args.push_back(makeArg(inputs[i].dtype(), shape, r, layout));
      call.layouts.push_back(layout);
    }
    return call;
  }

private:
  Rng &rng;
  GenStats &stats;
  Rng indexRng;

  int64_t elementCount(const std::vector<int> &dims,
                       const std::map<int, int64_t> &size) const {
    int64_t n = 1;
    for (int c : dims)
      n = std::min<int64_t>(n * size.at(c), int64_t(1) << 40);
    return n;
  }

  // ---- Inputs ---------------------------------------------------------------

  DType randomDType(bool complexOk) {
    if (complexOk && rng.chance(0.03))
      return rng.chance(0.5) ? DType::Complex64 : DType::Complex128;
    return rng.pick(realDTypes());
  }

  void makeInputs() {
    int R = (int)rng.weighted({10, 20, 28, 18, 10, 7, 7});
    for (int i = 0; i < R; ++i)
      frame.push_back(rng.chance(0.1) ? cls.constant(rng.range(2, 3))
                                      : cls.free());
    int n = (int)rng.weighted({0, 25, 35, 25, 15});
    bool oneDType = rng.chance(0.35);
    DType common = randomDType(true);
    for (int k = 0; k < n; ++k) {
      DType t = oneDType ? common : randomDType(true);
      std::vector<int> dims;
      if (k == 0 || rng.chance(0.75)) {
        // A suffix of the frame, some axes broadcastable.
        int rank = k == 0 || rng.chance(0.5) ? R : (int)rng.range(0, R);
        for (int i = R - rank; i < R; ++i)
          dims.push_back(rng.chance(k == 0 ? 0.08 : 0.2) ? kOne : frame[i]);
      } else {
        // Frame axes in another order (transposed relations).
        std::vector<int> f = frame;
        rng.shuffle(f);
        f.resize((size_t)rng.range(0, R));
        dims = f;
      }
      std::vector<int64_t> shape;
      for (int c : dims)
        shape.push_back(c == kOne ? 1
                        : cls.kind(c) == SizeClasses::Const
                            ? cls.constSize(c)
                            : TensorType::kUnknown);
      Var x = tensor(t, shape, "x" + std::to_string(k));
      inputs.push_back(x);
      pool.push_back({x, dims, Acc::Exact, Var(), 0, looseTolerance(t)});
    }
  }

  // ---- Picking operands -------------------------------------------------------

  /// An entry satisfying `ok`, recent ones more often (so expressions nest);
  /// -1 when there is none.
  int pickIndex(const std::function<bool(const Entry &)> &ok) {
    int n = (int)pool.size();
    for (int t = 0; t < 10; ++t) {
      int i = rng.chance(0.5) ? std::max(0, n - 1 - (int)rng.range(0, 2))
                              : (int)rng.range(0, n - 1);
      if (ok(pool[i]))
        return i;
    }
    std::vector<int> c;
    for (int i = 0; i < n; ++i)
      if (ok(pool[i]))
        c.push_back(i);
    return c.empty() ? -1 : rng.pick(c);
  }

  static bool anyEntry(const Entry &) { return true; }

  /// Sizes follow the value's type where it knows them.
  std::vector<int> canon(const Var &v, std::vector<int> dims) {
    if ((int)dims.size() != v.ndim())
      throw std::logic_error("differential generator: tracked rank " +
                             std::to_string(dims.size()) + " but type " +
                             v.type()->str());
    for (int i = 0; i < v.ndim(); ++i) {
      int64_t s = v.type()->size(i);
      if (s == 1)
        dims[i] = kOne;
      else if (s >= 0)
        dims[i] = cls.constant(s);
      else if (dims[i] == kOne) // size 1 but not broadcastable
        dims[i] = cls.derived({{}});
    }
    return dims;
  }

  void push(const Var &v, std::vector<int> dims, Acc acc, Var err,
            const std::vector<int> &used) {
    if (acc == Acc::Bounded)
      std::tie(acc, err) = bound([&] {
        // Within the bound of overflow, one mode may round to infinity.
        Var m = magnitude(v);
        Var finite = logicalNot(logicalOr(isinf(m), isnan(m)));
        return where(
            logicalAnd(finite, gt(m + err, maxFinite(realPart(v.dtype())))),
            kInf, err);
      });
    double tol = looseTolerance(v.dtype());
    for (int i : used)
      if (i >= 0) {
        pool[i].uses++;
        tol = std::max(tol, pool[i].tol);
      }
    pool.push_back({v, canon(v, std::move(dims)), acc, err, 0, tol});
  }

  /// Builds a bound; a failure is a bug of this test (counted, which fails
  /// the test, and the value is then compared loosely).
  template <class F> std::pair<Acc, Var> bound(F &&build) {
    try {
      return {Acc::Bounded, build()};
    } catch (const std::exception &e) {
      if (!stats.boundErrors++)
        stats.firstBoundError = e.what();
      return {Acc::Loose, Var()};
    }
  }

  // ---- Ops ------------------------------------------------------------------

  bool step() {
    int op = rng.weighted({16, 24, 6, 7, 12, 6, 6, 5, 7, 4, 4, 4, 4, 3});
    try {
      switch (op) {
      case 0:
        return opUnary();
      case 1:
        return opBinary();
      case 2:
        return opTernary();
      case 3:
        return opCast();
      case 4:
        return opReduce();
      case 5:
        return opDot();
      case 6:
        return opDimshuffle();
      case 7:
        return opReshape();
      case 8:
        return opSubtensor();
      case 9:
        return opWriteSubtensor();
      case 10:
        return opJoin();
      case 11:
        return opAlloc();
      case 12:
        return opShape();
      default:
        return opSoftmax();
      }
    } catch (const Error &) {
      ++stats.buildRejects; // e.g. a bitwise op on floats: try another
      return false;
    } catch (const RejectOp &) {
      ++stats.buildRejects;
      return false;
    }
  }

  static bool isCast(OpKind k) { return k == OpKind::Cast; }
  static bool isDiscontinuous(OpKind k) {
    switch (k) {
    case OpKind::Sign:
    case OpKind::LogicalNot:
    case OpKind::Invert:
    case OpKind::Floor:
    case OpKind::Ceil:
    case OpKind::Round:
    case OpKind::Trunc:
    case OpKind::IsNan:
    case OpKind::IsInf:
    case OpKind::FloorDiv:
    case OpKind::Mod:
    case OpKind::Eq:
    case OpKind::Neq:
    case OpKind::Lt:
    case OpKind::Le:
    case OpKind::Gt:
    case OpKind::Ge:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr:
    case OpKind::LogicalXor:
    case OpKind::BitAnd:
    case OpKind::BitOr:
    case OpKind::BitXor:
      return true;
    default:
      return false;
    }
  }
  /// Correctly rounded in IEEE arithmetic: exact on exact operands.
  static bool isCorrectlyRounded(OpKind k) {
    switch (k) {
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Mul:
    case OpKind::TrueDiv:
    case OpKind::Sqr:
    case OpKind::Sqrt:
      return true;
    default:
      return false;
    }
  }
  /// Ops that keep the relative errors of Loose operands relative: no
  /// cancellation (add, sub), no taking a part (casts to real).
  static bool isLooseSafe(OpKind k) {
    switch (k) {
    case OpKind::Neg:
    case OpKind::Mul:
    case OpKind::Abs:
    case OpKind::Maximum:
    case OpKind::Minimum:
    case OpKind::Clip:
    case OpKind::Switch:
    case OpKind::Cast:
      return true;
    default:
      return false;
    }
  }
  /// Exact in complex arithmetic too.
  static bool isComplexExact(OpKind k) {
    switch (k) {
    case OpKind::Add:
    case OpKind::Sub:
    case OpKind::Neg:
    case OpKind::Switch:
    case OpKind::Cast:
    case OpKind::Eq:
    case OpKind::Neq:
    case OpKind::LogicalAnd:
    case OpKind::LogicalOr:
    case OpKind::LogicalXor:
    case OpKind::LogicalNot:
    case OpKind::IsNan:
    case OpKind::IsInf:
      return true;
    default:
      return false;
    }
  }

  /// The accuracy class and bound of an element-wise node `v` of kind k
  /// whose operands (in node order) are `args`.
  std::pair<Acc, Var> elemwiseAcc(OpKind k, const Var &v,
                                  const std::vector<Arg> &args) {
    bool allExact = true, anyLoose = false, anyBounded = false;
    bool anyComplex = isComplex(v.dtype());
    for (size_t i = 0; i < args.size(); ++i) {
      const Arg &a = args[i];
      bool isCond = k == OpKind::Switch && i == 0;
      allExact &= a.acc == Acc::Exact;
      anyLoose |= a.acc == Acc::Loose;
      anyBounded |= a.acc == Acc::Bounded && !isCond;
      anyComplex |= isComplex(a.v.dtype()) && !isCond;
    }
    // A bounded value never becomes loose: its error, relative to the
    // value, may be anything.
    if (anyLoose) {
      if (anyBounded || !isLooseSafe(k) ||
          (isCast(k) && isComplex(args[0].v.dtype()) && !isComplex(v.dtype())))
        throw RejectOp();
      return {Acc::Loose, Var()};
    }
    if (anyComplex) {
      if (allExact)
        return {isComplexExact(k) ? Acc::Exact : Acc::Loose, Var()};
      if (k != OpKind::Cast && k != OpKind::Switch)
        throw RejectOp(); // complex arithmetic on inexact values
    }
    DType t = v.dtype();
    if (!isInexact(t) || (allExact && (isDiscontinuous(k) ||
                                     isCorrectlyRounded(k) ||
                                     k == OpKind::Neg || k == OpKind::Abs ||
                                     k == OpKind::Maximum ||
                                     k == OpKind::Minimum ||
                                     k == OpKind::Clip ||
                                     k == OpKind::Switch ||
                                     k == OpKind::Cast))) {
      if (!allExact)
        throw std::logic_error("differential generator: a discontinuous op "
                               "on an inexact value");
      return {Acc::Exact, Var()};
    }
    return bound([&]() -> Var {
      switch (k) {
      case OpKind::Neg:
      case OpKind::Abs:
        return args[0].err;
      case OpKind::Maximum:
      case OpKind::Minimum:
      case OpKind::Clip: { // 1-Lipschitz in each operand
        Var e;
        for (const Arg &a : args)
          e = larger(e, a.err);
        return fitTo(e, v);
      }
      case OpKind::Switch: {
        Var ea = args[1].err.defined() ? args[1].err : constant(Scalar(0.0));
        Var eb = args[2].err.defined() ? args[2].err : constant(Scalar(0.0));
        return fitTo(where(args[0].v, ea, eb), v);
      }
      case OpKind::Cast: { // between floats and complex numbers
        Var e = args[0].err;
        if (unitRoundoff(t) > unitRoundoff(args[0].v.dtype()))
          e = plus(e, rounding(magnitude(args[0].v), realPart(t), 1));
        return e;
      }
      case OpKind::Sin:
      case OpKind::Cos: // 1-Lipschitz and bounded: corners would miss the
                        // extremes of a wide interval
        return fitTo(plus(args[0].err.defined()
                              ? where(isfinite(args[0].err),
                                      minimum(args[0].err, 2.0), kInf)
                              : Var(),
                          rounding(elemwise(k, {f64(args[0].v)}), t,
                                   transcendentalUlps(t))),
                     v);
      default: {
        Var e = cornerBound(k, v, args,
                            isCorrectlyRounded(k) ? 1 : transcendentalUlps(t));
        // Unbounded where an operand's interval holds a pole: a divisor
        // (or a base under a negative power) near 0, tan near pi/2.
        int pole = k == OpKind::TrueDiv ? 1
                   : k == OpKind::Pow || k == OpKind::Tan ? 0
                                                          : -1;
        Var risky;
        if (pole >= 0 && args[pole].acc == Acc::Bounded) {
          Var x = f64(args[pole].v), ex = args[pole].err;
          risky = k == OpKind::Tan
                      ? logicalOr(ge(ex, 0.5),
                                  le(cos(x - ex) * cos(x + ex), 0.0))
                      : le(abs(x), ex);
        }
        // A negative base to an inexact power: NaN but at integers, which
        // the corners may all miss.
        if (k == OpKind::Pow && args[1].acc == Acc::Bounded) {
          Var low = f64(args[0].v);
          if (args[0].acc == Acc::Bounded)
            low = low - args[0].err;
          Var neg = lt(low, 0.0);
          risky = risky.defined() ? logicalOr(risky, neg) : neg;
        }
        if (risky.defined())
          e = fitTo(where(risky, kInf, e), v);
        return e;
      }
      }
    });
  }

  /// The op at every corner of the operands' error boxes, against its value
  /// at the center, plus `ulps` of rounding.
  Var cornerBound(OpKind k, const Var &v, const std::vector<Arg> &args,
                  double ulps) {
    std::vector<Var> x64;
    std::vector<int> inexact;
    for (size_t i = 0; i < args.size(); ++i) {
      x64.push_back(f64(args[i].v));
      if (args[i].acc == Acc::Bounded)
        inexact.push_back((int)i);
    }
    auto apply = [&](const std::vector<Var> &xs) {
      std::vector<Operand> ops(xs.begin(), xs.end());
      return elemwise(k, ops);
    };
    Var c = apply(x64);
    Var e = rounding(c, v.dtype(), ulps);
    Var m;
    for (int mask = 0; mask < (1 << inexact.size()); ++mask) {
      std::vector<Var> p = x64;
      for (size_t j = 0; j < inexact.size(); ++j) {
        int i = inexact[j];
        p[i] = (mask >> j) & 1 ? x64[i] + args[i].err : x64[i] - args[i].err;
      }
      if (!inexact.empty())
        m = larger(m, stableDiff(apply(p), c));
    }
    e = plus(m, e);
    // An unbounded operand may be NaN, which no corner shows.
    for (int i : inexact)
      e = where(isfinite(args[i].err), e, kInf);
    return fitTo(e, v);
  }

  Arg argOf(int i) const { return {pool[i].v, pool[i].acc, pool[i].err}; }

  /// A Python number to combine with a value of dtype t.
  Operand randomNumber(DType t) {
    if (isBool(t))
      return rng.pick(std::vector<Operand>{true, false, 1, 0.5});
    if (isInteger(t))
      return rng.pick(std::vector<Operand>{0, 1, 2, 3, -1, 5, 100, 2.5, -0.5,
                                           true});
    std::vector<Operand> f{0.0, -0.0, 0.5, 1.0, -1.5, 2.0, 3.0, 1e-3, 1e4,
                           -7.25, 2, -1, true};
    if (rng.chance(0.05))
      return rng.chance(0.5) ? Operand(kInf)
                             : Operand(std::numeric_limits<double>::quiet_NaN());
    return rng.pick(f);
  }

  bool opUnary() {
    if (rng.chance(0.15))
      return opIdentity();
    static const std::vector<OpKind> kinds{
        OpKind::Neg,     OpKind::Abs,     OpKind::Sign,    OpKind::LogicalNot,
        OpKind::Invert,  OpKind::Exp,     OpKind::Exp2,    OpKind::Expm1,
        OpKind::Log,     OpKind::Log2,    OpKind::Log10,   OpKind::Log1p,
        OpKind::Sqrt,    OpKind::Sqr,     OpKind::Sin,     OpKind::Cos,
        OpKind::Tan,     OpKind::Arcsin,  OpKind::Arccos,  OpKind::Arctan,
        OpKind::Sinh,    OpKind::Cosh,    OpKind::Tanh,    OpKind::Arcsinh,
        OpKind::Arccosh, OpKind::Arctanh, OpKind::Floor,   OpKind::Ceil,
        OpKind::Round,   OpKind::Trunc,   OpKind::Erf,     OpKind::Erfc,
        OpKind::Sigmoid, OpKind::Softplus, OpKind::IsNan,  OpKind::IsInf};
    OpKind k = kinds[stats.unaryTurn++ % kinds.size()];
    int ia = pickIndex([&](const Entry &e) {
      return !isDiscontinuous(k) || e.acc == Acc::Exact;
    });
    if (ia < 0)
      return false;
    Var v = elemwise(k, {pool[ia].v});
    auto [acc, err] = elemwiseAcc(k, v, {argOf(ia)});
    push(v, pool[ia].dims, acc, err, {ia});
    return true;
  }

  /// An op that is the identity on values, so that the value and its bound
  /// carry over: a gradient control (compiled code aliases the operand) or
  /// an op from an identity graph (run as its own compiled graph, or
  /// inlined).
  bool opIdentity() {
    int ia = pickIndex([](const Entry &e) { return isFloat(e.v.dtype()); });
    if (ia < 0)
      return false;
    const Var &x = pool[ia].v;
    Var v;
    unsigned turn = stats.identityTurn++ % 7;
    if (turn >= 5) {
      OpFromGraphOptions o;
      o.name = "identity";
      o.inlined = turn == 6;
      Var in = makeInput(x.type(), "x");
      push(applyOp(opFromGraph({in}, {in}, o), {x})[0], pool[ia].dims,
           pool[ia].acc, pool[ia].err, {ia});
      return true;
    }
    switch (turn) {
    case 0:
      v = disconnectedGrad(x);
      break;
    case 1:
      v = zeroGrad(x);
      break;
    case 2:
      v = gradClip(x, -1.0, 1.0);
      break;
    case 3:
      v = gradScale(x, 0.5);
      break;
    default:
      v = undefinedGrad(x);
      break;
    }
    push(v, pool[ia].dims, pool[ia].acc, pool[ia].err, {ia});
    return true;
  }

  bool opBinary() {
    static const std::vector<OpKind> kinds{
        OpKind::Add,        OpKind::Sub,        OpKind::Mul,
        OpKind::TrueDiv,    OpKind::FloorDiv,   OpKind::Mod,
        OpKind::Pow,        OpKind::Maximum,    OpKind::Minimum,
        OpKind::Arctan2,    OpKind::Eq,         OpKind::Neq,
        OpKind::Lt,         OpKind::Le,         OpKind::Gt,
        OpKind::Ge,         OpKind::LogicalAnd, OpKind::LogicalOr,
        OpKind::LogicalXor, OpKind::BitAnd,     OpKind::BitOr,
        OpKind::BitXor};
    OpKind k = rng.pick(kinds);
    bool needExact = isDiscontinuous(k);
    auto okA = [&](const Entry &e) {
      return !needExact || e.acc == Acc::Exact;
    };
    int ia = pickIndex(okA);
    if (ia < 0)
      return false;
    std::vector<int> dimsA = pool[ia].dims;
    int ib = -1;
    std::optional<Operand> num;
    DType ta = pool[ia].v.dtype();
    bool intPow = k == OpKind::Pow && (isInteger(ta) || isBool(ta));
    if (rng.chance(0.25) || (intPow && rng.chance(0.6))) {
      num = intPow ? rng.pick(std::vector<Operand>{0, 1, 2, 3, 5})
                   : randomNumber(ta);
    } else {
      ib = pickIndex([&](const Entry &e) {
        if (intPow && isSignedInt(e.v.dtype()) && !rng.chance(0.1))
          return false; // mostly no negative integer exponents
        return okA(e) && compatible(dimsA, e.dims);
      });
      if (ib < 0)
        return false;
    }
    bool swap = rng.chance(0.3);
    Operand a = pool[ia].v, b = num ? *num : Operand(pool[ib].v);
    Var v = swap ? elemwise(k, {b, a}) : elemwise(k, {a, b});
    std::vector<Arg> args{argOf(ia), ib >= 0 ? argOf(ib) : Arg{}};
    if (ib < 0)
      args[1] = {v.node()->operand(swap ? 0 : 1), Acc::Exact, Var()};
    if (swap)
      std::swap(args[0], args[1]);
    auto [acc, err] = elemwiseAcc(k, v, args);
    push(v, ib >= 0 ? merged(dimsA, pool[ib].dims) : dimsA, acc, err,
         {ia, ib});
    return true;
  }

  bool opTernary() {
    if (rng.chance(0.5)) { // where(cond, a, b)
      int ic = pickIndex([](const Entry &e) { return e.acc == Acc::Exact; });
      if (ic < 0)
        return false;
      std::vector<int> dims = pool[ic].dims;
      int ia = pickIndex(
          [&](const Entry &e) { return compatible(dims, e.dims); });
      if (ia < 0)
        return false;
      dims = merged(dims, pool[ia].dims);
      int ib = -1;
      if (!rng.chance(0.3)) {
        ib = pickIndex(
            [&](const Entry &e) { return compatible(dims, e.dims); });
        if (ib < 0)
          return false;
        dims = merged(dims, pool[ib].dims);
      }
      Operand b = ib >= 0 ? Operand(pool[ib].v)
                          : randomNumber(pool[ia].v.dtype());
      Var v = where(pool[ic].v, pool[ia].v, b);
      std::vector<Arg> args{argOf(ic), argOf(ia),
                            ib >= 0 ? argOf(ib)
                                    : Arg{v.node()->operand(2), Acc::Exact,
                                          Var()}};
      auto [acc, err] = elemwiseAcc(OpKind::Switch, v, args);
      push(v, dims, acc, err, {ic, ia, ib});
      return true;
    }
    // clip(x, lo, hi), bounds numbers or values
    int ix = pickIndex(anyEntry);
    if (ix < 0)
      return false;
    std::vector<int> dims = pool[ix].dims;
    int il = -1, ih = -1;
    if (rng.chance(0.4)) {
      il = pickIndex([&](const Entry &e) { return compatible(dims, e.dims); });
      if (il >= 0)
        dims = merged(dims, pool[il].dims);
    }
    if (rng.chance(0.3)) {
      ih = pickIndex([&](const Entry &e) { return compatible(dims, e.dims); });
      if (ih >= 0)
        dims = merged(dims, pool[ih].dims);
    }
    DType t = pool[ix].v.dtype();
    Operand lo = il >= 0 ? Operand(pool[il].v)
                         : (isFloat(t) ? Operand(-1.5) : Operand(-1));
    Operand hi = ih >= 0 ? Operand(pool[ih].v)
                         : (isFloat(t) ? Operand(2.25) : Operand(3));
    Var v = clip(pool[ix].v, lo, hi);
    std::vector<Arg> args{argOf(ix)};
    args.push_back(il >= 0 ? argOf(il)
                           : Arg{v.node()->operand(1), Acc::Exact, Var()});
    args.push_back(ih >= 0 ? argOf(ih)
                           : Arg{v.node()->operand(2), Acc::Exact, Var()});
    auto [acc, err] = elemwiseAcc(OpKind::Clip, v, args);
    push(v, dims, acc, err, {ix, il, ih});
    return true;
  }

  bool opCast() {
    DType t = rng.chance(0.06)
                  ? (rng.chance(0.5) ? DType::Complex64 : DType::Complex128)
                  : rng.pick(realDTypes());
    bool toInt = !isInexact(t);
    int ia = pickIndex([&](const Entry &e) {
      return e.v.dtype() != t && (!toInt || e.acc == Acc::Exact);
    });
    if (ia < 0)
      return false;
    Var v = cast(pool[ia].v, t);
    auto [acc, err] = elemwiseAcc(OpKind::Cast, v, {argOf(ia)});
    push(v, pool[ia].dims, acc, err, {ia});
    return true;
  }

  /// The number of elements of x over `axes`, as a float64 scalar.
  static Var countOf(const Var &x, const std::vector<int> &axes) {
    Var n = constant(Scalar(1.0));
    for (int a : axes)
      n = n * f64(shapeOf(x, a));
    return n;
  }

  bool opReduce() {
    enum { Sum, Prod, Max, Min, All, Any, Mean, ArgMax, ArgMin };
    int k = rng.weighted({5, 3, 3, 3, 2, 2, 3, 2, 2});
    bool needExact = k == All || k == Any || k == ArgMax || k == ArgMin;
    int ia = pickIndex([&](const Entry &e) {
      return !needExact || e.acc == Acc::Exact;
    });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    int r = A.v.ndim();
    bool keep = rng.chance(0.3);
    std::vector<int> red; // normalized reduced axes
    Axes axes;
    std::optional<int> argAxis;
    if (k == ArgMax || k == ArgMin) {
      if (r > 0 && rng.chance(0.7)) {
        int a = (int)rng.range(0, r - 1);
        argAxis = rng.chance(0.3) ? a - r : a;
        red = {a};
      } else {
        for (int i = 0; i < r; ++i)
          red.push_back(i);
      }
    } else if (r == 0 || rng.chance(0.3)) {
      for (int i = 0; i < r; ++i)
        red.push_back(i);
    } else if (rng.chance(0.05)) {
      axes = Axes(std::vector<int>{}); // reduces nothing
    } else {
      std::vector<int> list;
      while (red.empty())
        for (int i = 0; i < r; ++i)
          if (rng.chance(0.5))
            red.push_back(i);
      for (int a : red)
        list.push_back(rng.chance(0.3) ? a - r : a);
      rng.shuffle(list);
      axes = Axes(list);
    }
    Var x = A.v, v;
    switch (k) {
    case Sum:
      v = sum(x, axes, keep);
      break;
    case Prod:
      v = prod(x, axes, keep);
      break;
    case Max:
      v = max(x, axes, keep);
      break;
    case Min:
      v = min(x, axes, keep);
      break;
    case All:
      v = all(x, axes, keep);
      break;
    case Any:
      v = thjit::any(x, axes, keep);
      break;
    case Mean:
      v = mean(x, axes, keep);
      break;
    case ArgMax:
      v = argmax(x, argAxis, keep);
      break;
    default:
      v = argmin(x, argAxis, keep);
      break;
    }
    if (v.node() == x.node())
      return false; // max of a 0-d value is the value
    std::vector<int> dims;
    for (int i = 0; i < r; ++i) {
      bool reduced = std::find(red.begin(), red.end(), i) != red.end();
      if (!reduced)
        dims.push_back(A.dims[i]);
      else if (keep)
        dims.push_back(kOne);
    }
    Acc acc = Acc::Exact;
    Var err;
    DType t = v.dtype();
    bool cplx = isComplex(x.dtype());
    if (A.acc == Acc::Loose) {
      if (k != Max && k != Min)
        throw RejectOp(); // sums may cancel
      acc = Acc::Loose;
    } else if (cplx && (A.acc == Acc::Bounded || k == Prod)) {
      if (A.acc == Acc::Bounded)
        throw RejectOp();
      acc = Acc::Loose; // products of complex numbers: relative errors
    } else if (cplx && needExact) {
      acc = Acc::Exact;
    } else if (k == Max || k == Min) {
      if (A.acc == Acc::Bounded)
        // The largest error among the elements (for min too).
        std::tie(acc, err) = bound([&] { return max(A.err, axes, keep); });
    } else if ((k == Sum || k == Prod) && !isInexact(t)) {
      acc = Acc::Exact; // integers wrap identically
    } else if (k == Sum || k == Prod || k == Mean) {
      std::tie(acc, err) = bound([&]() -> Var {
        Var x64 = f64(x), n = countOf(x, red);
        double u = unitRoundoff(t);
        if (k == Prod) {
          Var ax = abs(x64);
          Var axe = plus(ax, A.err) * (1 + 4 * u);
          Var e = prod(axe, axes, keep) - prod(ax, axes, keep) +
                  4 * denormMin(t);
          // Partial products may overflow or underflow where the whole
          // does not, in another order.
          Var risky = logicalOr(
              gt(prod(maximum(axe, 1.0), axes, keep), maxFinite(t)),
              lt(prod(minimum(ax, 1.0), axes, keep), minNormal(t)));
          return where(risky, kInf, e);
        }
        Var mag = sum(magnitude(x), axes, keep);
        Var e = mag * ((n + 4.0) * (2 * u)) + (n + 4.0) * (2 * denormMin(t));
        if (A.acc == Acc::Bounded)
          e = e + sum(A.err, axes, keep);
        DType accType = k == Mean && t == DType::Float16 ? DType::Float32
                                                         : realPart(t);
        // Partial sums may overflow where the whole does not.
        Var risky = gt(mag + e, maxFinite(accType));
        if (k == Mean)
          e = e / n;
        return where(risky, kInf, e);
      });
    }
    push(v, dims, acc, err, {ia});
    return true;
  }

  /// The bound of a product (dot, batched_dot) of a and b.
  std::pair<Acc, Var> productAcc(const Var &v, int ia, int ib,
                                 const std::function<Var(Var, Var)> &op) {
    const Entry &A = pool[ia], &B = pool[ib];
    if (A.acc == Acc::Loose || B.acc == Acc::Loose)
      throw RejectOp(); // sums of products may cancel
    if (isComplex(v.dtype()) &&
        (A.acc == Acc::Bounded || B.acc == Acc::Bounded))
      throw RejectOp();
    if (!isInexact(v.dtype()))
      return {Acc::Exact, Var()};
    return bound([&]() -> Var {
      DType t = v.dtype();
      double u = unitRoundoff(t);
      Var aa = magnitude(A.v), bb = magnitude(B.v);
      Var mag = op(aa, bb);
      Var n = f64(shapeOf(A.v, A.v.ndim() - 1));
      Var e = mag * ((n + 4.0) * (2 * u)) + (n + 4.0) * (2 * denormMin(t));
      if (A.acc == Acc::Bounded)
        e = e + op(A.err, bb);
      if (B.acc == Acc::Bounded)
        e = e + op(aa, B.err);
      if (A.acc == Acc::Bounded && B.acc == Acc::Bounded)
        e = e + op(A.err, B.err);
      return where(gt(mag + e, maxFinite(t)), kInf, e);
    });
  }

  bool opDot() {
    if (rng.chance(0.15))
      return opBatchedDot();
    int ia = pickIndex([](const Entry &e) {
      return e.v.ndim() >= 1 && e.v.ndim() <= 3;
    });
    if (ia < 0)
      return false;
    int last = pool[ia].dims.back();
    // b's first axis (or, transposed, its second) matches a's last.
    int ib = pickIndex([&](const Entry &e) {
      return (e.v.ndim() == 1 || e.v.ndim() == 2) &&
             (e.dims[0] == last || (e.v.ndim() == 2 && e.dims[1] == last));
    });
    if (ib < 0)
      return false;
    if (pool[ib].dims[0] != last) {
      ib = dimshuffleOf(ib, {1, 0});
      if (ib < 0)
        return false;
    }
    Var v = dot(pool[ia].v, pool[ib].v);
    std::vector<int> dims(pool[ia].dims.begin(), pool[ia].dims.end() - 1);
    if (pool[ib].v.ndim() == 2)
      dims.push_back(pool[ib].dims[1]);
    auto [acc, err] =
        productAcc(v, ia, ib, [](Var a, Var b) { return dot(a, b); });
    if (rng.chance(0.3) && gemmOf(v, dims, acc, err, ia, ib))
      return true;
    push(v, dims, acc, err, {ia, ib});
    return true;
  }

  /// Pushes gemm(C, alpha, a, b, beta) for the product v = dot(a, b) and a C
  /// of v's dtype and sizes from the pool; alpha and beta are constants,
  /// zero at times (BLAS then reads neither C nor the factors). False when
  /// no C fits.
  bool gemmOf(const Var &v, const std::vector<int> &dims, Acc acc,
              const Var &err, int ia, int ib) {
    DType t = v.dtype();
    if (t == DType::Bool || isComplex(t) || acc == Acc::Loose)
      return false;
    std::vector<int> cd = canon(v, dims);
    int ic = pickIndex([&](const Entry &e) {
      return e.v.dtype() == t && e.dims == cd && e.acc != Acc::Loose;
    });
    if (ic < 0)
      return false;
    const Entry &C = pool[ic];
    double alpha = rng.pick(std::vector<double>{0, 1, -1, 0.5, 2, 3});
    double beta = rng.pick(std::vector<double>{0, 1, -1, 0.5, 2});
    auto number = [t](double x) {
      return constant(isInexact(t) ? Scalar(x).cast(t)
                                   : Scalar::fromInt((int64_t)x).cast(t));
    };
    if (!isInexact(t)) { // integers: exact, wrapping alike
      alpha = std::trunc(alpha);
      beta = std::trunc(beta);
    }
    Var g = gemm(C.v, number(alpha), pool[ia].v, pool[ib].v, number(beta));
    Acc gacc = Acc::Exact;
    Var gerr;
    if (isInexact(t))
      std::tie(gacc, gerr) = bound([&]() -> Var {
        // |alpha| e_P + |beta| e_C, plus the roundings of the scaled
        // terms and their sum; a term whose factor is 0 is not read.
        double u = unitRoundoff(t);
        Var zero = constant(Scalar(0.0));
        Var e = zero, mag = zero;
        if (alpha != 0) {
          Var pe = acc == Acc::Bounded ? err : zero;
          e = e + std::abs(alpha) * pe;
          mag = mag + std::abs(alpha) * (magnitude(v) + pe);
        }
        if (beta != 0) {
          if (C.acc == Acc::Bounded)
            e = e + std::abs(beta) * C.err;
          mag = mag + std::abs(beta) * magnitude(C.v);
        }
        e = e + mag * (8 * u) + 8 * denormMin(t);
        return where(gt(mag + e, maxFinite(t)), kInf, e);
      });
    push(g, cd, gacc, gerr, {ia, ib, ic});
    return true;
  }

  bool opBatchedDot() {
    // batched_dot(a, a) of a matrix (row-wise dot products), or of a rank-3
    // a with its last two axes swapped.
    int ia = pickIndex([](const Entry &e) {
      return e.v.ndim() == 2 || e.v.ndim() == 3;
    });
    if (ia < 0)
      return false;
    int ib = ia;
    if (pool[ia].v.ndim() == 3) {
      ib = dimshuffleOf(ia, {0, 2, 1});
      if (ib < 0)
        return false;
    }
    Var v = batchedDot(pool[ia].v, pool[ib].v);
    std::vector<int> dims{pool[ia].dims[0]};
    if (pool[ia].v.ndim() == 3) {
      dims.push_back(pool[ia].dims[1]);
      dims.push_back(pool[ib].dims[2]);
    }
    auto [acc, err] =
        productAcc(v, ia, ib, [](Var a, Var b) { return batchedDot(a, b); });
    push(v, dims, acc, err, {ia, ib});
    return true;
  }

  /// Pushes dimshuffle(pool[i], pattern); returns its index (-1 if it is
  /// the identity).
  int dimshuffleOf(int i, const std::vector<int> &pattern) {
    Entry A = pool[i];
    Var v = dimshuffle(A.v, pattern);
    if (v.node() == A.v.node())
      return -1;
    std::vector<int> dims;
    for (int p : pattern)
      dims.push_back(p < 0 ? kOne : A.dims[p]);
    Acc acc = A.acc;
    Var err;
    if (acc == Acc::Bounded)
      std::tie(acc, err) = bound([&] { return dimshuffle(A.err, pattern); });
    push(v, dims, acc, err, {i});
    return (int)pool.size() - 1;
  }

  bool opDimshuffle() {
    int ia = pickIndex(anyEntry);
    if (ia < 0)
      return false;
    const Var &x = pool[ia].v;
    int r = x.ndim();
    std::vector<int> order(r);
    for (int i = 0; i < r; ++i)
      order[i] = i;
    if (rng.chance(0.3))
      std::reverse(order.begin(), order.end());
    else
      rng.shuffle(order);
    std::vector<int> pattern;
    for (int p : order)
      if (!(x.type()->isBroadcastable(p) && rng.chance(0.5)))
        pattern.push_back(p);
    int extra = (int)rng.weighted({50, 35, 15});
    for (int j = 0; j < extra; ++j)
      pattern.insert(pattern.begin() + rng.range(0, (int64_t)pattern.size()),
                     -1);
    return dimshuffleOf(ia, pattern) >= 0;
  }

  bool opReshape() {
    int ia = pickIndex(anyEntry);
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    int r = A.v.ndim();
    int variant = (int)rng.range(0, 3);
    std::vector<Operand> sizes;
    std::vector<int> dims;
    std::optional<int> flat;
    if (variant == 0) { // flatten to nd axes
      int nd = (int)rng.range(1, std::max(1, r));
      flat = nd;
      dims.assign(A.dims.begin(), A.dims.begin() + (nd - 1));
      std::vector<int> merged(A.dims.begin() + (nd - 1), A.dims.end());
      dims.push_back(merged.size() == 1 ? merged[0] : cls.derived({merged}));
    } else if (variant == 1 && r >= 2) { // the sizes in another order
      std::vector<int> perm(r);
      for (int i = 0; i < r; ++i)
        perm[i] = i;
      rng.shuffle(perm);
      for (int p : perm) {
        sizes.push_back(shapeOf(A.v, p));
        dims.push_back(A.dims[p]);
      }
    } else { // literal 1s inserted, maybe one size given as -1
      for (int i = 0; i < r; ++i) {
        sizes.push_back(shapeOf(A.v, i));
        dims.push_back(A.dims[i]);
      }
      if (r > 0 && rng.chance(0.5))
        sizes[(size_t)rng.range(0, r - 1)] = -1;
      int ones = (int)rng.range(variant == 3 ? 1 : 0, 2);
      for (int j = 0; j < ones; ++j) {
        int at = (int)rng.range(0, (int64_t)sizes.size());
        sizes.insert(sizes.begin() + at, 1);
        dims.insert(dims.begin() + at, kOne);
      }
      // Without any size, reshape to 0-d (all sizes are 1).
      bool allOne = true;
      for (int c : dims)
        allOne &= c == kOne;
      if (allOne && rng.chance(0.5)) {
        sizes.clear();
        dims.clear();
      }
    }
    auto apply = [&](const Var &x) {
      return flat ? flatten(x, *flat) : reshape(x, sizes);
    };
    Var v = apply(A.v);
    Acc acc = A.acc;
    Var err;
    if (acc == Acc::Bounded)
      std::tie(acc, err) = bound([&] { return apply(A.err); });
    push(v, dims, acc, err, {ia});
    return true;
  }

  /// A random basic index for x and the size classes of x[index].
  std::vector<Index> randomIndex(const Entry &A, std::vector<int> &dims) {
    int r = A.v.ndim();
    std::vector<Index> idx;
    int axis = 0;
    int entries = r == 0 ? 1 : (int)rng.range(1, r);
    if (r > 0 && rng.chance(0.08)) {
      // x[..., i]: the ellipsis stands for the leading axes.
      idx.push_back(Index::ellipsisAll());
      for (int i = 0; i < r - 1; ++i)
        dims.push_back(A.dims[i]);
      axis = r - 1;
      entries = 1;
    }
    for (int e = 0; e < entries; ++e) {
      int c = (int)rng.weighted({8, 22, 20, 15, 35});
      if (c == 0 || axis >= r) {
        idx.push_back(Index::newAxis());
        dims.push_back(kOne);
        continue;
      }
      if (c == 1) { // an integer
        if (rng.chance(0.2))
          idx.push_back(Index::at(shapeOf(A.v, axis) - 1));
        else
          idx.push_back(Index::at(rng.pick(std::vector<int>{0, -1, 1})));
      } else if (c == 2) {
        idx.push_back(Index::all());
        dims.push_back(A.dims[axis]);
      } else if (c == 3) { // reversed: the same size
        idx.push_back(Index::slice({}, {}, -1));
        dims.push_back(A.dims[axis]);
      } else {
        auto part = [&](const std::vector<int> &choices)
            -> std::optional<Operand> {
          int p = rng.pick(choices);
          if (p == 99)
            return std::nullopt;
          return Operand(p);
        };
        idx.push_back(Index::slice(part({99, 0, 1, -1, -2, 2}),
                                   part({99, -1, 1, 2, 3, -3}),
                                   part({99, 1, 2, -1, -2, 3})));
        dims.push_back(cls.derived({{A.dims[axis]}}));
      }
      ++axis;
    }
    for (; axis < r; ++axis)
      dims.push_back(A.dims[axis]);
    return idx;
  }

  bool opSubtensor() {
    int ia = pickIndex(anyEntry);
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    std::vector<int> dims;
    std::vector<Index> idx = randomIndex(A, dims);
    Var v = subtensor(A.v, idx);
    if (v.node() == A.v.node())
      return false;
    Acc acc = A.acc;
    Var err;
    if (acc == Acc::Bounded)
      std::tie(acc, err) = bound([&] { return subtensor(A.err, idx); });
    push(v, dims, acc, err, {ia});
    return true;
  }

  bool opWriteSubtensor() {
    int ia = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    std::vector<int> viewDims;
    std::vector<Index> idx = randomIndex(A, viewDims);
    Var view = subtensor(A.v, idx);
    if (view.node() == A.v.node())
      return false;
    viewDims = canon(view, viewDims);
    bool inc = rng.chance(0.5);
    int iy = -1;
    Operand y = randomNumber(A.v.dtype());
    if (rng.chance(0.7)) {
      iy = pickIndex([&](const Entry &e) {
        if (e.dims.size() > viewDims.size())
          return false;
        for (size_t k = 1; k <= e.dims.size(); ++k)
          if (e.dims[e.dims.size() - k] != kOne &&
              e.dims[e.dims.size() - k] != viewDims[viewDims.size() - k])
            return false;
        return true;
      });
      if (iy < 0)
        return false;
      y = pool[iy].v;
    }
    Var v = inc ? incSubtensor(view, y) : setSubtensor(view, y);
    Var yv = v.node()->operand(1);
    Acc accY = iy >= 0 ? pool[iy].acc : Acc::Exact;
    Acc acc = Acc::Exact;
    Var err;
    bool anyBounded = A.acc == Acc::Bounded || accY == Acc::Bounded;
    bool cplx = isComplex(v.dtype()) || isComplex(yv.dtype());
    if (A.acc == Acc::Loose || accY == Acc::Loose) {
      if (anyBounded || inc) // an increment may cancel
        throw RejectOp();
      acc = Acc::Loose;
    } else if (anyBounded && cplx && inc) {
      throw RejectOp();
    } else if (A.acc == Acc::Bounded || accY == Acc::Bounded) {
      std::tie(acc, err) = bound([&]() -> Var {
        Var ex = A.acc == Acc::Bounded ? A.err
                                       : zerosLike(A.v, DType::Float64);
        Var ey = accY == Acc::Bounded ? pool[iy].err : constant(Scalar(0.0));
        Var exView = subtensor(ex, idx);
        if (!inc)
          return setSubtensor(exView, ey);
        Var c = incSubtensor(subtensor(f64(A.v), idx), f64(yv));
        return incSubtensor(exView, ey) + rounding(c, v.dtype(), 1);
      });
    }
    push(v, A.dims, acc, err, {ia, iy});
    return true;
  }

  /// Advanced indexing ops, drawn from a stream of their own and added as
  /// extra outputs, so that the rest of each graph is the one the main
  /// stream makes without them.
  void addIndexingOps() {
    std::swap(rng, indexRng);
    int n = rng.weighted({40, 35, 25});
    for (int attempt = 0, made = 0; attempt < 20 && made < n; ++attempt) {
      bool ok = false;
      try {
        ok = rng.chance(0.55) ? opAdvancedSubtensor() : opAdvancedWrite();
      } catch (const Error &) {
        ++stats.buildRejects;
      } catch (const RejectOp &) {
        ++stats.buildRejects;
      }
      if (ok) {
        outputs.push_back((int)pool.size() - 1);
        ++made;
      }
    }
    std::swap(rng, indexRng);
  }

  /// An index array for axis k of x: as long as the axis, entries in range
  /// for every size; `unique`: a permutation (no position twice).
  Var randomIndexArray(const Var &x, int k, bool unique) {
    Var n = shapeOf(x, k);
    Var base = arange(0, n, 1);
    Var v;
    switch ((int)rng.range(0, unique ? 1 : 3)) {
    case 0: // reversed
      v = arange(n - 1, -1, -1);
      break;
    case 1: // rolled by one
      v = mod(base + 1, maximum(n, 1));
      break;
    case 2: // each entry twice
      v = floorDiv(base, 2);
      break;
    default: // negative, counting from the end
      v = base - n;
      break;
    }
    return cast(v, rng.pick(std::vector<DType>{DType::Int64, DType::Int32,
                                               DType::Int16}));
  }

  /// A random advanced index for x (rank >= 1) and the size classes of
  /// x[index]. `unique`: no position selected twice (for writes).
  std::vector<Index> randomAdvancedIndex(const Entry &A, std::vector<int> &dims,
                                         bool unique) {
    int r = A.v.ndim();
    std::vector<Index> idx;
    int variant = (int)rng.weighted({40, 25, 15, 20});
    if (variant == 3 && A.acc != Acc::Exact)
      variant = 0; // a mask of inexact values could differ between modes
    if (variant == 1 && r < 2)
      variant = 0;
    if (variant == 2 && r < 2)
      variant = 0;
    // (An integer into an axis of static size 0 fails to type-check once
    // the rewrites make it a constant: the compile, not the call, fails.)
    for (int i = 0; variant == 2 && i < r; ++i)
      if (A.v.type()->size(i) == 0)
        variant = 0;
    auto lead = [&](int upTo) { // axes before the first indexed one
      std::vector<int> d;
      for (int i = 0; i < upTo; ++i) {
        bool rev = rng.chance(0.3);
        idx.push_back(rev ? Index::slice({}, {}, -1) : Index::all());
        d.push_back(A.dims[i]);
      }
      return d;
    };
    if (variant == 0) { // one array, maybe after a new axis
      int k = (int)rng.range(0, r - 1);
      if (rng.chance(0.2)) {
        idx.push_back(Index::newAxis());
        dims.push_back(kOne);
      }
      std::vector<int> pre = lead(k);
      dims.insert(dims.end(), pre.begin(), pre.end());
      idx.push_back(Index::array(randomIndexArray(A.v, k, unique)));
      dims.push_back(A.dims[k]);
      for (int i = k + 1; i < r; ++i)
        dims.push_back(A.dims[i]);
    } else if (variant == 1) { // a column and a row of indices: B 2-d
      int j = (int)rng.range(0, r - 2), k = (int)rng.range(j + 1, r - 1);
      std::vector<int> pre = lead(j);
      idx.push_back(Index::array(
          dimshuffle(randomIndexArray(A.v, j, unique), {0, -1})));
      std::vector<int> between;
      for (int i = j + 1; i < k; ++i) {
        idx.push_back(Index::all());
        between.push_back(A.dims[i]);
      }
      idx.push_back(Index::array(randomIndexArray(A.v, k, unique)));
      std::vector<int> b{A.dims[j], A.dims[k]};
      if (between.empty()) { // adjacent: B in place
        dims = pre;
        dims.insert(dims.end(), b.begin(), b.end());
      } else { // separated: B first
        dims = b;
        dims.insert(dims.end(), pre.begin(), pre.end());
        dims.insert(dims.end(), between.begin(), between.end());
      }
      for (int i = k + 1; i < r; ++i)
        dims.push_back(A.dims[i]);
    } else if (variant == 2) { // an integer with an array
      int j = (int)rng.range(0, r - 1), k = (int)rng.range(0, r - 2);
      if (k >= j)
        ++k;
      int lo = std::min(j, k), hi = std::max(j, k);
      std::vector<int> pre = lead(lo), between;
      for (int i = lo; i <= hi; ++i) {
        if (i == j)
          idx.push_back(Index::at(floorDiv(shapeOf(A.v, j), 2)));
        else if (i == k)
          idx.push_back(Index::array(randomIndexArray(A.v, k, unique)));
        else {
          idx.push_back(Index::all());
          between.push_back(A.dims[i]);
        }
      }
      if (between.empty()) {
        dims = pre;
        dims.push_back(A.dims[k]);
      } else {
        dims = {A.dims[k]};
        dims.insert(dims.end(), pre.begin(), pre.end());
        dims.insert(dims.end(), between.begin(), between.end());
      }
      for (int i = hi + 1; i < r; ++i)
        dims.push_back(A.dims[i]);
    } else { // a boolean mask of x's own values
      idx.push_back(Index::array(neq(A.v, 0)));
      dims.push_back(cls.derived({A.dims}));
    }
    return idx;
  }

  bool opAdvancedSubtensor() {
    int ia = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    std::vector<int> dims;
    std::vector<Index> idx = randomAdvancedIndex(A, dims, false);
    Var v = subtensor(A.v, idx);
    Acc acc = A.acc;
    Var err;
    if (acc == Acc::Bounded)
      std::tie(acc, err) = bound([&] { return subtensor(A.err, idx); });
    push(v, dims, acc, err, {ia});
    return true;
  }

  /// set_subtensor/inc_subtensor with an advanced index selecting each
  /// position once (so that the error bounds are those of the basic write).
  bool opAdvancedWrite() {
    int ia = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    std::vector<int> viewDims;
    std::vector<Index> idx = randomAdvancedIndex(A, viewDims, true);
    Var view = subtensor(A.v, idx);
    viewDims = canon(view, viewDims);
    bool inc = rng.chance(0.5);
    int iy = -1;
    Operand y = randomNumber(A.v.dtype());
    if (rng.chance(0.7)) {
      iy = pickIndex([&](const Entry &e) {
        if (e.dims.size() > viewDims.size())
          return false;
        for (size_t k = 1; k <= e.dims.size(); ++k)
          if (e.dims[e.dims.size() - k] != kOne &&
              e.dims[e.dims.size() - k] != viewDims[viewDims.size() - k])
            return false;
        return true;
      });
      if (iy < 0)
        return false;
      y = pool[iy].v;
    }
    Var v = inc ? incSubtensor(view, y) : setSubtensor(view, y);
    Var yv = v.node()->operand(1);
    Acc accY = iy >= 0 ? pool[iy].acc : Acc::Exact;
    Acc acc = Acc::Exact;
    Var err;
    bool anyBounded = A.acc == Acc::Bounded || accY == Acc::Bounded;
    bool cplx = isComplex(v.dtype()) || isComplex(yv.dtype());
    if (A.acc == Acc::Loose || accY == Acc::Loose) {
      if (anyBounded || inc)
        throw RejectOp();
      acc = Acc::Loose;
    } else if (anyBounded && cplx && inc) {
      throw RejectOp();
    } else if (anyBounded) {
      std::tie(acc, err) = bound([&]() -> Var {
        Var ex = A.acc == Acc::Bounded ? A.err
                                       : zerosLike(A.v, DType::Float64);
        Var ey = accY == Acc::Bounded ? pool[iy].err : constant(Scalar(0.0));
        Var exView = subtensor(ex, idx);
        if (!inc)
          return setSubtensor(exView, ey);
        Var c = incSubtensor(subtensor(f64(A.v), idx), f64(yv));
        return incSubtensor(exView, ey) + rounding(c, v.dtype(), 1);
      });
    }
    push(v, A.dims, acc, err, {ia, iy});
    return true;
  }

  bool opJoin() {
    bool isStack = rng.chance(0.35);
    int ia = pickIndex([&](const Entry &e) {
      return isStack || e.v.ndim() >= 1;
    });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    int r = A.v.ndim();
    int axis = (int)rng.range(0, isStack ? r : r - 1);
    std::vector<int> parts{ia};
    int more = (int)rng.range(1, 2);
    for (int j = 0; j < more; ++j) {
      int ib = pickIndex([&](const Entry &e) {
        if (e.v.ndim() != r)
          return false;
        for (int i = 0; i < r; ++i)
          if (e.dims[i] != A.dims[i] && (isStack || i != axis))
            return false;
        return true;
      });
      if (ib < 0)
        return false;
      parts.push_back(ib);
    }
    std::vector<Var> xs;
    for (int i : parts)
      xs.push_back(pool[i].v);
    int axisArg = rng.chance(0.3) ? axis - (isStack ? r + 1 : r) : axis;
    auto apply = [&](const std::vector<Var> &ys) {
      return isStack ? stack(ys, axisArg) : concatenate(ys, axisArg);
    };
    Var v = apply(xs);
    std::vector<int> dims = A.dims;
    if (isStack)
      dims.insert(dims.begin() + axis, cls.constant((int64_t)xs.size()));
    else {
      std::vector<std::vector<int>> along;
      for (int i : parts)
        along.push_back({pool[i].dims[axis]});
      dims[axis] = cls.derived(along);
    }
    bool allExact = true, anyLoose = false;
    for (int i : parts) {
      allExact &= pool[i].acc == Acc::Exact;
      anyLoose |= pool[i].acc == Acc::Loose;
    }
    if (anyLoose && !allExact)
      for (int i : parts)
        if (pool[i].acc == Acc::Bounded)
          throw RejectOp();
    Acc acc = allExact ? Acc::Exact : Acc::Loose;
    Var err;
    if (!allExact && !anyLoose)
      std::tie(acc, err) = bound([&] {
        std::vector<Var> es;
        for (int i : parts)
          es.push_back(pool[i].acc == Acc::Bounded
                           ? pool[i].err
                           : zerosLike(pool[i].v, DType::Float64));
        return apply(es);
      });
    push(v, dims, acc, err, parts);
    return true;
  }

  bool opAlloc() {
    int variant = (int)rng.range(0, 3);
    if (variant <= 1) { // zeros_like / ones_like / fill: exact
      int ia = pickIndex(anyEntry);
      if (ia < 0)
        return false;
      const Var &x = pool[ia].v;
      std::optional<DType> t;
      if (rng.chance(0.4))
        t = rng.pick(realDTypes());
      Var v = variant == 1 ? fill(x, randomNumber(x.dtype()))
              : rng.chance(0.5) ? zerosLike(x, t)
                                : onesLike(x, t);
      push(v, pool[ia].dims, Acc::Exact, Var(), {ia});
      return true;
    }
    // alloc(b, leading sizes of c, then b's own sizes), or literal sizes.
    int ib = pickIndex([](const Entry &e) { return e.v.ndim() <= 2; });
    if (ib < 0)
      return false;
    Entry B = pool[ib];
    std::vector<Operand> sizes;
    std::vector<int> dims;
    int ic = -1;
    if (variant == 3 && B.v.ndim() == 0) {
      int n = (int)rng.range(1, 2);
      for (int j = 0; j < n; ++j) {
        int64_t s = rng.range(0, 3);
        sizes.push_back(s);
        dims.push_back(cls.constant(s));
      }
    } else {
      ic = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
      if (ic < 0)
        return false;
      int lead = (int)rng.range(1, std::min(2, pool[ic].v.ndim()));
      for (int j = 0; j < lead; ++j) {
        sizes.push_back(shapeOf(pool[ic].v, j));
        dims.push_back(pool[ic].dims[j]);
      }
      for (int j = 0; j < B.v.ndim(); ++j) {
        sizes.push_back(shapeOf(B.v, j));
        dims.push_back(B.dims[j]);
      }
    }
    Var v = alloc(B.v, sizes);
    Acc acc = B.acc;
    Var err;
    if (acc == Acc::Bounded)
      std::tie(acc, err) = bound([&] { return alloc(B.err, sizes); });
    push(v, dims, acc, err, {ib, ic});
    return true;
  }

  bool opShape() {
    int variant = (int)rng.weighted({25, 30, 10, 15, 10, 10});
    int ia = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    int r = A.v.ndim();
    int axis = (int)rng.range(0, r - 1);
    switch (variant) {
    case 0: // x.shape[i]
      push(shapeOf(A.v, axis), {}, Acc::Exact, Var(), {ia});
      return true;
    case 1: { // x.sum() / x.shape[i]
      Var s = sum(A.v), n = shapeOf(A.v, axis);
      Var v = trueDiv(s, n);
      Acc acc = A.acc;
      Var err;
      if (isComplex(v.dtype()) || acc == Acc::Loose) {
        throw RejectOp();
      } else if (isFloat(s.dtype())) {
        std::tie(acc, err) = bound([&] {
          DType t = s.dtype();
          double u = unitRoundoff(t);
          Var mag = sum(abs(f64(A.v)));
          Var cnt = countOf(A.v, [&] {
            std::vector<int> all(r);
            for (int i = 0; i < r; ++i)
              all[i] = i;
            return all;
          }());
          Var es = mag * ((cnt + 4.0) * (2 * u)) +
                   (cnt + 4.0) * (2 * denormMin(t));
          if (A.acc == Acc::Bounded)
            es = es + sum(A.err);
          es = where(gt(mag + es, maxFinite(t)), kInf, es);
          // then the division, correctly rounded
          return cornerBound(OpKind::TrueDiv, v,
                             {{s, Acc::Bounded, es}, {n, Acc::Exact, Var()}},
                             1);
        });
      } else {
        acc = Acc::Exact; // integer sum, then a correctly rounded division
      }
      push(v, {}, acc, err, {ia});
      return true;
    }
    case 2: // x.shape
      push(shape(A.v), {cls.constant(r)}, Acc::Exact, Var(), {ia});
      return true;
    case 3: // arange(x.shape[i])
      push(arange(0, shapeOf(A.v, axis)), {A.dims[axis]}, Acc::Exact, Var(),
           {ia});
      return true;
    case 4: { // eye(x.shape[i], y.shape[j], k)
      int ib = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
      if (ib < 0)
        return false;
      int bAxis = (int)rng.range(0, pool[ib].v.ndim() - 1);
      int k = (int)rng.range(-1, 1);
      Var v = eye(shapeOf(A.v, axis), shapeOf(pool[ib].v, bAxis), k,
                  rng.pick(realDTypes()));
      push(v, {A.dims[axis], pool[ib].dims[bAxis]}, Acc::Exact, Var(),
           {ia, ib});
      return true;
    }
    default: { // make_vector of sizes and a literal
      std::vector<Operand> elems{shapeOf(A.v, axis), 3, shapeOf(A.v, 0)};
      push(makeVector(elems), {cls.constant(3)}, Acc::Exact, Var(), {ia});
      return true;
    }
    }
  }

  bool opSoftmax() {
    int ia = pickIndex([](const Entry &e) { return e.v.ndim() >= 1; });
    if (ia < 0)
      return false;
    Entry A = pool[ia];
    bool isLog = rng.chance(0.5);
    Var v = isLog ? logSoftmax(A.v) : softmax(A.v);
    Acc acc = A.acc;
    Var err;
    if (acc == Acc::Loose)
      throw RejectOp();
    std::tie(acc, err) = bound([&]() -> Var {
        DType t = v.dtype();
        double u = unitRoundoff(t);
        int last = A.v.ndim() - 1;
        Var x64 = f64(A.v);
        Var n = f64(shapeOf(A.v, last));
        Var ru = (n + (transcendentalUlps(t) + 4)) * (2 * u);
        // Sums, not maxima, over the last axis: they exist for empty rows.
        Var M = A.acc == Acc::Bounded ? sum(A.err, last, true) : Var();
        if (!isLog) {
          Var s = softmax(x64);
          Var e = s * ru + 8 * denormMin(t);
          if (M.defined())
            e = e + s * expm1(2.0 * M);
          return e;
        }
        Var ls = logSoftmax(x64);
        Var e = ru * (abs(ls) + 1.0) +
                (abs(x64) + sum(abs(x64), last, true)) * (2 * u);
        if (M.defined())
          e = e + 2.0 * M;
        return e;
      });
    push(v, A.dims, acc, err, {ia});
    return true;
  }

  // ---- Outputs ------------------------------------------------------------

  void chooseOutputs() {
    std::vector<int> sinks, others;
    for (int i = (int)inputs.size(); i < (int)pool.size(); ++i)
      (pool[i].uses == 0 ? sinks : others).push_back(i);
    rng.shuffle(sinks);
    rng.shuffle(others);
    int want = (int)rng.range(3, 6);
    for (int i : sinks)
      if ((int)outputs.size() < want)
        outputs.push_back(i);
    for (int i : others)
      if ((int)outputs.size() < want)
        outputs.push_back(i);
    std::sort(outputs.begin(), outputs.end());
  }

  // ---- Argument values ------------------------------------------------------

  /// A random element of dtype t: mostly small, some special values.
  static Scalar randomScalar(DType t, Rng &r, double special) {
    if (isBool(t))
      return Scalar::fromBool(r.chance(0.5));
    if (isComplex(t))
      return Scalar(std::complex<double>(
          randomScalar(DType::Float64, r, special).toDouble(),
          randomScalar(DType::Float64, r, special).toDouble()));
    if (isInteger(t)) {
      bool sgn = isSignedInt(t);
      int bits = (int)itemSize(t) * 8;
      if (r.chance(special)) {
        uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
        int64_t mn = sgn ? -(int64_t)(1ull << (bits - 1)) : 0;
        uint64_t mx = sgn ? mask >> 1 : mask;
        int c = (int)r.range(0, 6);
        if (c == 0)
          return Scalar::fromInt(0, t);
        if (c == 1)
          return Scalar::fromInt(sgn ? -1 : 1, t);
        if (c == 2)
          return Scalar::fromInt(mn, t);
        if (c == 3)
          return Scalar::fromInt(mn + 1, t);
        if (c == 4)
          return Scalar::fromUInt(mx, t);
        if (c == 5)
          return Scalar::fromUInt(mx - 1, t);
        return Scalar::fromInt(sgn ? -2 : 2, t);
      }
      if (r.chance(0.1)) // any bits (wraps to the dtype)
        return Scalar::fromUInt(r.bits(), DType::UInt64);
      return sgn ? Scalar::fromInt(r.range(-6, 6)) : Scalar::fromInt(r.range(0, 9));
    }
    // Floats
    if (r.chance(special)) {
      double huge = t == DType::Float16 ? 60000.0 : t == DType::Float32 ? 3e38 : 1e300;
      std::vector<double> s{0.0,
                            -0.0,
                            kInf,
                            -kInf,
                            std::numeric_limits<double>::quiet_NaN(),
                            huge,
                            -huge,
                            maxFinite(t),
                            3 * denormMin(t),
                            -denormMin(t),
                            minNormal(t),
                            0.5,
                            2.5,
                            -2.5,
                            1.0,
                            -1.0};
      return Scalar(r.pick(s));
    }
    int c = r.weighted({50, 20, 20, 10});
    if (c == 0)
      return Scalar(r.unit() * 8 - 4);
    if (c == 1)
      return Scalar((double)r.range(-8, 8));
    if (c == 2)
      return Scalar((double)r.range(-8, 8) + 0.5);
    // Magnitudes from 2^-26 to 2^26 (exact: no libm in the values).
    double mag = std::ldexp(1 + r.unit(), (int)r.range(-26, 25));
    if (t == DType::Float16)
      mag = std::min(mag, 6e4);
    return Scalar(r.chance(0.5) ? mag : -mag);
  }

  static NDArray randomValues(DType t, const Shape &shape, Rng &r,
                              double special) {
    int64_t n = shapeSize(shape);
    std::vector<Scalar> vals;
    vals.reserve((size_t)n);
    for (int64_t i = 0; i < n; ++i)
      vals.push_back(randomScalar(t, r, special));
    return NDArray::fromValues(t, vals, {n}).reshape(shape);
  }

  static std::string listStr(const std::vector<int> &v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i)
      s += (i ? "," : "") + std::to_string(v[i]);
    return s;
  }

  /// The values `vals` copied into a new buffer seen through a random
  /// layout: axes stored in another order, reversed, strided, offset.
  static NDArray withLayout(const NDArray &vals, Rng &r, std::string &desc) {
    DType t = vals.dtype();
    int nd = vals.ndim();
    Shape S = vals.shape();
    Scalar sentinel = t == DType::Bool ? Scalar::fromBool(true)
                                       : Scalar(-77.0).cast(t);
    if (nd == 0) {
      if (r.chance(0.6)) {
        desc += "C";
        return vals.copy();
      }
      NDArray base = NDArray::full(t, {3}, sentinel);
      int64_t at = r.range(1, 2);
      NDArray v = base.select(0, at);
      v.assign(vals);
      desc += "offset(0-d)";
      return v;
    }
    std::vector<int> perm(nd);
    for (int i = 0; i < nd; ++i)
      perm[i] = i;
    std::vector<int64_t> step(nd, 1), off(nd, 0);
    std::vector<int> revAxes, stepAxes, offAxes;
    int kind = r.weighted({28, 10, 14, 16, 16, 16});
    if (kind == 1 || kind == 2 || (kind == 5 && r.chance(0.5))) {
      if (kind == 1)
        std::reverse(perm.begin(), perm.end());
      else
        r.shuffle(perm);
    }
    for (int i = 0; i < nd; ++i) {
      if ((kind == 3 && (r.chance(0.5) || i == nd - 1)) ||
          (kind == 5 && r.chance(0.4)))
        revAxes.push_back(i);
      if ((kind == 4 || kind == 5) && r.chance(0.5)) {
        step[i] = r.range(2, 3);
        stepAxes.push_back(i);
      }
      if ((kind == 4 || kind == 5) && r.chance(0.4)) {
        off[i] = 1;
        offAxes.push_back(i);
      }
    }
    Shape base(nd);
    for (int j = 0; j < nd; ++j)
      base[j] = S[perm[j]] * step[perm[j]] + off[perm[j]];
    NDArray buf = NDArray::full(t, base, sentinel);
    std::vector<int> inv(nd);
    for (int j = 0; j < nd; ++j)
      inv[perm[j]] = j;
    NDArray v = buf.permute(inv);
    for (int i = 0; i < nd; ++i) {
      bool rev = std::find(revAxes.begin(), revAxes.end(), i) != revAxes.end();
      if (S[i] == 0)
        v = v.slice(i, 0, 0, 1);
      else if (rev)
        v = v.slice(i, off[i] + (S[i] - 1) * step[i], off[i] - 1, -step[i]);
      else
        v = v.slice(i, off[i], off[i] + S[i] * step[i], step[i]);
    }
    v.assign(vals);
    bool identity = true;
    for (int i = 0; i < nd; ++i)
      identity &= perm[i] == i;
    std::string d;
    if (kind == 1)
      d += "F ";
    else if (!identity)
      d += "perm(" + listStr(perm) + ") ";
    if (!revAxes.empty())
      d += "reversed(" + listStr(revAxes) + ") ";
    if (!stepAxes.empty())
      d += "strided(" + listStr(stepAxes) + ") ";
    if (!offAxes.empty())
      d += "offset(" + listStr(offAxes) + ") ";
    if (d.empty())
      d = "C ";
    d.pop_back();
    desc += d;
    return v;
  }

  /// One argument of dtype t (or a narrower dtype the call converts) and
  /// shape `shape`.
  static NDArray makeArg(DType t, const Shape &shape, Rng &r,
                         std::string &desc) {
    double special = r.pick(std::vector<double>{0.0, 0.04, 0.04, 0.2});
    DType vt = t;
    if (r.chance(0.05)) {
      std::vector<DType> narrower;
      for (DType d : realDTypes())
        if (d != t && promoteTypes(d, t) == t)
          narrower.push_back(d);
      if (!narrower.empty()) {
        vt = r.pick(narrower);
        desc += std::string("from ") + dtypeName(vt) + ", ";
      }
    }
    // Some axes of size > 1 with stride 0 (a broadcast view).
    Shape small = shape;
    std::vector<int> bcast;
    if (r.chance(0.08))
      for (int i = 0; i < (int)shape.size(); ++i)
        if (shape[i] > 1 && r.chance(0.5)) {
          small[i] = 1;
          bcast.push_back(i);
        }
    NDArray a = withLayout(randomValues(vt, small, r, special), r, desc);
    if (!bcast.empty()) {
      a = a.broadcastTo(shape);
      desc += " broadcast(" + listStr(bcast) + ")";
    }
    return a;
  }
};

} // namespace thjit::difftest

#endif
