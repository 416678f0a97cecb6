//===- FunctionTest.cpp - function(): checks, calls and updates -----------===//
#include "thjit/Runtime/Function.h"
#include "thjit/Ops/Ops.h"

#include <catch2/catch.hpp>

using namespace thjit;
using Catch::Contains;

static NDArray vec(std::vector<double> v) {
  std::vector<Scalar> s(v.begin(), v.end());
  return NDArray::fromValues(DType::Float64, s, {(int64_t)v.size()});
}

TEST_CASE("updates use the values before the call, applied together",
          "[runtime]") {
  Var a = shared(vec({1}), "a"), b = shared(vec({2}), "b");
  FunctionOptions o;
  o.updates = {{a, b}, {b, a + b}};
  Function f = function({}, {a}, o);
  std::vector<NDArray> r = f({});
  CHECK(r[0].flatAt(0).toDouble() == 1);
  CHECK(a.getValue().flatAt(0).toDouble() == 2);
  CHECK(b.getValue().flatAt(0).toDouble() == 3);
}

TEST_CASE("a call that fails changes no shared variable", "[runtime]") {
  Var x = vector("x"), y = vector("y");
  Var acc = shared(vec({0, 0}), "acc");
  FunctionOptions o;
  o.updates = {{acc, acc + 1.0}};
  Function f = function({x, y}, {x + y}, o);
  CHECK_THROWS_AS(f({vec({1, 2}), vec({1, 2, 3})}), ShapeError);
  CHECK(acc.getValue().flatAt(0).toDouble() == 0);
  f({vec({1, 2}), vec({3, 4})});
  CHECK(acc.getValue().flatAt(0).toDouble() == 1);
}

TEST_CASE("outputs never alias arguments or shared values", "[runtime]") {
  Var x = vector("x");
  Var s = shared(vec({5}), "s");
  Function f = function({x}, {x, s});
  NDArray arg = vec({1, 2});
  std::vector<NDArray> r = f({arg});
  CHECK(!r[0].mayShareMemory(arg));
  r[1].setAt({0}, Scalar(9.0));
  CHECK(s.getValue().flatAt(0).toDouble() == 5);
}

TEST_CASE("arguments convert losslessly or raise TypeError", "[runtime]") {
  Var x = vector("x", DType::Float32);
  Function f = function({x}, {x * 2.0});
  NDArray ints = NDArray::fromValues(DType::Int8, {Scalar::fromInt(3)}, {1});
  CHECK(f({ints})[0].dtype() == DType::Float32);
  CHECK_THROWS_WITH(f({vec({1})}), Contains("allow_input_downcast"));
  FunctionOptions o;
  o.allowInputDowncast = true;
  Function g = function({x}, {x * 2.0}, o);
  CHECK(g({vec({1.5})})[0].flatAt(0).toDouble() == 3.0);
  CHECK_THROWS_WITH(f({NDArray::zeros(DType::Float32, {2, 2})}),
                    Contains("rank"));
  CHECK_THROWS_WITH(f({}), Contains("takes 1 argument but 0 were given"));
}

TEST_CASE("a broadcastable input must have size 1 there", "[runtime]") {
  Var r = row("r");
  Function f = function({r}, {r + 1.0});
  CHECK_NOTHROW(f({NDArray::zeros(DType::Float64, {1, 3})}));
  CHECK_THROWS_WITH(f({NDArray::zeros(DType::Float64, {2, 3})}),
                    Contains("broadcastable"));
}

TEST_CASE("function() rejects bad inputs, updates and givens", "[runtime]") {
  Var x = vector("x"), y = vector("y");
  Var s = shared(vec({1, 2}), "s");
  CHECK_THROWS_WITH(function({s}, {s}), Contains("shared variable"));
  CHECK_THROWS_WITH(function({x + 1.0}, {x}), Contains("not a symbolic input"));
  CHECK_THROWS_WITH(function({x}, {x + y}), Contains("depend on input y"));
  CHECK_THROWS_WITH(function({x, y}, {x}), Contains("input 'y' is not used"));
  FunctionOptions ignore;
  ignore.onUnusedInput = OnUnusedInput::Ignore;
  CHECK_NOTHROW(function({x, y}, {x}, ignore));
  FunctionOptions badUpdate;
  badUpdate.updates = {{s, cast(s, DType::Float32)}};
  CHECK_THROWS_WITH(function({}, {s}, badUpdate),
                    Contains("has type f32[?] but the variable has type f64[?]"));
  FunctionOptions notShared;
  notShared.updates = {{x, x}};
  CHECK_THROWS_WITH(function({x}, {x}, notShared),
                    Contains("must be shared variables"));
  FunctionOptions givens;
  givens.givens = {{y, x * 2.0}};
  Function f = function({x}, {x + y}, givens);
  CHECK(f({vec({1})})[0].flatAt(0).toDouble() == 3.0);
}

TEST_CASE("set_value checks dtype and rank; get_value copies", "[runtime]") {
  Var s = shared(vec({1, 2}), "s");
  CHECK_THROWS_AS(s.setValue(NDArray::zeros(DType::Float32, {2})), TypeError);
  CHECK_THROWS_AS(s.setValue(NDArray::zeros(DType::Float64, {2, 2})),
                  TypeError);
  s.setValue(vec({1, 2, 3}));
  NDArray v = s.getValue();
  v.setAt({0}, Scalar(7.0));
  CHECK(s.getValue().flatAt(0).toDouble() == 1);
}
