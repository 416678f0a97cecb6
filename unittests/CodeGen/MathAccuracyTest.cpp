//===- MathAccuracyTest.cpp - Ulp error of the JIT's transcendentals ------===//
//
// The CPU JIT lowers element-wise transcendentals to libm calls that LLVM's
// loop vectorizer turns into glibc libmvec calls (_ZGVdN4v_exp,
// _ZGVeN16v_expf, ...); sigmoid and softplus are composites of exp and
// log1p. This test compiles one FAST_RUN function per (op, dtype) over a
// contiguous vector, feeds it points spread over the op's domain
// (log-uniform magnitudes over every binade, dense intervals,
// neighbourhoods of 0, of the domain edges and of the overflow and
// underflow thresholds, large values, and inf, -inf, nan, +-0) and
// measures the largest error in ulps against a long double oracle (glibc's
// x87 expl, log1pl, erfcl, ...: 11 more bits than double, so its own error
// is about 0.001 ulp of double). Every point goes through one long call
// (2^16 elements: the main vector loop does nearly all of it), and the
// first 2^14 again through 31-element calls, which only reach the loop's
// remainder (with AVX-512: an 8-lane AVX2 epilogue for float32, then
// scalar libm).
//
// The ulp is the spacing of the result dtype at the exact value (2^-1074 /
// 2^-149 for subnormal and zero results); an infinite result counts as
// 2^1024 (2^128) when the exact value is below that, so inf for a value
// that rounds to inf costs at most half an ulp. Non-finite expectations
// must match exactly: nan for nan, inf of the right sign (and only inf from
// 2^1024 on), and the sign of an exact zero.
//
// The bounds (kBounds below) are glibc's documented libmvec bound (4 ulp)
// for the plain calls, and for the composites what the measurements
// justify plus headroom; docs/math-accuracy.md has the measured table.
// Another test case checks in the host assembly that the loops really call
// libmvec (required for exp, tanh and log1p; a warning lists any other op
// whose loop does not).
//
// Environment:
//   THJIT_MATH_TABLE=1   print the measured table (the rows of the doc),
//                        the worst input of every (op, dtype) and the
//                        libmvec symbols of every loop
//   THJIT_MATH_POINTS=N  points per (op, dtype) (default 65536): a deeper
//                        scan, e.g. 4194304 (about a minute)
//
//===----------------------------------------------------------------------===//
#include "thjit/CodeGen/CPU.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

using namespace thjit;

namespace {

using LD = long double;

/// Elements per call: the vector body runs over all but a few of them.
/// THJIT_MATH_POINTS=N measures more (a deeper, slower scan).
const int64_t kN = [] {
  const char *e = std::getenv("THJIT_MATH_POINTS");
  long long n = e && *e ? std::atoll(e) : 0;
  return n >= 4096 ? (int64_t)n : (int64_t)1 << 16;
}();
/// The first kTailPoints points are evaluated again in calls of
/// kTailLength elements: too short for the main vector loop (4 x 8 lanes
/// at least, 4 x 16 for float32 with AVX-512), so they take the loop's
/// remainder path.
const int64_t kTailPoints = std::min<int64_t>(kN, 1 << 14);
constexpr int64_t kTailLength = 31;

// ---- The ops --------------------------------------------------------------

using Build1 = Var (*)(const Var &);
using Build2 = Var (*)(const Var &, const Var &);
using Oracle1 = LD (*)(LD);
using Oracle2 = LD (*)(LD, LD);

/// Both formulas as the JIT computes them (ScalarEmitter.cpp), in long
/// double: exp of a non-positive number only.
LD sigmoidL(LD x) {
  LD e = expl(-fabsl(x));
  return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}
LD softplusL(LD x) {
  LD l = log1pl(expl(-fabsl(x)));
  return x > 0 ? x + l : l;
}
template <class T> T sigmoidLibm(T x) {
  T e = std::exp(-std::fabs(x));
  return x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
}
template <class T> T softplusLibm(T x) {
  T l = std::log1p(std::exp(-std::fabs(x)));
  return x > 0 ? x + l : l;
}

struct Spec {
  const char *name; ///< thjit's (NumPy's) name
  Build1 build1;
  Build2 build2;
  Oracle1 oracle1;
  Oracle2 oracle2;
  double (*libm64)(double);
  float (*libm32)(float);
  double (*libm64b)(double, double);
  float (*libm32b)(float, float);
  /// Dense uniform samples in [lo, hi].
  double lo, hi;
  /// Log-uniform magnitudes up to maxMag (inf: the dtype's largest);
  /// negative ones too when bothSigns, else a few percent (domain errors).
  double maxMag;
  bool bothSigns;
  /// Domain edges, poles, overflow and underflow thresholds (of both
  /// dtypes), sampled exactly, a few ulps off, and at 2^-k relative offsets.
  std::vector<double> edges;
};

#define ORACLE1(F) +[](LD x) -> LD { return F(x); }
#define LIBM64(F) +[](double x) -> double { return F(x); }
#define LIBM32(F) +[](float x) -> float { return F(x); }
#define UNARY(NAME, LIBM, ORACLE, LO, HI, MAXMAG, BOTH, ...)                   \
  Spec {                                                                       \
    #NAME, +[](const Var &x) { return thjit::NAME(x); }, nullptr,              \
        ORACLE1(ORACLE), nullptr, LIBM64(::LIBM), LIBM32(::LIBM##f), nullptr,  \
        nullptr, LO, HI, MAXMAG, BOTH, __VA_ARGS__                             \
  }

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;

const std::vector<Spec> &specs() {
  static const std::vector<Spec> all = [] {
    std::vector<Spec> s{
        // exp: overflow at 709.78 (88.72 f32), subnormal below -708.40
        // (-87.34), zero below -745.13 (-103.97).
        UNARY(exp, exp, expl, -746, 710, 2048, true,
              {0, 709.782712893384, -708.396418532264, -745.133219101941,
               88.7228391116729, -87.3365447505531, -103.972077083992}),
        UNARY(exp2, exp2, exp2l, -1076, 1025, 4096, true,
              {0, 1024, -1022, -1074, 128, -126, -149}),
        UNARY(expm1, expm1, expm1l, -40, 710, 2048, true,
              {0, 709.782712893384, 88.7228391116729, -1e-5}),
        UNARY(log, log, logl, 0, 4, kInf, false, {0, 1}),
        UNARY(log2, log2, log2l, 0, 4, kInf, false, {0, 1}),
        UNARY(log10, log10, log10l, 0, 4, kInf, false, {0, 1}),
        UNARY(log1p, log1p, log1pl, -1, 4, kInf, true, {-1, 0}),
        UNARY(sin, sin, sinl, -10, 10, kInf, true,
              {0, kPi / 2, kPi, 2 * kPi, 1e5, 1e22}),
        UNARY(cos, cos, cosl, -10, 10, kInf, true,
              {0, kPi / 2, kPi, 3 * kPi / 2, 1e5, 1e22}),
        UNARY(tan, tan, tanl, -10, 10, kInf, true,
              {0, kPi / 4, kPi / 2, kPi, 1e5, 1e22}),
        UNARY(arcsin, asin, asinl, -1, 1, 1, true, {-1, 0, 1, 0.5}),
        UNARY(arccos, acos, acosl, -1, 1, 1, true, {-1, 0, 1, 0.5}),
        UNARY(arctan, atan, atanl, -10, 10, kInf, true, {0, 1}),
        UNARY(sinh, sinh, sinhl, -30, 30, 2048, true,
              {0, 710.475860073944, -710.475860073944, 89.4159851074219}),
        UNARY(cosh, cosh, coshl, -30, 30, 2048, true,
              {0, 710.475860073944, -710.475860073944, 89.4159851074219}),
        UNARY(tanh, tanh, tanhl, -20, 20, kInf, true, {0, 19.06, 9.01}),
        UNARY(arcsinh, asinh, asinhl, -10, 10, kInf, true, {0}),
        UNARY(arccosh, acosh, acoshl, 1, 10, kInf, false, {1}),
        UNARY(arctanh, atanh, atanhl, -1, 1, 1, true, {-1, 0, 1}),
        UNARY(erf, erf, erfl, -6, 6, kInf, true, {0, 5.93, 3.92}),
        // erfc: subnormal beyond 26.55 (9.19 f32), zero beyond 27.23 (10.05).
        UNARY(erfc, erfc, erfcl, -6, 28, kInf, true,
              {0, 26.5432, 27.2264, 9.1945, 10.0542}),
        UNARY(sqrt, sqrt, sqrtl, 0, 4, kInf, false, {0, 1}),
        Spec{"sigmoid", +[](const Var &x) { return thjit::sigmoid(x); },
             nullptr, +[](LD x) { return sigmoidL(x); }, nullptr,
             &sigmoidLibm<double>, &sigmoidLibm<float>, nullptr, nullptr, -40,
             40, 2048, true,
             {0, -745.133219101941, -103.972077083992, 36.7, 16.6}},
        Spec{"softplus", +[](const Var &x) { return thjit::softplus(x); },
             nullptr, +[](LD x) { return softplusL(x); }, nullptr,
             &softplusLibm<double>, &softplusLibm<float>, nullptr, nullptr,
             -40, 40, kInf, true,
             {0, -745.133219101941, -103.972077083992, 36.7, 16.6}},
        Spec{"pow", nullptr,
             +[](const Var &x, const Var &y) { return thjit::pow(x, y); },
             nullptr, +[](LD x, LD y) { return powl(x, y); }, nullptr, nullptr,
             +[](double x, double y) { return ::pow(x, y); },
             +[](float x, float y) { return ::powf(x, y); }, 0, 0, 0, true,
             {}},
        Spec{"arctan2", nullptr,
             +[](const Var &y, const Var &x) { return thjit::arctan2(y, x); },
             nullptr, +[](LD y, LD x) { return atan2l(y, x); }, nullptr,
             nullptr, +[](double y, double x) { return ::atan2(y, x); },
             +[](float y, float x) { return ::atan2f(y, x); }, 0, 0, 0, true,
             {}},
    };
    return s;
  }();
  return all;
}

/// The asserted max error in ulps: {float32, float64}. glibc tests every
/// x86_64 libmvec variant against a 4-ulp bound ("tested via reasonable
/// random sampling to pass 4-ulp maximum relative error criterion",
/// https://sourceware.org/glibc/wiki/libmvec); measured maxima are 0.6 to
/// 4.0 (erf float32 reaches 3.99999 in _ZGVeN16v_erff). sqrt is an
/// instruction, correctly rounded. sigmoid and softplus add exp's (and
/// log1p's) error to two or three roundings: 3.5 ulp here, 3.9 in a
/// 2^22-point scan, 4.3 in a 2^24-point scan of the libmvec variants
/// themselves, hence 5.
struct Bound {
  double f32, f64;
};
const std::map<std::string, Bound> kBounds{
    {"exp", {4, 4}},      {"exp2", {4, 4}},    {"expm1", {4, 4}},
    {"log", {4, 4}},      {"log2", {4, 4}},    {"log10", {4, 4}},
    {"log1p", {4, 4}},    {"sin", {4, 4}},     {"cos", {4, 4}},
    {"tan", {4, 4}},      {"arcsin", {4, 4}},  {"arccos", {4, 4}},
    {"arctan", {4, 4}},   {"sinh", {4, 4}},    {"cosh", {4, 4}},
    {"tanh", {4, 4}},     {"arcsinh", {4, 4}}, {"arccosh", {4, 4}},
    {"arctanh", {4, 4}},  {"erf", {4, 4}},     {"erfc", {4, 4}},
    {"sqrt", {0.5, 0.5}}, {"sigmoid", {5, 5}}, {"softplus", {5, 5}},
    {"pow", {4, 4}},      {"arctan2", {4, 4}},
};

// ---- Inputs ---------------------------------------------------------------

/// splitmix64: the same points with every standard library.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return (double)(next() >> 11) * 0x1p-53; } // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  bool coin(double p = 0.5) { return uniform() < p; }
  double sign() { return coin() ? -1.0 : 1.0; }
};

template <class T> struct Lim {
  using L = std::numeric_limits<T>;
  static constexpr int p = L::digits;                // 53, 24
  static constexpr int emin = L::min_exponent - 1;   // -1022, -126
  static constexpr int emax = L::max_exponent - 1;   // 1023, 127
  static constexpr int dmin = emin - (p - 1);        // -1074, -149
};

/// 2^u with u uniform in [lo, hi]: log-uniform magnitudes.
double logUniform(Rng &r, double lo, double hi) {
  return std::exp2(r.uniform(lo, hi));
}

template <class T> std::vector<T> specialValues() {
  using L = std::numeric_limits<T>;
  std::vector<T> v{T(0),          -T(0),          L::infinity(),
                   -L::infinity(), L::quiet_NaN(), L::denorm_min(),
                   -L::denorm_min(), L::min(),     -L::min(),
                   L::max(),      -L::max(),      T(1),
                   T(-1),         T(0.5),         T(-0.5),
                   T(2),          T(-2)};
  return v;
}

/// Points for a unary op (see Spec).
template <class T> std::vector<T> unaryInputs(const Spec &s, uint64_t seed) {
  using Lm = Lim<T>;
  Rng r{seed};
  std::vector<T> x = specialValues<T>();
  for (double e : s.edges) {
    T t = (T)e;
    if (!std::isfinite(t))
      continue;
    for (T sgn : {T(1), T(-1)}) {
      T c = sgn * t;
      x.push_back(c);
      T up = c, down = c;
      for (int k = 0; k < 3; ++k) {
        up = std::nextafter(up, std::numeric_limits<T>::infinity());
        down = std::nextafter(down, -std::numeric_limits<T>::infinity());
        x.push_back(up);
        x.push_back(down);
      }
    }
  }
  double maxLog = std::isinf(s.maxMag) ? Lm::emax + 0.999 : std::log2(s.maxMag);
  while ((int64_t)x.size() < kN) {
    double u = r.uniform(), v;
    if (u < 0.35) { // dense
      v = r.uniform(s.lo, s.hi);
    } else if (u < 0.65) { // every binade down to the subnormals
      v = logUniform(r, Lm::dmin, maxLog);
      if (s.bothSigns ? r.coin() : r.coin(0.03))
        v = -v;
    } else if (u < 0.8 || s.edges.empty()) { // near 0
      v = r.sign() * logUniform(r, -60, 0);
      if (!s.bothSigns && r.coin(0.97))
        v = std::fabs(v);
    } else { // near an edge: 2^-k relative offsets, k up to the precision
      double e = s.edges[r.next() % s.edges.size()];
      if (s.bothSigns && r.coin())
        e = -e;
      double off = logUniform(r, -Lm::p - 2, -1);
      v = e == 0 ? r.sign() * off : e + r.sign() * std::fabs(e) * off;
    }
    x.push_back((T)v);
  }
  x.resize(kN);
  return x;
}

/// Points for pow(x, y) and arctan2(y, x): a grid of special values, then
/// families that reach every part of the result range.
template <class T>
void binaryInputs(const Spec &s, uint64_t seed, std::vector<T> &a,
                  std::vector<T> &b) {
  using Lm = Lim<T>;
  Rng r{seed};
  std::vector<T> sp = specialValues<T>();
  sp.push_back(T(3));
  sp.push_back(T(-3));
  for (T p : sp)
    for (T q : sp) {
      a.push_back(p);
      b.push_back(q);
    }
  bool isPow = std::string(s.name) == "pow";
  // Results stay mostly finite: |y log2 x| up to a bit past the range.
  double range = Lm::emax + Lm::p + 10;
  while ((int64_t)a.size() < kN) {
    double u = r.uniform(), p, q;
    if (isPow) {
      if (u < 0.5) { // x = 2^e, y spread so that x^y covers the range
        double e = r.uniform(-30, 30);
        p = std::exp2(e);
        q = r.uniform(-1, 1) * range / std::max(std::fabs(e), 1.0);
      } else if (u < 0.65) { // x near 1, y large
        p = 1 + r.sign() * logUniform(r, -Lm::p, -1);
        q = r.sign() * logUniform(r, 0, Lm::p + 8);
      } else if (u < 0.8) { // x < 0: integer y (real) and half-integer (nan)
        p = -logUniform(r, -4, 4);
        q = std::round(r.uniform(-60, 60)) + (r.coin(0.1) ? 0.5 : 0);
      } else if (u < 0.9) { // every x, small y
        p = logUniform(r, Lm::dmin, Lm::emax + 0.999);
        q = r.uniform(-4, 4);
      } else { // anything
        p = r.sign() * logUniform(r, Lm::dmin, Lm::emax + 0.999);
        q = r.sign() * logUniform(r, -30, 30);
      }
    } else {
      if (u < 0.6) {
        p = r.sign() * logUniform(r, -30, 30);
        q = r.sign() * logUniform(r, -30, 30);
      } else if (u < 0.8) {
        p = r.sign() * logUniform(r, Lm::dmin, Lm::emax + 0.999);
        q = r.sign() * logUniform(r, Lm::dmin, Lm::emax + 0.999);
      } else {
        p = r.uniform(-2, 2);
        q = r.uniform(-2, 2);
      }
    }
    a.push_back((T)p);
    b.push_back((T)q);
  }
  a.resize(kN);
  b.resize(kN);
}

// ---- Errors ---------------------------------------------------------------

/// The spacing of T at |y| (subnormal spacing below the smallest normal,
/// the top binade's above the largest finite value).
template <class T> LD ulpAt(LD y) {
  using Lm = Lim<T>;
  int e = y == 0 ? Lm::emin : ilogbl(y);
  e = std::clamp(e, Lm::emin, Lm::emax);
  return ldexpl(1.0L, e - (Lm::p - 1));
}

/// Compares `got` with the exact value `want`: returns false for a
/// non-finite or signed-zero mismatch, else sets `ulps`.
template <class T> bool compare(T got, LD want, double &ulps) {
  using Lm = Lim<T>;
  ulps = 0;
  if (std::isnan(want))
    return std::isnan(got);
  if (std::isinf(want))
    return got == want;
  if (std::isnan(got))
    return false;
  const LD big = ldexpl(1.0L, Lm::emax + 1); // where T's rounding overflows
  if (fabsl(want) >= big)
    return got == (T)want;
  if (want == 0 && got == 0)
    return std::signbit(got) == std::signbit(want);
  LD g = std::isinf(got) ? copysignl(big, (LD)got) : (LD)got;
  ulps = (double)(fabsl(g - want) / ulpAt<T>(want));
  return true;
}

template <class T> std::string show(T v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", std::numeric_limits<T>::max_digits10,
                (double)v);
  return buf;
}
std::string showL(LD v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.21Lg", v);
  return buf;
}

struct Measured {
  std::string op, dtype;
  double maxUlp = 0;        ///< over body and tail calls: the asserted one
  double maxUlpBody = 0, maxUlpTail = 0;
  std::string worst;        ///< the input of maxUlp
  int64_t mismatches = 0;   ///< non-finite or signed-zero mismatches
  std::string firstMismatch;
  double maxUlpVsLibm = 0;  ///< body against scalar libm (finite values)
  int64_t differFromLibm = 0;     ///< body elements != scalar libm
  int64_t tailDiffersFromBody = 0; ///< same input, other result
  int64_t subnormalResults = 0;
};

template <class T> DType dtypeOf();
template <> DType dtypeOf<float>() { return DType::Float32; }
template <> DType dtypeOf<double>() { return DType::Float64; }

template <class T> NDArray toArray(const std::vector<T> &v) {
  NDArray a = NDArray::empty(dtypeOf<T>(), {(int64_t)v.size()});
  std::copy(v.begin(), v.end(), a.data<T>());
  return a;
}

template <class T> bool sameBits(T a, T b) {
  return (std::isnan(a) && std::isnan(b)) ||
         (a == b && std::signbit(a) == std::signbit(b));
}

/// Calls `fn` on elements [begin, begin + n) of the points.
template <class T>
NDArray call(const Function &fn, const std::vector<T> &a,
             const std::vector<T> &b, int64_t begin, int64_t n) {
  auto slice = [&](const std::vector<T> &v) {
    return toArray(std::vector<T>(v.begin() + begin, v.begin() + begin + n));
  };
  std::vector<NDArray> args{slice(a)};
  if (!b.empty())
    args.push_back(slice(b));
  NDArray res = fn(args).at(0);
  REQUIRE(res.dtype() == dtypeOf<T>());
  REQUIRE(res.size() == n);
  REQUIRE(res.isContiguous());
  return res;
}

template <class T> Measured measure(const Spec &s) {
  constexpr bool f32 = std::is_same_v<T, float>;
  Measured m;
  m.op = s.name;
  m.dtype = f32 ? "float32" : "float64";
  uint64_t seed = f32 ? 0xf32 : 0xf64; // FNV-1a of the name: fixed points
  for (char c : m.op)
    seed = (seed ^ (unsigned char)c) * 0x100000001b3ull;
  std::vector<T> a, b;
  Var x = thjit::vector("x", dtypeOf<T>());
  std::vector<Var> ins{x};
  Var out;
  if (s.build1) {
    a = unaryInputs<T>(s, seed);
    out = s.build1(x);
  } else {
    binaryInputs<T>(s, seed, a, b);
    Var y = thjit::vector("y", dtypeOf<T>());
    ins.push_back(y);
    out = s.build2(x, y);
  }
  FunctionOptions opts;
  opts.name = "math_" + m.op + "_" + m.dtype;
  Function fn = function(ins, {out}, opts); // FAST_RUN: the JIT

  // The body: one long call, whose vector loop does (nearly) everything.
  NDArray bodyRes = call(fn, a, b, 0, kN);
  const T *body = bodyRes.data<T>();
  // The tails: the first kTailPoints points again, in calls too short for
  // the main vector loop (its remainder: a narrower vector epilogue and
  // scalar libm calls).
  std::vector<T> tail(kTailPoints);
  for (int64_t i = 0; i < kTailPoints; i += kTailLength) {
    int64_t n = std::min(kTailLength, kTailPoints - i);
    NDArray r = call(fn, a, b, i, n);
    std::copy(r.data<T>(), r.data<T>() + n, tail.begin() + i);
  }

  for (int64_t i = 0; i < kN; ++i) {
    LD want = s.oracle1 ? s.oracle1((LD)a[i]) : s.oracle2((LD)a[i], (LD)b[i]);
    T lib;
    if constexpr (f32)
      lib = s.oracle1 ? s.libm32(a[i]) : s.libm32b(a[i], b[i]);
    else
      lib = s.oracle1 ? s.libm64(a[i]) : s.libm64b(a[i], b[i]);
    if (want != 0 && fabsl(want) < std::numeric_limits<T>::min())
      ++m.subnormalResults;
    for (int pass = 0; pass < (i < kTailPoints ? 2 : 1); ++pass) {
      T got = pass == 0 ? body[i] : tail[i];
      auto where = [&] {
        return s.name + std::string("(") + show(a[i]) +
               (b.empty() ? std::string() : ", " + show(b[i])) + ") = " +
               show(got) + (pass ? " (tail)" : "") + ", exact " +
               showL(want) + ", libm " + show(lib);
      };
      double ulps;
      if (!compare(got, want, ulps)) {
        if (m.mismatches++ == 0)
          m.firstMismatch = where();
        continue;
      }
      double &passMax = pass == 0 ? m.maxUlpBody : m.maxUlpTail;
      passMax = std::max(passMax, ulps);
      if (ulps > m.maxUlp) {
        m.maxUlp = ulps;
        m.worst = where();
      }
    }
    if (i < kTailPoints && !sameBits(body[i], tail[i]))
      ++m.tailDiffersFromBody;
    if (!sameBits(body[i], lib)) {
      ++m.differFromLibm;
      double d;
      if (std::isfinite(lib) && compare(body[i], (LD)lib, d))
        m.maxUlpVsLibm = std::max(m.maxUlpVsLibm, d);
    }
  }
  return m;
}

const std::vector<Measured> &measuredAll() {
  static const std::vector<Measured> all = [] {
    std::vector<Measured> v;
    for (const Spec &s : specs()) {
      v.push_back(measure<float>(s));
      v.push_back(measure<double>(s));
    }
    return v;
  }();
  return all;
}

bool tableRequested() {
  const char *e = std::getenv("THJIT_MATH_TABLE");
  return e && *e && std::string(e) != "0";
}

// ---- Vectorization --------------------------------------------------------

/// The libmvec symbols (_ZGV...) the host assembly of op(x) mentions.
std::set<std::string> libmvecCalls(const Spec &s, DType t) {
  Var x = thjit::vector("x", t);
  Graph g = s.build1 ? Graph({x}, {s.build1(x)}) : [&] {
    Var y = thjit::vector("y", t);
    return Graph({x, y}, {s.build2(x, y)});
  }();
  std::string asmText = codegen::emitAssembly(g);
  std::set<std::string> found;
  static const std::regex sym("_ZGV[bcde]N[0-9]+v+_[a-z0-9]+");
  for (std::sregex_iterator it(asmText.begin(), asmText.end(), sym), end;
       it != end; ++it)
    found.insert(it->str());
  return found;
}

/// Does the loop of sqrt use a packed square root (it calls no library)?
bool packedSqrt(DType t) {
  Var x = thjit::vector("x", t);
  std::string asmText = codegen::emitAssembly(Graph({x}, {thjit::sqrt(x)}));
  return asmText.find(t == DType::Float32 ? "sqrtps" : "sqrtpd") !=
         std::string::npos;
}

std::string join(const std::set<std::string> &s) {
  std::string r;
  for (const std::string &e : s)
    r += (r.empty() ? "" : ", ") + e;
  return r;
}

} // namespace

TEST_CASE("the ulp measure of the accuracy test", "[math]") {
  double u;
  const double dmax = std::numeric_limits<double>::max();
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK((compare<double>(1.0, 1.0L, u) && u == 0));
  CHECK((compare<double>(std::nextafter(1.0, 2.0), 1.0L, u) && u == 1));
  CHECK((compare<double>(1.0, 1.0L + 0x1p-54L, u) && u == 0.25));
  // Below 1 the spacing halves.
  CHECK((compare<double>(std::nextafter(1.0, 0.0), 1.0L, u) && u == 0.5));
  CHECK((compare<float>(1.0f, 1.0L - 0x1p-23L, u) && u == 2));
  // Subnormal and zero results: the subnormal spacing.
  CHECK((compare<double>(0x1p-1074, 0.0L, u) && u == 1));
  CHECK((compare<double>(0.0, 3 * 0x1p-1074L, u) && u == 3));
  CHECK((compare<float>(0.0f, 0x1p-126L, u) && u == 0x1p23));
  // Overflow: inf counts as 2^1024 where the exact value is finite in
  // double or rounds up to inf (0.75 ulp beyond the largest finite value
  // here); from 2^1024 on only inf is right.
  CHECK((compare<double>(inf, (long double)dmax, u) && u == 1));
  CHECK((compare<double>(dmax, 0x1p1024L - 0x1p969L, u) && u == 0.75));
  CHECK((compare<double>(inf, 0x1p1024L - 0x1p969L, u) && u == 0.25));
  CHECK((compare<double>(inf, 0x1p1024L, u) && u == 0));
  CHECK(!compare<double>(dmax, 0x1p1024L, u));
  CHECK(!compare<double>(dmax, 0x1p1025L, u));
  CHECK(!compare<double>(-inf, 0x1p1025L, u));
  CHECK((compare<float>(std::numeric_limits<float>::infinity(),
                        (long double)std::numeric_limits<float>::max(), u) &&
         u == 1));
  // Non-finite and signed zero expectations match exactly.
  CHECK(compare<double>(nan, (long double)nan, u));
  CHECK(!compare<double>(0.0, (long double)nan, u));
  CHECK(!compare<double>(nan, 1.0L, u));
  CHECK(!compare<double>(nan, (long double)inf, u));
  CHECK(!compare<double>(dmax, (long double)inf, u));
  CHECK(!compare<double>(-inf, (long double)inf, u));
  CHECK(compare<double>(-inf, -(long double)inf, u));
  CHECK(compare<double>(-0.0, -0.0L, u));
  CHECK(!compare<double>(0.0, -0.0L, u));
  CHECK(!compare<double>(-0.0, 0.0L, u));
}

TEST_CASE("JIT transcendentals stay within their ulp bounds", "[math]") {
  const std::vector<Measured> &all = measuredAll();
  for (const Measured &m : all) {
    const Bound &bound = kBounds.at(m.op);
    double limit = m.dtype == "float32" ? bound.f32 : bound.f64;
    INFO(m.op << " " << m.dtype << ": max " << m.maxUlp << " ulp at "
              << m.worst);
    CHECK(m.maxUlp <= limit);
    INFO("first non-finite or signed-zero mismatch: " << m.firstMismatch);
    CHECK(m.mismatches == 0);
  }
  if (tableRequested()) {
    std::cout << "op dtype max-ulp bound body-ulp tail-ulp tail!=body "
                 "body!=libm(max ulp) subnormal-results worst\n";
    for (const Measured &m : all) {
      const Bound &bound = kBounds.at(m.op);
      std::cout << m.op << " " << m.dtype << " " << m.maxUlp << " "
                << (m.dtype == "float32" ? bound.f32 : bound.f64) << " "
                << m.maxUlpBody << " " << m.maxUlpTail << " "
                << m.tailDiffersFromBody << "/" << kTailPoints << " "
                << m.differFromLibm << "/" << kN << "(" << m.maxUlpVsLibm
                << ") " << m.subnormalResults << "  " << m.worst << "\n";
    }
  }
}

TEST_CASE("JIT transcendental loops call libmvec", "[math]") {
#if !(defined(__x86_64__) && defined(__GLIBC__))
  WARN("libmvec is x86_64 glibc's: nothing to check on this host");
  return;
#endif
  std::set<std::string> required{"exp", "tanh", "log1p"};
  std::vector<std::string> notVectorized;
  for (const Spec &s : specs()) {
    for (DType t : {DType::Float32, DType::Float64}) {
      std::string label = std::string(s.name) + " " + dtypeName(t);
      if (std::string(s.name) == "sqrt") {
        if (!packedSqrt(t))
          notVectorized.push_back(label);
        continue;
      }
      std::set<std::string> calls = libmvecCalls(s, t);
      if (tableRequested())
        std::cout << label << ": " << join(calls) << "\n";
      if (required.count(s.name)) {
        INFO(label << " calls no libmvec function");
        CHECK(!calls.empty());
      }
      if (calls.empty())
        notVectorized.push_back(label);
    }
  }
  if (!notVectorized.empty()) {
    std::string list;
    for (const std::string &l : notVectorized)
      list += "\n  " + l;
    WARN("these loops do not vectorize (scalar libm calls):" << list);
  }
}
