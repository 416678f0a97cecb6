//===- InPlaceTest.cpp - Results written over dead values and updates -----===//
///
/// What the plan writes in place (printed by Function::emit("plan")), and
/// that every answer and every shared variable is what the reference
/// kernels give: after successful calls, and unchanged after failed ones.
///
//===----------------------------------------------------------------------===//
#include "thjit/Grad/Grad.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Runtime/Function.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <thread>

using namespace thjit;
using Catch::Contains;

static NDArray ramp(const Shape &shape, double scale = 1.0, double phase = 0) {
  NDArray a = NDArray::empty(DType::Float64, shape);
  for (int64_t i = 0; i < a.size(); ++i)
    a.data<double>()[i] = std::sin(0.37 * (double)i + phase) * scale;
  return a;
}

static void checkClose(const NDArray &got, const NDArray &want, double tol) {
  REQUIRE(got.shape() == want.shape());
  for (int64_t i = 0; i < got.size(); ++i) {
    double g = got.flatAt(i).toDouble(), w = want.flatAt(i).toDouble();
    INFO("element " << i);
    CHECK(std::abs(g - w) <= tol * (1 + std::abs(w)));
  }
}

static NDArray valueOf(const Var &shared) {
  return shared.node()->sharedStorage()->get();
}

/// Runs the same training step compiled normally and in REFERENCE mode on
/// two copies of the shared variables, `calls` times; the values agree.
static void checkAgainstReference(
    const std::vector<Var> &inputs, const std::vector<Var> &outputs,
    const std::vector<std::pair<Var, Var>> &updates,
    const std::vector<NDArray> &args, int calls = 3) {
  FunctionOptions fast, ref;
  fast.updates = updates;
  ref.updates = updates;
  ref.mode = "REFERENCE";
  Function f = function(inputs, outputs, fast);
  Function g = function(inputs, outputs, ref);
  // g runs on its own copies: the variables are set back between the two.
  std::vector<NDArray> start;
  for (const auto &[var, value] : updates)
    start.push_back(var.getValue());
  std::vector<std::vector<NDArray>> fastOut;
  for (int i = 0; i < calls; ++i)
    fastOut.push_back(f(args));
  std::vector<NDArray> fastEnd;
  for (size_t u = 0; u < updates.size(); ++u) {
    fastEnd.push_back(updates[u].first.getValue());
    updates[u].first.setValue(start[u]);
  }
  for (int i = 0; i < calls; ++i) {
    std::vector<NDArray> want = g(args);
    for (size_t o = 0; o < want.size(); ++o)
      checkClose(fastOut[i][o], want[o], 1e-12);
  }
  for (size_t u = 0; u < updates.size(); ++u) {
    INFO("shared variable " << updates[u].first.name());
    checkClose(fastEnd[u], updates[u].first.getValue(), 1e-12);
  }
}

TEST_CASE("an element-wise step writes over an operand nothing reads after",
          "[inplace]") {
  Var x = vector("x"), y = vector("y");
  // Loops that fusion cannot merge: a product between them.
  Var m = matrix("m");
  Var t = dot(m, x) * 2.0 + 1.0;      // a loop over the product's result
  Var u = dot(m, t) + y;              // and over the next one
  Function f = function({m, x, y}, {u});
  std::string plan = f.emit("plan");
  CHECK_THAT(plan, Contains("in place of"));
  NDArray mv = ramp({5, 5}, 0.3), xv = ramp({5}), yv = ramp({5}, 1, 1);
  FunctionOptions ref;
  ref.mode = "REFERENCE";
  checkClose(f({mv, xv, yv})[0], function({m, x, y}, {u}, ref)({mv, xv, yv})[0],
             1e-12);
}

TEST_CASE("no element-wise step writes over what another operand views",
          "[inplace]") {
  Var m = matrix("m");
  Var p = dot(m, m); // a result of its own, dead after the next step
  Var q = p + transpose(p); // reads p transposed: writing over p would be wrong
  Function f = function({m}, {q});
  CHECK_THAT(f.emit("plan"), !Contains("in place"));
  NDArray mv = ramp({6, 6});
  FunctionOptions ref;
  ref.mode = "REFERENCE";
  checkClose(f({mv})[0], function({m}, {q}, ref)({mv})[0], 1e-12);
}

TEST_CASE("an output, an input or a constant is never written over",
          "[inplace]") {
  Var x = vector("x"), m = matrix("m");
  Var p = dot(m, x);
  Function f = function({m, x}, {p, p * 2.0, x + 1.0});
  std::string plan = f.emit("plan");
  CHECK_THAT(plan, !Contains("in place"));
  NDArray mv = ramp({4, 4}), xv = ramp({4});
  NDArray xCopy = xv.copy();
  std::vector<NDArray> r = f({mv, xv});
  checkClose(xv, xCopy, 0);
  for (int64_t k = 0; k < 4; ++k)
    CHECK(r[1].flatAt(k).toDouble() == 2 * r[0].flatAt(k).toDouble());
}

TEST_CASE("an SGD step writes the parameters in place", "[inplace]") {
  Var x = matrix("x"), y = vector("y");
  Var W = shared(ramp({3, 2}, 0.5), "W");
  Var b = shared(ramp({2}, 0.1), "b");
  Var out = dot(x, W) + b;
  Var cost = sum(sqr(out)) + sum(y) * 0.0;
  std::vector<Var> g = grad(cost, std::vector<Var>{W, b});
  std::vector<std::pair<Var, Var>> updates{{W, W - g[0] * 0.1},
                                           {b, b - g[1] * 0.1}};
  FunctionOptions o;
  o.updates = updates;
  Function f = function({x, y}, {cost}, o);
  std::string plan = f.emit("plan");
  CHECK_THAT(plan, Contains("in place of W"));
  CHECK_THAT(plan, Contains("in place of b"));
  const void *wMemory = valueOf(W).data(), *bMemory = valueOf(b).data();
  NDArray xv = ramp({4, 3}, 0.1), yv = ramp({4});
  for (int i = 0; i < 3; ++i)
    f({xv, yv});
  CHECK(valueOf(W).data() == wMemory);
  CHECK(valueOf(b).data() == bMemory);
  checkAgainstReference({x, y}, {cost}, updates, {xv, yv});
}

TEST_CASE("momentum: a step reading a variable runs before the one writing it",
          "[inplace]") {
  Var x = vector("x");
  Var w = shared(ramp({8}), "w");
  Var v = shared(ramp({8}, 0.1, 2), "v");
  Var g = w * x; // a gradient read by both updates
  Var vNew = v * 0.9 - g * 0.01;
  std::vector<std::pair<Var, Var>> updates{{v, vNew}, {w, w + vNew}};
  FunctionOptions o;
  o.updates = updates;
  // Each update reads both variables: one of them is written elsewhere.
  std::string plan = function({x}, {}, o).emit("plan");
  CHECK_THAT(plan, Contains("in place of w"));
  CHECK_THAT(plan, !Contains("in place of v"));
  checkAgainstReference({x}, {}, updates, {ramp({8}, 1, 3)});
  // A gradient of its own: w's step reads v, so it runs before v's, and
  // both are written in place.
  Var vOwn = v * 0.9 - x * 0.01;
  o.updates = {{v, vOwn}, {w, w + vOwn}};
  plan = function({x}, {}, o).emit("plan");
  CHECK_THAT(plan, Contains("in place of w"));
  CHECK_THAT(plan, Contains("in place of v"));
  checkAgainstReference({x}, {}, o.updates, {ramp({8}, 1, 3)});
}

TEST_CASE("updates that read each other's variables stay right", "[inplace]") {
  Var x = vector("x");
  Var a = shared(ramp({8}), "a");
  Var b = shared(ramp({8}, 1, 1), "b");
  std::vector<std::pair<Var, Var>> updates{{a, a + b * x}, {b, b - a * x}};
  checkAgainstReference({x}, {}, updates, {ramp({8}, 1, 3)});
  // Swapped: each new value is the other's old one.
  checkAgainstReference({}, {}, {{a, b * 1.0}, {b, a * 1.0}}, {});
}

TEST_CASE("an embedding row update is written in place", "[inplace]") {
  Var i = scalar("i", DType::Int64);
  Var d = vector("d");
  Var E = shared(ramp({1000, 4}), "E");
  Var row = subtensor(E, {Index::at(i)});
  std::vector<std::pair<Var, Var>> updates{{E, incSubtensor(row, d * -0.5)}};
  FunctionOptions o;
  o.updates = updates;
  Function f = function({i, d}, {sum(row)}, o);
  CHECK_THAT(f.emit("plan"), Contains("in place of E"));
  const void *memory = valueOf(E).data();
  NDArray dv = ramp({4}, 1, 1);
  f({NDArray::scalar(Scalar::fromInt(7)), dv});
  CHECK(valueOf(E).data() == memory);
  checkAgainstReference({i, d}, {sum(row)}, updates,
                        {NDArray::scalar(Scalar::fromInt(-3)), dv});
  // Writing a value that views the variable itself: copied first.
  Var other = subtensor(E, {Index::at(0)});
  checkAgainstReference({i}, {}, {{E, setSubtensor(row, other * 2.0)}},
                        {NDArray::scalar(Scalar::fromInt(5))});
}

TEST_CASE("a failed call changes no shared variable, in place or not",
          "[inplace]") {
  Var x = vector("x"), y = vector("y");
  Var i = scalar("i", DType::Int64);
  Var W = shared(ramp({6}), "W");
  Var b = shared(ramp({3}, 1, 1), "b");
  Var E = shared(ramp({5, 2}, 1, 2), "E");
  FunctionOptions o;
  o.updates = {{W, W - x * 0.5},
               {E, incSubtensor(subtensor(E, {Index::at(i)}), 1.0)},
               {b, b + y}};
  Function f = function({x, y, i}, {}, o);
  std::string plan = f.emit("plan");
  CHECK_THAT(plan, Contains("in place of W"));
  CHECK_THAT(plan, Contains("in place of E"));
  CHECK_THAT(plan, Contains("in place of b"));
  NDArray w0 = W.getValue(), b0 = b.getValue(), e0 = E.getValue();
  NDArray zero = NDArray::scalar(Scalar::fromInt(0));
  // b's shape check fails, after W's and E's steps were prepared.
  CHECK_THROWS_AS(f({ramp({6}), ramp({4}), zero}), ShapeError);
  // E's index is out of range.
  CHECK_THROWS_AS(f({ramp({6}), ramp({3}), NDArray::scalar(Scalar::fromInt(9))}),
                  IndexError);
  // W's operand has the wrong shape.
  CHECK_THROWS_AS(f({ramp({5}), ramp({3}), zero}), ShapeError);
  checkClose(W.getValue(), w0, 0);
  checkClose(b.getValue(), b0, 0);
  checkClose(E.getValue(), e0, 0);
  // And a good call still works in place afterwards.
  const void *memory = valueOf(W).data();
  f({ramp({6}), ramp({3}), zero});
  CHECK(valueOf(W).data() == memory);
  CHECK(W.getValue().flatAt(1).toDouble() ==
        Approx(w0.flatAt(1).toDouble() - 0.5 * ramp({6}).flatAt(1).toDouble()));
}

TEST_CASE("readers on other threads never see a half-written update",
          "[inplace]") {
  // Every element of w is always equal; a reader seeing two different
  // elements would have read in the middle of a write.
  const int64_t n = 1 << 16;
  Var w = shared(NDArray::zeros(DType::Float64, {n}), "w");
  FunctionOptions o;
  o.updates = {{w, w + 1.0}};
  Function f = function({}, {}, o);
  REQUIRE_THAT(f.emit("plan"), Contains("in place of w"));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done) {
      NDArray v = w.getValue();
      const double *d = v.data<double>();
      if (d[0] != d[n - 1] || d[0] != d[n / 2])
        ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 300; ++i)
    f({});
  done = true;
  reader.join();
  CHECK(torn == 0);
  CHECK(w.getValue().flatAt(0).toDouble() == 300);
}
