//===- GPUTest.cpp - Functions on a real GPU ([gpu], skipped without one) -===//
//
// Training on the GPU, with the parameters in GPU memory, must follow the
// CPU's losses step by step; and what a GPU call hands back (outputs,
// updates, transposed and broadcast arguments) must equal the CPU's. These
// run kernels: without a CUDA device each case says why it is skipped.
//
//===----------------------------------------------------------------------===//
#include "EmulatedDevice.h"
#include "thjit/CodeGen/CPU.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

using namespace thjit;

namespace {

NDArray wave(DType t, const Shape &shape, double phase, double scale = 1) {
  std::vector<Scalar> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(Scalar(scale * std::sin(0.37 * double(i) + phase)));
  return NDArray::fromValues(t, v, shape);
}

/// Losses of 20 steps of logistic regression, its parameters on `device`.
std::vector<double> trainLogistic(const std::string &device, DType t) {
  NDArray data = wave(t, {64, 10}, 0.1);
  std::vector<Scalar> labels;
  for (int64_t i = 0; i < 64; ++i)
    labels.push_back(Scalar(double(std::sin(0.9 * double(i)) > 0)));
  NDArray target = NDArray::fromValues(t, labels, {64});
  Var x = matrix("x", t), y = vector("y", t);
  Var w = shared(NDArray::zeros(t, {10}), "w", {}, device);
  Var b = shared(NDArray::zeros(t, {}), "b", {}, device);
  Var p = sigmoid(dot(x, w) + b);
  Var cost = mean(-y * log(p) - (1 - y) * log(1 - p)) + 0.01 * sum(w * w);
  std::vector<Var> g = grad(cost, {w, b});
  FunctionOptions o;
  o.updates = {{w, w - 0.5 * g[0]}, {b, b - 0.5 * g[1]}};
  Function step = function({x, y}, {cost}, o);
  CHECK(step.device() == device);
  std::vector<double> losses;
  for (int i = 0; i < 20; ++i)
    losses.push_back(step({data, target})[0].item().toDouble());
  return losses;
}

} // namespace

TEST_CASE("logistic regression trains on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  for (DType t : {DType::Float64, DType::Float32}) {
    std::vector<double> cpu = trainLogistic("cpu", t), gpu = trainLogistic("cuda", t);
    const double tol = t == DType::Float64 ? 1e-12 : 1e-5;
    for (size_t i = 0; i < cpu.size(); ++i)
      CHECK(std::abs(cpu[i] - gpu[i]) <= tol * std::abs(cpu[i]));
  }
}

TEST_CASE("GPU calls: strided arguments, several outputs, updates", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  Var x = matrix("x", DType::Float32), v = vector("v", DType::Float32);
  Var acc = shared(NDArray::zeros(DType::Float32, {3, 4}), "acc", {}, "cuda");
  std::vector<Var> outs{exp(x) * v, x + v, tanh(x)};
  FunctionOptions o;
  o.updates = {{acc, acc + x * v}};
  Function gpu = function({x, v}, outs, o);
  FunctionOptions c;
  c.device = "cpu";
  Function cpu = function({x, v}, outs, c);
  NDArray a = wave(DType::Float32, {4, 3}, 0.5).transpose(); // strided
  NDArray b = wave(DType::Float32, {4}, 1.5);
  std::vector<NDArray> g = gpu({a, b}), h = cpu({a, b});
  for (size_t i = 0; i < g.size(); ++i)
    CHECK(g[i].repr() == h[i].repr());
  gpu({a, b});
  NDArray twice = evalElemwise(OpKind::Mul, {a, b});
  twice = evalElemwise(OpKind::Add, {twice, twice});
  CHECK(acc.getValue().repr() == twice.repr());
}

namespace {

/// GPU and CPU results agree: the same dtype and shape, integers and
/// booleans exactly, floats to `tol` relative to the magnitude (sums add in
/// another order), NaN where NaN.
void checkClose(const NDArray &gpu, const NDArray &cpu, double tol) {
  REQUIRE(gpu.dtype() == cpu.dtype());
  REQUIRE(gpu.shape() == cpu.shape());
  std::vector<Scalar> g = gpu.values(), c = cpu.values();
  for (size_t i = 0; i < g.size(); ++i) {
    double a = g[i].toDouble(), b = c[i].toDouble();
    INFO("element " << i << ": GPU " << a << ", CPU " << b);
    if (!isFloat(gpu.dtype()))
      CHECK(a == b);
    else if (std::isnan(b))
      CHECK(std::isnan(a));
    else
      CHECK(std::abs(a - b) <= tol * (1 + std::abs(b)));
  }
}

/// Compiles outs for the CPU and the GPU and checks both agree on args.
void compareOnGPU(const std::vector<Var> &ins, const std::vector<Var> &outs,
                  const std::vector<NDArray> &args, double tol) {
  FunctionOptions c;
  c.device = "cpu";
  FunctionOptions o;
  o.device = "cuda";
  Function cpu = function(ins, outs, c), gpu = function(ins, outs, o);
  std::vector<NDArray> h = cpu(args), g = gpu(args);
  for (size_t i = 0; i < outs.size(); ++i) {
    INFO("output " << i);
    checkClose(g[i], h[i], tol);
  }
}

} // namespace

TEST_CASE("reductions and softmax on the GPU agree with the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  SECTION("float64 rows and columns, fused producers, split reductions") {
    Var m = matrix("m", DType::Float64);
    NDArray a = wave(DType::Float64, {57, 1000}, 0.3);
    compareOnGPU({m},
                 {sum(m, 1), sum(m, 0), max(m, 0), min(m, 1), argmax(m, 1), argmin(m, 0),
                  prod(m * 0.001 + 1, 1), sum(exp(m)), argmin(m), mean(m, 0),
                  sum(m, 1, true), max(m, {0, 1}, true), softmax(m), logSoftmax(m)},
                 {a}, 1e-12);
  }
  SECTION("float32: a long vector, strided matrices, NaN") {
    Var v = vector("v", DType::Float32), m = matrix("m", DType::Float32);
    NDArray big = wave(DType::Float32, {100000}, 0.7);
    NDArray t = wave(DType::Float32, {300, 33}, 1.1).transpose(); // strided
    t.setAt({5, 7}, Scalar(std::nan("")));
    compareOnGPU({v, m},
                 {sum(v), max(v), argmax(v), min(v), sum(v * v), max(m, 1), argmax(m, 0),
                  sum(m, 0), softmax(m), logSoftmax(m), softmax(exp(m) * 2)},
                 {big, t}, 1e-5);
  }
  SECTION("integers and booleans, 3-d axes, empty reductions") {
    Var m = matrix("m", DType::Int32), x = tensor3("x", DType::Int16);
    std::vector<Scalar> vals;
    for (int i = 0; i < 40 * 9; ++i)
      vals.push_back(Scalar(int64_t((i * 37) % 23 - 11)));
    NDArray a = NDArray::fromValues(DType::Int32, vals, {40, 9});
    NDArray b = NDArray::fromValues(DType::Int16, vals, {5, 8, 9});
    compareOnGPU({m, x},
                 {sum(m, 0), prod(m % 3 + 2, 1), all(m > -11, 1), any(eq(m, 10), 0),
                  max(x, {0, 2}), sum(x, {0, 2}), argmax(x, 1), min(x), sum(x, {1}, true)},
                 {a, b}, 0);
    Var e = matrix("e", DType::Float32);
    NDArray empty = NDArray::zeros(DType::Float32, {0, 5});
    compareOnGPU({e}, {sum(e, 0), prod(e, 0), max(e, 1), sum(e)}, {empty}, 0);
    FunctionOptions o;
    o.device = "cuda";
    Function noIdentity = function({e}, {max(e, 0)}, o);
    CHECK_THROWS_WITH(noIdentity({empty}), Catch::Contains("zero-size array"));
  }
  SECTION("float16: accumulated in double, as the CPU's reference kernel") {
    Var m = matrix("m", DType::Float16);
    NDArray a = wave(DType::Float16, {70, 900}, 0.9);
    a.setAt({3, 4}, Scalar(std::nan("")));
    const int mains = test::emulatedLaunches("rows") + test::emulatedLaunches("cols");
    compareOnGPU({m},
                 {sum(m, 1), sum(m, 0), mean(m), prod(m * 0.001 + 1, 0), max(m, 1), min(m, 0),
                  argmax(m, 1), argmin(m), all(m > -0.5, 1), sum(exp(m), 0), softmax(m),
                  logSoftmax(m)},
                 {a}, 0);
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("rows") + test::emulatedLaunches("cols") >= mains + 9);
  }
  if (test::gpuEmulated()) // the cases above split some reductions
    CHECK(test::emulatedLaunches("finish") > 0);
}

namespace {

/// Each reduction of `cases` agrees on the GPU with the CPU (compareOnGPU),
/// and, on the emulated device (which counts launches), its GPU call
/// launched the main kernel named ("rows" or "cols") and not the other.
void checkMainKernels(const std::vector<Var> &ins, const std::vector<NDArray> &args,
                      const std::vector<std::pair<Var, std::string>> &cases, double tol) {
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << ": " << cases[i].second);
    const int rows = test::emulatedLaunches("rows"), cols = test::emulatedLaunches("cols");
    compareOnGPU(ins, {cases[i].first}, args, tol);
    if (test::gpuEmulated()) {
      const bool wantRows = cases[i].second == "rows";
      CHECK(test::emulatedLaunches("rows") - rows == (wantRows ? 1 : 0));
      CHECK(test::emulatedLaunches("cols") - cols == (wantRows ? 0 : 1));
    }
  }
}

/// Integers from -11 to 11 with repeats: arg reductions meet ties.
NDArray repeating(DType t, const Shape &shape) {
  std::vector<Scalar> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(Scalar(int64_t((i * 37) % 23 - 11)));
  return NDArray::fromValues(t, v, shape);
}

} // namespace

// A transposed view of GPU memory is reduced by the main kernel its
// strides call for (Call::reduce): `_rows` when its innermost axis in
// memory is the last reduced one, `_cols` when it is the last kept one,
// else the one of its axes. Results are the CPU's, argmax and argmin
// ties going to the lowest index in both kernels.
TEST_CASE("reductions of transposed GPU views pick rows or columns by the strides", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  SECTION("matrices of float32, float64, int32 and bool") {
    NDArray a = wave(DType::Float32, {37, 300}, 0.3);
    a.setAt({4, 100}, Scalar(std::nan("")));
    Var A = shared(a, "A", {}, "cuda");
    Var D = shared(wave(DType::Float64, {70, 45}, 1.1), "D", {}, "cuda");
    Var I = shared(repeating(DType::Int32, {40, 9}), "I", {}, "cuda");
    Var At = transpose(A), Dt = transpose(D), It = transpose(I);
    // Strides (1, rows): axis 0 is innermost.
    checkMainKernels({}, {},
                     {{sum(At, 1), "cols"},
                      {sum(exp(At) * 2.0f, 1), "cols"}, // a fused producer
                      {max(At, 0), "rows"},
                      {argmax(At, 0), "rows"},
                      {argmin(At, 1), "cols"},
                      {sum(A, 1), "rows"}, // row-major: the kernel of its axes
                      {max(A, 0), "cols"}},
                     1e-5);
    checkMainKernels({}, {},
                     {{min(Dt, 1), "cols"},
                      {prod(Dt * 0.01 + 1.0, 0), "rows"},
                      {argmin(Dt, 0), "rows"},
                      {mean(Dt, 1), "cols"}},
                     1e-12);
    checkMainKernels({}, {},
                     {{argmax(It, 0), "rows"},
                      {argmax(It, 1), "cols"},
                      {argmin(It, 0), "rows"},
                      {argmin(It, 1), "cols"},
                      {sum(It, 1), "cols"},
                      {prod(It % 3 + 2, 0), "rows"},
                      {all(It > -11, 1), "cols"},
                      {any(eq(It, 10), 0), "rows"}},
                     0);
  }
  SECTION("3-d views: the last reduced or kept axis innermost, or neither") {
    Var E = shared(wave(DType::Float64, {6, 8, 9}, 0.7), "E", {}, "cuda");
    Var J = shared(repeating(DType::Int16, {5, 8, 9}), "J", {}, "cuda");
    Var Et = transpose(E, {2, 0, 1}); // (9, 6, 8), strides (1, 72, 9)
    Var Jt = transpose(J, {1, 2, 0}); // (8, 9, 5), strides (9, 1, 72)
    checkMainKernels({}, {},
                     {{sum(Et, Axes({1, 2})), "cols"},
                      {min(Et, 0), "rows"},
                      {argmax(Et, 0), "rows"},
                      // Axis 0 innermost, neither the last reduced nor the
                      // last kept axis: the kernel of the axes.
                      {prod(Et * 0.1 + 1.0, Axes({0, 2})), "rows"},
                      {max(Et, 2), "rows"},
                      {any(Et > 0.5, 1), "cols"}},
                     1e-12);
    checkMainKernels({}, {},
                     {{argmin(Jt, 1), "rows"},
                      {argmax(Jt, 1, true), "rows"},
                      {sum(Jt, 2), "cols"},
                      {max(Jt, Axes({0, 2})), "cols"}},
                     0);
  }
  SECTION("few results of many elements: split, then _finish") {
    Var F = shared(wave(DType::Float64, {6000, 3}, 0.2), "F", {}, "cuda");
    const int finishes = test::emulatedLaunches("finish");
    checkMainKernels({}, {}, {{sum(transpose(F), 1), "cols"}, {argmax(transpose(F), 1), "cols"}},
                     1e-12);
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("finish") == finishes + 2);
  }
  SECTION("function inputs: transposed on the GPU, or on the host and uploaded") {
    Var x = matrix("x", DType::Float32);
    NDArray a = wave(DType::Float32, {50, 40}, 0.9);
    // x is uploaded for x * 2, and its transpose is a view of that.
    const int rows = test::emulatedLaunches("rows"), cols = test::emulatedLaunches("cols");
    compareOnGPU({x}, {x * 2.0f, sum(transpose(x), 1)}, {a}, 1e-5);
    if (test::gpuEmulated()) {
      CHECK(test::emulatedLaunches("cols") == cols + 1);
      CHECK(test::emulatedLaunches("rows") == rows);
    }
    // Only the transpose is read: made on the host, uploaded row-major.
    checkMainKernels({x}, {a}, {{sum(transpose(x), 1), "rows"}, {max(transpose(x), 0), "cols"}},
                     1e-5);
  }
}

TEST_CASE("matrix products on the GPU agree with the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  SECTION("float64, float32 and float16 (tensor cores): every kind of factor") {
    for (DType t : {DType::Float64, DType::Float32, DType::Float16}) {
      INFO("dtype " << dtypeName(t));
      const double tol = t == DType::Float64 ? 1e-12 : t == DType::Float32 ? 1e-5 : 2e-3;
      Var a = matrix("a", t), b = matrix("b", t), c = matrix("c", t), u = vector("u", t),
          v = vector("v", t);
      // 150 x 37 times 37 x 130: edge tiles in every dimension; b transposed.
      NDArray av = wave(t, {150, 37}, 0.2), bv = wave(t, {130, 37}, 0.9).transpose();
      NDArray cv = wave(t, {150, 130}, 1.7), uv = wave(t, {37}, 2.1), vv = wave(t, {150}, 0.4);
      compareOnGPU({a, b, c, u, v},
                   {dot(a, b), dot(a, u), dot(v, a), dot(u, u), dot(transpose(b), transpose(a)),
                    gemm(c, constant(Scalar(0.5)), a, b, constant(Scalar(-2.0))),
                    ger(c, constant(Scalar(1.5)), v, dot(u, b))},
                   {av, bv, cv, uv, vv}, tol);
    }
    // The emulated device's 4 multiprocessors take float64's 3 x 3 large
    // tiles (9 blocks >= 2 per multiprocessor); the others, of 2 x 2 large
    // tiles, run with small ones (Call::product).
    if (test::gpuEmulated()) {
      CHECK(test::emulatedLaunches("tiled") > 0);
      CHECK(test::emulatedLaunches("small") > 0);
    }
  }
  SECTION("gemm reads C where it is: a transposed view, a broadcast row") {
    // The kernels read C_in apart from the C they write (Gemm.h): no copy
    // of C first, except for the tensor cores' paths of a C that is not
    // contiguous. A C that is also a factor is only read.
    for (DType t : {DType::Float64, DType::Float32, DType::Float16}) {
      INFO("dtype " << dtypeName(t));
      const double tol = t == DType::Float64 ? 1e-12 : t == DType::Float32 ? 1e-5 : 2e-3;
      Var a = matrix("a", t), b = matrix("b", t), c = matrix("c", t), r = vector("r", t);
      NDArray av = wave(t, {70, 37}, 0.2), bv = wave(t, {37, 70}, 0.9);
      NDArray cv = wave(t, {70, 70}, 1.7), rv = wave(t, {70}, 0.6);
      Var alpha = constant(Scalar(0.5)), beta = constant(Scalar(-2.0));
      compareOnGPU({a, b, c, r},
                   {gemm(transpose(c), alpha, a, b, beta),
                    gemm(alloc(r, {Operand(int64_t(70)), Operand(int64_t(70))}), alpha, a, b,
                         constant(Scalar(1.0))),
                    gemm(c, alpha, c, c, beta), gemm(c, alpha, transpose(c), c, beta)},
                   {av, bv, cv, rv}, tol);
    }
  }
  SECTION("gemm with beta 0 reads no C; empty and mismatched products") {
    Var a = matrix("a", DType::Float32), b = matrix("b", DType::Float32),
        c = matrix("c", DType::Float32);
    NDArray nan = NDArray::full(DType::Float32, {4, 5}, Scalar(std::nan("")));
    compareOnGPU({a, b, c}, {gemm(c, constant(Scalar(1.0)), a, b, constant(Scalar(0.0)))},
                 {wave(DType::Float32, {4, 3}, 0), wave(DType::Float32, {3, 5}, 1), nan}, 1e-5);
    compareOnGPU({a, b}, {dot(a, b)},
                 {NDArray::zeros(DType::Float32, {4, 0}), NDArray::zeros(DType::Float32, {0, 5})},
                 0);
    compareOnGPU({a, b}, {dot(a, b)},
                 {NDArray::zeros(DType::Float32, {0, 3}), NDArray::zeros(DType::Float32, {3, 5})},
                 0);
    FunctionOptions o;
    o.device = "cuda";
    Function f = function({a, b}, {dot(a, b)}, o);
    CHECK_THROWS_AS(f({wave(DType::Float32, {4, 3}, 0), wave(DType::Float32, {4, 3}, 0)}),
                    ShapeError);
  }
  SECTION("batched_dot of matrices and vectors") {
    Var x = tensor3("x", DType::Float64), y = tensor3("y", DType::Float64),
        m = matrix("m", DType::Float64);
    // 9 products: 9 blocks of large tiles, enough for the emulated
    // device's 4 multiprocessors to take them (not the small tiles).
    NDArray xv = wave(DType::Float64, {9, 20, 9}, 0.3), yv = wave(DType::Float64, {9, 9, 11}, 0.8);
    NDArray mv = wave(DType::Float64, {9, 9}, 1.3);
    compareOnGPU({x, y, m}, {batchedDot(x, y), batchedDot(m, y), batchedDot(x, m)},
                 {xv, yv, mv}, 1e-12);
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("batched") > 0);
  }
}

namespace {

/// Losses of 12 steps of a two-layer perceptron (tanh hidden layer,
/// softmax output, cross-entropy, L2) with its parameters on `device`.
std::vector<double> trainMLP(const std::string &device, DType t) {
  const int64_t batch = 60, inputs = 30, hidden = 40, classes = 10;
  NDArray data = wave(t, {batch, inputs}, 0.3);
  std::vector<Scalar> oneHot;
  for (int64_t i = 0; i < batch; ++i)
    for (int64_t j = 0; j < classes; ++j)
      oneHot.push_back(Scalar(double(j == (i * 7) % classes)));
  NDArray target = NDArray::fromValues(t, oneHot, {batch, classes});
  Var x = matrix("x", t), y = matrix("y", t);
  Var w1 = shared(wave(t, {inputs, hidden}, 0.5, 0.1),
                  "w1", {}, device);
  Var b1 = shared(NDArray::zeros(t, {hidden}), "b1", {}, device);
  Var w2 = shared(wave(t, {hidden, classes}, 1.5, 0.1),
                  "w2", {}, device);
  Var b2 = shared(NDArray::zeros(t, {classes}), "b2", {}, device);
  Var h = tanh(dot(x, w1) + b1);
  Var p = softmax(dot(h, w2) + b2);
  Var cost = mean(categoricalCrossentropy(p, y)) + 0.001 * (sum(w1 * w1) + sum(w2 * w2));
  std::vector<Var> params{w1, b1, w2, b2};
  std::vector<Var> g = grad(cost, params);
  FunctionOptions o;
  for (size_t i = 0; i < params.size(); ++i)
    o.updates.push_back({params[i], params[i] - 0.2 * g[i]});
  Function step = function({x, y}, {cost}, o);
  CHECK(step.device() == device);
  std::vector<double> losses;
  for (int i = 0; i < 12; ++i)
    losses.push_back(step({data, target})[0].item().toDouble());
  return losses;
}

} // namespace

TEST_CASE("a multilayer perceptron trains on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  for (DType t : {DType::Float64, DType::Float32}) {
    std::vector<double> cpu = trainMLP("cpu", t), gpu = trainMLP("cuda", t);
    const double tol = t == DType::Float64 ? 1e-10 : 1e-4;
    for (size_t i = 0; i < cpu.size(); ++i) {
      INFO(dtypeName(t) << " step " << i << ": CPU " << cpu[i] << ", GPU " << gpu[i]);
      CHECK(std::abs(cpu[i] - gpu[i]) <= tol * std::abs(cpu[i]));
    }
    CHECK(cpu.back() < cpu.front()); // it learns
  }
}

TEST_CASE("element-wise kernels: vector groups, tails and misaligned views", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // The contiguous kernel takes groups of elements with vector loads when
  // every array is aligned for them, and one element at a time otherwise
  // (a view that starts 1 to 3 elements into its buffer) and for the tail.
  for (DType t : {DType::Float32, DType::Float64, DType::Float16, DType::Int8}) {
    Var a = vector("a", t), b = vector("b", t);
    std::vector<Var> outs{a * b + a, sqr(a) - b, cast(gt(a, b), DType::Int8)};
    for (int64_t n : {1, 3, 4, 5, 8, 9, 1001})
      for (int64_t skip : {0, 1, 3}) {
        INFO(dtypeName(t) << ", " << n << " elements from element " << skip);
        const double scale = t == DType::Int8 ? 11 : 1; // wrapping products
        NDArray x = wave(t, {n + 3}, 0.1, scale).slice(0, skip, skip + n, 1);
        NDArray y = wave(t, {n}, 2.3, scale);
        compareOnGPU({a, b}, outs, {x, y}, t == DType::Float16 ? 1e-3 : 1e-12);
      }
  }
}

TEST_CASE("views, joins and copies of GPU memory agree with the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // Shared variables on the GPU: what indexes, reshapes, joins or splits
  // them runs there (on host values it would stay on the host).
  Var A = shared(wave(DType::Float32, {4, 6}, 0.2), "A", {}, "cuda");
  Var B = shared(wave(DType::Float64, {3, 4, 5}, 0.7), "B", {}, "cuda");
  Var E = shared(wave(DType::Float32, {2, 3, 2, 3, 3}, 1.1), "E", {}, "cuda");
  Var I = shared(wave(DType::Int8, {5, 3}, 0.4, 100), "I", {}, "cuda");
  Var H = shared(wave(DType::Float16, {4, 4}, 0.9), "H", {}, "cuda");
  Var v = shared(wave(DType::Float32, {3}, 2.1), "v", {}, "cuda");
  Var C = shared(NDArray::fromValues(DType::Complex128,
                                     {Scalar(std::complex<double>(1, 2)),
                                      Scalar(std::complex<double>(-3, 0.5)),
                                      Scalar(std::complex<double>(0, -1)),
                                      Scalar(std::complex<double>(4, 4))},
                                     {2, 2}),
                 "C", {}, "cuda");
  Var k = scalar("k", DType::Int32);
  std::vector<Var> splitA = split(A, makeVector({2, 4}), 2, 1);
  std::vector<Var> outs{
      subtensor(A, {Index::slice(1, {}, {}), Index::slice({}, {}, 2)}) * 2.0f, // view
      subtensor(A, {Index::slice({}, {}, -1), Index::at(2)}),     // negative step
      subtensor(A, {Index::at(k), Index::slice(k, {}, {})}),      // index from the host
      reshape(A, {6, 4}),                                         // a view
      reshape(transpose(A), {-1}),                                // a copy
      reshape(transpose(E, {4, 3, 2, 1, 0}), {-1}),               // a copy of rank 5
      concatenate({A, A * 2.0f}, 0),
      concatenate({transpose(A), transpose(subtensor(A, {Index::all(), Index::slice(0, 4)}))}, 0),
      concatenate({I, subtensor(I, {Index::slice({}, {}, -1)})}, 1), // int8
      concatenate({H, transpose(H)}, 1),                          // float16
      concatenate({C, transpose(C)}, 0),                          // complex128: 16 bytes
      splitA[0] + 1.0f,
      splitA[1],
      setSubtensor(subtensor(A, {Index::slice(1, 3), Index::slice({}, {}, 2)}), v),
      // Element-wise with dims merged: a transposed 3-d operand, a partial
      // broadcast, a 5-d one.
      transpose(B, {0, 2, 1}) * dimshuffle(subtensor(B, {Index::at(0), Index::at(0)}),
                                           {-1, 0, -1}),
      B + dimshuffle(subtensor(B, {Index::at(1), Index::all(), Index::at(2)}), {-1, 0, -1}),
      transpose(E, {0, 1, 2, 4, 3}) - E * E,
  };
  FunctionOptions c;
  c.device = "cpu";
  c.onUnusedInput = OnUnusedInput::Ignore;
  FunctionOptions o = c;
  o.device = "cuda";
  const int copiesBefore = test::emulatedLaunches("copy");
  Function cpu = function({k}, outs, c), gpu = function({k}, outs, o);
  for (int64_t at : {0, 1, 3}) {
    NDArray arg = NDArray::scalar(Scalar::fromInt(at)).astype(DType::Int32);
    std::vector<NDArray> h = cpu({arg}), g = gpu({arg});
    for (size_t i = 0; i < outs.size(); ++i) {
      INFO("output " << i << " with k = " << at);
      CHECK(g[i].repr() == h[i].repr());
    }
  }
  if (test::gpuEmulated())
    CHECK(test::emulatedLaunches("copy") > copiesBefore); // joins and copies ran on the device

  // The user's errors, as on the CPU; the shared values are untouched.
  const std::string before = A.getValue().repr();
  NDArray big = NDArray::scalar(Scalar::fromInt(7)).astype(DType::Int32);
  CHECK_THROWS_AS(gpu({big}), IndexError);
  CHECK_THROWS_AS(cpu({big}), IndexError);
  Var n = scalar("n", DType::Int32);
  FunctionOptions r = o;
  Function badReshape = function({n}, {reshape(A, {n, -1}) + 1.0f}, r);
  CHECK(badReshape({NDArray::scalar(Scalar::fromInt(3)).astype(DType::Int32)})[0].shape() ==
        Shape{3, 8});
  CHECK_THROWS_AS(badReshape({NDArray::scalar(Scalar::fromInt(5)).astype(DType::Int32)}),
                  ValueError);
  CHECK(A.getValue().repr() == before);
}

TEST_CASE("updates of GPU shared variables with views are copied on the device", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  NDArray s0 = wave(DType::Float64, {5, 5}, 0.3), t0 = wave(DType::Float64, {5, 5}, 1.3);
  Var S = shared(s0, "S", {}, "cuda"), T = shared(t0, "T", {}, "cuda");
  FunctionOptions o;
  o.updates = {{S, transpose(T)}, {T, subtensor(S, {Index::slice({}, {}, -1)})}};
  Function swap = function({}, {}, o);
  REQUIRE(swap.device() == "cuda");
  const int copiesBefore = test::emulatedLaunches("copy");
  swap({});
  CHECK(S.getValue().repr() == t0.transpose().repr());
  CHECK(T.getValue().repr() == s0.slice(0, 4, -1, -1).repr());
  CHECK(S.getValue().isContiguous());
  if (test::gpuEmulated())
    CHECK(test::emulatedLaunches("copy") >= copiesBefore + 2);
}

TEST_CASE("matrix products take small tiles when large ones would idle the GPU",
          "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // Call::product takes the large tiles when their grid has at least 2
  // blocks per multiprocessor, else the small ones (lib/CodeGen/GPU/Gemm.h).
  const int64_t S = cuda::currentDevice().multiprocessors;
  auto count = [](const char *suffix) {
    std::map<std::string, int> launches = test::emulatedLaunches();
    return launches.count(suffix) ? launches[suffix] : 0;
  };
  for (DType t : {DType::Float32, DType::Float64, DType::Float16}) {
    INFO("dtype " << dtypeName(t));
    const double tol = t == DType::Float64 ? 1e-12 : t == DType::Float32 ? 1e-5 : 2e-3;
    const int64_t tile = t == DType::Float64 ? 64 : 128; // the large tiles' side
    const char *large = t == DType::Float16 ? "mma" : "tiled";
    Var a = matrix("a", t), b = matrix("b", t), c = matrix("c", t), u = vector("u", t);
    Var x = tensor3("x", t), y = tensor3("y", t);
    // The MLP's products at minibatch 60, shrunk: odd shapes, b transposed,
    // a gemm with beta and a small batch; a matrix-vector product is a
    // reduction (of a's rows).
    const int small0 = count("small"), large0 = count(large), rows0 = count("rows");
    NDArray av = wave(t, {60, 78}, 0.2), bv = wave(t, {50, 78}, 0.9).transpose();
    NDArray cv = wave(t, {60, 50}, 1.1), uv = wave(t, {78}, 0.4);
    NDArray xv = wave(t, {3, 31, 33}, 0.6), yv = wave(t, {3, 33, 65}, 1.4);
    compareOnGPU({a, b, c, u, x, y},
                 {dot(a, b), dot(transpose(a), dot(a, b)), dot(a, u),
                  gemm(c, constant(Scalar(0.5)), a, b, constant(Scalar(-1.0))),
                  batchedDot(x, y)},
                 {av, bv, cv, uv, xv, yv}, tol);
    if (test::gpuEmulated()) {
      CHECK(count("small") == small0 + 4);
      CHECK(count(large) == large0);
      CHECK(count("rows") == rows0 + 1);
    }
    // Exactly 2 blocks per multiprocessor of large tiles: the large kernel.
    const int small1 = count("small"), large1 = count(large);
    NDArray pv = wave(t, {2 * tile, 24}, 0.3), qv = wave(t, {24, S * tile}, 0.8);
    compareOnGPU({a, b}, {dot(a, b)}, {pv, qv}, tol);
    if (test::gpuEmulated()) {
      CHECK(count(large) == large1 + 1);
      CHECK(count("small") == small1);
    }
  }
}

TEST_CASE("long products of few tiles split K on the GPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // Call::product splits K when even the small tiles give fewer blocks than
  // the GPU has multiprocessors and K is long (at least 1024). The emulated
  // device has 4: a 40 x 20 result is 2 small tiles.
  auto count = [](const char *kind) { return test::emulatedLaunches(kind); };
  for (DType t : {DType::Float32, DType::Float64}) {
    INFO("dtype " << dtypeName(t));
    const double tol = t == DType::Float64 ? 1e-12 : 1e-4;
    Var a = matrix("a", t), b = matrix("b", t), x = matrix("x", t), c = matrix("c", t);
    Var v = vector("v", t);
    // K = 1111 (pieces of 278 and a last of 277), X^T b (a transposed
    // factor), gemm with beta and with beta 0 (C not read). A matrix-vector
    // product is a reduction, which splits its long rows itself.
    NDArray av = wave(t, {40, 1111}, 0.2), bv = wave(t, {1111, 20}, 0.9);
    NDArray xv = wave(t, {1111, 40}, 1.3), cv = wave(t, {40, 20}, 0.5), vv = wave(t, {1111}, 0.7);
    cv.setAt({0, 0}, Scalar(std::nan("")));
    const int sums = count("sum");
    compareOnGPU({a, b, x, c, v},
                 {dot(a, b), dot(transpose(x), b), dot(a, v),
                  gemm(c, constant(Scalar(0.5)), a, b, constant(Scalar(-2.0))),
                  gemm(c, constant(Scalar(-1.0)), transpose(x), b, constant(Scalar(0.0)))},
                 {av, bv, xv, cv, vv}, tol);
    if (test::gpuEmulated())
      CHECK(count("sum") == sums + 4);
    // A short K, or alpha 0 (A and B not read: BLAS's rule), does not split.
    compareOnGPU({a, b, c},
                 {dot(subtensor(a, {Index::all(), Index::slice(0, 1000)}),
                      subtensor(b, {Index::slice(0, 1000)})),
                  gemm(c, constant(Scalar(0.0)), a, b, constant(Scalar(1.0)))},
                 {av, bv, cv}, tol);
    if (test::gpuEmulated())
      CHECK(count("sum") == sums + 4);
  }
}

namespace {

/// Integers (i mod 23 - 11, so that int8 products wrap) of dtype t.
NDArray ramp(DType t, const Shape &shape, int64_t phase) {
  std::vector<Scalar> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(Scalar(int64_t(((i + phase) * 37) % 23 - 11)));
  return NDArray::fromValues(t, v, shape);
}

/// GEMM launches so far (large and small tiles of every path).
int gemmLaunches() {
  int n = 0;
  for (const char *kind : {"tiled", "mma", "tf32", "small"})
    n += test::emulatedLaunches(kind);
  return n;
}

/// Reduction launches so far (their main kernels).
int reduceLaunches() { return test::emulatedLaunches("rows") + test::emulatedLaunches("cols"); }

} // namespace

TEST_CASE("products no GEMM kernel computes are sums of products on the GPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // A product with a vector factor, of integers, booleans or mixed dtypes,
  // or a tensordot, is a reduction of the factors' product (Plan.h's
  // productAsSumFor): no GEMM kernel runs, and nothing runs on the host.
  auto check = [](const std::vector<Var> &ins, const std::vector<Var> &outs,
                  const std::vector<NDArray> &args, double tol) {
    const int gemms = gemmLaunches(), reductions = reduceLaunches();
    compareOnGPU(ins, outs, args, tol);
    FunctionOptions o;
    o.device = "cuda";
    CHECK_THAT(function(ins, outs, o).emit("plan"), !Catch::Contains("host"));
    if (test::gpuEmulated()) {
      CHECK(gemmLaunches() == gemms);
      CHECK(reduceLaunches() > reductions);
    }
  };
  SECTION("matrix-vector products of floats, along rows and columns") {
    for (DType t : {DType::Float32, DType::Float64, DType::Float16}) {
      INFO("dtype " << dtypeName(t));
      const double tol = t == DType::Float64 ? 1e-12 : t == DType::Float32 ? 1e-5 : 1e-3;
      Var a = matrix("a", t), u = vector("u", t), w = vector("w", t), c = vector("c", t);
      Var x = tensor3("x", t), y = matrix("y", t);
      NDArray av = wave(t, {300, 77}, 0.4), uv = wave(t, {77}, 0.8), wv = wave(t, {300}, 1.2);
      NDArray xv = wave(t, {5, 30, 77}, 0.5), yv = wave(t, {5, 77}, 0.9);
      // a's rows (a u, u a^T), its columns (w a, a^T w), a vector's dot,
      // a gemm of a vector, batches of matrix-vector products.
      std::vector<Var> outs{dot(a, u), dot(u, transpose(a)), dot(w, a), dot(transpose(a), w),
                            dot(u, u), gemm(w, constant(Scalar(0.5)), a, u, constant(Scalar(-2.0))),
                            batchedDot(x, y)};
      check({a, u, w, x, y}, outs, {av, uv, wv, xv, yv}, tol);
      // The same of a transposed (strided) matrix, whose reductions take
      // the other main kernel; long rows, split across blocks.
      NDArray at = wave(t, {77, 300}, 0.6).transpose();
      check({a, u, w, x, y}, outs, {at, uv, wv, xv, yv}, tol);
      NDArray longRows = wave(t, {3, 20000}, 0.2), longU = wave(t, {20000}, 0.3, 0.01);
      const int finishes = test::emulatedLaunches("finish");
      check({a, u}, {dot(a, u)}, {longRows, longU}, t == DType::Float16 ? 1e-2 : tol);
      if (test::gpuEmulated())
        CHECK(test::emulatedLaunches("finish") > finishes);
    }
  }
  SECTION("integers and booleans, which wrap as the CPU's") {
    for (DType t : {DType::Int8, DType::Int32, DType::Int64, DType::UInt16}) {
      INFO("dtype " << dtypeName(t));
      Var a = matrix("a", t), b = matrix("b", t), u = vector("u", t);
      check({a, b, u}, {dot(a, b), dot(a, u), dot(u, b), dot(transpose(b), transpose(a))},
            {ramp(t, {31, 45}, 0), ramp(t, {45, 17}, 5), ramp(t, {45}, 3)}, 0);
    }
    Var p = matrix("p", DType::Bool), q = matrix("q", DType::Bool);
    check({p, q}, {dot(p, q)},
          {ramp(DType::Int64, {20, 9}, 1).astype(DType::Bool),
           ramp(DType::Int64, {9, 13}, 2).astype(DType::Bool)},
          0);
  }
  SECTION("empty factors") {
    Var a = matrix("a", DType::Float32), u = vector("u", DType::Float32);
    Var m = matrix("m", DType::Int64), v = vector("v", DType::Int64);
    check({a, u, m, v}, {dot(a, u), dot(u, transpose(a)), dot(m, v)},
          {NDArray::zeros(DType::Float32, {4, 0}), NDArray::zeros(DType::Float32, {0}),
           NDArray::zeros(DType::Int64, {0, 3}), NDArray::zeros(DType::Int64, {3})},
          0);
  }
  SECTION("mixed dtypes and tensordot") {
    Var a = matrix("a", DType::Float32), v = vector("v", DType::Float64);
    Var m = matrix("m", DType::Int32), x = tensor3("x", DType::Float32);
    NDArray av = wave(DType::Float32, {40, 33}, 0.1), vv = wave(DType::Float64, {33}, 0.2);
    NDArray mv = ramp(DType::Int32, {33, 40}, 4), xv = wave(DType::Float32, {6, 33, 40}, 0.3);
    check({a, v, m, x},
          {dot(a, v), dot(a, m), tensordot(x, a, {1, 2}, {1, 0}), tensordot(x, m, {2}, {1})},
          {av, vv, mv, xv}, 1e-5);
  }
  SECTION("a mismatch raises the product's error") {
    Var a = matrix("a", DType::Float32), u = vector("u", DType::Float32);
    FunctionOptions o;
    o.device = "cuda";
    Function f = function({a, u}, {dot(a, u)}, o);
    CHECK_THROWS_WITH(f({wave(DType::Float32, {4, 3}, 0), wave(DType::Float32, {5}, 0)}),
                      Catch::Contains("dot: shapes (4, 3) and (5,) are not aligned"));
    // A contracted axis of size 1 does not broadcast (its type does not
    // say it may), for floats and integers alike.
    CHECK_THROWS_WITH(f({wave(DType::Float32, {4, 1}, 0), wave(DType::Float32, {5}, 0)}),
                      Catch::Contains("dot: shapes (4, 1) and (5,) are not aligned"));
    Var m = matrix("m", DType::Int32), v = vector("v", DType::Int32);
    Function g = function({m, v}, {dot(m, v)}, o);
    CHECK_THROWS_WITH(g({ramp(DType::Int32, {3, 1}, 0), ramp(DType::Int32, {5}, 0)}),
                      Catch::Contains("dot: shapes (3, 1) and (5,) are not aligned"));
  }
  SECTION("a product of scalars stays on the host, in its dtype") {
    Var a = scalar("a", DType::Int32), b = scalar("b", DType::Int32);
    Var s = shared(NDArray::zeros(DType::Int32, {}), "s", {}, "cuda");
    FunctionOptions o;
    o.device = "cuda";
    Function f = function({a, b}, {tensordot(a, b, 0) + s}, o);
    std::vector<NDArray> r = f({NDArray::scalar(Scalar(int64_t(3))).astype(DType::Int32),
                                NDArray::scalar(Scalar(int64_t(4))).astype(DType::Int32)});
    CHECK(r[0].dtype() == DType::Int32);
    CHECK(r[0].item().toInt() == 12);
  }
}

TEST_CASE("a dim of size 1 broadcasts on the GPU only where its type says so", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // As the reference kernels and the CPU: a matrix whose first dim has
  // size 1 at run time is not a row.
  Var x = matrix("x", DType::Float64), y = matrix("y", DType::Float64);
  Var r = tensor(DType::Float64, {1, -1}, "r");
  FunctionOptions c, o;
  c.device = "cpu";
  o.device = "cuda";
  for (Function f : {function({x, y}, {x + y, sum(exp(x) * y, 1)}, c),
                     function({x, y}, {x + y, sum(exp(x) * y, 1)}, o)})
    CHECK_THROWS_WITH(f({wave(DType::Float64, {1, 3}, 0), wave(DType::Float64, {2, 3}, 0)}),
                      Catch::Contains("a dimension of size 1 broadcasts only when its type says "
                                      "so"));
  compareOnGPU({r, y}, {r + y, sum(exp(r) * y, 1)},
               {wave(DType::Float64, {1, 3}, 0), wave(DType::Float64, {2, 3}, 0.5)}, 1e-12);
}

TEST_CASE("PROFILE mode times every step of a GPU function", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // The function runs on the GPU (its kernels launch), agrees with the
  // CPU, and its report has a line per step: kernels ("loop"), the host
  // step of a complex value ("runtime"), each step's time from events.
  Var x = matrix("x", DType::Float32), z = vector("z", DType::Complex64);
  Var w = shared(wave(DType::Float32, {4, 4}, 0.3), "w", {}, "cuda");
  std::vector<Var> outs{sum(tanh(dot(x, w)) * 2.0f), z * z};
  FunctionOptions o;
  o.device = "cuda";
  o.mode = "PROFILE";
  Function f = function({x, z}, outs, o);
  FunctionOptions c;
  c.device = "cpu";
  Function cpu = function({x, z}, outs, c);
  const std::vector<NDArray> args{wave(DType::Float32, {3, 4}, 0.1),
                                  wave(DType::Complex64, {2}, 0.5)};
  const int launches = test::gpuEmulated() ? test::emulatedLaunches("small") : 0;
  for (int i = 0; i < 3; ++i) {
    std::vector<NDArray> g = f(args), h = cpu(args);
    checkClose(g[0], h[0], 1e-5);
    CHECK(g[1].repr() == h[1].repr());
  }
  if (test::gpuEmulated())
    CHECK(test::emulatedLaunches("small") == launches + 3); // the product, on the GPU
  const std::string report = f.profileReport();
  CHECK_THAT(report, Catch::Contains("Profile of function f: 3 calls"));
  CHECK_THAT(report, Catch::Contains("loop     dot"));
  CHECK_THAT(report, Catch::Contains("loop     sum"));
  CHECK_THAT(report, Catch::Contains("runtime  mul"));
  CHECK_THAT(report, !Catch::Contains("of which 0.00 in its steps"));
}

TEST_CASE("float32 products with allow_tf32 round their factors to tf32", "[gpu]") {
  {
    // The compile cache keeps the two settings apart.
    Var a = matrix("a", DType::Float32);
    Graph g({a}, {dot(a, a)});
    codegen::CompileOptions tf32;
    tf32.allowTF32 = true;
    CHECK(codegen::objectKey(g, tf32) != codegen::objectKey(g, {}));
  }
  if (!test::gpuAvailable())
    return;
  // tf32 keeps 10 bits of mantissa: about 1e-3 relative error per factor.
  const int64_t S = cuda::currentDevice().multiprocessors;
  Var a = matrix("a", DType::Float32), b = matrix("b", DType::Float32),
      c = matrix("c", DType::Float32);
  FunctionOptions cpuOptions, tf32Options;
  cpuOptions.device = "cpu";
  tf32Options.device = "cuda";
  tf32Options.allowTF32 = true;
  // A small product (small tiles) and one of 2 blocks of large tiles per
  // multiprocessor, a gemm with beta, b transposed.
  NDArray av = wave(DType::Float32, {60, 78}, 0.2);
  NDArray bv = wave(DType::Float32, {50, 78}, 0.9).transpose();
  NDArray cv = wave(DType::Float32, {60, 50}, 1.3);
  NDArray pv = wave(DType::Float32, {256, 24}, 0.3), qv = wave(DType::Float32, {24, S * 128}, 0.8);
  std::vector<Var> outs{dot(a, b), gemm(c, constant(Scalar(0.5)), a, b, constant(Scalar(-1.0)))};
  Function cpu = function({a, b, c}, outs, cpuOptions), gpu = function({a, b, c}, outs, tf32Options);
  Function cpuLarge = function({a, b}, {dot(a, b)}, cpuOptions),
           gpuLarge = function({a, b}, {dot(a, b)}, tf32Options);
  CHECK(gpu.emit("ptx").find("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32") !=
        std::string::npos);
  std::vector<NDArray> h = cpu({av, bv, cv}), g = gpu({av, bv, cv});
  h.push_back(cpuLarge({pv, qv})[0]);
  g.push_back(gpuLarge({pv, qv})[0]);
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("output " << i);
    checkClose(g[i], h[i], 1e-2);
    // Not float32's products: some element is off by more than float32's
    // rounding could make it.
    double worst = 0;
    std::vector<Scalar> gv = g[i].values(), hv = h[i].values();
    for (size_t j = 0; j < gv.size(); ++j)
      worst = std::max(worst, std::abs(gv[j].toDouble() - hv[j].toDouble()) /
                                  (1 + std::abs(hv[j].toDouble())));
    CHECK(worst > 1e-5);
  }
  if (test::gpuEmulated())
    CHECK(test::emulatedLaunches("tf32") > 0);
}
