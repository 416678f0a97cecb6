//===- GraphBuildingTest.cpp - The op table, hash-consing, freeing --------===//
#include "OpsTestUtil.h"

#include <set>

using namespace thjit;
using namespace thjit::test;

TEST_CASE("Every op kind is fully defined", "[ops]") {
  // Ops without a gradient: they compute shapes or constants only.
  // Composite nodes are made after differentiation (fusion).
  const std::set<OpKind> notDifferentiable = {OpKind::Shape, OpKind::ShapeI,
                                              OpKind::ARange, OpKind::Eye,
                                              OpKind::Composite};
  for (int k = 0; k < kNumOpKinds; ++k) {
    OpKind kind = (OpKind)k;
    INFO(opName(kind));
    CHECK(opKindByName(opName(kind)) == kind);
    if (opFamily(kind) == OpFamily::Leaf)
      continue;
    const OpDef &d = opDef(kind);
    CHECK(d.inferTypes != nullptr);
    CHECK(d.inferShape != nullptr);
    CHECK(d.evaluate != nullptr);
    CHECK(std::string(d.doc) != "");
    // An op from a graph is differentiated and batched through its graph
    // (Grad.cpp, Vectorize.cpp).
    bool viaGraph = kind == OpKind::OpFromGraph;
    CHECK((d.lop == nullptr) == (notDifferentiable.count(kind) || viaGraph));
    CHECK((d.rop == nullptr) == (notDifferentiable.count(kind) || viaGraph));
    CHECK((d.vectorize == nullptr) == viaGraph);
  }
}

TEST_CASE("Hash-consing merges identical expressions", "[ops][ir]") {
  Var x = matrix("x"), y = matrix("y");
  CHECK(x + 1 == x + 1);
  CHECK(exp(x * y) == exp(x * y));
  CHECK(sum(x, 0) == sum(x, 0));
  CHECK(subtensor(x, {Index::slice(1, {}, -1)}) ==
        subtensor(x, {Index::slice(1, {}, -1)}));
  CHECK(dot(x, y) == dot(x, y));
  // Different operands, attributes or operand order are different nodes.
  CHECK(x + y != y + x);
  CHECK(sum(x, 0) != sum(x, 1));
  CHECK(sum(x, 0) != sum(x, 0, true));
  CHECK(cast(x, DType::Float32) != cast(x, DType::Int32));
  // Constants merge by value and dtype.
  CHECK(constant(Scalar(1.5)) == constant(Scalar(1.5)));
  CHECK(constant(Scalar(1.0)) != constant(Scalar::fromInt(1)));
  CHECK(x * 2.0 == x * 2.0);
  CHECK(x * 2.0 != x * 3.0);
}

TEST_CASE("Inputs and shared variables are never merged", "[ops][ir]") {
  Var a = matrix("x"), b = matrix("x");
  CHECK(a != b);
  CHECK(a.type() == b.type());
  CHECK(a + 1 != b + 1);
  Var s = shared(iota(DType::Float64, {2}), "w");
  Var t = shared(iota(DType::Float64, {2}), "w");
  CHECK(s != t);
  CHECK(exp(s) != exp(t));
  // Both inputs of one function stay distinct.
  expectValues(eval(a - b, {{a, iota(DType::Float64, {1, 2}, 5)},
                            {b, iota(DType::Float64, {1, 2})}}),
               DType::Float64, {1, 2}, {5, 5});
}

TEST_CASE("Building graphs in a loop does not grow the live node count",
          "[ops][ir]") {
  auto build = [](int i) {
    Var x = matrix("x"), w = vector("w");
    Var z = dot(x, w * (double)i) + (double)i;
    Var y = subtensor(softmax(dimshuffle(z, {-1, 0})), {Index::at(0)});
    Var cost = sum(log(y + 1.0)) + mean(sqr(w));
    Var g = grad(cost, w);
    NDArray out = eval(
        g, {{x, iota(DType::Float64, {2, 3})}, {w, iota(DType::Float64, {3})}});
    CHECK(out.shape() == Shape{3});
  };
  build(0); // warm up any lazily made nodes
  size_t before = liveNodeCount();
  for (int i = 1; i <= 200; ++i)
    build(i);
  CHECK(liveNodeCount() == before);
  // Holding a Var keeps its whole graph alive; dropping it frees it.
  size_t base = liveNodeCount();
  {
    Var x = vector("x");
    Var e = exp(x) * 3.0 + 1.0;
    CHECK(liveNodeCount() > base);
  }
  CHECK(liveNodeCount() == base);
}

TEST_CASE("evaluateGraph runs the reference kernels of a Graph", "[ops]") {
  Var x = matrix("x"), v = vector("v");
  Var y = dot(x, v) + 1.0;
  Var z = max(y);
  Graph g({x, v}, {y, z});
  std::vector<NDArray> out =
      evaluateGraph(g, {iota(DType::Float64, {2, 3}),
                        array(DType::Float64, {3}, {1, 0, -1})});
  REQUIRE(out.size() == 2);
  expectValues(out[0], DType::Float64, {2}, {-1, -1});
  expectValues(out[1], DType::Float64, {}, {-1});
  // Errors carry the op's name.
  CHECK_THROWS_KIND(evaluateGraph(g, {iota(DType::Float64, {2, 2}),
                                      array(DType::Float64, {3}, {1, 0, -1})}),
                    ShapeError, "dot:");
}
