//===- GemmEmulatorTest.cpp - GEMM kernels' numerics, without a GPU -------===//
//
// Every GPU matrix-product kernel (lib/CodeGen/GPU/Gemm.h: tiled f32/f64,
// tensor-core f16/bf16, tf32, each also batched, each with large and small
// tiles) run on the host SIMT
// emulator (GPUEmulator.h), from its LLVM IR as generated and after the O3
// pipeline gemmPTX runs, against a float64 reference: shapes with partial
// tiles, transposed and negative strides, the fast (16-byte) and slow
// paths, beta == 0 over NaN, alpha == 0 over NaN, K == 0, batches, and C
// untouched outside its elements. The optimized IR runs its threads in
// reverse order, so a missing barrier shows in one of the two runs.
//
//===----------------------------------------------------------------------===//
#include "../../lib/CodeGen/GPU/Gemm.h"
#include "GPUEmulator.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace thjit::codegen;
using thjit::test::GPUEmulator;
using thjit::test::KernelArg;
using Path = GemmKernelSpec::Path;

namespace {

// Element storage, as the kernels see it.

uint16_t floatToHalf(float f) { // round to nearest even
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  x &= 0x7fffffff;
  if (x >= 0x7f800000)
    return sign | (x > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (x >= 0x477ff000) // 65520 and up round to infinity
    return sign | 0x7c00;
  if (x < 0x33000000) // below 2^-25: zero
    return sign;
  int e = int(x >> 23);
  uint32_t m = (x & 0x7fffff) | 0x800000;
  int shift = e < 113 ? 126 - e : 13; // subnormal results drop more bits
  uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
  if (rem > half || (rem == half && (r & 1)))
    ++r;
  if (e < 113)
    return uint16_t(sign | r);
  return uint16_t(sign | (((e - 112) << 10) + r - 0x400));
}

double halfToDouble(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY)
                                                   : std::ldexp(m | 1024, e - 25);
  return h & 0x8000 ? -v : v;
}

uint16_t floatToBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f))
    return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

double bf16ToDouble(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// cvt.rna.tf32.f32, for the reference of the tf32 path.
double tf32(double x) {
  float f = float(x);
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7f800000u) != 0x7f800000u)
    u += 0x1000u;
  u &= 0xffffe000u;
  std::memcpy(&f, &u, 4);
  return f;
}

int elemBytes(GemmType t) {
  return t == GemmType::Float64 ? 8 : t == GemmType::Float32 ? 4 : 2;
}

/// A matrix (or a batch of them) in a buffer of type t with guard elements
/// around it: element (z, r, c) at base + z * bs + r * rs + c * cs, strides
/// of any sign. The base is 64-byte aligned, plus `misalign` elements.
struct Buffer {
  GemmType type;
  int es;
  std::vector<char> bytes;
  char *base = nullptr;
  int64_t lo = 0, hi = 0; ///< offsets from base of the first/last element

  Buffer(GemmType t, int64_t batch, int64_t rows, int64_t cols, int64_t bs, int64_t rs,
         int64_t cs, int misalign)
      : type(t), es(elemBytes(t)) {
    auto extent = [](int64_t n, int64_t s, int64_t &l, int64_t &h) {
      if (n > 1)
        (s < 0 ? l : h) += (n - 1) * s;
    };
    extent(batch, bs, lo, hi);
    extent(rows, rs, lo, hi);
    extent(cols, cs, lo, hi);
    const int64_t guard = 64 / es, perLine = 64 / es;
    int64_t before = (guard - lo + perLine - 1) / perLine * perLine + misalign;
    int64_t total = before + hi + 1 + guard;
    bytes.assign(total * es + 64, 0);
    char *start = reinterpret_cast<char *>(
        (reinterpret_cast<uintptr_t>(bytes.data()) + 63) & ~uintptr_t(63));
    base = start + before * es;
    lo = -before; // lo..hi now spans every element of the buffer
    hi = total - before - 1;
  }
  double get(int64_t i) const {
    const char *p = base + i * es;
    switch (type) {
    case GemmType::Float64: {
      double x;
      std::memcpy(&x, p, 8);
      return x;
    }
    case GemmType::Float32: {
      float x;
      std::memcpy(&x, p, 4);
      return x;
    }
    default: {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return type == GemmType::Float16 ? halfToDouble(h) : bf16ToDouble(h);
    }
    }
  }
  /// Stores x rounded to the type; returns what is stored.
  double set(int64_t i, double x) {
    char *p = base + i * es;
    switch (type) {
    case GemmType::Float64:
      std::memcpy(p, &x, 8);
      break;
    case GemmType::Float32: {
      float f = float(x);
      std::memcpy(p, &f, 4);
      break;
    }
    default: {
      uint16_t h = type == GemmType::Float16 ? floatToHalf(float(x)) : floatToBF16(float(x));
      std::memcpy(p, &h, 2);
      break;
    }
    }
    return get(i);
  }
  void setNaN(int64_t i) { set(i, NAN); }
};

/// One product to check. Operands are op(A) (M x K) and op(B) (K x N).
struct Case {
  int64_t M, N, K;
  bool ta = false, tb = false; ///< stored transposed (column-major)
  int64_t pad = 0;             ///< extra elements per stored line
  int misalign = 0;            ///< elements off a 64-byte boundary (A, B, C)
  bool negA = false, negB = false, negC = false; ///< lines in reverse order
  bool generic = false;        ///< A and B with no stride 1
  double alpha = 1, beta = 0;
  bool nanC = false, nanAB = false; ///< C (beta == 0) or A, B (alpha == 0) NaN
  int64_t batch = 1;
  int64_t batchPad = 0; ///< extra elements between batch entries
  bool smallInts = false; ///< exact data: products and sums exact in float
  bool extraBlocks = false; ///< a grid one block larger in x and y
  /// C_in, which beta scales (C itself holds NaN: it is only written): laid
  /// out as C (0), one row broadcast down C (1), or column-major (2).
  int cin = 0;

  std::string str() const {
    std::ostringstream os;
    os << "M=" << M << " N=" << N << " K=" << K << (ta ? " A^T" : "") << (tb ? " B^T" : "")
       << " pad=" << pad << " misalign=" << misalign << (negA ? " negA" : "")
       << (negB ? " negB" : "") << (negC ? " negC" : "") << (generic ? " generic" : "")
       << " alpha=" << alpha << " beta=" << beta << (nanC ? " nanC" : "")
       << (nanAB ? " nanAB" : "") << " batch=" << batch << " batchPad=" << batchPad
       << (smallInts ? " smallInts" : "") << (extraBlocks ? " extraBlocks" : "")
       << " cin=" << cin;
    return os.str();
  }
};

/// Strides (batch, row, column) of a rows x cols operand stored as the
/// case says.
struct Layout {
  int64_t bs, rs, cs;
};

Layout layoutOf(int64_t rows, int64_t cols, bool trans, int64_t pad, bool neg, bool generic,
                int64_t batchPad) {
  Layout l;
  if (generic) { // neither stride 1
    l.rs = trans ? 2 : 3 * (cols + 1);
    l.cs = trans ? 2 * (rows + 1) : 3;
  } else if (!trans) {
    l.rs = cols + pad, l.cs = 1;
  } else {
    l.rs = 1, l.cs = rows + pad;
  }
  if (neg) // the lines in reverse order: the outer stride negated
    (std::abs(l.rs) >= std::abs(l.cs) ? l.rs : l.cs) *= -1;
  int64_t span = 1 + std::max<int64_t>(rows - 1, 0) * std::abs(l.rs) +
                 std::max<int64_t>(cols - 1, 0) * std::abs(l.cs);
  l.bs = span + batchPad;
  return l;
}

struct Result {
  int bad = 0;
  std::string first;
};

/// Runs one case on the loaded kernel; returns the number of wrong elements.
Result runCase(GPUEmulator &emu, const GemmKernelSpec &spec, const Case &c, uint32_t seed) {
  const GemmType t = spec.type;
  const int64_t nb = spec.batched ? c.batch : 1;
  Layout la = layoutOf(c.M, c.K, c.ta, c.pad, c.negA, c.generic, c.batchPad);
  Layout lb = layoutOf(c.K, c.N, c.tb, c.pad, c.negB, c.generic, c.batchPad + 8);
  Layout lc = layoutOf(c.M, c.N, false, c.pad, c.negC, false, c.batchPad + 16);
  Buffer A(t, nb, c.M, c.K, la.bs, la.rs, la.cs, c.misalign);
  Buffer B(t, nb, c.K, c.N, lb.bs, lb.rs, lb.cs, c.misalign);
  Buffer C(t, nb, c.M, c.N, lc.bs, lc.rs, lc.cs, c.misalign);
  // The mma paths read C_in at C's strides (Gemm.h).
  const int cin = spec.path == Path::Tiled ? c.cin : 0;
  Layout li = layoutOf(cin == 1 ? 1 : c.M, c.N, cin == 2, c.pad, c.negC, false,
                       c.batchPad + 24);
  if (cin == 1)
    li.rs = 0;
  Buffer Ci(t, nb, cin == 1 ? 1 : c.M, c.N, li.bs, li.rs, li.cs, c.misalign);

  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uni(-1, 1);
  std::uniform_int_distribution<int> small(-16, 16);
  auto value = [&] { return c.smallInts ? small(rng) / 8.0 : uni(rng); };
  // Every element of each buffer, guards included, gets a value: what the
  // reference reads is what was stored.
  std::vector<double> a(A.hi - A.lo + 1), bv(B.hi - B.lo + 1), cv(Ci.hi - Ci.lo + 1);
  for (int64_t i = A.lo; i <= A.hi; ++i)
    a[i - A.lo] = c.nanAB ? (A.setNaN(i), NAN) : A.set(i, value());
  for (int64_t i = B.lo; i <= B.hi; ++i)
    bv[i - B.lo] = c.nanAB ? (B.setNaN(i), NAN) : B.set(i, value());
  for (int64_t i = Ci.lo; i <= Ci.hi; ++i)
    cv[i - Ci.lo] = c.nanC ? (Ci.setNaN(i), NAN) : Ci.set(i, value());
  for (int64_t i = C.lo; i <= C.hi; ++i)
    C.setNaN(i);
  const std::vector<char> before = C.bytes, cInBefore = Ci.bytes;

  GemmTiling tiling = gemmTiling(spec);
  unsigned gx = unsigned((c.N + tiling.blockN - 1) / tiling.blockN);
  unsigned gy = unsigned((c.M + tiling.blockM - 1) / tiling.blockM);
  if (c.extraBlocks || !gx || !gy) // blocks past the edge must do nothing
    ++gx, ++gy;
  std::vector<KernelArg> args{(void *)A.base, (void *)B.base, (void *)C.base,
                              c.M, c.N, c.K, la.rs, la.cs, lb.rs, lb.cs, lc.rs, lc.cs};
  if (t == GemmType::Float64)
    args.insert(args.end(), {c.alpha, c.beta});
  else
    args.insert(args.end(), {float(c.alpha), float(c.beta)});
  if (spec.batched)
    args.insert(args.end(), {c.batch, la.bs, lb.bs, lc.bs});
  args.insert(args.end(), {(void *)Ci.base, li.rs, li.cs});
  if (spec.batched)
    args.push_back(li.bs);
  emu.launch(gemmKernelName(spec), {gx, gy, unsigned(nb)}, {unsigned(tiling.threads), 1, 1}, 0,
             args);

  // Tolerances: accumulation error (K + 2 roundings of the accumulator, of
  // the sum of |terms|) plus one rounding of the output to T.
  const double accEps = t == GemmType::Float64 ? 0x1p-53 : 0x1p-24;
  const double outEps = t == GemmType::Float16    ? 0x1p-11
                        : t == GemmType::BFloat16 ? 0x1p-8
                        : t == GemmType::Float32  ? 0x1p-24
                                                  : 0x1p-53;
  Result res;
  auto report = [&](const std::string &what) {
    if (res.bad++ == 0)
      res.first = what;
  };
  std::vector<bool> written(C.hi - C.lo + 1, false);
  for (int64_t z = 0; z < nb; ++z)
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) {
        int64_t ci = z * lc.bs + i * lc.rs + j * lc.cs;
        written[ci - C.lo] = true;
        double ref = 0, mag = 0;
        if (c.alpha != 0 && c.K > 0) {
          for (int64_t k = 0; k < c.K; ++k) {
            double x = a[z * la.bs + i * la.rs + k * la.cs - A.lo];
            double y = bv[z * lb.bs + k * lb.rs + j * lb.cs - B.lo];
            if (spec.path == Path::TF32)
              x = tf32(x), y = tf32(y);
            ref += x * y;
            mag += std::fabs(x * y);
          }
          ref *= c.alpha;
          mag *= std::fabs(c.alpha);
        }
        if (c.beta != 0) {
          const int64_t ii = z * li.bs + i * li.rs + j * li.cs - Ci.lo;
          ref += c.beta * cv[ii];
          mag += std::fabs(c.beta * cv[ii]);
        }
        double got = C.get(ci);
        double tol = (c.K + 2) * accEps * mag * 2 + outEps * std::fabs(ref) * 1.01;
        if (c.smallInts && t != GemmType::Float16 && t != GemmType::BFloat16)
          tol = 0; // exact
        if (!(std::fabs(got - ref) <= tol)) {
          std::ostringstream os;
          os << "C(" << z << ", " << i << ", " << j << ") = " << got << ", want " << ref
             << " (tolerance " << tol << ")";
          report(os.str());
        }
      }
  // Nothing else of C's buffer changed.
  for (int64_t i = C.lo; i <= C.hi; ++i)
    if (!written[i - C.lo] &&
        std::memcmp(C.base + i * C.es, before.data() + (C.base - C.bytes.data()) + i * C.es,
                    C.es)) {
      report("element " + std::to_string(i) + " outside C was written");
      break;
    }
  if (Ci.bytes != cInBefore)
    report("C_in was written");
  return res;
}

/// The odd shapes the small tiles are for: M, N and K from {1, 3, 31, 33,
/// 60, 65, 100}, every (M, N) with a K, layout and alpha / beta that vary
/// with it, so that each K, layout and scaling meets many shapes.
std::vector<Case> smallShapeCases(bool batched) {
  const std::array<int64_t, 7> sizes{1, 3, 31, 33, 60, 65, 100};
  std::vector<Case> cs;
  for (size_t i = 0; i < sizes.size(); ++i)
    for (size_t j = 0; j < sizes.size(); ++j) {
      if (batched && (i + j) % 4)
        continue; // a quarter of them, batched
      const size_t v = i * sizes.size() + j;
      Case c{sizes[i], sizes[j], sizes[(i + 3 * j) % sizes.size()], bool(v % 2),
             bool(v / 2 % 2)};
      c.pad = v % 3 == 0 ? 4 : v % 3 == 1 ? 0 : 1; // aligned rows or not
      c.alpha = v % 5 == 0 ? -1.5 : 1;
      c.beta = v % 4 == 0 ? 0 : v % 4 == 1 ? 0.5 : v % 4 == 2 ? -1 : 1;
      c.nanC = c.beta == 0 && v % 8 == 0;
      c.misalign = v % 7 == 3 ? 2 : v % 7 == 5 ? 1 : 0; // 8 bytes (f32) or 1 element off
      c.cin = int(v / 3 % 3);
      if (batched)
        c.batch = 1 + v % 3, c.batchPad = v % 2;
      cs.push_back(c);
    }
  return cs;
}

std::vector<Case> casesFor(const GemmKernelSpec &spec) {
  std::vector<Case> cs;
  if (spec.small)
    cs = smallShapeCases(spec.batched);
  if (spec.batched) {
    Case c{37, 70, 45};
    c.batch = 3, c.alpha = 1.5, c.beta = 0.5;
    cs.push_back(c); // aligned batch strides: fast path
    c = Case{130, 9, 33, true, false};
    c.batch = 2, c.pad = 4, c.nanC = true;
    cs.push_back(c);
    c = Case{33, 140, 20};
    c.batch = 2, c.batchPad = 1, c.beta = -1; // batch strides not multiples of V: slow path
    cs.push_back(c);
    c = Case{7, 7, 7, false, true};
    c.batch = 5, c.negA = c.negC = true, c.extraBlocks = true;
    cs.push_back(c);
    c = Case{37, 70, 45};
    c.batch = 3, c.beta = 1, c.cin = 1; // a bias row for every product
    cs.push_back(c);
    return cs;
  }
  // Shapes (partial tiles, one block and several, vectors) x layouts.
  for (auto [M, N, K] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {7, 33, 130}, {130, 7, 33}, {257, 130, 7}, {33, 257, 257}})
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        if ((M == 257 || N == 257) && ta != tb)
          continue; // the large ones in two layouts only, for time
        Case c{M, N, K, bool(ta), bool(tb)};
        c.pad = (M + N + ta) % 2 ? 4 : 0;
        c.beta = ta ? 0.5 : 0;
        cs.push_back(c);
      }
  Case c{128, 128, 64};
  c.beta = 1, c.alpha = -0.5; // whole tiles, every access 16 bytes
  cs.push_back(c);
  c = Case{130, 129, 70};
  c.pad = 1, c.alpha = 0.75, c.beta = -2; // odd leading dimensions: slow path
  cs.push_back(c);
  c = Case{130, 129, 70, false, true};
  c.misalign = 1, c.beta = 1; // pointers off 16 bytes: slow path
  cs.push_back(c);
  c = Case{66, 140, 19};
  c.generic = true, c.beta = 0.5; // no unit stride at all
  cs.push_back(c);
  c = Case{130, 136, 40};
  c.beta = 1, c.cin = 1; // C_in a broadcast row (a bias): 16-byte reads of it
  cs.push_back(c);
  c = Case{130, 136, 40, true, false};
  c.beta = -0.5, c.cin = 2; // C_in column-major: read element by element
  cs.push_back(c);
  c = Case{66, 140, 19, true, true};
  c.generic = true;
  cs.push_back(c);
  c = Case{70, 45, 40};
  c.negA = c.negB = c.negC = true, c.beta = 0.25; // negative strides
  cs.push_back(c);
  c = Case{45, 70, 40, true, true};
  c.negA = c.negB = true, c.pad = 8;
  cs.push_back(c);
  c = Case{40, 50, 0};
  c.alpha = INFINITY, c.beta = 0.5; // K == 0: C = beta C, even for alpha = inf
  cs.push_back(c);
  c = Case{40, 50, 30};
  c.alpha = 0, c.beta = 2, c.nanAB = true; // alpha == 0: A and B not read
  cs.push_back(c);
  c = Case{140, 130, 30};
  c.nanC = true, c.extraBlocks = true; // beta == 0: C not read
  cs.push_back(c);
  c = Case{33, 47, 600, true, false};
  c.beta = 1; // long K
  cs.push_back(c);
  c = Case{50, 60, 100};
  c.smallInts = true, c.beta = 1; // exact
  cs.push_back(c);
  c = Case{0, 5, 5};
  cs.push_back(c); // empty: a (needless) launch writes nothing
  c = Case{5, 0, 5};
  cs.push_back(c);
  return cs;
}

void checkSpec(const GemmKernelSpec &spec) {
  const std::string name = gemmKernelName(spec);
  const std::vector<Case> cases = casesFor(spec);
  for (bool optimized : {false, true}) {
    GPUEmulator::Options options;
    options.reverse = optimized; // another schedule for the other IR
    options.hostThreads = 2;
    GPUEmulator emu(options);
    emu.loadIR(gemmLLVMIR(spec, "sm_80", optimized));
    REQUIRE(emu.kernels() == std::vector<std::string>{name});
    REQUIRE(emu.staticSharedBytes() >= size_t(gemmTiling(spec).staticSharedBytes));
    uint32_t seed = 1;
    for (const Case &c : cases) {
      INFO(name << (optimized ? " (O3 IR)" : " (IR as generated)") << ": " << c.str());
      Result r = runCase(emu, spec, c, seed++);
      INFO(r.first);
      CHECK(r.bad == 0);
    }
    // The emulator really ran the kernel's threads and their barriers
    // (and, on the tensor cores, warp collectives).
    const auto &st = emu.stats();
    CHECK(st.threads == st.blocks * 256);
    CHECK(st.barriers > st.blocks);
    CHECK((st.collectives > 0) == (spec.path != Path::Tiled));
  }
}

} // namespace

TEST_CASE("GEMM f32 tiled kernel on the GPU emulator", "[gemm][emulator]") {
  checkSpec({GemmType::Float32, Path::Tiled, false});
}

TEST_CASE("GEMM f64 tiled kernel on the GPU emulator", "[gemm][emulator]") {
  checkSpec({GemmType::Float64, Path::Tiled, false});
}

TEST_CASE("GEMM f16 tensor-core kernel on the GPU emulator", "[gemm][emulator]") {
  checkSpec({GemmType::Float16, Path::TensorCore, false});
}

TEST_CASE("GEMM bf16 tensor-core kernel on the GPU emulator", "[gemm][emulator]") {
  checkSpec({GemmType::BFloat16, Path::TensorCore, false});
}

TEST_CASE("GEMM tf32 kernel on the GPU emulator", "[gemm][emulator]") {
  checkSpec({GemmType::Float32, Path::TF32, false});
}

TEST_CASE("Batched GEMM kernels on the GPU emulator", "[gemm][emulator]") {
  for (GemmKernelSpec spec : {GemmKernelSpec{GemmType::Float32, Path::Tiled, true},
                              GemmKernelSpec{GemmType::Float64, Path::Tiled, true},
                              GemmKernelSpec{GemmType::Float16, Path::TensorCore, true},
                              GemmKernelSpec{GemmType::BFloat16, Path::TensorCore, true},
                              GemmKernelSpec{GemmType::Float32, Path::TF32, true}})
    checkSpec(spec);
}

TEST_CASE("GEMM small-tile kernels on the GPU emulator", "[gemm][emulator]") {
  for (GemmKernelSpec spec : {GemmKernelSpec{GemmType::Float32, Path::Tiled, false, true},
                              GemmKernelSpec{GemmType::Float64, Path::Tiled, false, true},
                              GemmKernelSpec{GemmType::Float16, Path::TensorCore, false, true},
                              GemmKernelSpec{GemmType::BFloat16, Path::TensorCore, false, true},
                              GemmKernelSpec{GemmType::Float32, Path::TF32, false, true}})
    checkSpec(spec);
}

TEST_CASE("Batched GEMM small-tile kernels on the GPU emulator", "[gemm][emulator]") {
  for (GemmKernelSpec spec : {GemmKernelSpec{GemmType::Float32, Path::Tiled, true, true},
                              GemmKernelSpec{GemmType::Float64, Path::Tiled, true, true},
                              GemmKernelSpec{GemmType::Float16, Path::TensorCore, true, true},
                              GemmKernelSpec{GemmType::Float32, Path::TF32, true, true}})
    checkSpec(spec);
}

TEST_CASE("The GPU emulator exposes GEMM kernels without their barriers",
          "[gemm][emulator]") {
  // A test of the tests: with its barriers deleted, a kernel reads shared
  // memory before the other threads wrote it, and the checks must see it.
  for (GemmKernelSpec spec : {GemmKernelSpec{GemmType::Float32, Path::Tiled, false},
                              GemmKernelSpec{GemmType::Float16, Path::TensorCore, false},
                              GemmKernelSpec{GemmType::Float32, Path::Tiled, false, true}}) {
    std::string ir = gemmLLVMIR(spec, "sm_80", false);
    const std::string barrier = "call void @llvm.nvvm.barrier0()";
    size_t removed = 0;
    for (size_t at; (at = ir.find(barrier)) != std::string::npos; ++removed)
      ir.erase(at, barrier.size());
    REQUIRE(removed > 0);
    GPUEmulator emu;
    emu.loadIR(ir);
    Case c{130, 130, 70};
    Result r = runCase(emu, spec, c, 7);
    INFO(gemmKernelName(spec));
    CHECK(r.bad > 0);
    CHECK(emu.stats().barriers == 0);
  }
}
