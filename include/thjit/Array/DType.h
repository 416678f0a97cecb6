//===- thjit/Array/DType.h - Element types ----------------------*- C++ -*-===//
///
/// \file
/// The element types of arrays and tensors, with NumPy's names, sizes and
/// promotion table (numpy.result_type between two array dtypes), and the
/// Python-scalar ("weak") promotion of NEP 50.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_ARRAY_DTYPE_H
#define THJIT_ARRAY_DTYPE_H

#include <complex>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace thjit {

#define THJIT_DTYPES(X)                                                        \
  X(Bool, bool, "bool", "b1")                                                  \
  X(Int8, int8_t, "int8", "i8")                                                \
  X(Int16, int16_t, "int16", "i16")                                            \
  X(Int32, int32_t, "int32", "i32")                                            \
  X(Int64, int64_t, "int64", "i64")                                            \
  X(UInt8, uint8_t, "uint8", "u8")                                             \
  X(UInt16, uint16_t, "uint16", "u16")                                         \
  X(UInt32, uint32_t, "uint32", "u32")                                         \
  X(UInt64, uint64_t, "uint64", "u64")                                         \
  X(Float16, Half, "float16", "f16")                                           \
  X(Float32, float, "float32", "f32")                                          \
  X(Float64, double, "float64", "f64")                                         \
  X(Complex64, std::complex<float>, "complex64", "c64")                        \
  X(Complex128, std::complex<double>, "complex128", "c128")

enum class DType : uint8_t {
#define THJIT_DTYPE_ENUM(NAME, CTYPE, STR, SHORT) NAME,
  THJIT_DTYPES(THJIT_DTYPE_ENUM)
#undef THJIT_DTYPE_ENUM
};
constexpr int kNumDTypes = 14;

/// IEEE binary16, a storage type: arithmetic goes through float.
struct Half {
  uint16_t bits = 0;
  Half() = default;
  Half(float f) : bits(fromFloat(f)) {}
  operator float() const { return toFloat(bits); }
  static uint16_t fromFloat(float f);
  static float toFloat(uint16_t h);
};

/// NumPy's name: "float64".
const char *dtypeName(DType t);
/// The short name used in printed types: "f64".
const char *dtypeShortName(DType t);
/// Bytes per element.
size_t itemSize(DType t);
/// Parses "float32", "f32", "float", "int", "double", "i8" ... NumPy's names.
std::optional<DType> parseDType(const std::string &name);

inline bool isBool(DType t) { return t == DType::Bool; }
inline bool isSignedInt(DType t) {
  return t >= DType::Int8 && t <= DType::Int64;
}
inline bool isUnsignedInt(DType t) {
  return t >= DType::UInt8 && t <= DType::UInt64;
}
inline bool isInteger(DType t) { return isSignedInt(t) || isUnsignedInt(t); }
inline bool isFloat(DType t) {
  return t >= DType::Float16 && t <= DType::Float64;
}
inline bool isComplex(DType t) {
  return t == DType::Complex64 || t == DType::Complex128;
}
/// Float or complex: the types gradients flow through.
inline bool isInexact(DType t) { return isFloat(t) || isComplex(t); }

/// numpy.result_type(a, b) for two array dtypes.
DType promoteTypes(DType a, DType b);
/// The float type NumPy computes an integer's transcendental in
/// (np.exp(int8) is float16, np.exp(int32) float64); floats and complex are
/// unchanged.
DType upcastToFloat(DType t);
/// The real type of a complex one (complex64 -> float32); others unchanged.
DType realPart(DType t);
/// The dtype of the accumulator NumPy's sum/prod use: ints widen to int64 or
/// uint64, bool to int64.
DType sumResultType(DType t);

/// What kind of Python number a weakly typed literal is.
enum class PyScalarKind { Bool, Int, Float, Complex };
/// NEP 50: the dtype of `array(dtype t) OP python-scalar`.
DType promoteWithPyScalar(DType t, PyScalarKind kind);

/// The default float type (float64 unless changed, Theano's floatX).
DType floatX();
void setFloatX(DType t);

/// Maps a DType to its C++ element type and back.
template <DType T> struct DTypeTraits;
#define THJIT_DTYPE_TRAITS(NAME, CTYPE, STR, SHORT)                            \
  template <> struct DTypeTraits<DType::NAME> {                                \
    using type = CTYPE;                                                        \
  };
THJIT_DTYPES(THJIT_DTYPE_TRAITS)
#undef THJIT_DTYPE_TRAITS

/// Calls `f(T{})` with T the C++ element type of `t` (a value-initialized
/// element, only its type matters).
template <class F> decltype(auto) dispatchDType(DType t, F &&f) {
  switch (t) {
#define THJIT_DTYPE_CASE(NAME, CTYPE, STR, SHORT)                              \
  case DType::NAME:                                                            \
    return f(CTYPE{});
    THJIT_DTYPES(THJIT_DTYPE_CASE)
#undef THJIT_DTYPE_CASE
  }
  __builtin_unreachable();
}

} // namespace thjit

#endif
