//===- GPUTest.cpp - Functions on a real GPU ([gpu], skipped without one) -===//
//
// Training on the GPU, with the parameters in GPU memory, must follow the
// CPU's losses step by step; and what a GPU call hands back (outputs,
// updates, transposed and broadcast arguments) must equal the CPU's. These
// run kernels: without a CUDA device each case says why it is skipped.
//
//===----------------------------------------------------------------------===//
#include "EmulatedDevice.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace thjit;

namespace {

NDArray wave(DType t, const Shape &shape, double phase) {
  std::vector<Scalar> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(Scalar(std::sin(0.37 * double(i) + phase)));
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
  if (test::gpuEmulated()) // the cases above split some reductions
    CHECK(test::emulatedLaunches()["finish"] > 0);
}
