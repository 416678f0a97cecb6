//===- Print.cpp - NumPy-style printing of arrays -------------------------===//
//
// NDArray::repr() and NDArray::str() reproduce NumPy 1.24's array_repr and
// array_str with the default print options: precision 8, floatmode
// 'maxprec', threshold 1000, edgeitems 3, linewidth 75, sign '-'.
//
// Floats go through a port of NumPy's Dragon4 digit generator rather than
// std::to_chars: in scientific mode NumPy asks for more digits than the
// shortest representation (every element gets the same number of mantissa
// digits), and those extra digits are the exact binary value's digits with
// Dragon4's own final rounding, which no standard routine reproduces.
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/NDArray.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace thjit {

//===----------------------------------------------------------------------===//
// Arbitrary-precision unsigned integers, just what Dragon4 needs.
//===----------------------------------------------------------------------===//

namespace {
/// Just the operations Dragon4 needs, on little-endian 32-bit limbs.
class BigInt {
public:
  BigInt() = default;
  explicit BigInt(uint64_t v) {
    if (v)
      limbs.push_back((uint32_t)v);
    if (v >> 32)
      limbs.push_back((uint32_t)(v >> 32));
  }
  static BigInt pow2(unsigned n) {
    BigInt r(1);
    r.shiftLeft(n);
    return r;
  }

  bool isZero() const { return limbs.empty(); }

  void shiftLeft(unsigned n) {
    if (isZero() || n == 0)
      return;
    unsigned words = n / 32, bits = n % 32;
    limbs.insert(limbs.begin(), words, 0);
    if (bits == 0)
      return;
    uint32_t carry = 0;
    for (size_t i = words; i < limbs.size(); ++i) {
      uint32_t w = limbs[i];
      limbs[i] = (w << bits) | carry;
      carry = w >> (32 - bits);
    }
    if (carry)
      limbs.push_back(carry);
  }

  void mulSmall(uint32_t m) {
    uint64_t carry = 0;
    for (uint32_t &w : limbs) {
      uint64_t p = (uint64_t)w * m + carry;
      w = (uint32_t)p;
      carry = p >> 32;
    }
    if (carry)
      limbs.push_back((uint32_t)carry);
  }

  void mulPow10(int n) {
    for (; n >= 9; n -= 9)
      mulSmall(1000000000u);
    static const uint32_t small[] = {1,      10,      100,      1000,     10000,
                                     100000, 1000000, 10000000, 100000000};
    if (n > 0)
      mulSmall(small[n]);
  }

  void add(const BigInt &o) {
    if (o.limbs.size() > limbs.size())
      limbs.resize(o.limbs.size(), 0);
    uint64_t carry = 0;
    for (size_t i = 0; i < limbs.size(); ++i) {
      uint64_t s =
          (uint64_t)limbs[i] + carry + (i < o.limbs.size() ? o.limbs[i] : 0);
      limbs[i] = (uint32_t)s;
      carry = s >> 32;
    }
    if (carry)
      limbs.push_back((uint32_t)carry);
  }

  /// this -= o; requires this >= o.
  void sub(const BigInt &o) {
    int64_t borrow = 0;
    for (size_t i = 0; i < limbs.size(); ++i) {
      int64_t d = (int64_t)limbs[i] - borrow -
                  (i < o.limbs.size() ? (int64_t)o.limbs[i] : 0);
      borrow = d < 0;
      limbs[i] = (uint32_t)(d + (borrow ? (int64_t(1) << 32) : 0));
    }
    while (!limbs.empty() && limbs.back() == 0)
      limbs.pop_back();
  }

  friend int compare(const BigInt &a, const BigInt &b) {
    if (a.limbs.size() != b.limbs.size())
      return a.limbs.size() < b.limbs.size() ? -1 : 1;
    for (size_t i = a.limbs.size(); i-- > 0;)
      if (a.limbs[i] != b.limbs[i])
        return a.limbs[i] < b.limbs[i] ? -1 : 1;
    return 0;
  }

private:
  std::vector<uint32_t> limbs; // little-endian, no high zero limbs
};
} // namespace

//===----------------------------------------------------------------------===//
// Dragon4, as NumPy runs it (numpy/core/src/multiarray/dragon4.c): the
// "unique" digit mode with an optional maximum and minimum digit count.
//===----------------------------------------------------------------------===//

namespace {
/// Where a digit cutoff is counted from.
enum class Cutoff { FractionLength, TotalLength };

/// What to do with trailing zeros and the decimal point ('k', '.', '0', '-').
enum class Trim { None, Zeros, LeaveOneZero, DptZeros };

/// A finite float as mantissa * 2^exponent, the inputs of Dragon4.
struct FloatParts {
  uint64_t mantissa = 0;
  int exponent = 0;
  int mantissaBit = 0; // index of the highest set mantissa bit
  bool unequalMargins = false;
  bool negative = false;
};
} // namespace

/// Splits a value of float dtype `t` (held exactly in a double) into its IEEE
/// fields; the value must be finite.
static FloatParts decompose(double v, DType t) {
  uint64_t bits, fracBits, expField;
  int mantBits, bias;
  if (t == DType::Float16) {
    bits = Half((float)v).bits;
    mantBits = 10;
    bias = 15;
    expField = (bits >> 10) & 0x1f;
    fracBits = bits & 0x3ff;
  } else if (t == DType::Float32) {
    bits = std::bit_cast<uint32_t>((float)v);
    mantBits = 23;
    bias = 127;
    expField = (bits >> 23) & 0xff;
    fracBits = bits & 0x7fffff;
  } else {
    bits = std::bit_cast<uint64_t>(v);
    mantBits = 52;
    bias = 1023;
    expField = (bits >> 52) & 0x7ff;
    fracBits = bits & ((uint64_t(1) << 52) - 1);
  }
  FloatParts p;
  p.negative = std::signbit(v);
  if (expField != 0) {
    p.mantissa = (uint64_t(1) << mantBits) | fracBits;
    p.exponent = (int)expField - bias - mantBits;
    p.mantissaBit = mantBits;
    p.unequalMargins = expField != 1 && fracBits == 0;
  } else {
    p.mantissa = fracBits;
    p.exponent = 1 - bias - mantBits;
    p.mantissaBit = fracBits ? std::bit_width(fracBits) - 1 : 0;
    p.unequalMargins = false;
  }
  return p;
}

namespace {
/// Decimal digits and the power of ten of the first one.
struct Digits {
  std::string digits;
  int exponent = 0;
};
} // namespace

/// Generates the shortest digits that identify the value among its
/// neighbours, but at least `cutoffMin` and at most `cutoffMax` (-1: no
/// bound) counted per `mode`, rounding the last digit as NumPy does.
static Digits dragon4(const FloatParts &f, Cutoff mode, int cutoffMax,
                      int cutoffMin) {
  Digits out;
  if (f.mantissa == 0) {
    out.digits = "0";
    return out;
  }
  // value = scaledValue / scale; the margins are half the distance to the
  // neighbouring floats, scaled the same way.
  bool isEven = (f.mantissa & 1) == 0;
  BigInt value(f.mantissa), scale, marginLow, marginHigh;
  int e = f.exponent;
  if (f.unequalMargins) {
    if (e > 0) {
      value.shiftLeft(e + 2);
      scale = BigInt(4);
      marginLow = BigInt::pow2(e);
    } else {
      value.shiftLeft(2);
      scale = BigInt::pow2(-e + 2);
      marginLow = BigInt(1);
    }
  } else {
    if (e > 0) {
      value.shiftLeft(e + 1);
      scale = BigInt(2);
      marginLow = BigInt::pow2(e);
    } else {
      value.shiftLeft(1);
      scale = BigInt::pow2(-e + 1);
      marginLow = BigInt(1);
    }
  }
  auto syncHigh = [&] {
    marginHigh = marginLow;
    if (f.unequalMargins)
      marginHigh.shiftLeft(1);
  };
  syncHigh();

  // An estimate of floor(log10(v)) + 1 that is right or one too low.
  const double log10of2 = 0.30102999566398119521373889472449;
  int digitExponent =
      (int)std::ceil((double)(f.mantissaBit + e) * log10of2 - 0.69);
  // Values below the fractional cutoff start at the cutoff digit (and round
  // there).
  if (cutoffMax >= 0 && mode == Cutoff::FractionLength &&
      digitExponent <= -cutoffMax)
    digitExponent = -cutoffMax + 1;

  if (digitExponent > 0) {
    scale.mulPow10(digitExponent);
  } else if (digitExponent < 0) {
    value.mulPow10(-digitExponent);
    marginLow.mulPow10(-digitExponent);
    syncHigh();
  }
  if (compare(value, scale) >= 0) {
    ++digitExponent;
  } else {
    value.mulSmall(10);
    marginLow.mulSmall(10);
    syncHigh();
  }

  // NumPy's output buffer bounds the digit count; it never binds here.
  int cutoffMaxExponent = digitExponent - 16384;
  if (cutoffMax >= 0) {
    int desired =
        mode == Cutoff::TotalLength ? digitExponent - cutoffMax : -cutoffMax;
    cutoffMaxExponent = std::max(cutoffMaxExponent, desired);
  }
  int cutoffMinExponent = digitExponent;
  if (cutoffMin >= 0) {
    int desired =
        mode == Cutoff::TotalLength ? digitExponent - cutoffMin : -cutoffMin;
    cutoffMinExponent = std::min(cutoffMinExponent, desired);
  }
  out.exponent = digitExponent - 1;

  bool low = false, high = false;
  unsigned digit = 0;
  for (;;) {
    --digitExponent;
    // value < 10 * scale, so the quotient is one decimal digit.
    digit = 0;
    while (compare(value, scale) >= 0) {
      value.sub(scale);
      ++digit;
    }
    BigInt valueHigh = value;
    valueHigh.add(marginHigh);
    int cmp = compare(value, marginLow);
    low = isEven ? cmp <= 0 : cmp < 0;
    cmp = compare(valueHigh, scale);
    high = isEven ? cmp >= 0 : cmp > 0;
    if (((low || high) && digitExponent <= cutoffMinExponent) ||
        digitExponent == cutoffMaxExponent)
      break;
    out.digits += (char)('0' + digit);
    value.mulSmall(10);
    marginLow.mulSmall(10);
    syncHigh();
  }

  // Round the last digit: down when only the low neighbour is close, up when
  // only the high one is, else to nearest (ties to even).
  bool roundDown = low;
  if (low == high) {
    value.shiftLeft(1);
    int cmp = compare(value, scale);
    roundDown = cmp < 0;
    if (cmp == 0)
      roundDown = (digit & 1) == 0;
  }
  if (roundDown) {
    out.digits += (char)('0' + digit);
  } else if (digit < 9) {
    out.digits += (char)('0' + digit + 1);
  } else {
    while (!out.digits.empty() && out.digits.back() == '9')
      out.digits.pop_back();
    if (out.digits.empty()) {
      out.digits = "1";
      ++out.exponent;
    } else {
      ++out.digits.back();
    }
  }
  return out;
}

namespace {
/// The options of NumPy's dragon4_positional / dragon4_scientific (unique
/// digit mode; -1 means unset).
struct FloatStyle {
  int precision = -1;
  int minDigits = -1;
  Trim trim = Trim::None;
  bool sign = false; // print '+' for non-negative values
  int padLeft = -1;
  int padRight = -1;  // positional only
  int expDigits = -1; // scientific only
};
} // namespace

static std::string signOf(const FloatParts &p, bool plus) {
  if (p.negative)
    return "-";
  return plus ? "+" : "";
}

/// Trims trailing zeros of the fraction per `trim`; returns the fraction
/// digit count left.
static int trimFraction(std::string &s, int numFraction, Trim trim) {
  if (trim == Trim::None || numFraction == 0)
    return numFraction;
  while (s.back() == '0') {
    s.pop_back();
    --numFraction;
  }
  if (s.back() == '.') {
    if (trim == Trim::LeaveOneZero) {
      s += '0';
      ++numFraction;
    } else if (trim == Trim::DptZeros) {
      s.pop_back();
    }
  }
  return numFraction;
}

/// NumPy's FormatPositional with a fractional cutoff.
static std::string formatPositional(double v, DType t, const FloatStyle &o) {
  FloatParts p = decompose(v, t);
  std::string s = signOf(p, o.sign);
  int hasSign = (int)s.size();
  Digits d = dragon4(p, Cutoff::FractionLength, o.precision, o.minDigits);
  int numDigits = (int)d.digits.size(), numWhole, numFraction = 0;
  if (d.exponent >= 0) {
    numWhole = d.exponent + 1;
    if (numDigits <= numWhole) {
      s += d.digits + std::string(numWhole - numDigits, '0');
    } else {
      s += d.digits.substr(0, numWhole) + "." + d.digits.substr(numWhole);
      numFraction = numDigits - numWhole;
    }
  } else {
    int zeros = -(d.exponent + 1);
    s += "0." + std::string(zeros, '0') + d.digits;
    numFraction = zeros + numDigits;
    numWhole = 1;
  }
  if (o.trim != Trim::DptZeros && numFraction == 0)
    s += '.';
  int desiredFraction = std::max(o.minDigits, 0);
  if (o.trim == Trim::LeaveOneZero) {
    if (numFraction == 0) {
      s += '0';
      ++numFraction;
    }
  } else if (o.trim == Trim::None && desiredFraction > numFraction) {
    s += std::string(desiredFraction - numFraction, '0');
    numFraction = desiredFraction;
  }
  numFraction = trimFraction(s, numFraction, o.trim);
  if (o.padRight >= numFraction) {
    if (o.trim == Trim::DptZeros && numFraction == 0)
      s += ' ';
    s += std::string(o.padRight - numFraction, ' ');
  }
  if (o.padLeft > numWhole + hasSign)
    s.insert(0, o.padLeft - numWhole - hasSign, ' ');
  return s;
}

/// NumPy's FormatScientific: d.ddde+XX.
static std::string formatScientific(double v, DType t, const FloatStyle &o) {
  FloatParts p = decompose(v, t);
  std::string sign = signOf(p, o.sign);
  std::string s;
  int leftChars = 1 + (int)sign.size();
  if (o.padLeft > leftChars)
    s.assign(o.padLeft - leftChars, ' ');
  s += sign;
  Digits d =
      dragon4(p, Cutoff::TotalLength, o.precision < 0 ? -1 : o.precision + 1,
              o.minDigits < 0 ? -1 : o.minDigits + 1);
  s += d.digits[0];
  int numFraction = (int)d.digits.size() - 1;
  if (numFraction > 0)
    s += "." + d.digits.substr(1);
  if (o.trim != Trim::DptZeros && numFraction == 0)
    s += '.';
  int addDigits = std::max(o.minDigits, 0);
  if (o.trim == Trim::LeaveOneZero) {
    if (numFraction == 0) {
      s += '0';
      ++numFraction;
    }
  } else if (o.trim == Trim::None && addDigits > numFraction) {
    s += std::string(addDigits - numFraction, '0');
    numFraction = addDigits;
  }
  // Unlike the positional form, a bare '.' survives DptZeros here.
  if (o.trim != Trim::None && numFraction > 0) {
    while (s.back() == '0')
      s.pop_back();
    if (o.trim == Trim::LeaveOneZero && s.back() == '.')
      s += '0';
  }
  int exp = d.exponent;
  std::string expDigits = std::to_string(std::abs(exp));
  int minExpDigits = o.expDigits < 0 ? 2 : std::min(o.expDigits, 5);
  if ((int)expDigits.size() < minExpDigits)
    expDigits.insert(0, minExpDigits - expDigits.size(), '0');
  s += exp < 0 ? "e-" : "e+";
  return s + expDigits;
}

//===----------------------------------------------------------------------===//
// Element formatters: NumPy's FloatingFormat, ComplexFloatingFormat,
// IntegerFormat and BoolFormat, built from the elements that will be shown.
//===----------------------------------------------------------------------===//

constexpr int kPrecision = 8;

/// Whether max/min > 1000 computed in the dtype's own arithmetic (NumPy
/// divides two scalars of the array's type).
static bool ratioAbove1000(double maxVal, double minVal, DType t) {
  if (t == DType::Float16)
    return (float)Half((float)maxVal / (float)minVal) > 1000.0f;
  if (t == DType::Float32)
    return (float)maxVal / (float)minVal > 1000.0f;
  return maxVal / minVal > 1000.0;
}

namespace {
/// NumPy's FloatingFormat: looks at all the values once to choose positional
/// or scientific notation and the padding, then formats each value to the
/// same width.
class FloatFormatter {
public:
  FloatFormatter(const std::vector<double> &data, DType t, bool signPlus)
      : type(t), signPlus(signPlus) {
    std::vector<double> finite;
    bool negInf = false;
    for (double x : data) {
      if (std::isfinite(x))
        finite.push_back(x);
      else if (std::isinf(x) && x < 0)
        negInf = true;
    }
    // Scientific notation is chosen from the non-zero finite magnitudes.
    double maxVal = 0, minVal = INFINITY;
    for (double x : finite) {
      if (x == 0)
        continue;
      maxVal = std::max(maxVal, std::fabs(x));
      minVal = std::min(minVal, std::fabs(x));
    }
    if (maxVal > 0)
      expFormat =
          maxVal >= 1e8 || minVal < 1e-4 || ratioAbove1000(maxVal, minVal, t);

    if (finite.empty()) {
      padLeft = padRight = 0;
    } else if (expFormat) {
      // A first pass finds the longest mantissa; all elements then print
      // with that many digits.
      FloatStyle first;
      first.precision = kPrecision;
      first.trim = Trim::Zeros;
      first.sign = signPlus;
      int maxExp = 0;
      precision = 0;
      padLeft = 0;
      for (double x : finite) {
        std::string s = formatScientific(x, t, first);
        size_t ePos = s.find('e'), dot = s.find('.');
        maxExp = std::max(maxExp, (int)(s.size() - ePos - 1));
        precision = std::max(precision, (int)(ePos - dot - 1));
        padLeft = std::max(padLeft, (int)dot);
      }
      expSize = maxExp - 1;
      padRight = expSize + 2 + precision;
    } else {
      FloatStyle first;
      first.precision = kPrecision;
      first.trim = Trim::Zeros;
      first.sign = signPlus;
      padLeft = padRight = 0;
      for (double x : finite) {
        std::string s = formatPositional(x, t, first);
        size_t dot = s.find('.');
        padLeft = std::max(padLeft, (int)dot);
        padRight = std::max(padRight, (int)(s.size() - dot - 1));
      }
    }
    // Room for "nan" and "inf" (with the sign that may precede it).
    if (finite.size() != data.size()) {
      int infLen = 3 + (signPlus || negInf);
      int offset = padRight + 1;
      padLeft = std::max({padLeft, 3 - offset, infLen - offset});
    }
  }

  std::string operator()(double x) const {
    if (!std::isfinite(x)) {
      std::string s;
      if (std::isnan(x))
        s = signPlus ? "+nan" : "nan";
      else
        s = x < 0 ? "-inf" : signPlus ? "+inf" : "inf";
      int width = padLeft + padRight + 1;
      if ((int)s.size() < width)
        s.insert(0, width - s.size(), ' ');
      return s;
    }
    FloatStyle o;
    o.sign = signPlus;
    o.padLeft = padLeft;
    if (expFormat) {
      o.precision = precision;
      o.minDigits = precision;
      o.trim = Trim::None;
      o.expDigits = expSize;
      return formatScientific(x, type, o);
    }
    o.precision = kPrecision;
    o.minDigits = 0;
    o.trim = Trim::Zeros;
    o.padRight = padRight;
    return formatPositional(x, type, o);
  }

private:
  DType type;
  bool signPlus;
  bool expFormat = false;
  int precision = kPrecision;
  int padLeft = 0, padRight = 0, expSize = -1;
};
} // namespace

/// Formats every shown element to a string; all have the same width.
static std::vector<std::string> formatElements(const std::vector<Scalar> &vals,
                                               DType t, bool zeroDim) {
  std::vector<std::string> out;
  out.reserve(vals.size());
  if (isBool(t)) {
    for (const Scalar &v : vals)
      out.push_back(v.toBool() ? (zeroDim ? "True" : " True") : "False");
    return out;
  }
  if (isInteger(t)) {
    std::vector<std::string> strs;
    size_t width = 0;
    for (const Scalar &v : vals) {
      strs.push_back(isSignedInt(t) ? std::to_string(v.toInt())
                                    : std::to_string(v.toUInt()));
      width = std::max(width, strs.back().size());
    }
    for (std::string &s : strs)
      out.push_back(std::string(width - s.size(), ' ') + s);
    return out;
  }
  if (isFloat(t)) {
    std::vector<double> xs;
    for (const Scalar &v : vals)
      xs.push_back(v.toDouble());
    FloatFormatter fmt(xs, t, /*signPlus=*/false);
    for (double x : xs)
      out.push_back(fmt(x));
    return out;
  }
  // Complex: the real parts as usual, the imaginary parts always signed,
  // with the 'j' placed before the imaginary part's right padding.
  std::vector<double> re, im;
  for (const Scalar &v : vals) {
    re.push_back(v.toComplex().real());
    im.push_back(v.toComplex().imag());
  }
  DType part = realPart(t);
  FloatFormatter reFmt(re, part, false), imFmt(im, part, true);
  for (size_t i = 0; i < vals.size(); ++i) {
    std::string r = reFmt(re[i]), s = imFmt(im[i]);
    size_t end = s.find_last_not_of(' ') + 1;
    out.push_back(r + s.substr(0, end) + "j" + s.substr(end));
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Layout: NumPy's _formatArray.
//===----------------------------------------------------------------------===//

constexpr int64_t kThreshold = 1000;
constexpr int64_t kEdgeItems = 3;
constexpr int kLineWidth = 75;

namespace {
/// The elements that will be shown: every index, or the first and last
/// kEdgeItems of each long axis when the array is summarized.
struct ShownPart {
  std::vector<std::vector<int64_t>> indices; // per axis, original indices
  std::vector<bool> summarized;              // per axis
  Shape shape;                               // of the shown sub-array
};
} // namespace

static ShownPart selectShown(const NDArray &a) {
  ShownPart part;
  bool summarize = a.size() > kThreshold;
  for (int axis = 0; axis < a.ndim(); ++axis) {
    int64_t n = a.dim(axis);
    std::vector<int64_t> idx;
    bool cut = summarize && n > 2 * kEdgeItems;
    for (int64_t i = 0; i < n; ++i)
      if (!cut || i < kEdgeItems || i >= n - kEdgeItems)
        idx.push_back(i);
    part.shape.push_back((int64_t)idx.size());
    part.indices.push_back(std::move(idx));
    part.summarized.push_back(cut);
  }
  return part;
}

/// Reads the shown elements in row-major order of the shown sub-array.
static std::vector<Scalar> gatherShown(const NDArray &a, const ShownPart &p) {
  std::vector<Scalar> vals;
  int64_t n = shapeSize(p.shape);
  vals.reserve(n);
  std::vector<int64_t> pos(a.ndim(), 0), index(a.ndim());
  for (int64_t k = 0; k < n; ++k) {
    for (int d = 0; d < a.ndim(); ++d)
      index[d] = p.indices[d][pos[d]];
    vals.push_back(a.at(index));
    for (int d = a.ndim() - 1; d >= 0; --d) {
      if (++pos[d] < p.shape[d])
        break;
      pos[d] = 0;
    }
  }
  return vals;
}

static std::string rstrip(const std::string &s) {
  size_t end = s.find_last_not_of(' ');
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

namespace {
/// Lays the formatted elements out in nested brackets, wrapping rows at the
/// line width.
class ArrayLayout {
public:
  ArrayLayout(const ShownPart &part, const std::vector<std::string> &words,
              std::string separator)
      : part(part), words(words), separator(std::move(separator)),
        strides(contiguousStrides(part.shape)) {}

  std::string format(const std::string &nextLinePrefix, int lineWidth) const {
    return recurse(0, 0, nextLinePrefix, lineWidth);
  }

private:
  // NumPy's _extendLine: wraps before `word` if it would pass the width,
  // unless the line holds nothing but the indentation.
  static void extendLine(std::string &s, std::string &line,
                         const std::string &word, int width,
                         const std::string &nextLinePrefix) {
    bool wrap = (int)(line.size() + word.size()) > width &&
                line.size() > nextLinePrefix.size();
    if (wrap) {
      s += rstrip(line) + "\n";
      line = nextLinePrefix;
    }
    line += word;
  }

  std::string recurse(int axis, int64_t offset, const std::string &hanging,
                      int width) const {
    int rank = (int)part.shape.size();
    if (axis == rank)
      return words[offset];
    int axesLeft = rank - axis;
    std::string nextHanging = hanging + " ";
    int nextWidth = width - 1;
    int64_t n = part.shape[axis];
    bool summary = part.summarized[axis];
    int64_t leading = summary ? kEdgeItems : 0;
    auto child = [&](int64_t i) {
      return recurse(axis + 1, offset + i * strides[axis], nextHanging,
                     nextWidth);
    };

    std::string s;
    if (axesLeft == 1) {
      // Room for the separator or closing bracket after each element.
      std::string sepStripped = rstrip(separator);
      int elemWidth = width - std::max<int>((int)sepStripped.size(), 1);
      std::string line = hanging;
      for (int64_t i = 0; i < leading; ++i) {
        extendLine(s, line, child(i), elemWidth, hanging);
        line += separator;
      }
      if (summary) {
        extendLine(s, line, "...", elemWidth, hanging);
        line += separator;
      }
      for (int64_t i = leading; i < n - 1; ++i) {
        extendLine(s, line, child(i), elemWidth, hanging);
        line += separator;
      }
      extendLine(s, line, child(n - 1), elemWidth, hanging);
      s += line;
    } else {
      // Blocks of rank r are separated by r - 1 newlines.
      std::string lineSep = rstrip(separator) + std::string(axesLeft - 1, '\n');
      for (int64_t i = 0; i < leading; ++i)
        s += hanging + child(i) + lineSep;
      if (summary)
        s += hanging + "..." + lineSep;
      for (int64_t i = leading; i < n - 1; ++i)
        s += hanging + child(i) + lineSep;
      s += hanging + child(n - 1);
    }
    return "[" + s.substr(hanging.size()) + "]";
  }

  const ShownPart &part;
  const std::vector<std::string> &words;
  std::string separator;
  Shape strides;
};
} // namespace

/// NumPy's array2string for a non-empty array.
static std::string arrayToString(const NDArray &a, const std::string &sep,
                                 const std::string &prefix, int lineWidth) {
  ShownPart part = selectShown(a);
  std::vector<std::string> words =
      formatElements(gatherShown(a, part), a.dtype(), a.ndim() == 0);
  ArrayLayout layout(part, words, sep);
  return layout.format(" " + std::string(prefix.size(), ' '), lineWidth);
}

/// The dtypes whose values alone imply them: repr omits their dtype.
static bool dtypeIsImplied(DType t) {
  return t == DType::Float64 || t == DType::Int64 || t == DType::Bool ||
         t == DType::Complex128;
}

std::string NDArray::repr() const {
  if (!defined())
    return "array(<undefined>)";
  bool skipDType = dtypeIsImplied(type) && size() > 0;
  const std::string prefix = "array(";
  const std::string suffix = skipDType ? ")" : ",";
  std::string body;
  if (size() > 0)
    body = arrayToString(*this, ", ", prefix, kLineWidth - (int)suffix.size());
  else if (ndim() == 1)
    body = "[]";
  else // Empty arrays other than (0,) show their shape.
    body = "[], shape=" + formatShape(dims);
  std::string out = prefix + body + suffix;
  if (skipDType)
    return out;

  // The dtype goes on a new line when it would overflow the last one.
  std::string dtypeStr = std::string("dtype=") + dtypeName(type) + ")";
  size_t lastNewline = out.rfind('\n');
  size_t lastLine = lastNewline == std::string::npos
                        ? out.size()
                        : out.size() - lastNewline - 1;
  if ((int)(lastLine + dtypeStr.size() + 1) > kLineWidth)
    return out + "\n" + std::string(prefix.size(), ' ') + dtypeStr;
  return out + " " + dtypeStr;
}

std::string NDArray::str() const {
  if (!defined())
    return "<undefined>";
  // A 0-d array prints as its scalar would, with all its digits.
  if (ndim() == 0)
    return item().str();
  if (size() == 0)
    return "[]";
  return arrayToString(*this, " ", "", kLineWidth);
}

} // namespace thjit
