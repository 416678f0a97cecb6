//===- thjit/Array/Scalar.h - One typed number ------------------*- C++ -*-===//
///
/// \file
/// A Scalar is one number with a dtype: an element read from an array, a
/// constant's value, a Python number of the script language. Conversions
/// between dtypes follow NumPy's casts, except that float to integer
/// conversion saturates and maps NaN to 0 (defined, as the JIT's
/// llvm.fptosi.sat is).
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_ARRAY_SCALAR_H
#define THJIT_ARRAY_SCALAR_H

#include "thjit/Array/DType.h"

#include <complex>
#include <string>

namespace thjit {

class Scalar {
public:
  Scalar() : Scalar(0.0) {}
  Scalar(double v, DType t = DType::Float64);
  Scalar(std::complex<double> v, DType t = DType::Complex128);
  static Scalar fromBool(bool v);
  static Scalar fromInt(int64_t v, DType t = DType::Int64);
  static Scalar fromUInt(uint64_t v, DType t = DType::UInt64);

  DType dtype() const { return type; }
  /// The value converted as NumPy's astype would (float to int saturates).
  double toDouble() const;
  int64_t toInt() const;
  uint64_t toUInt() const;
  bool toBool() const;
  std::complex<double> toComplex() const;
  /// The same value cast to another dtype.
  Scalar cast(DType t) const;

  /// Reads an element of dtype `t` at `p`.
  static Scalar load(const void *p, DType t);
  /// Writes this value, cast to `t`, at `p`.
  void store(void *p, DType t) const;

  /// Equal dtype and bits (NaN equals NaN): the identity of a constant.
  bool identical(const Scalar &other) const;
  size_t hash() const;

  /// How Python prints the value: "1.5", "3", "True", "(1+2j)".
  std::string str() const;

private:
  DType type;
  // One field is live according to the dtype's kind.
  union {
    bool b;
    int64_t i;
    uint64_t u;
    double f;
  };
  double imag = 0; // complex dtypes: real part in f.
};

} // namespace thjit

#endif
