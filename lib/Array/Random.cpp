//===- Random.cpp - NumPy's legacy RandomState streams --------------------===//
//
// MT19937 (Matsumoto and Nishimura) with NumPy's seeding, and the legacy
// distributions of numpy.random.RandomState built on its 32-bit outputs:
//
//  - random_sample: (a >> 5) * 2**26 + (b >> 6), divided by 2**53, from two
//    consecutive outputs a and b.
//  - gauss: the polar Box-Muller method. Each pair of accepted uniforms
//    gives two normals; the second is returned and the first is cached for
//    the next call. Seeding or setting the state drops the cache.
//  - randint: the closed range [low, high - 1] becomes an offset and a
//    span `rng`; values are drawn with the smallest all-ones mask covering
//    rng and rejected while above it. 64-bit dtypes draw one 32-bit output
//    per try when rng fits in 32 bits and two outputs (high word first)
//    otherwise; 32-bit dtypes draw one output per try; 16-bit, 8-bit and
//    bool dtypes cut a 32-bit output into 2, 4 or 32 pieces, low bits
//    first, with a buffer that lives for one call.
//  - shuffle: Fisher-Yates from the last element down, each index from
//    random_interval (a masked rejection like randint's).
//
//===----------------------------------------------------------------------===//
#include "thjit/Array/Random.h"
#include "thjit/Support/Error.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace thjit {

namespace {

constexpr int kN = RandomState::kStateWords;
constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;

constexpr int64_t kMaxSeed = 0xffffffffLL;

/// init_genrand: the linear recurrence that fills the key from one word.
void initGenrand(std::array<uint32_t, kN> &key, uint32_t s) {
  key[0] = s;
  for (int i = 1; i < kN; ++i) {
    uint32_t prev = key[i - 1];
    key[i] = 1812433253U * (prev ^ (prev >> 30)) + (uint32_t)i;
  }
}

/// init_by_array: init_genrand(19650218) mixed with the key words.
void initByArray(std::array<uint32_t, kN> &key,
                 const std::vector<uint32_t> &words) {
  initGenrand(key, 19650218U);
  size_t len = words.size();
  int i = 1;
  size_t j = 0;
  for (size_t k = std::max<size_t>(kN, len); k > 0; --k) {
    uint32_t prev = key[i - 1];
    key[i] =
        (key[i] ^ ((prev ^ (prev >> 30)) * 1664525U)) + words[j] + (uint32_t)j;
    ++i;
    ++j;
    if (i >= kN) {
      key[0] = key[kN - 1];
      i = 1;
    }
    if (j >= len)
      j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    uint32_t prev = key[i - 1];
    key[i] = (key[i] ^ ((prev ^ (prev >> 30)) * 1566083941U)) - (uint32_t)i;
    ++i;
    if (i >= kN) {
      key[0] = key[kN - 1];
      i = 1;
    }
  }
  key[0] = 0x80000000U; // A non-zero state whatever the key.
}

void checkSeed(int64_t s) {
  if (s < 0 || s > kMaxSeed)
    throw ValueError("Seed must be between 0 and 2**32 - 1");
}

/// The smallest 2**k - 1 that is >= v.
uint64_t maskCovering(uint64_t v) {
  v |= v >> 1;
  v |= v >> 2;
  v |= v >> 4;
  v |= v >> 8;
  v |= v >> 16;
  v |= v >> 32;
  return v;
}

void checkShape(const Shape &shape) {
  for (int64_t d : shape)
    if (d < 0)
      throw ValueError("negative dimensions are not allowed");
}

/// Pieces of `Bits` bits cut from 32-bit outputs, lowest first; the buffer
/// lasts as long as the object (one randint call), as in NumPy.
template <int Bits> class PieceSource {
public:
  explicit PieceSource(RandomState &rs) : rs(rs) {}
  uint32_t next() {
    if constexpr (Bits == 32) {
      return rs.nextUInt32();
    } else {
      if (left == 0) {
        buf = rs.nextUInt32();
        left = 32 / Bits - 1;
      } else {
        buf >>= Bits;
        --left;
      }
      return buf & ((1U << Bits) - 1);
    }
  }

private:
  RandomState &rs;
  uint32_t buf = 0;
  int left = 0;
};

/// Fills `n` elements of T with off + (a value in [0, rng]) drawn from
/// `Bits`-bit pieces by masked rejection.
template <int Bits, class T>
void fillBounded(RandomState &rs, T *out, int64_t n, uint64_t off,
                 uint64_t rng) {
  PieceSource<Bits> src(rs);
  uint32_t mask = (uint32_t)maskCovering(rng);
  for (int64_t i = 0; i < n; ++i) {
    uint32_t v = 0;
    if (rng != 0)
      while ((v = src.next() & mask) > rng) {
      }
    out[i] = (T)(off + v);
  }
}

/// The 64-bit dtypes: 32-bit draws when the span fits, else 64-bit ones.
template <class T>
void fillBounded64(RandomState &rs, T *out, int64_t n, uint64_t off,
                   uint64_t rng) {
  if (rng <= 0xffffffffULL) {
    fillBounded<32>(rs, out, n, off, rng);
    return;
  }
  uint64_t mask = maskCovering(rng);
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v;
    while ((v = rs.nextUInt64() & mask) > rng) {
    }
    out[i] = (T)(off + v);
  }
}

/// Bool: one bit per value from a buffered output, no rejection.
void fillBool(RandomState &rs, bool *out, int64_t n, uint64_t off,
              uint64_t rng) {
  PieceSource<1> src(rs);
  for (int64_t i = 0; i < n; ++i)
    out[i] = rng == 0 ? off != 0 : src.next() != 0;
}

/// The representable range of an integer dtype, clipped to int64.
void dtypeBounds(DType t, int64_t &lo, int64_t &hi) {
  switch (t) {
  case DType::Bool:
    lo = 0, hi = 1;
    return;
  case DType::Int8:
    lo = INT8_MIN, hi = INT8_MAX;
    return;
  case DType::Int16:
    lo = INT16_MIN, hi = INT16_MAX;
    return;
  case DType::Int32:
    lo = INT32_MIN, hi = INT32_MAX;
    return;
  case DType::Int64:
    lo = INT64_MIN, hi = INT64_MAX;
    return;
  case DType::UInt8:
    lo = 0, hi = UINT8_MAX;
    return;
  case DType::UInt16:
    lo = 0, hi = UINT16_MAX;
    return;
  case DType::UInt32:
    lo = 0, hi = UINT32_MAX;
    return;
  case DType::UInt64:
    lo = 0, hi = INT64_MAX;
    return;
  default:
    throw TypeError(std::string("Unsupported dtype dtype('") + dtypeName(t) +
                    "') for randint");
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Seeding and state
//===----------------------------------------------------------------------===//

RandomState::RandomState() {
  std::random_device dev;
  std::vector<uint32_t> words(kN);
  for (uint32_t &w : words)
    w = dev();
  initByArray(key, words);
  pos = kN;
}

RandomState::RandomState(int64_t s) { seed(s); }

void RandomState::seed(int64_t s) {
  checkSeed(s);
  initGenrand(key, (uint32_t)s);
  pos = kN;
  hasGauss = false;
  gauss = 0.0;
}

void RandomState::seedArray(const std::vector<int64_t> &words) {
  if (words.empty())
    throw ValueError("Seed must be non-empty");
  std::vector<uint32_t> w;
  w.reserve(words.size());
  for (int64_t s : words) {
    checkSeed(s);
    w.push_back((uint32_t)s);
  }
  initByArray(key, w);
  pos = kN;
  hasGauss = false;
  gauss = 0.0;
}

RandomState::State RandomState::getState() const {
  State s;
  s.key = key;
  s.pos = pos;
  s.hasGauss = hasGauss;
  s.gauss = gauss;
  return s;
}

void RandomState::setState(const State &s) {
  if (s.pos < 0 || s.pos > kN)
    throw ValueError("state position must be between 0 and 624");
  key = s.key;
  pos = s.pos;
  hasGauss = s.hasGauss;
  gauss = s.hasGauss ? s.gauss : 0.0;
}

//===----------------------------------------------------------------------===//
// Single draws
//===----------------------------------------------------------------------===//

void RandomState::reload() {
  auto twist = [&](int i, int next, int far) {
    uint32_t y = (key[i] & kUpperMask) | (key[next] & kLowerMask);
    key[i] = key[far] ^ (y >> 1) ^ ((y & 1U) ? kMatrixA : 0U);
  };
  int i = 0;
  for (; i < kN - kM; ++i)
    twist(i, i + 1, i + kM);
  for (; i < kN - 1; ++i)
    twist(i, i + 1, i + kM - kN);
  twist(kN - 1, 0, kM - 1);
  pos = 0;
}

uint32_t RandomState::nextUInt32() {
  if (pos >= kN)
    reload();
  uint32_t y = key[pos++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= y >> 18;
  return y;
}

uint64_t RandomState::nextUInt64() {
  uint64_t hi = nextUInt32();
  uint64_t lo = nextUInt32();
  return (hi << 32) | lo;
}

double RandomState::randomSample() {
  uint32_t a = nextUInt32() >> 5;
  uint32_t b = nextUInt32() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double RandomState::standardNormal() {
  if (hasGauss) {
    hasGauss = false;
    double v = gauss;
    gauss = 0.0;
    return v;
  }
  double x1, x2, r2;
  do {
    x1 = 2.0 * randomSample() - 1.0;
    x2 = 2.0 * randomSample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss = f * x1;
  hasGauss = true;
  return f * x2;
}

uint64_t RandomState::randomInterval(uint64_t max) {
  if (max == 0)
    return 0;
  uint64_t mask = maskCovering(max);
  uint64_t v;
  if (max <= 0xffffffffULL) {
    while ((v = nextUInt32() & mask) > max) {
    }
  } else {
    while ((v = nextUInt64() & mask) > max) {
    }
  }
  return v;
}

//===----------------------------------------------------------------------===//
// Arrays
//===----------------------------------------------------------------------===//

NDArray RandomState::rand(const Shape &shape) {
  checkShape(shape);
  NDArray out = NDArray::empty(DType::Float64, shape);
  double *p = out.data<double>();
  for (int64_t i = 0, n = out.size(); i < n; ++i)
    p[i] = randomSample();
  return out;
}

NDArray RandomState::randn(const Shape &shape) {
  checkShape(shape);
  NDArray out = NDArray::empty(DType::Float64, shape);
  double *p = out.data<double>();
  for (int64_t i = 0, n = out.size(); i < n; ++i)
    p[i] = standardNormal();
  return out;
}

NDArray RandomState::uniform(double low, double high, const Shape &shape) {
  double range = high - low;
  if (!std::isfinite(range))
    throw ValueError("Range exceeds valid bounds");
  checkShape(shape);
  NDArray out = NDArray::empty(DType::Float64, shape);
  double *p = out.data<double>();
  for (int64_t i = 0, n = out.size(); i < n; ++i)
    p[i] = low + range * randomSample();
  return out;
}

NDArray RandomState::normal(double loc, double scale, const Shape &shape) {
  if (!std::isnan(scale) && std::signbit(scale))
    throw ValueError("scale < 0");
  checkShape(shape);
  NDArray out = NDArray::empty(DType::Float64, shape);
  double *p = out.data<double>();
  for (int64_t i = 0, n = out.size(); i < n; ++i)
    p[i] = loc + scale * standardNormal();
  return out;
}

NDArray RandomState::randint(int64_t low, int64_t high, const Shape &shape,
                             DType t) {
  int64_t lo, hi;
  dtypeBounds(t, lo, hi);
  checkShape(shape);
  NDArray out = NDArray::empty(t, shape);
  int64_t n = out.size();
  if (n == 0)
    return out; // NumPy returns before looking at the bounds.
  if (low < lo)
    throw ValueError(std::string("low is out of bounds for ") + dtypeName(t));
  // high - 1 > hi, without overflowing (hi < INT64_MAX when it can fail).
  if (hi < std::numeric_limits<int64_t>::max() && high > hi + 1)
    throw ValueError(std::string("high is out of bounds for ") + dtypeName(t));
  if (low >= high)
    throw ValueError("low >= high");
  uint64_t off = (uint64_t)low;
  uint64_t rng = (uint64_t)(high - 1) - off;
  switch (t) {
  case DType::Bool:
    fillBool(*this, out.data<bool>(), n, off, rng);
    break;
  case DType::Int8:
    fillBounded<8>(*this, out.data<int8_t>(), n, off, rng);
    break;
  case DType::UInt8:
    fillBounded<8>(*this, out.data<uint8_t>(), n, off, rng);
    break;
  case DType::Int16:
    fillBounded<16>(*this, out.data<int16_t>(), n, off, rng);
    break;
  case DType::UInt16:
    fillBounded<16>(*this, out.data<uint16_t>(), n, off, rng);
    break;
  case DType::Int32:
    fillBounded<32>(*this, out.data<int32_t>(), n, off, rng);
    break;
  case DType::UInt32:
    fillBounded<32>(*this, out.data<uint32_t>(), n, off, rng);
    break;
  case DType::Int64:
    fillBounded64(*this, out.data<int64_t>(), n, off, rng);
    break;
  case DType::UInt64:
    fillBounded64(*this, out.data<uint64_t>(), n, off, rng);
    break;
  default:
    break; // Rejected by dtypeBounds.
  }
  return out;
}

NDArray RandomState::permutation(int64_t n) {
  // np.arange(n) is empty for n <= 0.
  NDArray out = NDArray::empty(DType::Int64, {std::max<int64_t>(n, 0)});
  int64_t *p = out.data<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    p[i] = i;
  shuffle(out);
  return out;
}

NDArray RandomState::permutation(const NDArray &x) {
  if (x.ndim() < 1)
    throw IndexError("x must be an integer or at least 1-dimensional");
  NDArray out = x.copy();
  shuffle(out);
  return out;
}

void RandomState::shuffle(NDArray &x) {
  if (x.ndim() < 1)
    throw TypeError("len() of unsized object");
  if (x.size() == 0)
    return; // A no-op that draws nothing.
  int64_t n = x.dim(0);
  if (x.ndim() == 1) {
    size_t item = itemSize(x.dtype());
    int64_t stride = x.strides()[0] * (int64_t)item;
    std::byte *base = x.data();
    std::byte tmp[16];
    for (int64_t i = n - 1; i >= 1; --i) {
      int64_t j = (int64_t)randomInterval((uint64_t)i);
      std::memcpy(tmp, base + j * stride, item);
      std::memcpy(base + j * stride, base + i * stride, item);
      std::memcpy(base + i * stride, tmp, item);
    }
    return;
  }
  for (int64_t i = n - 1; i >= 1; --i) {
    int64_t j = (int64_t)randomInterval((uint64_t)i);
    if (i == j)
      continue;
    NDArray a = x.select(0, i), b = x.select(0, j);
    NDArray saved = a.copy();
    a.assign(b);
    b.assign(saved);
  }
}

RandomState &globalRandomState() {
  static RandomState state;
  return state;
}

} // namespace thjit
