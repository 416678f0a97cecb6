//===- Scalar.cpp - One typed number --------------------------------------===//
#include "thjit/Array/Scalar.h"
#include "thjit/Support/Format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace thjit {

namespace {
enum class Kind { Bool, Signed, Unsigned, Float, Complex };
Kind kindOf(DType t) {
  if (isBool(t))
    return Kind::Bool;
  if (isSignedInt(t))
    return Kind::Signed;
  if (isUnsignedInt(t))
    return Kind::Unsigned;
  if (isFloat(t))
    return Kind::Float;
  return Kind::Complex;
}

// Float to integer with saturation and NaN -> 0 (as llvm.fptosi.sat).
template <class I> I saturate(double v) {
  if (std::isnan(v))
    return 0;
  if (v <= (double)std::numeric_limits<I>::min())
    return std::numeric_limits<I>::min();
  if (v >= (double)std::numeric_limits<I>::max())
    return std::numeric_limits<I>::max();
  return (I)v;
}
} // namespace

Scalar::Scalar(double v, DType t) : type(DType::Float64), f(v) {
  if (t != DType::Float64)
    *this = cast(t);
}

Scalar::Scalar(std::complex<double> v, DType t)
    : type(DType::Complex128), f(v.real()), imag(v.imag()) {
  if (t != DType::Complex128)
    *this = cast(t);
}

Scalar Scalar::fromBool(bool v) {
  Scalar s;
  s.type = DType::Bool;
  s.b = v;
  return s;
}

Scalar Scalar::fromInt(int64_t v, DType t) {
  Scalar s;
  s.type = DType::Int64;
  s.i = v;
  return t == DType::Int64 ? s : s.cast(t);
}

Scalar Scalar::fromUInt(uint64_t v, DType t) {
  Scalar s;
  s.type = DType::UInt64;
  s.u = v;
  return t == DType::UInt64 ? s : s.cast(t);
}

double Scalar::toDouble() const {
  switch (kindOf(type)) {
  case Kind::Bool:
    return b;
  case Kind::Signed:
    return (double)i;
  case Kind::Unsigned:
    return (double)u;
  case Kind::Float:
  case Kind::Complex:
    return f;
  }
  return 0;
}

int64_t Scalar::toInt() const {
  switch (kindOf(type)) {
  case Kind::Bool:
    return b;
  case Kind::Signed:
    return i;
  case Kind::Unsigned:
    return (int64_t)u;
  case Kind::Float:
  case Kind::Complex:
    return saturate<int64_t>(f);
  }
  return 0;
}

uint64_t Scalar::toUInt() const {
  switch (kindOf(type)) {
  case Kind::Bool:
    return b;
  case Kind::Signed:
    return (uint64_t)i;
  case Kind::Unsigned:
    return u;
  case Kind::Float:
  case Kind::Complex:
    return saturate<uint64_t>(f);
  }
  return 0;
}

bool Scalar::toBool() const {
  switch (kindOf(type)) {
  case Kind::Bool:
    return b;
  case Kind::Signed:
    return i != 0;
  case Kind::Unsigned:
    return u != 0;
  case Kind::Float:
    return f != 0;
  case Kind::Complex:
    return f != 0 || imag != 0;
  }
  return false;
}

std::complex<double> Scalar::toComplex() const {
  if (isComplex(type))
    return {f, imag};
  return {toDouble(), 0.0};
}

Scalar Scalar::cast(DType t) const {
  // Round-trip through memory of the target type: this applies integer
  // wrap-around, float rounding and float16 storage exactly once.
  alignas(16) std::byte tmp[16];
  store(tmp, t);
  return load(tmp, t);
}

Scalar Scalar::load(const void *p, DType t) {
  Scalar s;
  s.type = t;
  s.imag = 0;
  dispatchDType(t, [&](auto zero) {
    using T = decltype(zero);
    T v;
    std::memcpy(&v, p, sizeof(T));
    if constexpr (std::is_same_v<T, bool>)
      s.b = v;
    else if constexpr (std::is_same_v<T, Half>)
      s.f = (float)v;
    else if constexpr (std::is_floating_point_v<T>)
      s.f = v;
    else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
      s.i = v;
    else if constexpr (std::is_integral_v<T>)
      s.u = v;
    else {
      s.f = v.real();
      s.imag = v.imag();
    }
  });
  return s;
}

// A double rounded to float16 once. Going through float naively rounds
// twice and can land on a float16 tie that the double was not on; rounding
// to float with the "round to odd" rule first keeps the second rounding
// exact.
static Half halfFromDouble(double d) {
  float f = (float)d;
  if ((double)f == d || std::isnan(d))
    return Half(f);
  if (std::fabs((double)f) > std::fabs(d))
    f = std::nextafter(f, 0.0f); // truncate toward zero
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  bits |= 1; // sticky bit: the value was inexact
  std::memcpy(&f, &bits, 4);
  return Half(f);
}

// The real value of `s` as floating type R with a single rounding (integers
// convert directly, not through double, as NumPy's casts do).
template <class R> static R toReal(const Scalar &s) {
  if (isSignedInt(s.dtype()))
    return (R)s.toInt();
  if (isUnsignedInt(s.dtype()))
    return (R)s.toUInt();
  return (R)s.toDouble();
}

void Scalar::store(void *p, DType t) const {
  dispatchDType(t, [&](auto zero) {
    using T = decltype(zero);
    T v;
    if constexpr (std::is_same_v<T, bool>)
      v = toBool();
    else if constexpr (std::is_same_v<T, Half>)
      v = halfFromDouble(toDouble());
    else if constexpr (std::is_floating_point_v<T>)
      v = toReal<T>(*this);
    else if constexpr (std::is_integral_v<T>) {
      // Integers wrap as NumPy's astype does; floats saturate first.
      if (kindOf(type) == Kind::Float || kindOf(type) == Kind::Complex)
        v = saturate<T>(f);
      else
        v = (T)toUInt();
    } else {
      using R = typename T::value_type;
      if (kindOf(type) == Kind::Complex)
        v = T((R)f, (R)imag);
      else
        v = T(toReal<R>(*this), R(0));
    }
    std::memcpy(p, &v, sizeof(T));
  });
}

bool Scalar::identical(const Scalar &other) const {
  if (type != other.type)
    return false;
  switch (kindOf(type)) {
  case Kind::Bool:
    return b == other.b;
  case Kind::Signed:
    return i == other.i;
  case Kind::Unsigned:
    return u == other.u;
  case Kind::Float:
  case Kind::Complex:
    return std::memcmp(&f, &other.f, 8) == 0 &&
           std::memcmp(&imag, &other.imag, 8) == 0;
  }
  return false;
}

size_t Scalar::hash() const {
  size_t h = std::hash<int>()((int)type);
  uint64_t bits = 0;
  switch (kindOf(type)) {
  case Kind::Bool:
    bits = b;
    break;
  case Kind::Signed:
    bits = (uint64_t)i;
    break;
  case Kind::Unsigned:
    bits = u;
    break;
  case Kind::Float:
  case Kind::Complex: {
    std::memcpy(&bits, &f, 8);
    uint64_t ib;
    std::memcpy(&ib, &imag, 8);
    hashCombine(h, std::hash<uint64_t>()(ib));
    break;
  }
  }
  hashCombine(h, std::hash<uint64_t>()(bits));
  return h;
}

// The shortest decimal that reads back as the same float16 (NumPy prints
// float16 scalars with their own shortest digits, not float32's), laid out
// as Python lays out floats. Among the decimals of the shortest length that
// read back, the one nearest the value wins, as in NumPy's Dragon4.
static std::string formatHalf(double v) {
  if (!std::isfinite(v) || v == 0)
    return formatPyFloat(v);
  uint16_t bits = Half((float)v).bits;
  for (int digits = 1; digits <= 5; ++digits) {
    // The nearest `digits`-digit decimal and its two neighbours: the
    // decimals just below and above the value are among them.
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.*e", digits - 1, std::fabs(v));
    int exp10 = std::atoi(std::strchr(buf, 'e') + 1) - (digits - 1);
    long long nearest = 0;
    for (const char *c = buf; *c != 'e'; ++c)
      if (*c >= '0' && *c <= '9')
        nearest = nearest * 10 + (*c - '0');
    double best = 0;
    long long bestDigits = -1;
    for (long long m : {nearest - 1, nearest, nearest + 1}) {
      std::snprintf(buf, sizeof(buf), "%llde%d", m, exp10);
      double d = std::copysign(std::strtod(buf, nullptr), v);
      if (m <= 0 || halfFromDouble(d).bits != bits)
        continue;
      double err = std::fabs(d - v), bestErr = std::fabs(best - v);
      if (bestDigits < 0 || err < bestErr || (err == bestErr && m % 2 == 0)) {
        best = d;
        bestDigits = m;
      }
    }
    if (bestDigits >= 0)
      return formatPyFloat(best);
  }
  return formatPyFloat(v); // not reached: 5 digits always suffice
}

std::string Scalar::str() const {
  switch (kindOf(type)) {
  case Kind::Bool:
    return b ? "True" : "False";
  case Kind::Signed:
    return std::to_string(i);
  case Kind::Unsigned:
    return std::to_string(u);
  case Kind::Float:
    if (type == DType::Float16)
      return formatHalf(f);
    return formatPyFloat(f, type != DType::Float64);
  case Kind::Complex: {
    bool single = type == DType::Complex64;
    auto part = [single](double v) {
      std::string s = formatPyFloat(v, single);
      if (s.size() > 2 && s.substr(s.size() - 2) == ".0")
        s.resize(s.size() - 2);
      return s;
    };
    std::string im = part(imag);
    if (f == 0 && !std::signbit(f))
      return im + "j";
    // A negative zero imaginary part prints as "-0j", as in Python.
    bool plus = !std::signbit(imag) || std::isnan(imag);
    return "(" + part(f) + (plus ? "+" : "") + im + "j)";
  }
  }
  return "?";
}

} // namespace thjit
