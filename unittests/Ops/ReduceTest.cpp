//===- ReduceTest.cpp - Reductions against NumPy 1.24 ---------------------===//
//
// sum, prod, max, min, all, any, argmax, argmin (and mean, var, std built on
// them) over every axis set, with keepdims, on strided views, 0-d and empty
// arrays, with NumPy's accumulator dtypes and NaN rules.
//
//===----------------------------------------------------------------------===//
#include "OpsTestUtil.h"

#include <functional>
#include <limits>

using namespace thjit;
using namespace thjit::test;

namespace {

using Reducer = std::function<Var(const Var &, const Axes &, bool)>;

// x = [[[3, -1, 4], [1, -5, 9]], [[2, 6, -5], [3, 5, -8]]], shape (2, 2, 3).
const std::vector<double> kX = {3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 5, -8};

NDArray xValue() { return array(DType::Float64, {2, 2, 3}, kX); }

// The same values seen through a transposed view and a reversed view.
NDArray xTransposedView() {
  NDArray v = xValue().transpose().copy().transpose();
  REQUIRE_FALSE(v.isContiguous());
  return v;
}
NDArray xReversedView() {
  NDArray r = xValue().slice(2, 2, -1, -1).copy().slice(2, 2, -1, -1);
  REQUIRE(r.strides()[2] < 0);
  return r;
}

struct AxisCase {
  Axes axes;
  Shape shape, keptShape;
  std::vector<double> want;
};

struct ReduceCase {
  const char *name;
  Reducer reduce;
  std::vector<AxisCase> axes;
};

Axes allAxes() { return Axes(); }

const std::vector<ReduceCase> &reduceCases() {
  static const std::vector<ReduceCase> cases = {
      {"sum",
       [](const Var &x, const Axes &a, bool k) { return sum(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {14.0}},
        {0, {2, 3}, {1, 2, 3}, {5.0, 5.0, -1.0, 4.0, 0.0, 1.0}},
        {1, {2, 3}, {2, 1, 3}, {4.0, -6.0, 13.0, 5.0, 11.0, -13.0}},
        {-1, {2, 2}, {2, 2, 1}, {6.0, 5.0, 3.0, 0.0}},
        {{0, 2}, {2}, {1, 2, 1}, {9.0, 5.0}}}},
      {"prod",
       [](const Var &x, const Axes &a, bool k) { return prod(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {3888000.0}},
        {0, {2, 3}, {1, 2, 3}, {6.0, -6.0, -20.0, 3.0, -25.0, -72.0}},
        {1, {2, 3}, {2, 1, 3}, {3.0, 5.0, 36.0, 6.0, 30.0, 40.0}},
        {-1, {2, 2}, {2, 2, 1}, {-12.0, -45.0, -60.0, -120.0}},
        {{2, 0}, {2}, {1, 2, 1}, {720.0, 5400.0}}}},
      {"max",
       [](const Var &x, const Axes &a, bool k) { return max(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {9.0}},
        {0, {2, 3}, {1, 2, 3}, {3.0, 6.0, 4.0, 3.0, 5.0, 9.0}},
        {1, {2, 3}, {2, 1, 3}, {3.0, -1.0, 9.0, 3.0, 6.0, -5.0}},
        {2, {2, 2}, {2, 2, 1}, {4.0, 9.0, 6.0, 5.0}},
        {{0, 2}, {2}, {1, 2, 1}, {6.0, 9.0}}}},
      {"min",
       [](const Var &x, const Axes &a, bool k) { return min(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {-8.0}},
        {0, {2, 3}, {1, 2, 3}, {2.0, -1.0, -5.0, 1.0, -5.0, -8.0}},
        {1, {2, 3}, {2, 1, 3}, {1.0, -5.0, 4.0, 2.0, 5.0, -8.0}},
        {2, {2, 2}, {2, 2, 1}, {-1.0, -5.0, -5.0, -8.0}},
        {{0, -1}, {2}, {1, 2, 1}, {-5.0, -8.0}}}},
      {"mean",
       [](const Var &x, const Axes &a, bool k) { return mean(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {1.1666666666666667}},
        {0, {2, 3}, {1, 2, 3}, {2.5, 2.5, -0.5, 2.0, 0.0, 0.5}},
        {1, {2, 3}, {2, 1, 3}, {2.0, -3.0, 6.5, 2.5, 5.5, -6.5}},
        {2, {2, 2}, {2, 2, 1}, {2.0, 1.6666666666666667, 1.0, 0.0}},
        {{0, 2}, {2}, {1, 2, 1}, {1.5, 0.8333333333333334}}}},
      {"var",
       [](const Var &x, const Axes &a, bool k) { return var(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {23.305555555555554}},
        {0, {2, 3}, {1, 2, 3}, {0.25, 12.25, 20.25, 1.0, 25.0, 72.25}},
        {1, {2, 3}, {2, 1, 3}, {1.0, 4.0, 6.25, 0.25, 0.25, 2.25}},
        {2,
         {2, 2},
         {2, 2, 1},
         {4.666666666666667, 32.888888888888886, 20.666666666666668,
          32.666666666666664}},
        {{0, 2}, {2}, {1, 2, 1}, {12.916666666666666, 33.47222222222222}}}},
      {"std",
       [](const Var &x, const Axes &a, bool k) { return thjit::std(x, a, k); },
       {{allAxes(), {}, {1, 1, 1}, {4.827582785986746}},
        {0, {2, 3}, {1, 2, 3}, {0.5, 3.5, 4.5, 1.0, 5.0, 8.5}},
        {1, {2, 3}, {2, 1, 3}, {1.0, 2.0, 2.5, 0.5, 0.5, 1.5}},
        {2,
         {2, 2},
         {2, 2, 1},
         {2.160246899469287, 5.734883511361751, 4.546060565661952,
          5.715476066494082}},
        {{0, 2}, {2}, {1, 2, 1}, {3.593976442141304, 5.785518319236594}}}},
  };
  return cases;
}

} // namespace

TEST_CASE("Reductions over every axis set, with keepdims", "[reduce]") {
  Var x = tensor3("x");
  for (const ReduceCase &c : reduceCases()) {
    for (const AxisCase &a : c.axes) {
      for (bool keep : {false, true}) {
        for (int layout = 0; layout < 3; ++layout) {
          NDArray xv = layout == 0   ? xValue()
                       : layout == 1 ? xTransposedView()
                                     : xReversedView();
          INFO(c.name << " over " << a.shape.size() << "-d result, keepdims "
                      << keep << ", layout " << layout);
          Var z = c.reduce(x, a.axes, keep);
          expectValues(evalChecked(z, {{x, xv}}), DType::Float64,
                       keep ? a.keptShape : a.shape, a.want, 1e-14);
        }
      }
    }
  }
}

TEST_CASE("argmax and argmin pick the first extreme", "[reduce]") {
  Var x = tensor3("x");
  const struct {
    std::optional<int> axis;
    Shape shape;
    std::vector<int64_t> argmax, argmin;
  } cases[] = {
      {std::nullopt, {}, {5}, {11}},
      {0, {2, 3}, {0, 1, 0, 1, 1, 0}, {1, 0, 1, 0, 0, 1}},
      {1, {2, 3}, {0, 0, 1, 1, 0, 0}, {1, 1, 0, 0, 1, 1}},
      {-1, {2, 2}, {2, 2, 1, 1}, {1, 1, 2, 2}},
  };
  for (const auto &c : cases) {
    for (const NDArray &xv : {xValue(), xTransposedView(), xReversedView()}) {
      expectInts(evalChecked(argmax(x, c.axis), {{x, xv}}), DType::Int64,
                 c.shape, c.argmax);
      expectInts(evalChecked(argmin(x, c.axis), {{x, xv}}), DType::Int64,
                 c.shape, c.argmin);
    }
  }
  // keepdims keeps the reduced axis; without an axis, every axis.
  CHECK(evalChecked(argmax(x, 1, true), {{x, xValue()}}).shape() ==
        Shape{2, 1, 3});
  CHECK(evalChecked(argmax(x, std::nullopt, true), {{x, xValue()}}).shape() ==
        Shape{1, 1, 1});
  // Ties: the first one wins.
  Var v = vector("v", DType::Int32);
  NDArray vv = ints(DType::Int32, {5}, {1, 7, 7, -2, -2});
  expectInts(evalChecked(argmax(v), {{v, vv}}), DType::Int64, {}, {1});
  expectInts(evalChecked(argmin(v), {{v, vv}}), DType::Int64, {}, {3});
}

TEST_CASE("NaN wins max, min, argmax and argmin; it is true for all/any",
          "[reduce]") {
  Var f = matrix("f");
  Bindings args{
      {f, array(DType::Float64, {2, 3}, {0.0, kNaN, 2.0, 0.0, 0.0, -1.0})}};
  expectValues(evalChecked(max(f, 1), args), DType::Float64, {2}, {kNaN, 0});
  expectValues(evalChecked(min(f, 0), args), DType::Float64, {3},
               {0, kNaN, -1});
  expectValues(evalChecked(max(f), args), DType::Float64, {}, {kNaN});
  expectInts(evalChecked(argmax(f, 1), args), DType::Int64, {2}, {1, 0});
  expectInts(evalChecked(argmin(f, 1), args), DType::Int64, {2}, {1, 2});
  expectInts(evalChecked(all(f, 1), args), DType::Bool, {2}, {0, 0});
  expectInts(evalChecked(any(f, 1), args), DType::Bool, {2}, {1, 1});
  expectValues(evalChecked(sum(f, 1), args), DType::Float64, {2}, {kNaN, -1});
}

TEST_CASE("all and any", "[reduce]") {
  Var b = matrix("b", DType::Bool);
  Bindings args{{b, ints(DType::Bool, {2, 3}, {1, 0, 1, 1, 1, 1})}};
  expectInts(evalChecked(all(b, 0), args), DType::Bool, {3}, {1, 0, 1});
  expectInts(evalChecked(any(b, 1), args), DType::Bool, {2}, {1, 1});
  expectInts(evalChecked(all(b, 1), args), DType::Bool, {2}, {0, 1});
  expectInts(evalChecked(all(b), args), DType::Bool, {}, {0});
  expectInts(evalChecked(any(b, {0, 1}, true), args), DType::Bool, {1, 1}, {1});
  // Numbers count by their truth value; the result is always bool.
  Var i = vector("i", DType::Int16);
  Bindings iargs{{i, ints(DType::Int16, {3}, {0, -3, 0})}};
  expectInts(evalChecked(any(i), iargs), DType::Bool, {}, {1});
  expectInts(evalChecked(all(i), iargs), DType::Bool, {}, {0});
  Var s = scalar("s", DType::Int16);
  CHECK(all(s).dtype() == DType::Bool);
  CHECK(any(s).dtype() == DType::Bool);
  expectInts(evalChecked(all(s), {{s, ints(DType::Int16, {}, {5})}}),
             DType::Bool, {}, {1});
}

TEST_CASE("Sums and products of integers accumulate in 64 bits",
          "[reduce][dtype]") {
  Var i8 = vector("i", DType::Int8);
  expectInts(
      evalChecked(sum(i8), {{i8, ints(DType::Int8, {3}, {100, 100, 100})}}),
      DType::Int64, {}, {300});
  expectInts(
      evalChecked(prod(i8), {{i8, ints(DType::Int8, {3}, {-100, 100, 100})}}),
      DType::Int64, {}, {-1000000});
  Var u8 = vector("u", DType::UInt8);
  expectInts(evalChecked(sum(u8), {{u8, ints(DType::UInt8, {2}, {255, 255})}}),
             DType::UInt64, {}, {510});
  Var b = vector("b", DType::Bool);
  expectInts(evalChecked(sum(b), {{b, ints(DType::Bool, {3}, {1, 1, 0})}}),
             DType::Int64, {}, {2});
  // int64 wraps: (2**40)**2 == 2**80 == 0 modulo 2**64.
  Var i64 = vector("l", DType::Int64);
  expectInts(evalChecked(prod(i64), {{i64, ints(DType::Int64, {2},
                                                {1LL << 40, 1LL << 40})}}),
             DType::Int64, {}, {0});
  // max and min keep the dtype.
  expectInts(evalChecked(max(i8), {{i8, ints(DType::Int8, {3}, {-5, 7, 1})}}),
             DType::Int8, {}, {7});
  // mean of integers is float64.
  expectValues(
      evalChecked(mean(i8), {{i8, ints(DType::Int8, {3}, {100, 100, 101})}}),
      DType::Float64, {}, {100.33333333333333});
  // float16 accumulates in float32: the float16 sum of [4096, 1, 1] is
  // 4096 but NumPy's mean is 1366.
  Var h = vector("h", DType::Float16);
  NDArray hv = array(DType::Float16, {3}, {4096, 1, 1});
  expectValues(evalChecked(sum(h), {{h, hv}}), DType::Float16, {}, {4096});
  expectValues(evalChecked(mean(h), {{h, hv}}), DType::Float16, {}, {1366});
  // The mean of integers does not wrap in int64: [2**62] * 4.
  Var l = vector("l", DType::Int64);
  expectValues(
      evalChecked(mean(l),
                  {{l, ints(DType::Int64, {4},
                            {1LL << 62, 1LL << 62, 1LL << 62, 1LL << 62})}}),
      DType::Float64, {}, {4611686018427387904.0});
  // float32 stays float32.
  Var f = vector("f", DType::Float32);
  expectValues(evalChecked(mean(f), {{f, array(DType::Float32, {2}, {1, 2})}}),
               DType::Float32, {}, {1.5});
  expectValues(evalChecked(var(f), {{f, array(DType::Float32, {2}, {1, 2})}}),
               DType::Float32, {}, {0.25});
}

TEST_CASE("Float sums are at least as accurate as NumPy's pairwise sum",
          "[reduce]") {
  // np.full(10**6, 0.1, np.float32).sum() == 100000.086 in NumPy 1.24; the
  // exact sum of the float32 values is 100000.00149...
  Var f = vector("f", DType::Float32);
  NDArray v = NDArray::full(DType::Float32, {1000000}, Scalar(0.1));
  double got = eval(sum(f), {{f, v}}).item().toDouble();
  double exact = (double)0.1f * 1000000;
  CHECK(std::fabs(got - exact) <= std::fabs(100000.086 - exact));
}

TEST_CASE("var and std with ddof", "[reduce]") {
  Var x = tensor3("x");
  Bindings args{{x, xValue()}};
  expectValues(evalChecked(var(x, 1, false, 1), args), DType::Float64, {2, 3},
               {2.0, 8.0, 12.5, 0.5, 0.5, 4.5}, 1e-14);
  expectValues(evalChecked(thjit::std(x, {0, 2}, false, 1), args),
               DType::Float64, {2}, {3.9370039370059056, 6.3377177806105145},
               1e-14);
  expectValues(evalChecked(thjit::std(x, {0, 2}, true, 1), args),
               DType::Float64, {1, 2, 1},
               {3.9370039370059056, 6.3377177806105145}, 1e-14);
}

TEST_CASE("Reductions of 0-d and empty arrays", "[reduce]") {
  SECTION("0-d") {
    Var s = scalar("s");
    Bindings args{{s, array(DType::Float64, {}, {-2.5})}};
    for (Var z : {sum(s), prod(s), max(s), min(s), mean(s)})
      expectValues(evalChecked(z, args), DType::Float64, {}, {-2.5});
    expectValues(evalChecked(var(s), args), DType::Float64, {}, {0});
    expectInts(evalChecked(argmax(s), args), DType::Int64, {}, {0});
    expectInts(evalChecked(any(s), args), DType::Bool, {}, {1});
    CHECK_THROWS_KIND(sum(s, 0), ValueError,
                      "axis 0 is out of bounds for a 0-d value");
  }
  SECTION("empty") {
    Var m = matrix("m");
    Bindings args{{m, NDArray::empty(DType::Float64, {0, 3})}};
    expectValues(evalChecked(sum(m), args), DType::Float64, {}, {0});
    expectValues(evalChecked(prod(m), args), DType::Float64, {}, {1});
    expectValues(evalChecked(sum(m, 0), args), DType::Float64, {3}, {0, 0, 0});
    expectValues(evalChecked(sum(m, 1), args), DType::Float64, {0}, {});
    expectValues(evalChecked(max(m, 1), args), DType::Float64, {0}, {});
    expectInts(evalChecked(argmax(m, 1), args), DType::Int64, {0}, {});
    expectInts(evalChecked(all(m), args), DType::Bool, {}, {1});
    expectInts(evalChecked(any(m), args), DType::Bool, {}, {0});
    expectValues(evalChecked(mean(m), args), DType::Float64, {}, {kNaN});
    expectValues(evalChecked(sum(m, 0, true), args), DType::Float64, {1, 3},
                 {0, 0, 0});
    CHECK_THROWS_KIND(eval(max(m, 0), args), ValueError,
                      "zero-size array to a reduction with no identity");
    CHECK_THROWS_KIND(eval(argmin(m), args), ValueError, "zero-size array");
  }
}

TEST_CASE("Reduction errors", "[reduce]") {
  Var x = tensor3("x");
  CHECK_THROWS_KIND(sum(x, 3), ValueError,
                    "sum: axis 3 is out of bounds for a value of rank 3");
  CHECK_THROWS_KIND(max(x, -4), ValueError, "axis -4");
  CHECK_THROWS_KIND(sum(x, {0, -3}), ValueError, "repeated");
  CHECK_THROWS_KIND(argmax(x, 5), ValueError, "argmax");
  Var c = vector("c", DType::Complex128);
  CHECK_THROWS_KIND(max(c), TypeError, "complex");
  CHECK_THROWS_KIND(argmin(c), TypeError, "complex");
  CHECK_THROWS_KIND(var(c), TypeError, "complex");
  Attrs bad;
  bad.axes = {1, 0};
  CHECK_THROWS_KIND(makeOp(OpKind::Sum, {x}, bad), ValueError, "invalid axes");
}

TEST_CASE("Reduction types keep static sizes", "[reduce][shape]") {
  Var t = tensor(DType::Float64, {2, U, 1}, "t");
  CHECK(sum(t, 1).type()->str() == "f64[2,1]");
  CHECK(sum(t, 1, true).type()->str() == "f64[2,1,1]");
  CHECK(max(t, {0, 2}).type()->str() == "f64[?]");
  CHECK(argmax(t, 1).type()->str() == "i64[2,1]");
  NDArray v = iota(DType::Float64, {2, 4, 1});
  for (Var z : {sum(t, 1), prod(t, {0, 1}, true), min(t), argmin(t, 1, true),
                any(t, 2)})
    evalChecked(z, {{t, v}});
}
