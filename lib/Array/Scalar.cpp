//===- Scalar.cpp - One typed number --------------------------------------===//
#include "thjit/Array/Scalar.h"
#include "thjit/Support/Format.h"

#include <cmath>
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

void Scalar::store(void *p, DType t) const {
  dispatchDType(t, [&](auto zero) {
    using T = decltype(zero);
    T v;
    if constexpr (std::is_same_v<T, bool>)
      v = toBool();
    else if constexpr (std::is_same_v<T, Half>)
      v = Half((float)toDouble());
    else if constexpr (std::is_floating_point_v<T>)
      v = (T)toDouble();
    else if constexpr (std::is_integral_v<T>) {
      // Integers wrap as NumPy's astype does; floats saturate first.
      if (kindOf(type) == Kind::Float || kindOf(type) == Kind::Complex)
        v = saturate<T>(f);
      else
        v = (T)toUInt();
    } else {
      using R = typename T::value_type;
      auto c = toComplex();
      v = T((R)c.real(), (R)c.imag());
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

std::string Scalar::str() const {
  switch (kindOf(type)) {
  case Kind::Bool:
    return b ? "True" : "False";
  case Kind::Signed:
    return std::to_string(i);
  case Kind::Unsigned:
    return std::to_string(u);
  case Kind::Float:
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
    return "(" + part(f) + (imag >= 0 || std::isnan(imag) ? "+" : "") + im +
           "j)";
  }
  }
  return "?";
}

} // namespace thjit
