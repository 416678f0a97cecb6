//===- Elemwise.cpp - Element-wise ops: types, kernels, gradients ---------===//
///
/// \file
/// Every element-wise op in one table: arity, how the result dtype follows
/// from the operands' (NumPy's rules), the scalar function of the reference
/// kernel, and the gradient. Operands of lower rank align on the right as in
/// NumPy; a dimension broadcasts only when its type says it has size 1
/// (Theano's rule, which keeps gradients exact).
///
/// The reference kernel computes in one of four types: int64 (bool and signed
/// ints), uint64, double (all floats) or complex<double>, then stores into
/// the result dtype, which applies integer wrap-around and float rounding.
///
//===----------------------------------------------------------------------===//
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <limits>
#include <numbers>
#include <tuple>
#include <unordered_map>

namespace thjit {

namespace {

using C = std::complex<double>;

// ---- Scalar functions ------------------------------------------------------
// Each functor has an operator() for the compute types it supports; integer
// arithmetic wraps (computed in unsigned) and never divides by zero.

template <class T> constexpr bool isSInt = std::is_same_v<T, int64_t>;
template <class T> constexpr bool isUInt = std::is_same_v<T, uint64_t>;
template <class T> constexpr bool isInt = isSInt<T> || isUInt<T>;
template <class T> constexpr bool isReal = isInt<T> || std::is_same_v<T, double>;

template <class T> T wrap(uint64_t v) { return (T)v; }

struct AddFn {
  template <class T> T operator()(T a, T b) const {
    if constexpr (isInt<T>)
      return wrap<T>((uint64_t)a + (uint64_t)b);
    else
      return a + b;
  }
};
struct SubFn {
  template <class T> T operator()(T a, T b) const {
    if constexpr (isInt<T>)
      return wrap<T>((uint64_t)a - (uint64_t)b);
    else
      return a - b;
  }
};
struct MulFn {
  template <class T> T operator()(T a, T b) const {
    if constexpr (isInt<T>)
      return wrap<T>((uint64_t)a * (uint64_t)b);
    else
      return a * b;
  }
};
struct TrueDivFn {
  template <class T> T operator()(T a, T b) const { return a / b; }
};

// NumPy's float floor division and modulo (npy_divmod).
static double floatMod(double a, double b) {
  double m = std::fmod(a, b);
  if (b == 0)
    return m;
  if (m != 0) {
    if ((b < 0) != (m < 0))
      m += b;
  } else {
    m = std::copysign(0.0, b);
  }
  return m;
}
static double floatFloorDiv(double a, double b) {
  if (b == 0)
    return a / b;
  double m = std::fmod(a, b);
  double div = (a - m) / b;
  if (m != 0 && ((b < 0) != (m < 0)))
    div -= 1.0;
  if (div == 0)
    return std::copysign(0.0, a / b);
  double fl = std::floor(div);
  if (div - fl > 0.5)
    fl += 1.0;
  return fl;
}

struct FloorDivFn {
  int64_t operator()(int64_t a, int64_t b) const {
    if (b == 0)
      return 0;
    if (b == -1)
      return wrap<int64_t>(0 - (uint64_t)a); // INT64_MIN // -1 wraps
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
      --q;
    return q;
  }
  uint64_t operator()(uint64_t a, uint64_t b) const { return b ? a / b : 0; }
  double operator()(double a, double b) const { return floatFloorDiv(a, b); }
};
struct ModFn {
  int64_t operator()(int64_t a, int64_t b) const {
    if (b == 0 || b == -1)
      return 0;
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0)))
      r += b;
    return r;
  }
  uint64_t operator()(uint64_t a, uint64_t b) const { return b ? a % b : 0; }
  double operator()(double a, double b) const { return floatMod(a, b); }
};
struct PowFn {
  template <class T> T operator()(T a, T b) const {
    if constexpr (isInt<T>) {
      if constexpr (isSInt<T>)
        if (b < 0)
          throw ValueError("Integers to negative integer powers are not "
                           "allowed.");
      uint64_t base = (uint64_t)a, e = (uint64_t)b, r = 1;
      while (e) {
        if (e & 1)
          r *= base;
        base *= base;
        e >>= 1;
      }
      return wrap<T>(r);
    } else {
      return std::pow(a, b);
    }
  }
};
struct MaximumFn {
  template <class T, class = std::enable_if_t<isReal<T>>>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, double>)
      if (std::isnan(a))
        return a;
    return a >= b ? a : b;
  }
};
struct MinimumFn {
  template <class T, class = std::enable_if_t<isReal<T>>>
  T operator()(T a, T b) const {
    if constexpr (std::is_same_v<T, double>)
      if (std::isnan(a))
        return a;
    return a <= b ? a : b;
  }
};
struct Arctan2Fn {
  double operator()(double a, double b) const { return std::atan2(a, b); }
};
struct EqFn {
  template <class T> bool operator()(T a, T b) const { return a == b; }
};
struct NeqFn {
  template <class T> bool operator()(T a, T b) const { return a != b; }
};
#define THJIT_ORDER_FN(NAME, OP)                                               \
  struct NAME {                                                                \
    template <class T, class = std::enable_if_t<isReal<T>>>                    \
    bool operator()(T a, T b) const {                                          \
      return a OP b;                                                           \
    }                                                                          \
  };
THJIT_ORDER_FN(LtFn, <)
THJIT_ORDER_FN(LeFn, <=)
THJIT_ORDER_FN(GtFn, >)
THJIT_ORDER_FN(GeFn, >=)
#undef THJIT_ORDER_FN
template <class T> bool truth(T v) { return v != T(0); }
struct LogicalAndFn {
  template <class T> bool operator()(T a, T b) const {
    return truth(a) && truth(b);
  }
};
struct LogicalOrFn {
  template <class T> bool operator()(T a, T b) const {
    return truth(a) || truth(b);
  }
};
struct LogicalXorFn {
  template <class T> bool operator()(T a, T b) const {
    return truth(a) != truth(b);
  }
};
struct BitAndFn {
  template <class T, class = std::enable_if_t<isInt<T>>>
  T operator()(T a, T b) const {
    return a & b;
  }
};
struct BitOrFn {
  template <class T, class = std::enable_if_t<isInt<T>>>
  T operator()(T a, T b) const {
    return a | b;
  }
};
struct BitXorFn {
  template <class T, class = std::enable_if_t<isInt<T>>>
  T operator()(T a, T b) const {
    return a ^ b;
  }
};

struct NegFn {
  template <class T> T operator()(T a) const {
    if constexpr (isInt<T>)
      return wrap<T>(0 - (uint64_t)a);
    else
      return -a;
  }
};
struct AbsFn {
  int64_t operator()(int64_t a) const {
    return a < 0 ? wrap<int64_t>(0 - (uint64_t)a) : a;
  }
  uint64_t operator()(uint64_t a) const { return a; }
  double operator()(double a) const { return std::fabs(a); }
  double operator()(C a) const { return std::abs(a); }
};
struct SignFn {
  template <class T, class = std::enable_if_t<isReal<T>>>
  T operator()(T a) const {
    if constexpr (std::is_same_v<T, double>)
      if (std::isnan(a))
        return a;
    return a > T(0) ? T(1) : (a < T(0) ? T(-1) : T(0));
  }
};
struct LogicalNotFn {
  template <class T> bool operator()(T a) const { return !truth(a); }
};
struct InvertFn {
  template <class T, class = std::enable_if_t<isInt<T>>>
  T operator()(T a) const {
    return ~a;
  }
};
struct SqrFn {
  template <class T> T operator()(T a) const { return MulFn()(a, a); }
};

// Float functions with complex versions where NumPy has them.
#define THJIT_FLOAT_FN(NAME, REAL, COMPLEX)                                    \
  struct NAME {                                                                \
    double operator()(double a) const { return REAL; }                         \
    C operator()(C a) const { return COMPLEX; }                                \
  };
#define THJIT_REAL_FN(NAME, REAL)                                              \
  struct NAME {                                                                \
    double operator()(double a) const { return REAL; }                         \
  };
THJIT_FLOAT_FN(ExpFn, std::exp(a), std::exp(a))
THJIT_FLOAT_FN(Exp2Fn, std::exp2(a), std::pow(C(2.0), a))
THJIT_FLOAT_FN(Expm1Fn, std::expm1(a), std::exp(a) - 1.0)
THJIT_FLOAT_FN(LogFn, std::log(a), std::log(a))
THJIT_FLOAT_FN(Log2Fn, std::log2(a), std::log(a) / std::numbers::ln2)
THJIT_FLOAT_FN(Log10Fn, std::log10(a), std::log10(a))
THJIT_FLOAT_FN(Log1pFn, std::log1p(a), std::log(1.0 + a))
THJIT_FLOAT_FN(SqrtFn, std::sqrt(a), std::sqrt(a))
THJIT_FLOAT_FN(SinFn, std::sin(a), std::sin(a))
THJIT_FLOAT_FN(CosFn, std::cos(a), std::cos(a))
THJIT_FLOAT_FN(TanFn, std::tan(a), std::tan(a))
THJIT_FLOAT_FN(ArcsinFn, std::asin(a), std::asin(a))
THJIT_FLOAT_FN(ArccosFn, std::acos(a), std::acos(a))
THJIT_FLOAT_FN(ArctanFn, std::atan(a), std::atan(a))
THJIT_FLOAT_FN(SinhFn, std::sinh(a), std::sinh(a))
THJIT_FLOAT_FN(CoshFn, std::cosh(a), std::cosh(a))
THJIT_FLOAT_FN(TanhFn, std::tanh(a), std::tanh(a))
THJIT_FLOAT_FN(ArcsinhFn, std::asinh(a), std::asinh(a))
THJIT_FLOAT_FN(ArccoshFn, std::acosh(a), std::acosh(a))
THJIT_FLOAT_FN(ArctanhFn, std::atanh(a), std::atanh(a))
THJIT_REAL_FN(FloorFn, std::floor(a))
THJIT_REAL_FN(CeilFn, std::ceil(a))
THJIT_REAL_FN(TruncFn, std::trunc(a))
THJIT_REAL_FN(ErfFn, std::erf(a))
THJIT_REAL_FN(ErfcFn, std::erfc(a))
THJIT_REAL_FN(SigmoidFn,
              a >= 0 ? 1 / (1 + std::exp(-a)) : std::exp(a) / (1 + std::exp(a)))
THJIT_REAL_FN(SoftplusFn, a > 0 ? a + std::log1p(std::exp(-a))
                                : std::log1p(std::exp(a)))
#undef THJIT_FLOAT_FN
#undef THJIT_REAL_FN
struct RoundFn { // half to even (the default rounding mode)
  template <class T, class = std::enable_if_t<isInt<T>>> T operator()(T a) const {
    return a;
  }
  double operator()(double a) const { return std::nearbyint(a); }
};
struct IsNanFn {
  template <class T> bool operator()(T a) const {
    if constexpr (std::is_same_v<T, double>)
      return std::isnan(a);
    else if constexpr (std::is_same_v<T, C>)
      return std::isnan(a.real()) || std::isnan(a.imag());
    else
      return false;
  }
};
struct IsInfFn {
  template <class T> bool operator()(T a) const {
    if constexpr (std::is_same_v<T, double>)
      return std::isinf(a);
    else if constexpr (std::is_same_v<T, C>)
      return std::isinf(a.real()) || std::isinf(a.imag());
    else
      return false;
  }
};
struct SwitchFn {
  template <class T> T operator()(T c, T a, T b) const {
    return truth(c) ? a : b;
  }
};
struct ClipFn {
  template <class T, class = std::enable_if_t<isReal<T>>>
  T operator()(T x, T lo, T hi) const {
    return MinimumFn()(MaximumFn()(x, lo), hi);
  }
};

// ---- The table -------------------------------------------------------------

/// How an op's result dtype follows from its operands'.
enum class Rule {
  Same,    ///< the promoted dtype (add, maximum, ...)
  Float,   ///< the promoted dtype upcast to a float (exp, arctan2, ...)
  Divide,  ///< the promoted dtype, float64 for bools and integers (true_div)
  Bool,    ///< bool (comparisons, logical ops, isnan)
  Integer, ///< the promoted dtype, which must be bool or an integer
  Real,    ///< the real type of the promoted dtype (abs)
  Select,  ///< the promoted dtype of operands 1 and 2 (switch)
  Cast,    ///< the attribute's dtype
};

/// What an op does with bool operands.
enum class BoolMode { Keep, AsInt8, Reject };

struct ElemInfo {
  int arity;
  Rule rule;
  bool complexOk;
  BoolMode boolMode;
  const char *doc;
};

ElemInfo info(OpKind kind) {
  using R = Rule;
  using B = BoolMode;
  switch (kind) {
    // clang-format off
  case OpKind::Add: return {2, R::Same, true, B::Keep, "a + b"};
  case OpKind::Sub: return {2, R::Same, true, B::Reject, "a - b"};
  case OpKind::Mul: return {2, R::Same, true, B::Keep, "a * b"};
  case OpKind::TrueDiv: return {2, R::Divide, true, B::Keep, "a / b (true division: integers give floats)"};
  case OpKind::FloorDiv: return {2, R::Same, false, B::AsInt8, "a // b, rounding toward -inf; integer division by zero gives 0"};
  case OpKind::Mod: return {2, R::Same, false, B::AsInt8, "a % b with the sign of b; integer modulo by zero gives 0"};
  case OpKind::Pow: return {2, R::Same, true, B::AsInt8, "a ** b"};
  case OpKind::Maximum: return {2, R::Same, false, B::Keep, "the larger of a and b (NaN if either is)"};
  case OpKind::Minimum: return {2, R::Same, false, B::Keep, "the smaller of a and b (NaN if either is)"};
  case OpKind::Arctan2: return {2, R::Float, false, B::Keep, "the angle of the point (b, a)"};
  case OpKind::Eq: return {2, R::Bool, true, B::Keep, "a == b"};
  case OpKind::Neq: return {2, R::Bool, true, B::Keep, "a != b"};
  case OpKind::Lt: return {2, R::Bool, false, B::Keep, "a < b"};
  case OpKind::Le: return {2, R::Bool, false, B::Keep, "a <= b"};
  case OpKind::Gt: return {2, R::Bool, false, B::Keep, "a > b"};
  case OpKind::Ge: return {2, R::Bool, false, B::Keep, "a >= b"};
  case OpKind::LogicalAnd: return {2, R::Bool, true, B::Keep, "a and b, element-wise truth values"};
  case OpKind::LogicalOr: return {2, R::Bool, true, B::Keep, "a or b, element-wise truth values"};
  case OpKind::LogicalXor: return {2, R::Bool, true, B::Keep, "a xor b, element-wise truth values"};
  case OpKind::BitAnd: return {2, R::Integer, false, B::Keep, "a & b on booleans and integers"};
  case OpKind::BitOr: return {2, R::Integer, false, B::Keep, "a | b on booleans and integers"};
  case OpKind::BitXor: return {2, R::Integer, false, B::Keep, "a ^ b on booleans and integers"};
  case OpKind::Neg: return {1, R::Same, true, B::Reject, "-x"};
  case OpKind::Abs: return {1, R::Real, true, B::Keep, "|x| (the modulus of a complex)"};
  case OpKind::Sign: return {1, R::Same, false, B::Reject, "-1, 0 or 1 (NaN stays NaN)"};
  case OpKind::LogicalNot: return {1, R::Bool, true, B::Keep, "not x, element-wise truth values"};
  case OpKind::Invert: return {1, R::Integer, false, B::Keep, "~x: bitwise not of integers, logical not of booleans"};
  case OpKind::Exp: return {1, R::Float, true, B::Keep, "e ** x"};
  case OpKind::Exp2: return {1, R::Float, true, B::Keep, "2 ** x"};
  case OpKind::Expm1: return {1, R::Float, true, B::Keep, "exp(x) - 1, accurate near 0"};
  case OpKind::Log: return {1, R::Float, true, B::Keep, "natural logarithm"};
  case OpKind::Log2: return {1, R::Float, true, B::Keep, "base-2 logarithm"};
  case OpKind::Log10: return {1, R::Float, true, B::Keep, "base-10 logarithm"};
  case OpKind::Log1p: return {1, R::Float, true, B::Keep, "log(1 + x), accurate near 0"};
  case OpKind::Sqrt: return {1, R::Float, true, B::Keep, "square root"};
  case OpKind::Sqr: return {1, R::Same, true, B::AsInt8, "x * x"};
  case OpKind::Sin: return {1, R::Float, true, B::Keep, "sine"};
  case OpKind::Cos: return {1, R::Float, true, B::Keep, "cosine"};
  case OpKind::Tan: return {1, R::Float, true, B::Keep, "tangent"};
  case OpKind::Arcsin: return {1, R::Float, true, B::Keep, "inverse sine"};
  case OpKind::Arccos: return {1, R::Float, true, B::Keep, "inverse cosine"};
  case OpKind::Arctan: return {1, R::Float, true, B::Keep, "inverse tangent"};
  case OpKind::Sinh: return {1, R::Float, true, B::Keep, "hyperbolic sine"};
  case OpKind::Cosh: return {1, R::Float, true, B::Keep, "hyperbolic cosine"};
  case OpKind::Tanh: return {1, R::Float, true, B::Keep, "hyperbolic tangent"};
  case OpKind::Arcsinh: return {1, R::Float, true, B::Keep, "inverse hyperbolic sine"};
  case OpKind::Arccosh: return {1, R::Float, true, B::Keep, "inverse hyperbolic cosine"};
  case OpKind::Arctanh: return {1, R::Float, true, B::Keep, "inverse hyperbolic tangent"};
  case OpKind::Floor: return {1, R::Float, false, B::Keep, "the largest integer <= x (as a float)"};
  case OpKind::Ceil: return {1, R::Float, false, B::Keep, "the smallest integer >= x (as a float)"};
  case OpKind::Round: return {1, R::Same, false, B::Keep, "the nearest integer, halves to even"};
  case OpKind::Trunc: return {1, R::Float, false, B::Keep, "x rounded toward zero (as a float)"};
  case OpKind::Erf: return {1, R::Float, false, B::Keep, "the error function"};
  case OpKind::Erfc: return {1, R::Float, false, B::Keep, "1 - erf(x), accurate for large x"};
  case OpKind::Sigmoid: return {1, R::Float, false, B::Keep, "1 / (1 + exp(-x)), without overflow"};
  case OpKind::Softplus: return {1, R::Float, false, B::Keep, "log(1 + exp(x)), without overflow"};
  case OpKind::IsNan: return {1, R::Bool, true, B::Keep, "x is NaN"};
  case OpKind::IsInf: return {1, R::Bool, true, B::Keep, "x is +inf or -inf"};
  case OpKind::Cast: return {1, R::Cast, true, B::Keep, "x converted to another dtype (float to int saturates, NaN gives 0)"};
  case OpKind::Switch: return {3, R::Select, true, B::Keep, "b where cond is false, a where it is true (Theano's switch)"};
  case OpKind::Clip: return {3, R::Same, false, B::Keep, "x limited to [lo, hi]"};
  // clang-format on
  default:
    return {0, R::Same, false, B::Keep, ""};
  }
}

/// Calls f(Fn{}) with the scalar functor of an element-wise op.
template <class F> decltype(auto) withScalarFn(OpKind kind, F &&f) {
  switch (kind) {
#define THJIT_FN_CASE(KIND)                                                    \
  case OpKind::KIND:                                                           \
    return f(KIND##Fn{});
    THJIT_FN_CASE(Add)
    THJIT_FN_CASE(Sub)
    THJIT_FN_CASE(Mul)
    THJIT_FN_CASE(TrueDiv)
    THJIT_FN_CASE(FloorDiv)
    THJIT_FN_CASE(Mod)
    THJIT_FN_CASE(Pow)
    THJIT_FN_CASE(Maximum)
    THJIT_FN_CASE(Minimum)
    THJIT_FN_CASE(Arctan2)
    THJIT_FN_CASE(Eq)
    THJIT_FN_CASE(Neq)
    THJIT_FN_CASE(Lt)
    THJIT_FN_CASE(Le)
    THJIT_FN_CASE(Gt)
    THJIT_FN_CASE(Ge)
    THJIT_FN_CASE(LogicalAnd)
    THJIT_FN_CASE(LogicalOr)
    THJIT_FN_CASE(LogicalXor)
    THJIT_FN_CASE(BitAnd)
    THJIT_FN_CASE(BitOr)
    THJIT_FN_CASE(BitXor)
    THJIT_FN_CASE(Neg)
    THJIT_FN_CASE(Abs)
    THJIT_FN_CASE(Sign)
    THJIT_FN_CASE(LogicalNot)
    THJIT_FN_CASE(Invert)
    THJIT_FN_CASE(Exp)
    THJIT_FN_CASE(Exp2)
    THJIT_FN_CASE(Expm1)
    THJIT_FN_CASE(Log)
    THJIT_FN_CASE(Log2)
    THJIT_FN_CASE(Log10)
    THJIT_FN_CASE(Log1p)
    THJIT_FN_CASE(Sqrt)
    THJIT_FN_CASE(Sqr)
    THJIT_FN_CASE(Sin)
    THJIT_FN_CASE(Cos)
    THJIT_FN_CASE(Tan)
    THJIT_FN_CASE(Arcsin)
    THJIT_FN_CASE(Arccos)
    THJIT_FN_CASE(Arctan)
    THJIT_FN_CASE(Sinh)
    THJIT_FN_CASE(Cosh)
    THJIT_FN_CASE(Tanh)
    THJIT_FN_CASE(Arcsinh)
    THJIT_FN_CASE(Arccosh)
    THJIT_FN_CASE(Arctanh)
    THJIT_FN_CASE(Floor)
    THJIT_FN_CASE(Ceil)
    THJIT_FN_CASE(Round)
    THJIT_FN_CASE(Trunc)
    THJIT_FN_CASE(Erf)
    THJIT_FN_CASE(Erfc)
    THJIT_FN_CASE(Sigmoid)
    THJIT_FN_CASE(Softplus)
    THJIT_FN_CASE(IsNan)
    THJIT_FN_CASE(IsInf)
    THJIT_FN_CASE(Switch)
    THJIT_FN_CASE(Clip)
#undef THJIT_FN_CASE
  default:
    throw CompileError(std::string("no scalar function for ") + opName(kind));
  }
}

// ---- Dtypes ----------------------------------------------------------------

std::string dtypeList(const std::vector<DType> &ts) {
  std::vector<std::string> names;
  for (DType t : ts)
    names.push_back(dtypeName(t));
  return join(names, ", ");
}

DType promoteAll(const std::vector<DType> &ts) {
  DType t = ts[0];
  for (size_t i = 1; i < ts.size(); ++i)
    t = promoteTypes(t, ts[i]);
  return t;
}

/// The dtype the kernel computes in (before the final store) and the result
/// dtype, or a TypeError that names the op and the operand dtypes.
} // namespace

ElemwiseDTypes elemwiseDTypes(OpKind kind, const std::vector<DType> &in,
                              std::optional<DType> castTo) {
  ElemInfo ei = info(kind);
  auto reject = [&](const std::string &why) {
    throw TypeError(std::string(opName(kind)) + ": " + why + " (operand " +
                    (in.size() > 1 ? "dtypes " : "dtype ") + dtypeList(in) +
                    ")");
  };
  if (ei.rule == Rule::Cast)
    return {in[0], *castTo};
  std::vector<DType> relevant = in;
  if (ei.rule == Rule::Select)
    relevant = {in[1], in[2]};
  DType p = promoteAll(relevant);
  if (isComplex(p) && !ei.complexOk)
    reject("not defined for complex numbers");
  if (isBool(p)) {
    if (ei.boolMode == BoolMode::Reject)
      reject("not defined for booleans; use logical_not / logical_xor or "
             "cast to an integer first");
    if (ei.boolMode == BoolMode::AsInt8)
      p = DType::Int8;
  }
  switch (ei.rule) {
  case Rule::Same:
  case Rule::Select:
    return {p, p};
  case Rule::Float: {
    DType f = upcastToFloat(p);
    return {f, f};
  }
  case Rule::Divide: {
    DType f = isInexact(p) ? p : DType::Float64;
    return {f, f};
  }
  case Rule::Bool:
    return {promoteAll(in), DType::Bool};
  case Rule::Integer:
    if (!isBool(p) && !isInteger(p))
      reject("only defined for booleans and integers");
    return {p, p};
  case Rule::Real:
    return {p, realPart(p)};
  case Rule::Cast:
    break;
  }
  return {p, p};
}

namespace {

template <class T> DType dtypeOfCType() {
  if constexpr (std::is_same_v<T, bool>)
    return DType::Bool;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DType::Int64;
  else if constexpr (std::is_same_v<T, uint64_t>)
    return DType::UInt64;
  else if constexpr (std::is_same_v<T, double>)
    return DType::Float64;
  else
    return DType::Complex128;
}

/// The typed loop: all operands already in compute type T and broadcast to
/// the result shape.
template <class T, class Fn, size_t... I>
NDArray loop(Fn fn, const std::vector<NDArray> &in, const Shape &shape,
             std::index_sequence<I...>) {
  using R = std::invoke_result_t<Fn, decltype(I, T{})...>;
  NDArray out = NDArray::empty(dtypeOfCType<R>(), shape);
  std::vector<const Shape *> strides;
  for (const NDArray &a : in)
    strides.push_back(&a.strides());
  strides.push_back(&out.strides());
  StridedWalker w(shape, strides);
  if (!w.valid())
    return out;
  R *o = out.data<R>();
  do {
    o[w.offset(sizeof...(I))] = fn(in[I].data<T>()[w.offset(I)]...);
  } while (w.next());
  return out;
}

template <class T, size_t N, class Fn>
NDArray runTyped(OpKind kind, Fn fn, const std::vector<NDArray> &in,
                 const Shape &shape) {
  auto check = []<size_t... I>(std::index_sequence<I...>) {
    return std::is_invocable_v<Fn, decltype(I, T{})...>;
  };
  if constexpr (check(std::make_index_sequence<N>())) {
    return loop<T>(fn, in, shape, std::make_index_sequence<N>());
  } else {
    throw TypeError(std::string(opName(kind)) + ": not defined for " +
                    dtypeName(in[0].dtype()));
  }
}

} // namespace

NDArray evalElemwise(OpKind kind, const std::vector<NDArray> &operands,
                     std::optional<DType> castTo) {
  ElemInfo ei = info(kind);
  if ((int)operands.size() != ei.arity)
    throw TypeError(std::string(opName(kind)) + " takes " +
                    std::to_string(ei.arity) + " operands, got " +
                    std::to_string(operands.size()));
  std::vector<DType> dts;
  for (const NDArray &a : operands)
    dts.push_back(a.dtype());
  ElemwiseDTypes d = elemwiseDTypes(kind, dts, castTo);
  if (kind == OpKind::Cast)
    return operands[0].astype(d.result);
  Shape shape;
  for (const NDArray &a : operands)
    shape = broadcastShapes(shape, a.shape());
  DType k = kernelDType(d.compute);
  std::vector<NDArray> in;
  for (size_t i = 0; i < operands.size(); ++i) {
    NDArray a = operands[i];
    if (kind == OpKind::Switch && i == 0)
      a = a.astype(DType::Bool); // the condition counts only as a truth value
    else if (a.dtype() != d.compute)
      a = a.astype(d.compute); // NumPy casts operands to the loop's type
    if (a.dtype() != k)
      a = a.astype(k);
    in.push_back(a.broadcastTo(shape));
  }
  // The kernel holds booleans as int64, where ~ is not logical not.
  OpKind fnKind = kind == OpKind::Invert && isBool(d.compute)
                      ? OpKind::LogicalNot
                      : kind;
  NDArray out = withScalarFn(fnKind, [&](auto fn) -> NDArray {
    auto go = [&](auto zero) -> NDArray {
      using T = decltype(zero);
      switch (ei.arity) {
      case 1:
        return runTyped<T, 1>(kind, fn, in, shape);
      case 2:
        return runTyped<T, 2>(kind, fn, in, shape);
      default:
        return runTyped<T, 3>(kind, fn, in, shape);
      }
    };
    switch (k) {
    case DType::Int64:
      return go(int64_t{});
    case DType::UInt64:
      return go(uint64_t{});
    case DType::Float64:
      return go(double{});
    default:
      return go(C{});
    }
  });
  return out.dtype() == d.result ? out : out.astype(d.result);
}

// ---- Graph-level: types, shapes, evaluation ---------------------------------

namespace {

std::vector<const TensorType *> inferTypes(OpKind kind,
                                           const std::vector<Var> &ops,
                                           const Attrs &attrs) {
  ElemInfo ei = info(kind);
  const ScalarProgram *prog = attrs.program.get();
  if (kind == OpKind::Composite) {
    if (!prog || prog->outputs.empty())
      throw TypeError("composite needs a scalar program with an output");
    ei.arity = (int)prog->inputs.size();
    for (size_t i = 0; i < ops.size() && i < prog->inputs.size(); ++i)
      if (ops[i].dtype() != prog->inputs[i])
        throw TypeError("operand " + std::to_string(i) + " has dtype " +
                        dtypeName(ops[i].dtype()) + " but the program reads " +
                        dtypeName(prog->inputs[i]));
  }
  if ((int)ops.size() != ei.arity)
    throw TypeError("takes " + std::to_string(ei.arity) + " operands, got " +
                    std::to_string(ops.size()));
  if (kind == OpKind::Cast && !attrs.dtype)
    throw TypeError("cast needs a dtype");
  std::vector<DType> dts;
  int ndim = 0;
  for (const Var &v : ops) {
    dts.push_back(v.dtype());
    ndim = std::max(ndim, v.ndim());
  }
  std::vector<DType> resultDTypes;
  if (prog)
    for (int o : prog->outputs)
      resultDTypes.push_back(prog->dtypeOf(o));
  else
    resultDTypes.push_back(elemwiseDTypes(kind, dts, attrs.dtype).result);
  // Static sizes: a known size other than 1 wins; all 1 gives 1.
  std::vector<int64_t> shape(ndim, 1);
  for (int axis = 0; axis < ndim; ++axis) {
    int64_t size = 1;
    for (const Var &v : ops) {
      int a = axis - (ndim - v.ndim());
      if (a < 0)
        continue;
      int64_t s = v.type()->size(a);
      if (s == 1)
        continue;
      if (s == TensorType::kUnknown) {
        if (size == 1)
          size = TensorType::kUnknown;
        continue;
      }
      if (size != 1 && size != TensorType::kUnknown && size != s) {
        std::vector<std::string> types;
        for (const Var &o : ops)
          types.push_back(o.type()->str());
        throw ShapeError("operand shapes " + join(types, ", ") +
                         " do not match in dimension " + std::to_string(axis));
      }
      size = s;
    }
    shape[axis] = size;
  }
  std::vector<const TensorType *> types;
  for (DType t : resultDTypes)
    types.push_back(TensorType::get(t, shape));
  return types;
}

std::vector<SymShape> inferShape(const Node &node,
                                 const std::vector<SymShape> &in) {
  int ndim = node.resultTypes()[0]->ndim();
  SymShape out(ndim);
  for (int axis = 0; axis < ndim; ++axis) {
    // Any operand that does not broadcast in this axis has the size.
    for (int i = 0; i < node.numOperands() && !out[axis].defined(); ++i) {
      const Var &v = node.operand(i);
      int a = axis - (ndim - v.ndim());
      if (a >= 0 && !v.type()->isBroadcastable(a))
        out[axis] = in[i][a];
    }
    if (!out[axis].defined())
      out[axis] = constant(Scalar::fromInt(1));
  }
  return std::vector<SymShape>(node.numResults(), out);
}

std::vector<NDArray> evaluate(const Node &node,
                              const std::vector<NDArray> &in) {
  // Theano's rule: only dimensions the types call broadcastable stretch.
  int ndim = node.resultTypes()[0]->ndim();
  for (int axis = 0; axis < ndim; ++axis) {
    int64_t size = -1;
    int first = -1;
    for (int i = 0; i < node.numOperands(); ++i) {
      const Var &v = node.operand(i);
      int a = axis - (ndim - v.ndim());
      if (a < 0 || v.type()->isBroadcastable(a))
        continue;
      if (size < 0) {
        size = in[i].dim(a);
        first = i;
      } else if (in[i].dim(a) != size) {
        std::string hint;
        if (size == 1 || in[i].dim(a) == 1)
          hint = "; a dimension of size 1 broadcasts only when its type says "
                 "so (use a row/col variable, or dimshuffle/addbroadcast)";
        throw ShapeError("operand " + std::to_string(first) + " has shape " +
                         formatShape(in[first].shape()) + " and operand " +
                         std::to_string(i) + " has shape " +
                         formatShape(in[i].shape()) +
                         ": they differ in dimension " + std::to_string(axis) +
                         hint);
      }
    }
  }
  if (node.kind() != OpKind::Composite)
    return {evalElemwise(node.kind(), in, node.attrs().dtype)};
  // A composite: its ops one after the other, on whole arrays.
  const ScalarProgram &p = *node.attrs().program;
  std::vector<NDArray> vals = in;
  for (const ScalarProgram::Op &op : p.ops) {
    std::vector<NDArray> args;
    for (int a : op.args)
      args.push_back(vals[a]);
    vals.push_back(evalElemwise(op.kind, args, op.castTo));
  }
  std::vector<NDArray> results;
  for (int o : p.outputs)
    results.push_back(vals[o]);
  return results;
}

// ---- Gradients ----------------------------------------------------------

Var zerosFor(const Var &x) { return zerosLike(x); }

std::vector<Var> lop(const Node &node, const std::vector<Var> &gouts) {
  const Var &gz = gouts[0];
  std::vector<Var> x = node.operands();
  Var z = const_cast<Node &>(node).result(0);
  int n = node.numOperands();
  std::vector<Var> g(n);
  // Piecewise-constant ops have a zero gradient for float operands.
  auto zeroForFloats = [&] {
    for (int i = 0; i < n; ++i)
      if (isFloat(x[i].dtype()))
        g[i] = zerosFor(x[i]);
    return g;
  };
  switch (node.kind()) {
  case OpKind::Add:
    return {gz, gz};
  case OpKind::Sub:
    return {gz, neg(gz)};
  case OpKind::Mul:
    return {gz * x[1], gz * x[0]};
  case OpKind::TrueDiv:
    return {gz / x[1], neg(gz) * x[0] / sqr(x[1])};
  case OpKind::Mod:
    return {gz, neg(gz) * floor(x[0] / x[1])};
  case OpKind::Pow:
    return {gz * x[1] * pow(x[0], sub(x[1], 1)),
            where(eq(x[0], 0), 0, gz * z * log(x[0]))};
  case OpKind::Maximum:
  case OpKind::Minimum:
    return {gz * cast(eq(z, x[0]), gz.dtype()),
            gz * cast(eq(z, x[1]), gz.dtype())};
  case OpKind::Arctan2: {
    Var r2 = sqr(x[0]) + sqr(x[1]);
    return {gz * x[1] / r2, neg(gz) * x[0] / r2};
  }
  case OpKind::FloorDiv:
  case OpKind::Eq:
  case OpKind::Neq:
  case OpKind::Lt:
  case OpKind::Le:
  case OpKind::Gt:
  case OpKind::Ge:
  case OpKind::LogicalAnd:
  case OpKind::LogicalOr:
  case OpKind::LogicalXor:
  case OpKind::LogicalNot:
  case OpKind::Sign:
  case OpKind::Floor:
  case OpKind::Ceil:
  case OpKind::Round:
  case OpKind::Trunc:
  case OpKind::IsNan:
  case OpKind::IsInf:
    return zeroForFloats();
  case OpKind::Neg:
    return {neg(gz)};
  case OpKind::Abs:
    return {gz * sign(x[0])};
  case OpKind::Exp:
    return {gz * z};
  case OpKind::Exp2:
    return {gz * z * std::numbers::ln2};
  case OpKind::Expm1:
    return {gz * (z + 1)};
  case OpKind::Log:
    return {gz / x[0]};
  case OpKind::Log2:
    return {gz / (x[0] * std::numbers::ln2)};
  case OpKind::Log10:
    return {gz / (x[0] * std::numbers::ln10)};
  case OpKind::Log1p:
    return {gz / (x[0] + 1)};
  case OpKind::Sqrt:
    return {gz * 0.5 / z};
  case OpKind::Sqr:
    return {gz * 2 * x[0]};
  case OpKind::Sin:
    return {gz * cos(x[0])};
  case OpKind::Cos:
    return {neg(gz) * sin(x[0])};
  case OpKind::Tan:
    return {gz * (sqr(z) + 1)};
  case OpKind::Arcsin:
    return {gz / sqrt(sub(1, sqr(x[0])))};
  case OpKind::Arccos:
    return {neg(gz) / sqrt(sub(1, sqr(x[0])))};
  case OpKind::Arctan:
    return {gz / (sqr(x[0]) + 1)};
  case OpKind::Sinh:
    return {gz * cosh(x[0])};
  case OpKind::Cosh:
    return {gz * sinh(x[0])};
  case OpKind::Tanh:
    return {gz * sub(1, sqr(z))};
  case OpKind::Arcsinh:
    return {gz / sqrt(sqr(x[0]) + 1)};
  case OpKind::Arccosh:
    return {gz / sqrt(sqr(x[0]) - 1)};
  case OpKind::Arctanh:
    return {gz / sub(1, sqr(x[0]))};
  case OpKind::Erf:
    return {gz * (2 / std::sqrt(std::numbers::pi)) * exp(neg(sqr(x[0])))};
  case OpKind::Erfc:
    return {gz * (-2 / std::sqrt(std::numbers::pi)) * exp(neg(sqr(x[0])))};
  case OpKind::Sigmoid:
    return {gz * z * sub(1, z)};
  case OpKind::Softplus:
    return {gz * sigmoid(x[0])};
  case OpKind::Cast:
    if (isFloat(x[0].dtype()))
      return {cast(gz, x[0].dtype())};
    return {Var()};
  case OpKind::Switch:
    return {isFloat(x[0].dtype()) ? zerosFor(x[0]) : Var(), where(x[0], gz, 0),
            where(x[0], 0, gz)};
  case OpKind::Clip: {
    Var inside = logicalAnd(ge(x[0], x[1]), le(x[0], x[2]));
    return {where(inside, gz, 0), where(lt(x[0], x[1]), gz, 0),
            where(gt(x[0], x[2]), gz, 0)};
  }
  default:
    return std::vector<Var>(n); // bitwise ops: integers only
  }
}

/// Forward mode from the L-op: an element-wise L-op is the gradient times
/// each operand's partial derivative, element by element, so the L-op of a
/// tangent is that tangent's term of J . v.
std::vector<Var> rop(const Node &node, const std::vector<Var> &t) {
  if (!isFloat(node.resultTypes()[0]->dtype()))
    return {Var()};
  Var out;
  for (int i = 0; i < node.numOperands(); ++i) {
    if (!t[i].defined() || !isFloat(node.operand(i).dtype()))
      continue;
    Var term = lop(node, {t[i]})[i];
    if (term.defined())
      out = out.defined() ? out + term : term;
  }
  return {out};
}

} // namespace

void registerElemwiseOps(OpDef *table) {
  for (int k = 0; k < kNumOpKinds; ++k) {
    OpKind kind = (OpKind)k;
    if (opFamily(kind) != OpFamily::Elemwise)
      continue;
    OpDef &d = table[k];
    d.inferTypes = inferTypes;
    d.inferShape = inferShape;
    d.evaluate = evaluate;
    d.lop = kind == OpKind::Composite ? nullptr : lop; // fused after grad
    d.rop = kind == OpKind::Composite ? nullptr : rop;
    d.vectorize = elementwiseVectorize;
    d.doc = kind == OpKind::Composite
                ? "a fused element-wise sub-graph: its scalar program runs "
                  "once per element"
                : info(kind).doc;
  }
}

// ---- Builders ---------------------------------------------------------------

bool isFusible(const Node &n) {
  if (opFamily(n.kind()) != OpFamily::Elemwise || n.numResults() != 1 ||
      isComplex(n.resultTypes()[0]->dtype()))
    return false;
  for (const Var &o : n.operands())
    if (isComplex(o.dtype()))
      return false;
  return true;
}

std::vector<Var>
composeElementwise(const std::vector<Var> &roots,
                   const std::function<bool(const Node &)> &inside,
                   const std::function<Var(const Var &)> &operandOf) {
  auto program = std::make_shared<ScalarProgram>();
  std::vector<Var> operands;
  std::unordered_map<Var, int, VarHash> index; // program value of each Var
  int ops = 0;
  // Program values are numbered as made: op k is -(k + 1) until the inputs
  // are known and the ops follow them.
  auto addOp = [&](ScalarProgram::Op op) {
    // Members computed the same op (a cheap op copied into several
    // groups, a loop with several results): once is enough.
    for (size_t k = 0; k < program->ops.size(); ++k)
      if (program->ops[k] == op)
        return -(int)k - 1;
    program->ops.push_back(std::move(op));
    ++ops;
    return -(int)program->ops.size();
  };
  std::function<int(const Var &)> visit = [&](const Var &v) -> int {
    auto it = index.find(v);
    if (it != index.end())
      return it->second;
    Node *n = v.node();
    int id;
    bool isRoot = std::any_of(roots.begin(), roots.end(),
                              [&](const Var &r) { return r.node() == n; });
    if (!isRoot && !inside(*n)) {
      Var operand = operandOf(v);
      auto known = std::find(operands.begin(), operands.end(), operand);
      id = (int)(known - operands.begin());
      if (known == operands.end()) {
        operands.push_back(operand);
        program->inputs.push_back(operand.dtype());
      }
    } else if (n->kind() == OpKind::Composite) {
      // A composite inside: its program's ops, on the values of its
      // operands here.
      const ScalarProgram &inner = *n->attrs().program;
      std::vector<int> value;
      for (const Var &o : n->operands())
        value.push_back(visit(o));
      for (const ScalarProgram::Op &op : inner.ops) {
        ScalarProgram::Op copy = op;
        for (int &a : copy.args)
          a = value[a];
        value.push_back(addOp(copy));
      }
      id = value[inner.outputs[v.index()]];
    } else {
      ScalarProgram::Op op{n->kind(), {}, v.dtype(), n->attrs().dtype};
      for (const Var &o : n->operands())
        op.args.push_back(visit(o));
      id = addOp(op);
    }
    index[v] = id;
    return id;
  };
  std::vector<int> outs;
  for (const Var &root : roots)
    outs.push_back(visit(root));
  int numInputs = (int)program->inputs.size();
  auto renumber = [&](int id) { return id >= 0 ? id : numInputs - id - 1; };
  for (ScalarProgram::Op &op : program->ops)
    for (int &a : op.args)
      a = renumber(a);
  for (int o : outs)
    program->outputs.push_back(renumber(o));
  if (ops < 2)
    return {}; // nothing to fuse
  Attrs attrs;
  attrs.program = program;
  return makeOp(OpKind::Composite, operands, attrs);
}

Var composeElementwise(const Var &root,
                       const std::function<bool(const Node &)> &inside,
                       const std::function<Var(const Var &)> &operandOf) {
  std::vector<Var> r = composeElementwise(std::vector<Var>{root}, inside, operandOf);
  return r.empty() ? Var() : r[0];
}

Var fuse(const Var &root) {
  if (!isFusible(*root.node()))
    return root;
  Var fused = composeElementwise(
      root,
      [](const Node &n) {
        return isFusible(n) && n.kind() != OpKind::Composite;
      },
      [](const Var &v) { return v; });
  return fused ? fused : root;
}

Var elemwise(OpKind kind, const std::vector<Operand> &operands) {
  return makeOp(kind, asTensors(operands, opName(kind)))[0];
}

#define THJIT_BINARY_BUILDER(FN, KIND)                                         \
  Var FN(const Operand &a, const Operand &b) {                                 \
    return elemwise(OpKind::KIND, {a, b});                                     \
  }
THJIT_BINARY_BUILDER(add, Add)
THJIT_BINARY_BUILDER(sub, Sub)
THJIT_BINARY_BUILDER(mul, Mul)
THJIT_BINARY_BUILDER(trueDiv, TrueDiv)
THJIT_BINARY_BUILDER(floorDiv, FloorDiv)
THJIT_BINARY_BUILDER(mod, Mod)
THJIT_BINARY_BUILDER(pow, Pow)
THJIT_BINARY_BUILDER(maximum, Maximum)
THJIT_BINARY_BUILDER(minimum, Minimum)
THJIT_BINARY_BUILDER(arctan2, Arctan2)
THJIT_BINARY_BUILDER(eq, Eq)
THJIT_BINARY_BUILDER(neq, Neq)
THJIT_BINARY_BUILDER(lt, Lt)
THJIT_BINARY_BUILDER(le, Le)
THJIT_BINARY_BUILDER(gt, Gt)
THJIT_BINARY_BUILDER(ge, Ge)
THJIT_BINARY_BUILDER(logicalAnd, LogicalAnd)
THJIT_BINARY_BUILDER(logicalOr, LogicalOr)
THJIT_BINARY_BUILDER(logicalXor, LogicalXor)
THJIT_BINARY_BUILDER(bitwiseAnd, BitAnd)
THJIT_BINARY_BUILDER(bitwiseOr, BitOr)
THJIT_BINARY_BUILDER(bitwiseXor, BitXor)
#undef THJIT_BINARY_BUILDER

#define THJIT_UNARY_BUILDER(FN, KIND)                                          \
  Var FN(const Var &x) { return elemwise(OpKind::KIND, {x}); }
THJIT_UNARY_BUILDER(neg, Neg)
THJIT_UNARY_BUILDER(abs, Abs)
THJIT_UNARY_BUILDER(sign, Sign)
THJIT_UNARY_BUILDER(logicalNot, LogicalNot)
THJIT_UNARY_BUILDER(invert, Invert)
THJIT_UNARY_BUILDER(exp, Exp)
THJIT_UNARY_BUILDER(exp2, Exp2)
THJIT_UNARY_BUILDER(expm1, Expm1)
THJIT_UNARY_BUILDER(log, Log)
THJIT_UNARY_BUILDER(log2, Log2)
THJIT_UNARY_BUILDER(log10, Log10)
THJIT_UNARY_BUILDER(log1p, Log1p)
THJIT_UNARY_BUILDER(sqrt, Sqrt)
THJIT_UNARY_BUILDER(sqr, Sqr)
THJIT_UNARY_BUILDER(sin, Sin)
THJIT_UNARY_BUILDER(cos, Cos)
THJIT_UNARY_BUILDER(tan, Tan)
THJIT_UNARY_BUILDER(arcsin, Arcsin)
THJIT_UNARY_BUILDER(arccos, Arccos)
THJIT_UNARY_BUILDER(arctan, Arctan)
THJIT_UNARY_BUILDER(sinh, Sinh)
THJIT_UNARY_BUILDER(cosh, Cosh)
THJIT_UNARY_BUILDER(tanh, Tanh)
THJIT_UNARY_BUILDER(arcsinh, Arcsinh)
THJIT_UNARY_BUILDER(arccosh, Arccosh)
THJIT_UNARY_BUILDER(arctanh, Arctanh)
THJIT_UNARY_BUILDER(floor, Floor)
THJIT_UNARY_BUILDER(ceil, Ceil)
THJIT_UNARY_BUILDER(round, Round)
THJIT_UNARY_BUILDER(trunc, Trunc)
THJIT_UNARY_BUILDER(erf, Erf)
THJIT_UNARY_BUILDER(erfc, Erfc)
THJIT_UNARY_BUILDER(sigmoid, Sigmoid)
THJIT_UNARY_BUILDER(softplus, Softplus)
THJIT_UNARY_BUILDER(isnan, IsNan)
THJIT_UNARY_BUILDER(isinf, IsInf)
#undef THJIT_UNARY_BUILDER

Var cast(const Var &x, DType dtype) {
  if (x.dtype() == dtype)
    return x;
  Attrs a;
  a.dtype = dtype;
  return makeOp(OpKind::Cast, {x}, a)[0];
}

Var where(const Operand &cond, const Operand &a, const Operand &b) {
  // The condition is typed on its own; a and b meet as one expression.
  Var c = asTensor(cond);
  std::vector<Var> ab = asTensors({a, b}, "switch");
  return makeOp(OpKind::Switch, {c, ab[0], ab[1]})[0];
}

Var clip(const Operand &x, const Operand &lo, const Operand &hi) {
  return elemwise(OpKind::Clip, {x, lo, hi});
}

} // namespace thjit
