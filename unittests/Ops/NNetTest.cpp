//===- NNetTest.cpp - softmax and log_softmax against NumPy 1.24 ----------===//
#include "OpsTestUtil.h"

using namespace thjit;
using namespace thjit::test;

TEST_CASE("softmax and log_softmax over the last axis", "[nnet]") {
  Var x = matrix("x");
  NDArray xv = array(DType::Float64, {3, 3}, {1, 2, 3, -1, 0, 1000, 0, 0, 0});
  // The same values through a transposed view.
  NDArray xt = xv.transpose().copy().transpose();
  for (const NDArray &v : {xv, xt}) {
    expectValues(evalChecked(softmax(x), {{x, v}}), DType::Float64, {3, 3},
                 {0.09003057317038043, 0.24472847105479767, 0.6652409557748218,
                  0.0, 0.0, 1.0, 0.3333333333333333, 0.3333333333333333,
                  0.3333333333333333});
    expectValues(evalChecked(logSoftmax(x), {{x, v}}), DType::Float64, {3, 3},
                 {-2.4076059644443806, -1.4076059644443804,
                  -0.40760596444438035, -1001.0, -1000.0, 0.0,
                  -1.0986122886681096, -1.0986122886681096,
                  -1.0986122886681096});
  }
  // Large and infinite values do not overflow.
  Var v = vector("v");
  NDArray vv = array(DType::Float64, {4}, {1000, -1000, 0, -kInf});
  expectValues(evalChecked(softmax(v), {{v, vv}}), DType::Float64, {4},
               {1, 0, 0, 0});
  expectValues(evalChecked(logSoftmax(v), {{v, vv}}), DType::Float64, {4},
               {0, -2000, -1000, -kInf});
  // NaN spreads over its row only.
  NDArray withNaN = array(DType::Float64, {2, 2}, {kNaN, 1, 0, 0});
  expectValues(evalChecked(softmax(x), {{x, withNaN}}), DType::Float64, {2, 2},
               {kNaN, kNaN, 0.5, 0.5});
  // Rank 3: each innermost row.
  Var t = tensor3("t");
  expectValues(evalChecked(softmax(t), {{t, iota(DType::Float64, {2, 2, 2})}}),
               DType::Float64, {2, 2, 2},
               {0.26894142136999516, 0.7310585786300049, 0.26894142136999516,
                0.7310585786300049, 0.26894142136999516, 0.7310585786300049,
                0.26894142136999516, 0.7310585786300049});
  // Empty rows and empty batches.
  expectValues(
      evalChecked(softmax(x), {{x, NDArray::empty(DType::Float64, {0, 3})}}),
      DType::Float64, {0, 3}, {});
  expectValues(
      evalChecked(logSoftmax(x), {{x, NDArray::empty(DType::Float64, {2, 0})}}),
      DType::Float64, {2, 0}, {});
}

TEST_CASE("softmax dtypes and errors", "[nnet]") {
  Var f = vector("f", DType::Float32);
  expectValues(
      evalChecked(softmax(f), {{f, array(DType::Float32, {2}, {0, 0})}}),
      DType::Float32, {2}, {0.5, 0.5});
  // Integers compute in NumPy's float for them (int8: float16).
  Var i = vector("i", DType::Int8);
  expectValues(
      evalChecked(softmax(i), {{i, ints(DType::Int8, {3}, {1, 2, 3})}}),
      DType::Float16, {3}, {0.090087890625, 0.2447509765625, 0.66552734375},
      1e-3);
  CHECK(logSoftmax(matrix("m", DType::Int64)).dtype() == DType::Float64);
  CHECK_THROWS_KIND(softmax(scalar("s")), TypeError,
                    "softmax: needs at least one axis; got f64[]");
  CHECK_THROWS_KIND(logSoftmax(vector("c", DType::Complex64)), TypeError,
                    "complex");
  // Static sizes are kept.
  CHECK(softmax(tensor(DType::Float64, {2, 1})).type()->str() == "f64[2,1]");
}
