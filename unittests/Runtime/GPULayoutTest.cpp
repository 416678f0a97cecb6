//===- GPULayoutTest.cpp - Writes into GPU memory, failing elements -------===//
//
// inc_subtensor of a value on the GPU becomes set_subtensor(x[i], x[i] + y)
// there (a view, an element-wise kernel and a device copy), so gradients of
// indexing run on the GPU; the results must equal the CPU's. An element a
// kernel flags raises the CPU's error and updates nothing. These run
// kernels: without a CUDA device each case says why it is skipped.
//
//===----------------------------------------------------------------------===//
#include "EmulatedDevice.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace thjit;

namespace {

NDArray ramp(DType t, const Shape &shape, double phase, double scale = 1) {
  std::vector<Scalar> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(Scalar(scale * std::cos(0.41 * double(i) + phase)));
  return NDArray::fromValues(t, v, shape);
}

} // namespace

TEST_CASE("inc_subtensor of GPU memory runs on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  for (DType t : {DType::Float32, DType::Float64, DType::Int32}) {
    INFO(dtypeName(t));
    const double scale = t == DType::Int32 ? 50 : 1;
    Var X = shared(ramp(t, {5, 6}, 0.3, scale), "X", {}, "cuda");
    Var y = matrix("y", t), r = vector("r", t);
    Var k = scalar("k", DType::Int64);
    std::vector<Var> outs{
        incSubtensor(subtensor(X, {Index::slice(1, 4), Index::slice({}, {}, 2)}), y),
        incSubtensor(subtensor(X, {Index::slice({}, {}, -1)}), r), // r along every row
        incSubtensor(subtensor(X, {Index::at(k)}), r),
        incSubtensor(subtensor(X, {Index::slice(k, {}, {}), Index::at(-1)}), 2),
    };
    FunctionOptions c;
    c.device = "cpu";
    FunctionOptions g = c;
    g.device = "cuda";
    Function cpu = function({y, r, k}, outs, c), gpu = function({y, r, k}, outs, g);
    // Written as set_subtensor on the GPU: no inc_subtensor is left.
    const std::string printed = gpu.str();
    CHECK(printed.find("inc_subtensor") == std::string::npos);
    CHECK(printed.find("set_subtensor") != std::string::npos);
    const int adds = test::emulatedLaunches("contiguous") + test::emulatedLaunches("strided");
    for (int64_t at : {0, 2, 4}) {
      std::vector<NDArray> args{ramp(t, {3, 3}, 1.1, scale), ramp(t, {6}, 2.2, scale),
                                NDArray::scalar(Scalar::fromInt(at))};
      std::vector<NDArray> h = cpu(args), d = gpu(args);
      for (size_t i = 0; i < outs.size(); ++i) {
        INFO("output " << i << ", k = " << at);
        CHECK(d[i].repr() == h[i].repr());
      }
    }
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("contiguous") + test::emulatedLaunches("strided") > adds);
    // The user's errors, as on the CPU.
    std::vector<NDArray> bad{ramp(t, {2, 3}, 0, scale), ramp(t, {6}, 0, scale),
                             NDArray::scalar(Scalar::fromInt(9))};
    CHECK_THROWS_AS(cpu(bad), ShapeError);
    CHECK_THROWS_AS(gpu(bad), ShapeError);
  }
}

TEST_CASE("gradients through indexing of GPU parameters match the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // An embedding-like lookup of rows of a parameter by slices: the
  // gradient is an inc_subtensor of zeros.
  auto train = [](const std::string &device) {
    Var E = shared(ramp(DType::Float64, {8, 4}, 0.5), "E", {}, device);
    Var target = vector("target", DType::Float64);
    Var k = scalar("k", DType::Int64);
    Var picked = subtensor(E, {Index::slice(k, k + 3), Index::all()});
    Var cost = sum(sqr(sum(picked, 0) - target));
    FunctionOptions o;
    o.updates = {{E, E - 0.05 * grad(cost, std::vector<Var>{E})[0]}};
    Function step = function({target, k}, {cost}, o);
    std::vector<double> losses;
    for (int i = 0; i < 12; ++i)
      losses.push_back(step({ramp(DType::Float64, {4}, 0.1 * i),
                             NDArray::scalar(Scalar::fromInt(i % 6))})[0]
                           .item()
                           .toDouble());
    return losses;
  };
  std::vector<double> cpu = train("cpu"), gpu = train("cuda");
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("step " << i << ": CPU " << cpu[i] << ", GPU " << gpu[i]);
    CHECK(std::abs(cpu[i] - gpu[i]) <= 1e-12 * (1 + std::abs(cpu[i])));
  }
}

TEST_CASE("a GPU element that fails raises the CPU's error; nothing is updated", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // A signed integer to a negative power: the kernel flags it in the
  // status word the call reads at its end.
  NDArray start = NDArray::fromValues(DType::Int32, {Scalar::fromInt(2), Scalar::fromInt(3)},
                                      {2});
  Var acc = shared(start, "acc", {}, "cuda");
  Var k = vector("k", DType::Int32);
  FunctionOptions o;
  o.updates = {{acc, acc + pow(acc, k)}};
  Function f = function({k}, {}, o);
  REQUIRE(f.device() == "cuda");
  NDArray ok = NDArray::fromValues(DType::Int32, {Scalar::fromInt(2), Scalar::fromInt(0)}, {2});
  f({ok});
  CHECK(acc.getValue().repr() ==
        NDArray::fromValues(DType::Int32, {Scalar::fromInt(6), Scalar::fromInt(4)}, {2}).repr());
  const std::string before = acc.getValue().repr();
  NDArray negative =
      NDArray::fromValues(DType::Int32, {Scalar::fromInt(1), Scalar::fromInt(-1)}, {2});
  CHECK_THROWS_AS(f({negative}), ValueError);
  CHECK(acc.getValue().repr() == before);
  // A call whose kernels cannot fail (no integer power), with every result
  // kept on the GPU, does not wait for them; reading the value does.
  Var w = shared(NDArray::zeros(DType::Float32, {1000}), "w", {}, "cuda");
  FunctionOptions p;
  p.updates = {{w, w + 1.5f}};
  Function inc = function({}, {}, p);
  for (int i = 0; i < 4; ++i)
    inc({});
  CHECK(w.getValue().repr() == NDArray::full(DType::Float32, {1000}, Scalar(6.0)).repr());
}

TEST_CASE("shapes of GPU values are read where they are", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  NDArray start = ramp(DType::Float32, {3, 4}, 0.2);
  Var Y = shared(start, "Y", {}, "cuda");
  std::vector<Var> outs{Y * cast(shapeOf(Y, 0), DType::Float32), shape(Y),
                        shape(transpose(Y))};
  FunctionOptions c;
  c.device = "cpu";
  FunctionOptions g;
  g.device = "cuda";
  Function cpu = function({}, outs, c), gpu = function({}, outs, g);
  CHECK(gpu.str().find("host_from_gpu(Y)") == std::string::npos);
  std::vector<NDArray> h = cpu({}), d = gpu({});
  for (size_t i = 0; i < outs.size(); ++i) {
    INFO("output " << i);
    CHECK(d[i].repr() == h[i].repr());
  }
}

TEST_CASE("host scalars are passed to GPU kernels by value", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  for (DType t : {DType::Float16, DType::Float32, DType::Float64, DType::Int8, DType::Int32,
                  DType::Int64, DType::UInt8, DType::Bool}) {
    INFO(dtypeName(t));
    const double scale = isFloat(t) ? 1 : 9;
    Var X = shared(ramp(t, {4, 5}, 0.7, scale), "X", {}, "cuda");
    Var k = scalar("k", t), j = scalar("j", DType::Float64);
    // Element-wise (alone and fused into a reduction) with scalar
    // arguments, and a scalar computed on the host from them.
    std::vector<Var> outs{X * k + X, sum(cast(X, DType::Float64) * j, Axes({1})),
                          maximum(X, k), cast(X, DType::Float64) - (j * 2.0 + 1.0)};
    FunctionOptions c;
    c.device = "cpu";
    FunctionOptions g = c;
    g.device = "cuda";
    Function cpu = function({k, j}, outs, c), gpu = function({k, j}, outs, g);
    const std::string printed = gpu.str();
    INFO(printed);
    CHECK(printed.find("gpu_from_host(k)") == std::string::npos);
    CHECK(printed.find("gpu_from_host(j)") == std::string::npos);
    for (double kv : {3.0, -2.0, 0.0}) {
      if ((isUnsignedInt(t) || t == DType::Bool) && kv < 0)
        continue;
      std::vector<NDArray> args{NDArray::scalar(Scalar(kv)).astype(t),
                                NDArray::scalar(Scalar(0.25 * kv + 0.5))};
      std::vector<NDArray> h = cpu(args), d = gpu(args);
      for (size_t i = 0; i < outs.size(); ++i) {
        INFO("output " << i << ", k = " << kv);
        CHECK(d[i].repr() == h[i].repr());
      }
    }
  }
}

TEST_CASE("x[rows] of GPU memory is gathered on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  for (DType t : {DType::Float32, DType::Float64, DType::Int8, DType::Float16,
                  DType::Complex128}) {
    INFO(dtypeName(t));
    NDArray data = isComplex(t) ? ramp(DType::Float64, {6, 3, 2}, 0.1).astype(t)
                                : ramp(t, {6, 3, 2}, 0.1, isFloat(t) ? 1 : 40);
    Var D = shared(data, "D", {}, "cuda");
    Var rows = vector("rows", DType::Int64), grid = matrix("grid", DType::Int32);
    Var V = shared(ramp(t == DType::Complex128 ? DType::Float64 : t, {7}, 0.9), "V", {}, "cuda");
    std::vector<Var> outs{
        subtensor(D, {Index::array(rows)}),                        // rows of a 3-d array
        subtensor(transpose(D, {0, 2, 1}), {Index::array(grid)}),  // strided, 2-d rows
        subtensor(subtensor(D, {Index::slice({}, {}, -1)}), {Index::array(rows), Index::all()}),
        subtensor(V, {Index::array(rows)}),                        // a vector
        // five dims after the take's: copied in pieces
        subtensor(dimshuffle(D, {0, -1, 1, -1, 2, -1}), {Index::array(rows)}),
    };
    FunctionOptions c;
    c.device = "cpu";
    FunctionOptions g = c;
    g.device = "cuda";
    Function cpu = function({rows, grid}, outs, c), gpu = function({rows, grid}, outs, g);
    CHECK(gpu.str().find("host_from_gpu(D)") == std::string::npos);
    const int takes = test::emulatedLaunches("take");
    std::vector<NDArray> args{
        NDArray::fromValues(DType::Int64,
                            {Scalar::fromInt(5), Scalar::fromInt(-1), Scalar::fromInt(0),
                             Scalar::fromInt(2), Scalar::fromInt(2)},
                            {5}),
        NDArray::fromValues(DType::Int32,
                            {Scalar::fromInt(1), Scalar::fromInt(-6), Scalar::fromInt(3),
                             Scalar::fromInt(4)},
                            {2, 2})};
    std::vector<NDArray> h = cpu(args), d = gpu(args);
    for (size_t i = 0; i < outs.size(); ++i) {
      INFO("output " << i);
      CHECK(d[i].repr() == h[i].repr());
    }
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("take") > takes);
    // No rows, and a row out of range: the CPU's result and error.
    std::vector<NDArray> none{NDArray::zeros(DType::Int64, {0}), args[1]};
    std::vector<NDArray> h0 = cpu(none), d0 = gpu(none);
    CHECK(d0[0].repr() == h0[0].repr());
    std::vector<NDArray> bad{NDArray::fromValues(DType::Int64, {Scalar::fromInt(6)}, {1}),
                             args[1]};
    CHECK_THROWS_AS(cpu(bad), IndexError);
    CHECK_THROWS_AS(gpu(bad), IndexError);
    CHECK(D.getValue().repr() == data.repr());
  }
}

TEST_CASE("x[rows] += y and embedding gradients run on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  for (DType t : {DType::Float32, DType::Float64, DType::Int32, DType::Int64}) {
    INFO(dtypeName(t));
    const double scale = isFloat(t) ? 1 : 30;
    Var X = shared(ramp(t, {5, 3}, 0.4, scale), "X", {}, "cuda");
    Var rows = vector("rows", DType::Int32), grid = matrix("grid", DType::Int64);
    Var y = matrix("y", t), r = vector("r", t);
    std::vector<Var> outs{
        incSubtensor(subtensor(X, {Index::array(rows)}), y), // rows repeat: they add up
        incSubtensor(subtensor(X, {Index::array(rows)}), r), // r along every row
        incSubtensor(subtensor(X, {Index::array(grid)}), r), // 2-d rows
    };
    FunctionOptions c;
    c.device = "cpu";
    c.onUnusedInput = OnUnusedInput::Ignore;
    FunctionOptions g = c;
    g.device = "cuda";
    Function cpu = function({rows, grid, y, r}, outs, c), gpu = function({rows, grid, y, r}, outs, g);
    CHECK(gpu.str().find("host_from_gpu(X)") == std::string::npos);
    const int scatters = test::emulatedLaunches("scatter");
    std::vector<NDArray> args{
        NDArray::fromValues(DType::Int32,
                            {Scalar::fromInt(4), Scalar::fromInt(-1), Scalar::fromInt(0),
                             Scalar::fromInt(4)},
                            {4}),
        NDArray::fromValues(DType::Int64,
                            {Scalar::fromInt(1), Scalar::fromInt(1), Scalar::fromInt(2),
                             Scalar::fromInt(-5)},
                            {2, 2}),
        ramp(t, {4, 3}, 1.3, scale), ramp(t, {3}, 2.6, scale)};
    std::vector<NDArray> h = cpu(args), d = gpu(args);
    for (size_t i = 0; i < outs.size(); ++i) {
      INFO("output " << i);
      REQUIRE(d[i].shape() == h[i].shape());
      std::vector<Scalar> a = d[i].values(), b = h[i].values();
      for (size_t j = 0; j < a.size(); ++j) // float sums in the device's order
        CHECK(std::abs(a[j].toDouble() - b[j].toDouble()) <=
              (isFloat(t) ? 1e-5 : 0) * (1 + std::abs(b[j].toDouble())));
    }
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("scatter") > scatters);
    std::vector<NDArray> bad = args;
    bad[0] = NDArray::fromValues(DType::Int32, {Scalar::fromInt(5)}, {1});
    bad[2] = ramp(t, {1, 3}, 0, scale);
    CHECK_THROWS_AS(cpu(bad), IndexError);
    CHECK_THROWS_AS(gpu(bad), IndexError);
  }

  // An embedding: rows of a parameter looked up by index, trained by SGD.
  auto train = [](const std::string &device) {
    Var E = shared(ramp(DType::Float64, {10, 4}, 0.5), "E", {}, device);
    Var ids = vector("ids", DType::Int64), target = matrix("target", DType::Float64);
    Var cost = sum(sqr(subtensor(E, {Index::array(ids)}) - target));
    FunctionOptions o;
    o.updates = {{E, E - 0.05 * grad(cost, std::vector<Var>{E})[0]}};
    Function step = function({ids, target}, {cost}, o);
    std::vector<double> losses;
    for (int i = 0; i < 10; ++i) {
      NDArray batch = NDArray::fromValues(
          DType::Int64,
          {Scalar::fromInt(i % 10), Scalar::fromInt((3 * i) % 10), Scalar::fromInt(i % 10)},
          {3});
      losses.push_back(step({batch, ramp(DType::Float64, {3, 4}, 0.2 * i)})[0].item().toDouble());
    }
    return losses;
  };
  std::vector<double> cpu = train("cpu"), gpu = train("cuda");
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("step " << i << ": CPU " << cpu[i] << ", GPU " << gpu[i]);
    CHECK(std::abs(cpu[i] - gpu[i]) <= 1e-12 * (1 + std::abs(cpu[i])));
  }
}
