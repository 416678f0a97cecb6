//===- JitTest.cpp - The CPU JIT: fused loops, memory reuse, errors -------===//
#include "thjit/CodeGen/CPU.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Runtime/Function.h"
#include "thjit/Support/ThreadPool.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

using namespace thjit;
using Catch::Contains;

static NDArray ramp(DType t, const Shape &shape, double scale = 1.0) {
  NDArray a = NDArray::empty(DType::Float64, shape);
  for (int64_t i = 0; i < a.size(); ++i)
    a.data<double>()[i] = std::sin(0.37 * (double)i) * scale;
  return a.astype(t);
}

static void checkClose(const NDArray &got, const NDArray &want, double tol) {
  REQUIRE(got.dtype() == want.dtype());
  REQUIRE(got.shape() == want.shape());
  for (int64_t i = 0; i < got.size(); ++i) {
    double g = got.flatAt(i).toDouble(), w = want.flatAt(i).toDouble();
    INFO("element " << i);
    CHECK(std::abs(g - w) <= tol * (1 + std::abs(w)));
  }
}

static FunctionOptions mode(const char *m) {
  FunctionOptions o;
  o.mode = m;
  return o;
}

TEST_CASE("fuse makes one composite node of an element-wise sub-graph",
          "[jit]") {
  Var a = vector("a"), b = vector("b");
  Var e = fuse(a * a + b * b + 2.0 * a * b);
  REQUIRE(e.node()->kind() == OpKind::Composite);
  CHECK(e.node()->numOperands() == 3); // a, b and the constant 2.0
  Function f = function({a, b}, {e});
  CHECK_THAT(f.str(), Contains("composite{"));
  CHECK_THAT(f.str(), Contains("mul(i0,i0)"));
  NDArray x = ramp(DType::Float64, {1000}), y = ramp(DType::Float64, {1000}, 2);
  Function ref = function({a, b}, {a * a + b * b + 2.0 * a * b},
                          mode("REFERENCE"));
  checkClose(f({x, y})[0], ref({x, y})[0], 1e-15);
}

TEST_CASE("a composite over mixed dtypes and broadcasting runs as one loop",
          "[jit]") {
  Var m = matrix("m", DType::Float32), r = row("r", DType::Int16);
  Var e = fuse(exp(m) * cast(r, DType::Float32) + tanh(m) / 3.0);
  REQUIRE(e.node()->kind() == OpKind::Composite);
  Function f = function({m, r}, {e});
  Function ref = function({m, r}, {e}, mode("REFERENCE"));
  NDArray x = ramp(DType::Float32, {7, 33}), y = ramp(DType::Int16, {1, 33}, 50);
  checkClose(f({x, y})[0], ref({x, y})[0], 1e-5);
  // A transposed view takes the strided path.
  NDArray xt = ramp(DType::Float32, {33, 7}).transpose();
  checkClose(f({xt, y})[0], ref({xt, y})[0], 1e-5);
}

TEST_CASE("outputs reuse their buffer when the caller let go of them",
          "[jit]") {
  Var x = vector("x");
  Function f = function({x}, {x * 2.0});
  NDArray in = ramp(DType::Float64, {4096});
  const void *first;
  {
    NDArray r = f({in})[0];
    first = r.data();
  }
  CHECK(f({in})[0].data() == first); // dropped: the same memory again
  NDArray kept = f({in})[0];
  NDArray next = f({in})[0];
  CHECK(next.data() != kept.data()); // held: never overwritten
  checkClose(kept, next, 0);
}

TEST_CASE("a shared variable updated every call is written in place",
          "[jit][inplace]") {
  Var x = vector("x");
  Var w = shared(ramp(DType::Float64, {4096}), "w");
  FunctionOptions o;
  o.updates = {{w, w * 0.5 + x}};
  Function f = function({x}, {sum(w)}, o);
  CHECK(f.emit("plan").find("in place of w") != std::string::npos);
  NDArray in = ramp(DType::Float64, {4096});
  auto current = [&] { return w.node()->sharedStorage()->get(); };
  const void *first = current().data();
  std::vector<double> expected(4096);
  for (int k = 0; k < 4096; ++k)
    expected[k] = current().data<double>()[k];
  for (int i = 0; i < 5; ++i) {
    double total = 0;
    for (double e : expected)
      total += e;
    CHECK(f({in})[0].item().toDouble() == Approx(total));
    for (int k = 0; k < 4096; ++k)
      expected[k] = expected[k] * 0.5 + in.data<double>()[k];
    CHECK(current().data() == first);
  }
  for (int k = 0; k < 4096; ++k)
    CHECK(current().data<double>()[k] == expected[k]);
  // A value something still holds is never overwritten: the new value goes
  // elsewhere, and in place again once the holder lets go.
  NDArray held = current();
  NDArray copy = held.copy();
  for (int i = 0; i < 3; ++i) {
    f({in});
    CHECK(current().data() != held.data());
  }
  checkClose(held, copy, 0);
  held = NDArray();
  const void *now = current().data();
  f({in});
  CHECK(current().data() == now);
}

TEST_CASE("an update not written in place alternates two buffers", "[jit]") {
  // The old value is also an output: the new one cannot go over it.
  Var x = vector("x");
  Var w = shared(ramp(DType::Float64, {4096}), "w");
  FunctionOptions o;
  o.updates = {{w, w * 0.5 + x}};
  Function f = function({x}, {w}, o);
  CHECK(f.emit("plan").find("in place") == std::string::npos);
  NDArray in = ramp(DType::Float64, {4096});
  auto current = [&] { return w.node()->sharedStorage()->get(); };
  std::vector<const void *> seen;
  for (int i = 0; i < 5; ++i) {
    NDArray old = current().copy();
    checkClose(f({in})[0], old, 0);
    seen.push_back(current().data());
  }
  // Steady state: no allocation, the old value's memory is taken back.
  CHECK(seen[2] == seen[0]);
  CHECK(seen[3] == seen[1]);
  CHECK(seen[4] == seen[0]);
  CHECK(seen[0] != seen[1]);
}

TEST_CASE("a transposed operand of dot reaches BLAS and matches the reference",
          "[jit]") {
  Var a = matrix("a"), b = matrix("b"), v = vector("v");
  Function f = function({a, b, v}, {dot(a, b), dot(a, v), dot(v, b)});
  Function ref = function({a, b, v}, {dot(a, b), dot(a, v), dot(v, b)},
                          mode("REFERENCE"));
  NDArray x = ramp(DType::Float64, {40, 30}).transpose(); // 30x40, column-major
  NDArray y = ramp(DType::Float64, {40, 20});
  NDArray z = ramp(DType::Float64, {80}).slice(0, 0, 80, 2); // strided 40
  auto got = f({x, y, z}), want = ref({x, y, z});
  for (size_t i = 0; i < got.size(); ++i)
    checkClose(got[i], want[i], 1e-12);
}

TEST_CASE("errors found by compiled code are the reference kernel's",
          "[jit]") {
  Var x = vector("x"), y = vector("y");
  Function f = function({x, y}, {x + y});
  Function ref = function({x, y}, {x + y}, mode("REFERENCE"));
  NDArray a = ramp(DType::Float64, {3}), b = ramp(DType::Float64, {4});
  std::string want, got;
  try {
    ref({a, b});
  } catch (const ShapeError &e) {
    want = e.what();
  }
  try {
    f({a, b});
  } catch (const ShapeError &e) {
    got = e.what();
  }
  CHECK(!want.empty());
  CHECK(got == want);
  Var i = vector("i", DType::Int32), k = vector("k", DType::Int32);
  Function p = function({i, k}, {pow(i, k)});
  NDArray neg = NDArray::fromValues(DType::Int32, {Scalar::fromInt(-1)}, {1});
  CHECK_THROWS_AS(p({neg, neg}), ValueError);
  Var m = matrix("m");
  Function mx = function({m}, {max(m, Axes({1}))});
  CHECK_THROWS_WITH(mx({NDArray::zeros(DType::Float64, {2, 0})}),
                    Contains("zero-size array"));
}

TEST_CASE("large loops and reductions split over threads give the same "
          "results", "[jit]") {
  Var m = matrix("m");
  Function f = function({m}, {exp(m) + 1.0, sum(m, Axes({1})), sum(m),
                              argmax(m, 1)});
  Function ref = function({m}, {exp(m) + 1.0, sum(m, Axes({1})), sum(m),
                                argmax(m, 1)},
                          mode("REFERENCE"));
  NDArray x = ramp(DType::Float64, {300, 1000});
  int before = numThreads();
  for (int threads : {1, 2, 4}) {
    setNumThreads(threads);
    auto got = f({x}), want = ref({x});
    for (size_t i = 0; i < got.size(); ++i)
      checkClose(got[i], want[i], 1e-12);
  }
  setNumThreads(before);
}

TEST_CASE("parallel full reductions and column reductions give the same "
          "bits on any number of threads", "[jit]") {
  // 3e5 elements: a full reduction splits into pieces reduced in parallel;
  // a column reduction splits its columns.
  Var m = matrix("m"), v = vector("v"), i = vector("i", DType::Int32);
  Var b = vector("b", DType::Bool);
  std::vector<Var> outs{sum(m),          sum(v * v),   max(v),
                        min(exp(v)),     prod(v * 1e-6 + 1.0), sum(i),
                        sum(m, Axes({0})), max(m, Axes({0})), all(b),
                        any(b)};
  Function f = function({m, v, i, b}, outs);
  Function ref = function({m, v, i, b}, outs, mode("REFERENCE"));
  NDArray x = ramp(DType::Float64, {300, 1000}), y = ramp(DType::Float64, {300001});
  NDArray ints = ramp(DType::Int32, {300001}, 1000.0);
  NDArray bools = ramp(DType::Bool, {300001}, 1.0);
  int before = numThreads();
  std::vector<NDArray> first;
  for (int threads : {1, 2, 3, 8}) {
    setNumThreads(threads);
    auto got = f({x, y, ints, bools}), want = ref({x, y, ints, bools});
    for (size_t k = 0; k < got.size(); ++k) {
      INFO("output " << k << ", " << threads << " threads");
      checkClose(got[k], want[k], 1e-12);
      if (!first.empty()) // bit for bit what one thread gave
        CHECK(std::memcmp(got[k].data(), first[k].data(), got[k].nbytes()) == 0);
    }
    if (first.empty())
      first = got;
  }
  setNumThreads(before);
}

// The runtime's streaming threshold (Lowering.h, kStreamingBytes).
extern "C" int64_t thjit_rt_streaming_bytes;

TEST_CASE("streaming stores give the results of plain stores", "[jit]") {
  // Every dtype width, sizes that end mid cache line, and every thread
  // count: peeled heads, whole lines and tails.
  Var x = vector("x"), h = vector("h", DType::Float16), c = vector("c", DType::Int8);
  std::vector<Var> outs{x * 2.0 + 1.0, cast(x, DType::Float32) * 3.0, x > 0.5,
                        h + h, c + c, cast(x * 100.0, DType::Int16)};
  Function f = function({x, h, c}, outs);
  Function ref = function({x, h, c}, outs, mode("REFERENCE"));
  int64_t saved = thjit_rt_streaming_bytes;
  int before = numThreads();
  for (int64_t n : {1, 7, 65, 100003}) {
    NDArray xs = ramp(DType::Float64, {n}), hs = ramp(DType::Float16, {n}),
            cs = ramp(DType::Int8, {n}, 100.0);
    for (int threads : {1, 3}) {
      setNumThreads(threads);
      thjit_rt_streaming_bytes = 0; // stream everything
      auto got = f({xs, hs, cs});
      thjit_rt_streaming_bytes = saved;
      auto want = ref({xs, hs, cs});
      for (size_t k = 0; k < got.size(); ++k) {
        INFO("output " << k << ", n " << n << ", " << threads << " threads");
        checkClose(got[k], want[k], 0);
      }
    }
  }
  setNumThreads(before);
  // The flat kernel can write with non-temporal stores; the entry decides.
  std::string ir = codegen::emitLLVM(Graph({x}, {x * 2.0 + 1.0}));
  CHECK_THAT(ir, Contains("@thjit_rt_streaming_bytes") && Contains("!nontemporal"));
}

TEST_CASE("a float sum is as accurate as pairwise summation", "[jit]") {
  // 1 + many tiny values: naive left-to-right summation loses them all.
  int64_t n = 1 << 20;
  NDArray x = NDArray::full(DType::Float32, {n}, Scalar(1e-8));
  x.setAt({0}, Scalar(1.0));
  Var v = vector("v", DType::Float32);
  Function f = function({v}, {sum(v)});
  double got = f({x})[0].item().toDouble();
  double want = 1.0 + (double)(n - 1) * (double)1e-8f;
  CHECK(std::abs(got - want) < 1e-6);
}

TEST_CASE("The optimized IR of a contiguous loop has vector instructions",
          "[jit]") {
  Var x = vector("x"), y = vector("y");
  std::string ir = codegen::emitLLVM(Graph({x, y}, {x * 2.0 + y}));
  CHECK_THAT(ir, Contains("<4 x double>") || Contains("<8 x double>"));
}

TEST_CASE("a graph of many steps fails at the step the user wrote", "[jit]") {
  // The entry runs its steps in functions of a few dozen steps each: a
  // failure late in the graph still names its node.
  Var x = vector("x"), m = matrix("m"), z = vector("z");
  Var h = x;
  for (int i = 0; i < 150; ++i) // a product between loops: a step each
    h = tanh(dot(m, h) + 0.01 * i);
  Var bad = h + z;
  Function f = function({x, m, z}, {bad});
  NDArray xv = ramp(DType::Float64, {3}), mv = ramp(DType::Float64, {3, 3}, 0.2);
  CHECK(f({xv, mv, ramp(DType::Float64, {3})})[0].dim(0) == 3);
  CHECK_THROWS_WITH(f({xv, mv, ramp(DType::Float64, {4})}),
                    Contains("operand 1 has shape (4,)"));
}

TEST_CASE("float64 to float16 rounds once, as NumPy's astype", "[jit]") {
  // Through float first, 1 + 2^-11 + 2^-30 would round to 1 + 2^-11, a tie
  // between halves, then to even: 1. Rounded once it is above the tie.
  const double t = std::ldexp(1.0, -30);
  const std::vector<std::pair<double, double>> cases{
      {1 + std::ldexp(1.0, -11) + t, 1 + std::ldexp(1.0, -10)},
      {1 + std::ldexp(1.0, -11) - t, 1},
      {1 + std::ldexp(1.0, -11), 1}, // a tie: to even
      {-(1 + std::ldexp(1.0, -11) + t), -(1 + std::ldexp(1.0, -10))},
      {std::ldexp(1.0, -25) + std::ldexp(1.0, -40), std::ldexp(1.0, -24)}, // subnormal
      {std::ldexp(1.0, -25), 0},
      {65519.99, 65504},
      {65520, INFINITY},
      {1e300, INFINITY},
      {-1e-300, -0.0},
      {std::ldexp(1.0, -14) * (1 + std::ldexp(1.0, -11) + t), // the least normal
       std::ldexp(1.0, -14) * (1 + std::ldexp(1.0, -10))},
  };
  std::vector<Scalar> in; // repeated, for the vectorized loop
  for (int rep = 0; rep < 16; ++rep) {
    for (auto [x, want] : cases)
      in.push_back(Scalar(x));
    in.push_back(Scalar(std::nan("")));
  }
  Var x = vector("x", DType::Float64);
  NDArray args = NDArray::fromValues(DType::Float64, in, {(int64_t)in.size()});
  NDArray jit = function({x}, {cast(x, DType::Float16)})({args})[0];
  NDArray ref = function({x}, {cast(x, DType::Float16)}, mode("REFERENCE"))({args})[0];
  CHECK(jit.repr() == ref.repr());
  for (int64_t i = 0; i < jit.size(); ++i) {
    const size_t k = size_t(i) % (cases.size() + 1);
    const double got = jit.flatAt(i).toDouble();
    if (k == cases.size()) {
      CHECK(std::isnan(got));
      continue;
    }
    INFO("element " << i << ": " << cases[k].first);
    CHECK(got == cases[k].second);
    CHECK(std::signbit(got) == std::signbit(cases[k].second));
  }
}
