//===- OpFromGraphTest.cpp - Graphs used as ops ---------------------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

std::vector<NDArray> run(const std::vector<Var> &ins,
                         const std::vector<Var> &outs,
                         const std::vector<NDArray> &args,
                         const std::string &mode = "FAST_RUN") {
  FunctionOptions opts;
  opts.mode = mode;
  opts.onUnusedInput = OnUnusedInput::Ignore;
  return function(ins, outs, opts)(args);
}

void expectSame(const NDArray &got, const NDArray &want, double tol = 1e-14) {
  REQUIRE(got.shape() == want.shape());
  std::vector<double> g = flat(got), w = flat(want);
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": " << g[i] << " vs " << w[i]);
    CHECK(std::fabs(g[i] - w[i]) <= tol * (1 + std::fabs(w[i])));
  }
}

/// Theano's documentation example: e = x + y * z as one op.
GraphOp xPlusYz(bool inlined = false) {
  Var x = matrix("x"), y = matrix("y"), z = matrix("z");
  OpFromGraphOptions o;
  o.name = "xpyz";
  o.inlined = inlined;
  return opFromGraph({x, y, z}, {x + y * z}, o);
}

} // namespace

TEST_CASE("An op from a graph computes its graph, inlined or not",
          "[grad][opfromgraph]") {
  Var a = matrix("a"), b = matrix("b"), c = matrix("c");
  NDArray av = array(DType::Float64, {2, 2}, {1, 2, 3, 4}),
          bv = array(DType::Float64, {2, 2}, {0.5, -1, 2, 0}),
          cv = array(DType::Float64, {2, 2}, {3, 1, -2, 5});
  Var want = (a + b * c) - (c + b * a);
  NDArray expected = run({a, b, c}, {want}, {av, bv, cv})[0];
  for (bool inlined : {false, true}) {
    INFO("inlined " << inlined);
    GraphOp op = xPlusYz(inlined);
    Var e = applyOp(op, {a, b, c})[0] - applyOp(op, {c, b, a})[0];
    for (const char *mode : {"FAST_RUN", "FAST_COMPILE", "REFERENCE"}) {
      INFO("mode " << mode);
      expectSame(run({a, b, c}, {e}, {av, bv, cv}, mode)[0], expected);
    }
    // Non-contiguous arguments.
    expectSame(run({a, b, c}, {e},
                   {transposedView(av), transposedView(bv),
                    transposedView(cv)})[0],
               run({a, b, c}, {want},
                   {transposedView(av), transposedView(bv),
                    transposedView(cv)})[0]);
    // One node per application, unless inlined.
    std::string printed = function({a, b, c}, {e}).str();
    INFO(printed);
    size_t first = printed.find("op_from_graph{xpyz}(a, b, c)");
    CHECK((first != std::string::npos) == !inlined);
    CHECK((printed.find("op_from_graph{xpyz}(c, b, a)") !=
           std::string::npos) == !inlined);
    CHECK((printed.find("mul") == std::string::npos) == !inlined);
  }
}

TEST_CASE("An op from a graph merges, has several outputs and nests",
          "[grad][opfromgraph]") {
  Var x = vector("x"), y = vector("y");
  OpFromGraphOptions o;
  o.name = "pair";
  GraphOp pair = opFromGraph({x, y}, {x + y, sum(x * y)}, o);
  Var a = vector("a"), b = vector("b");
  std::vector<Var> r1 = applyOp(pair, {a, b}), r2 = applyOp(pair, {a, b});
  CHECK(r1[0] == r2[0]); // hash-consed like any node
  CHECK(r1[1].ndim() == 0);
  // An op whose graph uses another.
  Var u = vector("u");
  o.name = "outer";
  GraphOp nested = opFromGraph({u}, {applyOp(pair, {u, u * 2})[0] * 3}, o);
  std::vector<NDArray> got =
      run({a, b}, {r1[0], r1[1], applyOp(nested, {a})[0]},
          {array(DType::Float64, {2}, {1, 2}),
           array(DType::Float64, {2}, {3, -1})});
  expectSame(got[0], array(DType::Float64, {2}, {4, 1}));
  expectSame(got[1], array(DType::Float64, {}, {1}));
  expectSame(got[2], array(DType::Float64, {2}, {9, 18}));
  // Python numbers and narrower dtypes are converted as for an input.
  Var f = vector("f", DType::Float32);
  NDArray r = run({f, b}, {applyOp(pair, {f, b})[0]},
                  {array(DType::Float32, {2}, {1, 2}),
                   array(DType::Float64, {2}, {1, 1})})[0];
  expectSame(r, array(DType::Float64, {2}, {2, 3}));
}

TEST_CASE("Gradients and R-ops flow through an op from a graph",
          "[grad][opfromgraph]") {
  Var x = vector("x"), w = matrix("w");
  OpFromGraphOptions o;
  o.name = "layer";
  GraphOp layer = opFromGraph({x, w}, {tanh(dot(w, x)), sum(x * x)}, o);
  // checkGrad compares the gradient and the R-op with central differences.
  checkGrad(
      [&](const std::vector<Var> &v) {
        std::vector<Var> r = applyOp(layer, {v[0], v[1]});
        return r[0] * r[1];
      },
      {arg({3}), arg({2, 3})});
  o.inlined = true;
  GraphOp inlined = opFromGraph({x, w}, {tanh(dot(w, x))}, o);
  checkGrad(
      [&](const std::vector<Var> &v) { return applyOp(inlined, v)[0]; },
      {arg({3}), arg({2, 3})});
  // Second order through the op.
  checkGrad(
      [&](const std::vector<Var> &v) {
        return grad(sum(applyOp(layer, {v[0], v[1]})[0]), v[0]);
      },
      {arg({3}), arg({2, 3})});
}

TEST_CASE("Shared variables read inside an op get their gradients",
          "[grad][opfromgraph]") {
  Var s = shared(array(DType::Float64, {2}, {2, 3}), "s");
  Var x = vector("x");
  OpFromGraphOptions o;
  o.name = "scaled";
  GraphOp scaled = opFromGraph({x}, {x * s}, o);
  Var a = vector("a");
  Var cost = sum(applyOp(scaled, {a})[0] * a);
  std::vector<Var> g = grad(cost, {a, s});
  NDArray av = array(DType::Float64, {2}, {1, -1});
  std::vector<NDArray> r = run({a}, {cost, g[0], g[1]}, {av});
  expectSame(r[0], array(DType::Float64, {}, {5}));
  expectSame(r[1], array(DType::Float64, {2}, {4, -6})); // 2 a s
  expectSame(r[2], array(DType::Float64, {2}, {1, 1}));  // a**2
  // The op reads the variable's current value.
  s.setValue(array(DType::Float64, {2}, {1, 1}));
  expectSame(run({a}, {cost}, {av})[0], array(DType::Float64, {}, {2}));
}

TEST_CASE("Gradient and R-op overrides", "[grad][opfromgraph]") {
  Var x = vector("x");
  OpFromGraphOptions o;
  o.name = "clipped";
  // The identity on values whose gradient is the incoming one clipped.
  o.lopOverride = [](const std::vector<Var> &, const std::vector<Var> &g) {
    return std::vector<Var>{clip(g[0], -1.0, 1.0)};
  };
  o.ropOverride = [](const std::vector<Var> &, const std::vector<Var> &t) {
    return std::vector<Var>{t[0] * 10};
  };
  GraphOp clipped = opFromGraph({x}, {x * 1.0}, o);
  Var a = vector("a"), v = vector("v");
  Var y = applyOp(clipped, {a})[0];
  NDArray av = array(DType::Float64, {3}, {1, 2, 3});
  std::vector<NDArray> r =
      run({a, v}, {grad(sum(y * a * 2), a), Rop({y}, {a}, {v})[0]},
          {av, array(DType::Float64, {3}, {1, 0, -1})});
  // d/da of 2 a y: 2 y (direct) + clip(2 a) (through the op).
  expectSame(r[0], array(DType::Float64, {3}, {3, 5, 7}));
  expectSame(r[1], array(DType::Float64, {3}, {10, 0, -10}));
  // Inputs marked to go through the graph ignore the override's answer.
  Var w = vector("w");
  OpFromGraphOptions some;
  some.name = "some";
  some.lopOverride = [](const std::vector<Var> &, const std::vector<Var> &g) {
    return std::vector<Var>{g[0] * 100, g[0] * 100};
  };
  some.lopThroughGraph = {true, false};
  GraphOp prod2 = opFromGraph({x, w}, {x * w}, some);
  Var b = vector("b");
  std::vector<NDArray> gs =
      run({a, b}, grad(sum(applyOp(prod2, {a, b})[0]), {a, b}),
          {av, array(DType::Float64, {3}, {4, 5, 6})});
  expectSame(gs[0], array(DType::Float64, {3}, {4, 5, 6})); // b, by the graph
  expectSame(gs[1], array(DType::Float64, {3}, {100, 100, 100}));
  // An override returning the wrong number of gradients.
  o.lopOverride = [](const std::vector<Var> &, const std::vector<Var> &) {
    return std::vector<Var>{};
  };
  GraphOp bad = opFromGraph({x}, {x * 1.0}, o);
  CHECK_THROWS_WITH(grad(sum(applyOp(bad, {a})[0]), a),
                    Catch::Contains("clipped: the gradient override returned "
                                    "0 gradients for 1 inputs"));
}

TEST_CASE("jacobian through an op from a graph", "[grad][opfromgraph]") {
  Var x = vector("x"), w = matrix("w");
  OpFromGraphOptions o;
  o.name = "layer";
  GraphOp layer = opFromGraph({x, w}, {tanh(dot(w, x))}, o);
  Var a = vector("a"), m = matrix("m");
  NDArray av = array(DType::Float64, {2}, {0.5, -1}),
          mv = array(DType::Float64, {3, 2}, {1, 2, 0, 1, -1, 3});
  std::vector<NDArray> r = run(
      {a, m}, {jacobian(applyOp(layer, {a, m})[0], a), jacobian(tanh(dot(m, a)), a)},
      {av, mv});
  expectSame(r[0], r[1]);
}

TEST_CASE("Bad ops from graphs and bad arguments", "[grad][opfromgraph]") {
  Var x = matrix("x"), y = matrix("y");
  OpFromGraphOptions o;
  o.name = "f";
  CHECK_THROWS_WITH(opFromGraph({x}, {x + y}, o),
                    Catch::Contains("f: the outputs depend on y of type "
                                    "f64[?,?]") &&
                        Catch::Contains("which is not among the op's inputs"));
  CHECK_THROWS_WITH(opFromGraph({x * 2}, {x}, o),
                    Catch::Contains("the inputs must be symbolic inputs"));
  CHECK_THROWS_WITH(opFromGraph({x, x}, {x}, o),
                    Catch::Contains("input x is listed twice"));
  GraphOp f = opFromGraph({x, y}, {dot(x, y)}, o);
  CHECK_THROWS_WITH(applyOp(f, {x}),
                    Catch::Contains("f takes 2 arguments but 1 were given"));
  CHECK_THROWS_WITH(applyOp(f, {x, vector("v")}),
                    Catch::Contains("f: argument 2 has type f64[?] but the "
                                    "graph's input y has type f64[?,?]"));
  // A shape error inside the op at run time names the inner node.
  Var a = matrix("a"), b = matrix("b");
  Function fn = function({a, b}, {applyOp(f, {a, b})[0]});
  CHECK_THROWS_WITH(fn({iota(DType::Float64, {2, 3}),
                        iota(DType::Float64, {2, 3})}),
                    Catch::Contains("dot") && Catch::Contains("not aligned"));
}
