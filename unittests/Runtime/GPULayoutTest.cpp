//===- GPULayoutTest.cpp - Indexing, writes and graphs on the GPU ---------===//
//
// What runs on the GPU besides kernels of arithmetic: views, basic and
// advanced indexing and writes through them (inc_subtensor becomes
// set_subtensor(x[i], x[i] + y) there: a view, an element-wise kernel and
// a device copy), shapes and host scalars read where they are, and ops made
// from graphs (inlined). The results must equal the CPU's. An element a
// kernel flags raises the CPU's error and updates nothing. These run
// kernels: without a CUDA device each case says why it is skipped.
//
//===----------------------------------------------------------------------===//
#include "EmulatedDevice.h"
#include "thjit/CodeGen/GPU.h"
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

namespace {

FunctionOptions on(const std::string &device) {
  FunctionOptions o;
  o.device = device;
  return o;
}

NDArray ints(DType t, const std::vector<int64_t> &v, const Shape &shape) {
  std::vector<Scalar> s;
  for (int64_t i : v)
    s.push_back(Scalar::fromInt(i));
  return NDArray::fromValues(t, s, shape);
}

} // namespace

TEST_CASE("NumPy's advanced indexing of GPU memory runs on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // Every element size the take kernels move: bool, int8 (1 byte), float16
  // (2), float32 (4), int64 (8), complex128 (16).
  for (DType t : {DType::Bool, DType::Int8, DType::Float16, DType::Float32, DType::Int64,
                  DType::Complex128}) {
    INFO(dtypeName(t));
    const double scale = isFloat(t) || isComplex(t) ? 1 : 40;
    const NDArray data = ramp(t, {4, 5, 3}, 0.7, scale);
    Var D = shared(data, "D", {}, "cuda");
    Var i = vector("i", DType::Int64), j = vector("j", DType::Int32);
    Var c = vector("c", DType::Int64);
    Var col = dimshuffle(c, {0, -1}); // (n, 1): broadcasts
    Var mask = matrix("mask", DType::Bool);
    std::vector<Var> outs{
        subtensor(D, {Index::array(i), Index::array(j)}),                // adjacent, first
        subtensor(D, {Index::all(), Index::array(j), Index::array(i)}),  // adjacent, later
        subtensor(D, {Index::array(i), Index::all(), Index::array(j)}),  // apart: B first
        subtensor(D, {Index::at(1), Index::array(i)}),                   // an integer part
        subtensor(D, {Index::array(col), Index::array(j)}),              // broadcast to (n, m)
        subtensor(D, {Index::array(mask)}),                              // a mask over 2 axes
        subtensor(subtensor(D, {Index::slice({}, {}, -1), Index::slice(1, 4)}),
                  {Index::newAxis(), Index::array(i), Index::array(j)}), // of a view
    };
    Function cpu = function({i, j, c, mask}, outs, on("cpu"));
    Function gpu = function({i, j, c, mask}, outs, on("cuda"));
    CHECK(gpu.str().find("host_from_gpu(D)") == std::string::npos);
    const int takes = test::emulatedLaunches("take");
    NDArray maskValue = NDArray::zeros(DType::Bool, {4, 5});
    for (int64_t k : {1, 7, 8, 14, 19})
      maskValue.data<bool>()[k] = true;
    std::vector<NDArray> args{ints(DType::Int64, {2, -1, 0, 2}, {4}),
                              ints(DType::Int32, {2, 2, -3, 1}, {4}),
                              ints(DType::Int64, {0, -2, 3}, {3}), maskValue};
    std::vector<NDArray> h = cpu(args), d = gpu(args);
    for (size_t k = 0; k < outs.size(); ++k) {
      INFO("output " << k);
      CHECK(d[k].repr() == h[k].repr());
    }
    if (test::gpuEmulated())
      CHECK(test::emulatedLaunches("take") >= takes + (int)outs.size());
    // Errors are the CPU's; D keeps its value.
    std::vector<NDArray> bad = args;
    bad[1] = ints(DType::Int32, {2, 2, 5, 1}, {4}); // out of range on axis 1
    CHECK_THROWS_AS(cpu(bad), IndexError);
    CHECK_THROWS_AS(gpu(bad), IndexError);
    bad = args;
    bad[0] = ints(DType::Int64, {3, 1, 0}, {3}); // (3,) and (4,) do not broadcast
    CHECK_THROWS_AS(cpu(bad), IndexError);
    CHECK_THROWS_AS(gpu(bad), IndexError);
    bad = args;
    bad[3] = NDArray::zeros(DType::Bool, {4, 4}); // the mask's shape
    CHECK_THROWS_AS(cpu(bad), IndexError);
    CHECK_THROWS_AS(gpu(bad), IndexError);
    CHECK(D.getValue().repr() == data.repr());
  }
}

TEST_CASE("x[index] = y and x[index] += y with index arrays run on the GPU as on the CPU",
          "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // put: every element size; scatter-add: every way of adding (booleans
  // or, integers wrap, complex numbers add part by part).
  for (DType t : {DType::Bool, DType::Int8, DType::UInt16, DType::Float16, DType::Float32,
                  DType::Float64, DType::Int32, DType::Int64, DType::Complex64,
                  DType::Complex128}) {
    INFO(dtypeName(t));
    const double scale = isFloat(t) || isComplex(t) ? 1 : 20;
    Var X = shared(ramp(t, {4, 5, 5}, 0.4, scale), "X", {}, "cuda");
    Var i = vector("i", DType::Int64), j = vector("j", DType::Int16);
    Var y = tensor(t, {-1, 5}, "y"), s = scalar("s", t);
    const std::vector<Index> ij{Index::array(i), Index::array(j)},
        apart{Index::array(i), Index::all(), Index::array(j)};
    std::vector<Var> outs{
        setSubtensor(subtensor(X, ij), y), // repeated (i, j): the last wins
        setSubtensor(subtensor(X, apart), s),
        setSubtensor(subtensor(subtensor(X, {Index::slice({}, {}, -1)}), ij), y),
        incSubtensor(subtensor(X, ij), y), // repeats add up
        incSubtensor(subtensor(X, apart), s),
    };
    Function cpu = function({i, j, y, s}, outs, on("cpu"));
    Function gpu = function({i, j, y, s}, outs, on("cuda"));
    const std::string printed = gpu.str();
    CHECK(printed.find("host_from_gpu(X)") == std::string::npos);
    const int puts = test::emulatedLaunches("put"), scatters = test::emulatedLaunches("scatter");
    std::vector<NDArray> args{ints(DType::Int64, {3, -1, 3, 0, 3}, {5}),
                              ints(DType::Int16, {1, 4, 1, 0, 1}, {5}),
                              ramp(t, {5, 5}, 1.9, scale), ramp(t, {}, 0.2, scale)};
    std::vector<NDArray> h = cpu(args), d = gpu(args);
    for (size_t k = 0; k < outs.size(); ++k) {
      INFO("output " << k);
      REQUIRE(d[k].shape() == h[k].shape());
      std::vector<Scalar> a = d[k].values(), b = h[k].values();
      const double tol = t == DType::Float16 ? 2e-3 : isFloat(t) || isComplex(t) ? 1e-5 : 0;
      for (size_t e = 0; e < a.size(); ++e) { // float sums in the device's order
        INFO("element " << e << ": GPU " << a[e].str() << ", CPU " << b[e].str());
        CHECK(std::abs(a[e].toComplex() - b[e].toComplex()) <=
              tol * (1 + std::abs(b[e].toComplex())));
      }
    }
    if (test::gpuEmulated()) {
      CHECK(test::emulatedLaunches("put") >= puts + 3);
      CHECK(test::emulatedLaunches("scatter") >= scatters + 2);
    }
    std::vector<NDArray> bad = args;
    bad[1] = ints(DType::Int16, {1, 4, 1, 0, -6}, {5});
    CHECK_THROWS_AS(cpu(bad), IndexError);
    CHECK_THROWS_AS(gpu(bad), IndexError);
    bad = args;
    bad[2] = ramp(t, {4, 5}, 0, scale); // 4 rows for a selection of 5
    CHECK_THROWS_AS(cpu(bad), ShapeError);
    CHECK_THROWS_AS(gpu(bad), ShapeError);
  }
}

TEST_CASE("the tutorial's negative log-likelihood trains on the GPU as on the CPU", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // Theano's logistic regression: -mean(log(p)[arange(n), y]), whose
  // gradient is an advanced_inc_subtensor: nothing goes back to the host.
  auto train = [](const std::string &device, std::string *printed) {
    Var W = shared(NDArray::zeros(DType::Float64, {6, 3}), "W", {}, device);
    Var b = shared(NDArray::zeros(DType::Float64, {3}), "b", {}, device);
    Var x = matrix("x", DType::Float64), y = vector("y", DType::Int64);
    Var p = softmax(dot(x, W) + b);
    Var n = shapeOf(y, 0);
    Var nll = -mean(subtensor(log(p), {Index::array(arange(0, n)), Index::array(y)}));
    std::vector<Var> g = grad(nll, std::vector<Var>{W, b});
    FunctionOptions o;
    o.updates = {{W, W - 0.5 * g[0]}, {b, b - 0.5 * g[1]}};
    Function step = function({x, y}, {nll}, o);
    if (printed)
      *printed = step.str();
    std::vector<double> losses;
    const NDArray labels = ints(DType::Int64, {1, 0, 2, 0, 1}, {5});
    for (int k = 0; k < 8; ++k)
      losses.push_back(step({ramp(DType::Float64, {5, 6}, 0.3), labels})[0].item().toDouble());
    return losses;
  };
  std::string printed;
  std::vector<double> cpu = train("cpu", nullptr), gpu = train("cuda", &printed);
  INFO(printed);
  // x goes up, the loss comes down; nothing else moves.
  CHECK(printed.find("advanced_inc_subtensor") != std::string::npos);
  size_t transfers = 0;
  for (size_t at = printed.find("_from_"); at != std::string::npos;
       at = printed.find("_from_", at + 1))
    ++transfers;
  CHECK(transfers == 2);
  for (size_t k = 0; k < cpu.size(); ++k) {
    INFO("step " << k << ": CPU " << cpu[k] << ", GPU " << gpu[k]);
    CHECK(std::abs(cpu[k] - gpu[k]) <= 1e-12 * (1 + std::abs(cpu[k])));
  }
  CHECK(cpu.back() < cpu.front());
}

TEST_CASE("ops made from graphs run on the GPU, inlined", "[gpu]") {
  if (!test::gpuAvailable())
    return;
  // A layer as one op (not inlined on the CPU), reading a shared variable,
  // with its gradient through the graph.
  Var a = matrix("a", DType::Float64), w = matrix("w", DType::Float64);
  OpFromGraphOptions named;
  named.name = "layer";
  GraphOp layer = opFromGraph({a, w}, {tanh(dot(a, w)) + 1}, named);
  auto train = [&](const std::string &device, std::string *printed) {
    Var W = shared(ramp(DType::Float64, {4, 3}, 0.1), "W", {}, device);
    Var x = matrix("x", DType::Float64);
    Var cost = sum(sqr(applyOp(layer, {x, W})[0]));
    FunctionOptions o;
    o.updates = {{W, W - 0.01 * grad(cost, std::vector<Var>{W})[0]}};
    Function step = function({x}, {cost}, o);
    if (printed)
      *printed = step.str();
    std::vector<double> losses;
    for (int k = 0; k < 5; ++k)
      losses.push_back(step({ramp(DType::Float64, {6, 4}, 0.2 * k)})[0].item().toDouble());
    return losses;
  };
  std::string cpuGraph, gpuGraph;
  std::vector<double> cpu = train("cpu", &cpuGraph), gpu = train("cuda", &gpuGraph);
  INFO(gpuGraph);
  CHECK(cpuGraph.find("op_from_graph{layer}") != std::string::npos);
  CHECK(gpuGraph.find("op_from_graph") == std::string::npos);
  CHECK(gpuGraph.find("host_from_gpu(W)") == std::string::npos);
  for (size_t k = 0; k < cpu.size(); ++k) {
    INFO("step " << k << ": CPU " << cpu[k] << ", GPU " << gpu[k]);
    CHECK(std::abs(cpu[k] - gpu[k]) <= 1e-12 * (1 + std::abs(cpu[k])));
  }
}
