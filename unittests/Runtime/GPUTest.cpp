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
