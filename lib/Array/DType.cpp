//===- DType.cpp - Element types and NumPy's promotion rules --------------===//
#include "thjit/Array/DType.h"

#include <cstring>

namespace thjit {

uint16_t Half::fromFloat(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffffu;
  if (absx >= 0x7f800000u) // inf or nan (keep a quiet-nan bit)
    return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
  if (absx >= 0x477ff000u) // rounds to >= 65520: overflow to inf
    return sign | 0x7c00;
  if (absx < 0x38800000u) { // subnormal half (or zero)
    // Scale so that the half's subnormal unit (2^-24) becomes 1, then round
    // to nearest even in float arithmetic (exact for these magnitudes).
    float a;
    std::memcpy(&a, &absx, 4);
    float scaled = a * 16777216.0f; // 2^24
    uint32_t r = (uint32_t)scaled;
    float frac = scaled - (float)r;
    if (frac > 0.5f || (frac == 0.5f && (r & 1)))
      ++r;
    return sign | (uint16_t)r;
  }
  // Normal: rebias exponent, round mantissa to nearest even.
  uint32_t mant = absx & 0x7fffffu;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1)))
    ++h; // may carry into the exponent, which is the right result
  return sign | (uint16_t)h;
}

float Half::toFloat(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t x;
  if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    float f = (float)mant / 16777216.0f; // mant * 2^-24
    return sign ? -f : f;
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

const char *dtypeName(DType t) {
  switch (t) {
#define THJIT_NAME_CASE(NAME, CTYPE, STR, SHORT)                               \
  case DType::NAME:                                                            \
    return STR;
    THJIT_DTYPES(THJIT_NAME_CASE)
#undef THJIT_NAME_CASE
  }
  return "?";
}

const char *dtypeShortName(DType t) {
  switch (t) {
#define THJIT_SHORT_CASE(NAME, CTYPE, STR, SHORT)                              \
  case DType::NAME:                                                            \
    return SHORT;
    THJIT_DTYPES(THJIT_SHORT_CASE)
#undef THJIT_SHORT_CASE
  }
  return "?";
}

size_t itemSize(DType t) {
  return dispatchDType(t, [](auto v) { return sizeof(v); });
}

std::optional<DType> parseDType(const std::string &name) {
  for (int i = 0; i < kNumDTypes; ++i) {
    DType t = (DType)i;
    if (name == dtypeName(t) || name == dtypeShortName(t))
      return t;
  }
  static const struct {
    const char *alias;
    DType type;
  } aliases[] = {{"float", DType::Float64},  {"double", DType::Float64},
                 {"int", DType::Int64},      {"long", DType::Int64},
                 {"complex", DType::Complex128}, {"half", DType::Float16},
                 {"single", DType::Float32}, {"bool_", DType::Bool},
                 {"?", DType::Bool},         {"b", DType::Int8},
                 {"B", DType::UInt8},        {"h", DType::Int16},
                 {"H", DType::UInt16},       {"i", DType::Int32},
                 {"I", DType::UInt32},       {"l", DType::Int64},
                 {"L", DType::UInt64},       {"q", DType::Int64},
                 {"Q", DType::UInt64},       {"e", DType::Float16},
                 {"f", DType::Float32},      {"d", DType::Float64},
                 {"F", DType::Complex64},    {"D", DType::Complex128},
                 {"f2", DType::Float16},     {"f4", DType::Float32},
                 {"f8", DType::Float64},     {"i1", DType::Int8},
                 {"i2", DType::Int16},       {"i4", DType::Int32},
                 {"u1", DType::UInt8},       {"u2", DType::UInt16},
                 {"u4", DType::UInt32},      {"c8", DType::Complex64},
                 {"c16", DType::Complex128}};
  for (const auto &a : aliases)
    if (name == a.alias)
      return a.type;
  return std::nullopt;
}

// The bytes of an integer type.
static int intBytes(DType t) { return (int)itemSize(t); }

static DType signedOfBytes(int bytes) {
  switch (bytes) {
  case 1:
    return DType::Int8;
  case 2:
    return DType::Int16;
  case 4:
    return DType::Int32;
  default:
    return DType::Int64;
  }
}

// The smallest float that holds every value of an integer (or bool) type, as
// NumPy decides: 8-bit ints fit float16, 16-bit float32, wider float64.
static DType minFloatFor(DType t) {
  if (isBool(t))
    return DType::Float16;
  int bytes = intBytes(t);
  if (bytes == 1)
    return DType::Float16;
  if (bytes == 2)
    return DType::Float32;
  return DType::Float64;
}

static DType wider(DType a, DType b) { return itemSize(a) >= itemSize(b) ? a : b; }

DType promoteTypes(DType a, DType b) {
  if (a == b)
    return a;
  if (isBool(a))
    return b;
  if (isBool(b))
    return a;
  if (isComplex(a) || isComplex(b)) {
    if (isComplex(a) && isComplex(b))
      return wider(a, b);
    DType c = isComplex(a) ? a : b, other = isComplex(a) ? b : a;
    DType f = isFloat(other) ? other : minFloatFor(other);
    return promoteTypes(realPart(c), f) == DType::Float64 ? DType::Complex128
                                                          : c;
  }
  if (isFloat(a) || isFloat(b)) {
    if (isFloat(a) && isFloat(b))
      return wider(a, b);
    DType f = isFloat(a) ? a : b, i = isFloat(a) ? b : a;
    return wider(f, minFloatFor(i));
  }
  if (isSignedInt(a) == isSignedInt(b))
    return wider(a, b);
  DType s = isSignedInt(a) ? a : b, u = isSignedInt(a) ? b : a;
  if (intBytes(s) > intBytes(u))
    return s;
  if (intBytes(u) < 8)
    return signedOfBytes(2 * intBytes(u));
  return DType::Float64; // uint64 with any signed int
}

DType upcastToFloat(DType t) {
  if (isInexact(t))
    return t;
  return minFloatFor(t);
}

DType realPart(DType t) {
  if (t == DType::Complex64)
    return DType::Float32;
  if (t == DType::Complex128)
    return DType::Float64;
  return t;
}

DType sumResultType(DType t) {
  if (isBool(t) || isSignedInt(t))
    return DType::Int64;
  if (isUnsignedInt(t))
    return DType::UInt64;
  return t;
}

DType promoteWithPyScalar(DType t, PyScalarKind kind) {
  switch (kind) {
  case PyScalarKind::Bool:
    return t;
  case PyScalarKind::Int:
    return isBool(t) ? DType::Int64 : t;
  case PyScalarKind::Float:
    return isInexact(t) ? t : DType::Float64;
  case PyScalarKind::Complex:
    if (isComplex(t))
      return t;
    return t == DType::Float32 || t == DType::Float16 ? DType::Complex64
                                                      : DType::Complex128;
  }
  return t;
}

static DType floatXType = DType::Float64;
DType floatX() { return floatXType; }
void setFloatX(DType t) { floatXType = t; }

} // namespace thjit
