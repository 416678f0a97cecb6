//===- FuseTest.cpp - Element-wise fusion ---------------------------------===//
#include "RewriteTestUtil.h"

#include <cmath>

using namespace thjit;
using namespace thjit::test;

namespace {

int count(const Graph &g, OpKind kind) {
  int n = 0;
  for (Node *node : g.nodes())
    n += node->kind() == kind;
  return n;
}

/// Compiled with every pass and in REFERENCE: the same values.
void checkSameValues(const std::vector<Var> &inputs,
                     const std::vector<Var> &outputs,
                     const std::vector<NDArray> &args) {
  auto fast = runIn("FAST_RUN", inputs, outputs, args);
  auto ref = runIn("REFERENCE", inputs, outputs, args);
  REQUIRE(fast.size() == ref.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    REQUIRE(fast[i].shape() == ref[i].shape());
    auto a = fast[i].values(), b = ref[i].values();
    for (size_t k = 0; k < a.size(); ++k)
      CHECK(a[k].toDouble() == Approx(b[k].toDouble()).epsilon(1e-12));
  }
}

} // namespace

TEST_CASE("fuse: the Figure 7 formulas written naively become one loop each",
          "[rewrite][fuse]") {
  Var a = vector("a"), b = vector("b");
  std::vector<Var> formulas = {a * a + b * b + 2.0 * a * b, 2.0 * a + 3.0 * b,
                               a + 1.0, 2.0 * a + pow(b, 10.0)};
  for (const Var &f : formulas) {
    Graph g = rewrite({a, b}, {f}, {"fuse"});
    CHECK(countOps(g) <= 1);
  }
  NDArray as = iota(DType::Float64, {7}, -3), bs = iota(DType::Float64, {7}, 1, 0.5);
  checkSameValues({a, b}, formulas, {as, bs});
}

TEST_CASE("fuse: loops of one shape reading the same values become one loop "
          "with several results",
          "[rewrite][fuse]") {
  Var x = vector("x"), y = vector("y");
  Var s = x * y;
  Var e = exp(s) + 1.0, l = log(s) * 2.0;
  e.setName("e");
  l.setName("l");
  Graph g = rewrite({x, y}, {e, l}, {"fuse"});
  REQUIRE(countOps(g) == 1);
  Node *c = g.outputs()[0].node();
  REQUIRE(c->kind() == OpKind::Composite);
  CHECK(g.outputs()[1].node() == c);
  CHECK(c->numResults() == 2);
  // x * y once, and each result keeps the user's name.
  CHECK(c->attrs().program->str() ==
        "t0=mul(i0,i1); t1=exp(t0); t2=add(t1,i2); t3=log(t0); "
        "t4=mul(t3,i3); out(t2,t4)");
  CHECK(g.outputs()[0].name() == "e");
  CHECK(g.outputs()[1].name() == "l");
  CHECK(printGraph(g, "f", {}).find("%e: f64[?], %l: f64[?] = composite") !=
        std::string::npos);
  checkSameValues({x, y}, {e, l},
                  {iota(DType::Float64, {5}, 1), iota(DType::Float64, {5}, 2)});
}

TEST_CASE("fuse: a cheap producer is copied into loops that cannot merge",
          "[rewrite][fuse]") {
  // The second loop reads a sum of the first: one loop cannot compute both.
  Var x = vector("x"), y = vector("y");
  Var s = x * y;
  Var first = exp(s) + 1.0;
  Var second = log(s) * sum(first);
  Graph g = rewrite({x, y}, {first, second}, {"fuse"});
  CHECK(count(g, OpKind::Composite) == 2);
  CHECK(count(g, OpKind::Mul) == 0); // x * y in both loops
  checkSameValues({x, y}, {first, second},
                  {iota(DType::Float64, {5}, 1), iota(DType::Float64, {5}, 2)});
}

TEST_CASE("fuse: loops merge only where the loops left form no cycle",
          "[rewrite][fuse]") {
  // exp(x) and x + softmax(log y) read x; softmax(exp x) * y and log(y)
  // read y. Either pair may become one loop, not both: each loop would
  // wait for a softmax of the other.
  Var x = vector("x"), y = vector("y");
  Var a1 = exp(x), b2 = log(y);
  Var b1 = softmax(a1) * y, a2 = x + softmax(b2);
  Graph g = rewrite({x, y}, {b1, a2}, {"fuse"});
  int severalResults = 0;
  for (Node *n : g.nodes())
    severalResults += n->kind() == OpKind::Composite && n->numResults() > 1;
  CHECK(severalResults == 1);
  checkSameValues({x, y}, {b1, a2},
                  {iota(DType::Float64, {5}, 1), iota(DType::Float64, {5}, 2)});
}

TEST_CASE("fuse: a loop with several results reports errors at the user's node",
          "[rewrite][fuse]") {
  Var x = vector("x"), y = vector("y"), z;
  {
    LocationScope here(SourceLoc{"user.th", 7, 5});
    z = x + y;
  }
  Function f = function({x, y}, {exp(z), z * 3.0});
  CHECK(f.graph().outputs()[0].node()->numResults() == 2);
  CHECK_THROWS_WITH(f({iota(DType::Float64, {3}), iota(DType::Float64, {4})}),
                    Catch::StartsWith("add: operand 0 has shape (3,)") &&
                        Catch::Contains("user.th:7:5"));
}

TEST_CASE("fuse: a loop with several results does not take an update's place",
          "[rewrite][fuse]") {
  // w - 0.1 * g writes over w in place; merged with the loss's loop it
  // could not.
  Var x = vector("x");
  Var w = shared(iota(DType::Float64, {4}), "w");
  Var g = tanh(w * x);
  FunctionOptions fo;
  fo.updates = {{w, w - 0.1 * g}};
  Function f = function({x}, {g * 2.0}, fo);
  REQUIRE(f.graph().outputs().size() == 2);
  CHECK(f.graph().outputs()[0].node()->numResults() == 2); // g, g * 2
  CHECK(f.graph().outputs()[1].node()->numResults() == 1); // the update
  f({iota(DType::Float64, {4}, 1)});
  CHECK(w.getValue().values()[1].toDouble() ==
        Approx(1.0 - 0.1 * std::tanh(2.0)));
}

TEST_CASE("fuse: an expensive producer with several readers is computed once",
          "[rewrite][fuse]") {
  Var x = vector("x");
  Var e = exp(tanh(x)); // two transcendentals: stored, not recomputed
  Graph g = rewrite({x}, {e + 1.0, e * 2.0}, {"fuse"});
  int exps = 0;
  for (Node *n : g.nodes())
    if (n->kind() == OpKind::Composite)
      exps += n->attrs().program->str().find("exp") != std::string::npos;
  CHECK(exps == 1);
}

TEST_CASE("fuse: a producer of a smaller broadcast shape stays its own loop",
          "[rewrite][fuse]") {
  Var m = matrix("m"), r = row("r");
  // exp(r) has one row: fused into the matrix loop it would run per row.
  Var y = m * exp(r * 2.0);
  Graph g = rewrite({m, r}, {y}, {"fuse"});
  CHECK(count(g, OpKind::Composite) == 1); // exp(r * 2) alone
  CHECK(count(g, OpKind::Mul) == 1);
  checkSameValues({m, r}, {y},
                  {iota(DType::Float64, {3, 4}), iota(DType::Float64, {1, 4})});
}

TEST_CASE("fuse: element-wise producers fuse into reductions",
          "[rewrite][fuse]") {
  Var x = matrix("x"), y = matrix("y");
  Var s = sum(sqr(x - y) * 0.5, 1);
  Graph g = rewrite({x, y}, {s}, {"fuse"});
  CHECK(count(g, OpKind::Composite) == 1);
  CHECK(countOps(g) == 2); // the composite feeds the sum, fused at lowering
  checkSameValues({x, y}, {s},
                  {iota(DType::Float64, {3, 5}), iota(DType::Float64, {3, 5}, 2)});
}

TEST_CASE("fuse: run-time errors in a fused loop name the user's node",
          "[rewrite][fuse]") {
  Var x = vector("x"), y = vector("y");
  Var z;
  {
    LocationScope here(SourceLoc{"user.th", 5, 3});
    z = exp(x) + y;
  }
  Function f = function({x, y}, {z * 2.0});
  CHECK(contains(f.graph(), OpKind::Composite));
  CHECK_THROWS_WITH(f({iota(DType::Float64, {3}), iota(DType::Float64, {4})}),
                    Catch::StartsWith("add: operand 0 has shape (3,)") &&
                        Catch::Contains("user.th:5:3"));
}

TEST_CASE("fuse: composites made by hand are merged into bigger groups",
          "[rewrite][fuse]") {
  Var x = vector("x");
  Var hand = fuse(exp(x) * 2.0);
  REQUIRE(hand.node()->kind() == OpKind::Composite);
  Graph g = rewrite({x}, {hand + 1.0}, {"fuse"});
  CHECK(countOps(g) == 1);
  checkSameValues({x}, {hand + 1.0}, {iota(DType::Float64, {4})});
}

TEST_CASE("fuse: a long chain becomes loops of at most a few hundred ops",
          "[rewrite][fuse]") {
  // LLVM's time grows faster than the size of one loop body: a chain of a
  // thousand ops is cut into several composites, and computes the same.
  Var x = vector("x");
  Var y = x;
  for (int i = 0; i < 1000; ++i)
    y = i % 2 ? y + 1e-3 * (i + 1) : y * (1.0 + 1e-6 * (i + 1));
  Graph g = rewrite({x}, {y}, {"fuse"});
  int composites = count(g, OpKind::Composite);
  CHECK(composites >= 4);
  CHECK(composites <= 8);
  for (Node *n : g.nodes())
    if (n->kind() == OpKind::Composite)
      CHECK(n->attrs().program->ops.size() <= 256);
  NDArray xv = NDArray::empty(DType::Float64, {7});
  for (int i = 0; i < 7; ++i)
    xv.data<double>()[i] = 0.25 * i - 0.5;
  checkSameValues({x}, {y}, {xv});
}
