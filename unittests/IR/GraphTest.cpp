//===- GraphTest.cpp - Types, Graph, printer and verifier -----------------===//
#include "thjit/IR/Graph.h"
#include "thjit/Ops/Ops.h"

#include <catch2/catch.hpp>

using namespace thjit;

TEST_CASE("tensor types are uniqued and print their static sizes", "[ir]") {
  const TensorType *a = TensorType::get(DType::Float64, {-1, 1});
  CHECK(a == TensorType::getBroadcastable(DType::Float64, {false, true}));
  CHECK(a->str() == "f64[?,1]");
  CHECK(TensorType::ofRank(DType::Int8, 0)->str() == "i8[]");
  CHECK(a->isBroadcastable(1));
  CHECK(!a->isBroadcastable(0));
  // A known size may stand where an unknown one is expected, not the reverse.
  const TensorType *known = TensorType::get(DType::Float64, {3, 1});
  CHECK(isAssignable(known, a));
  CHECK(!isAssignable(a, known));
  CHECK(!isAssignable(a->withDType(DType::Float32), a));
}

TEST_CASE("Graph orders nodes, finds clients and missing inputs", "[ir]") {
  Var x = vector("x"), y = vector("y");
  Var s = x + y;
  Var out = exp(s) * s;
  Graph g({x}, {out});
  const auto &nodes = g.nodes();
  // Every node comes after its operands.
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const Var &v : nodes[i]->operands())
      CHECK(std::find(nodes.begin(), nodes.begin() + i, v.node()) !=
            nodes.begin() + i);
  CHECK(g.clients(s).size() == 2);
  REQUIRE(g.missingInputs().size() == 1);
  CHECK(g.missingInputs()[0] == y);
}

TEST_CASE("Graph::replace rebuilds users and merges equal nodes", "[ir]") {
  Var x = vector("x"), y = vector("y");
  Var a = exp(x) + 1.0;
  Graph g({x, y}, {a * 2.0});
  g.replace(x, y);
  // The rebuilt graph is the one built directly from y (hash-consing).
  CHECK(g.outputs()[0] == (exp(y) + 1.0) * 2.0);
  // A replacement of another type is refused, naming both types.
  Var m = matrix("m");
  CHECK_THROWS_WITH(g.replace(y, m), Catch::Contains("f64[?,?]") &&
                                         Catch::Contains("f64[?]"));
}

TEST_CASE("the printer is deterministic and uses the user's names", "[ir]") {
  Var x = matrix("x");
  Var h = tanh(x);
  h.setName("h");
  Var other = sigmoid(x);
  other.setName("h"); // a duplicate name gets a suffix
  Graph g({x}, {h + other});
  std::string text = printGraph(g, "f");
  CHECK(text == "graph f(x: f64[?,?]) {\n"
                "  %h: f64[?,?] = tanh(x)\n"
                "  %h.1: f64[?,?] = sigmoid(x)\n"
                "  %0: f64[?,?] = add(%h, %h.1)\n"
                "  return %0\n"
                "}\n");
  CHECK(printGraph(g, "f") == text);
}

TEST_CASE("constants print inline with their dtype when not Python's", "[ir]") {
  CHECK(printConstant(NDArray::scalar(Scalar(1.5))) == "1.5");
  CHECK(printConstant(NDArray::scalar(Scalar::fromInt(2, DType::Int8))) ==
        "2:i8");
  CHECK(printConstant(NDArray::scalar(Scalar::fromBool(true))) == "True");
  CHECK(printConstant(NDArray::zeros(DType::Float32, {2})) == "[0.0, 0.0]:f32");
  CHECK(printConstant(NDArray::zeros(DType::Float64, {100})) ==
        "const<f64(100,)>");
}

TEST_CASE("the verifier accepts built graphs and checks inputs", "[ir]") {
  Var x = vector("x");
  Var c = shared(NDArray::zeros(DType::Float64, {3}), "c");
  Graph good({x}, {x * c + sum(x)});
  CHECK_NOTHROW(verifyGraph(good));
  Graph twice({x, x}, {x});
  CHECK_THROWS_AS(verifyGraph(twice), CompileError);
  Graph sharedInput({c}, {c});
  CHECK_THROWS_WITH(verifyGraph(sharedInput),
                    Catch::Contains("not a symbolic input"));
}
