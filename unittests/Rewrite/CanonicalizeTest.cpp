//===- CanonicalizeTest.cpp -----------------------------------------------===//
//
// Each rewrite of the canonicalize pass: the form of the rewritten graph,
// and that it computes what the user's graph does (REFERENCE mode, no
// passes) both compiled (FAST_COMPILE runs merge and canonicalize) and
// under the reference kernels, on edge values.
//
//===----------------------------------------------------------------------===//
#include "RewriteTestUtil.h"

#include <limits>

using namespace thjit;
using namespace thjit::test;

namespace {

Graph canon(const std::vector<Var> &ins, const std::vector<Var> &outs) {
  return rewrite(ins, outs, {"canonicalize"});
}

void expectSame(const NDArray &got, const NDArray &want, double rtol) {
  CHECK(dtypeName(got.dtype()) == std::string(dtypeName(want.dtype())));
  REQUIRE(got.shape() == want.shape());
  std::vector<double> g = flat(got), w = flat(want);
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", want " << w[i]);
    CHECK(close(g[i], w[i], rtol, 0));
  }
}

/// The canonicalized function computes what REFERENCE does on each list
/// of arguments: compiled (FAST_COMPILE) and by the reference kernels on
/// the rewritten graph.
void checkValues(const std::vector<Var> &ins, const std::vector<Var> &outs,
                 const std::vector<std::vector<NDArray>> &argSets,
                 double rtol = 1e-12) {
  Graph g = canon(ins, outs);
  for (size_t k = 0; k < argSets.size(); ++k) {
    INFO("argument set " << k << "; graph:\n" << printed(g));
    std::vector<NDArray> want = runIn("REFERENCE", ins, outs, argSets[k]);
    std::vector<NDArray> compiled =
        runIn("FAST_COMPILE", ins, outs, argSets[k]);
    std::vector<NDArray> rewritten = evaluateGraph(g, argSets[k]);
    REQUIRE(want.size() == outs.size());
    for (size_t o = 0; o < outs.size(); ++o) {
      INFO("output " << o);
      expectSame(compiled[o], want[o], rtol);
      expectSame(rewritten[o], want[o], rtol);
    }
  }
}

NDArray vec(const std::vector<double> &v, DType t = DType::Float64) {
  return array(t, {(int64_t)v.size()}, v);
}

const double kBig = 1e300;

} // namespace

TEST_CASE("constant_fold: constants computed at compile time",
          "[canonicalize]") {
  Var c = constant(array(DType::Float64, {3}, {1, 2, 3}));
  Var x = vector("x", DType::Float64);
  Var y = x + (c * 2.0 + 1.0);
  Graph g = canon({x}, {y});
  CHECK(countOps(g) == 1);
  CHECK(printed(g).find("[3.0, 5.0, 7.0]") != std::string::npos);
  checkValues({x}, {y}, {{vec({1, -2, kInf})}});
}

TEST_CASE("constant_fold: not shared variables, large results or errors",
          "[canonicalize]") {
  Var s = shared(array(DType::Float64, {2}, {1, 2}), "s");
  Var fromShared = s * 2.0;
  CHECK(contains(canon({}, {fromShared}), OpKind::Mul));
  // A million elements from a scalar: left for run time.
  Var big = alloc(1.0, {1000, 1000});
  CHECK(contains(canon({}, {big}), OpKind::Alloc));
  // 5 elements into rows of 2: only evaluation finds it; the error is the
  // user's, at run time.
  Var bad = reshape(constant(iota(DType::Float64, {5})), {-1, 2});
  Graph g = canon({}, {bad});
  CHECK(contains(g, OpKind::Reshape));
  CHECK_THROWS(runIn("FAST_COMPILE", {}, {bad}, {}));
}

TEST_CASE("constant_fold: integer results keep their dtype", "[canonicalize]") {
  Var c = constant(ints(DType::Int8, {2}, {100, -128}));
  Var y = c + c; // wraps in int8
  Graph g = canon({}, {y});
  CHECK(countOps(g) == 0);
  expectInts(evaluateGraph(g, {})[0], DType::Int8, {2}, {-56, 0});
}

TEST_CASE("neg_neg", "[canonicalize]") {
  Var x = vector("x", DType::Float64);
  Var i = tensor(DType::Int32, {U}, "i");
  Graph g = canon({x, i}, {-(-x), -(-i)});
  CHECK_FALSE(contains(g, OpKind::Neg));
  CHECK(countOps(g) == 0);
  checkValues({x, i}, {-(-x), -(-i)},
              {{vec({0, -1.5, kInf, kNaN}),
                ints(DType::Int32, {3},
                     {0, -7, std::numeric_limits<int32_t>::min()})}});
}

TEST_CASE("exp_log keeps NaN for negative x", "[canonicalize]") {
  Var x = vector("x", DType::Float64);
  Var y = exp(log(x));
  Graph g = canon({x}, {y});
  CHECK_FALSE(contains(g, OpKind::Exp));
  CHECK_FALSE(contains(g, OpKind::Log));
  CHECK(contains(g, OpKind::Switch));
  // Exactly x where exp(log(x)) is only close to it.
  checkValues({x}, {y}, {{vec({0, 1, 2.5, 1e-300, kInf, -1, -kInf, kNaN})}},
              1e-12);
  expectValues(evaluateGraph(g, {vec({3, -3})})[0], DType::Float64, {2},
               {3, kNaN}, 0);
  // float32 and integers (log of an int is float64).
  Var f = vector("f", DType::Float32);
  Var i = tensor(DType::Int32, {U}, "i");
  checkValues({f, i}, {exp(log(f)), exp(log(i))},
              {{vec({0, 0.5f, 3, -2, kInf, kNaN}, DType::Float32),
                ints(DType::Int32, {4}, {0, 1, 7, -5})}},
              1e-6);
}

TEST_CASE("log_exp", "[canonicalize]") {
  Var x = vector("x", DType::Float64);
  Var y = log(exp(x));
  Graph g = canon({x}, {y});
  CHECK(countOps(g) == 0);
  checkValues({x}, {y}, {{vec({0, -1, 3.5, kInf, -kInf, kNaN})}}, 1e-14);
  // Where exp overflows the rewritten value is the exact one (documented).
  expectValues(evaluateGraph(g, {vec({1000})})[0], DType::Float64, {1}, {1000},
               0);
}

TEST_CASE("identity_operand: x + 0, x - 0, x * 1, x / 1", "[canonicalize]") {
  Var x = vector("x", DType::Float32);
  Var i = tensor(DType::Int16, {U}, "i");
  std::vector<Var> outs = {x + 0.0, 0.0 + x, x - 0.0, x * 1.0, 1.0 * x,
                           x / 1.0, i + 0,   i * 1,   i - 0};
  Graph g = canon({x, i}, outs);
  CHECK(countOps(g) == 0);
  checkValues({x, i}, outs,
              {{vec({1.5f, -2, kInf, kNaN}, DType::Float32),
                ints(DType::Int16, {3}, {0, -3, 32767})}});
  // Dtype and broadcasting of the result are kept: a cast, an alloc.
  Var r = row("r", DType::Float32);
  Var m = matrix("m", DType::Float64);
  Var z = zerosLike(m);
  std::vector<Var> bc = {r + z, i / 1};
  Graph g2 = canon({r, m, i}, bc);
  CHECK(contains(g2, OpKind::Alloc));
  CHECK(contains(g2, OpKind::Cast));
  CHECK_FALSE(contains(g2, OpKind::Add));
  CHECK_FALSE(contains(g2, OpKind::TrueDiv));
  checkValues({r, m, i}, bc,
              {{array(DType::Float32, {1, 3}, {1, kNaN, -2}),
                array(DType::Float64, {2, 3}, {0, 0, 0, 0, 0, 0}),
                ints(DType::Int16, {2}, {-5, 9})}});
}

TEST_CASE("sub_self: integers only", "[canonicalize]") {
  Var i = tensor(DType::Int32, {U}, "i");
  Var x = vector("x", DType::Float64);
  Graph g = canon({i}, {i - i});
  CHECK_FALSE(contains(g, OpKind::Sub));
  checkValues({i}, {i - i},
              {{ints(DType::Int32, {3},
                     {0, -5, std::numeric_limits<int32_t>::max()})}});
  // inf - inf and NaN - NaN are NaN: floats keep the subtraction.
  CHECK(contains(canon({x}, {x - x}), OpKind::Sub));
}

TEST_CASE("fraction: the issue's example", "[canonicalize]") {
  Var a = vector("a", DType::Float64), b = vector("b", DType::Float64),
      c = vector("c", DType::Float64), d = vector("d", DType::Float64);
  Var y = a / (((a * b) / c) / d);
  Graph g = canon({a, b, c, d}, {y});
  // Factors in both are not cancelled (a = 0 makes the graph 0/0 = NaN):
  // the inner chain is one fraction, the outer one left as written.
  CHECK(g.outputs()[0] == a / ((a * b) / (c * d)));
  checkValues({a, b, c, d}, {y},
              {{vec({1, -2, 3e5}), vec({4, 0.5, -7}), vec({-1, 3, 2}),
                vec({2, 2, 1e-3})},
               {vec({1}), vec({0}), vec({1}), vec({1})}, // c*d/0 = inf
               {vec({2}), vec({kInf}), vec({1}), vec({1})}},
              1e-13);
  // Where a makes the original 0/0, the rewritten graph gives NaN too.
  std::vector<NDArray> at0 =
      evaluateGraph(g, {vec({0}), vec({2}), vec({3}), vec({4})});
  CHECK(std::isnan(at0[0].flatAt(0).toDouble()));
}

TEST_CASE("fraction: constants combine, signs move, x / x", "[canonicalize]") {
  Var a = vector("a", DType::Float64), b = vector("b", DType::Float64);
  Graph g1 = canon({a}, {a * 2.0 * 3.0 / 4.0});
  CHECK(printed(g1).find("mul(a, 1.5)") != std::string::npos);
  CHECK(countOps(g1) == 1);
  Graph g2 = canon({a, b}, {-(a * -b) / 2.0});
  CHECK_FALSE(contains(g2, OpKind::Neg));
  CHECK(countOps(g2) == 2);
  Graph g3 = canon({a, b}, {-a * b});
  CHECK(printed(g3).find("neg(%0)") != std::string::npos);
  Graph g4 = canon({a}, {a * -1.0});
  CHECK(printed(g4).find("neg(a)") != std::string::npos);
  Graph g5 = canon({a}, {a / a}); // not 1: NaN at 0, inf and NaN
  CHECK(g5.outputs()[0] == a / a);
  std::vector<Var> outs = {
      a * 2.0 * 3.0 / 4.0, -(a * -b) / 2.0, -a * b, a * -1.0,
      1.0 / (1.0 / a),     (a / 3.0) / b};
  checkValues({a, b}, outs,
              {{vec({1, -2.5, 0, kInf, kNaN, 1e-300}),
                vec({3, 0.25, -1, 2, 1, -kInf})}},
              1e-13);
  checkValues({a}, {a / a}, {{vec({1, -2.5, 1e300, 1e-300, 0, kInf, kNaN})}});
}

TEST_CASE("fraction: dtypes, broadcasting, integers", "[canonicalize]") {
  // float32 with a row cancelled: the result keeps the matrix's shape.
  Var r = row("r", DType::Float32);
  Var m = matrix("m", DType::Float32);
  Var y = (r * m) / r;
  Graph g = canon({r, m}, {y});
  CHECK(g.outputs()[0] == y); // not cancelled
  // A row over a row: 1 broadcast to the row's shape.
  Var i = tensor(DType::Int32, {U}, "i");
  Var k = tensor(DType::Int64, {U}, "k");
  std::vector<Var> outs = {y, r / r * 3.0f, i / k * 2.0, (i * 3.0) / 6.0,
                           (m * i.ndim()) / 2.0f};
  checkValues(
      {r, m, i, k}, outs,
      {{array(DType::Float32, {1, 2}, {2, -0.5f}),
        array(DType::Float32, {2, 2}, {1, 2, kInf, -3}),
        ints(DType::Int32, {2}, {7, -3}), ints(DType::Int64, {2}, {2, 5})}},
      1e-6);
  // Integer products wrap: not a fraction; floor_div is not touched.
  Graph gi = canon({i}, {(i * 3) * 5, (i * 6) / 3});
  CHECK(countOps(gi) >= 3);
  CHECK(contains(canon({i}, {floorDiv(i, i)}), OpKind::FloorDiv));
}

TEST_CASE("fraction: the normal form is a fixed point", "[canonicalize]") {
  Var a = vector("a", DType::Float64), b = vector("b", DType::Float64),
      c = vector("c", DType::Float64);
  Var y = -((a / (b * -2.0)) * (c / (a * 4.0))) / (c * c);
  Graph g = canon({a, b, c}, {y});
  Graph again = canon({a, b, c}, g.outputs());
  CHECK(printed(again) == printed(g));
  PassOptions o;
  o.passes = {"canonicalize"};
  Graph h(g.inputs(), g.outputs());
  std::vector<PassStats> stats = optimizeGraph(h, o);
  CHECK(stats[0].rewrites == 0);
  CHECK_FALSE(stats[0].budgetExhausted);
  checkValues({a, b, c}, {y}, {{vec({1, -3}), vec({2, 0.5}), vec({5, -1e-3})}},
              1e-13);
}

TEST_CASE("dimshuffle_chain", "[canonicalize]") {
  Var m = matrix("m", DType::Float64);
  Var t = tensor3("t", DType::Float64);
  Var back = transpose(transpose(m));
  Var addDrop = dimshuffle(dimshuffle(m, {-1, 0, 1}), {1, 2});
  Var three = transpose(transpose(t, {1, 2, 0}), {0, 2, 1});
  Graph g = canon({m, t}, {back, addDrop, three});
  CHECK(countOps(g) == 1);
  CHECK(printed(g).find("dimshuffle{1,0,2}(t)") != std::string::npos);
  checkValues(
      {m, t}, {back, addDrop, three},
      {{iota(DType::Float64, {2, 3}), iota(DType::Float64, {2, 3, 4})}});
}

TEST_CASE("reshape_chain", "[canonicalize]") {
  Var m = matrix("m", DType::Float64);
  Var v = vector("v", DType::Float64);
  Var twice = reshape(reshape(m, {-1}), {3, 2});
  Var same = reshape(m, {shapeOf(m, 0), shapeOf(m, 1)});
  Var flat1 = reshape(v, {-1});
  Var whole = reshape(m, shape(m));
  Graph g = canon({m, v}, {twice, same, flat1, whole});
  CHECK(countOps(g) == 1);
  checkValues({m, v}, {twice, same, flat1, whole},
              {{iota(DType::Float64, {2, 3}), vec({1, 2})}});
  // A static shape equal to the type's.
  Var s = tensor(DType::Float32, {2, 3}, "s");
  CHECK(countOps(canon({s}, {reshape(s, {2, 3})})) == 0);
  CHECK(countOps(canon({s}, {reshape(s, {3, 2})})) == 1);
}

TEST_CASE("sum_broadcast_factor and mean", "[canonicalize]") {
  Var m = matrix("m", DType::Float64);
  Var s = scalar("s", DType::Float64);
  Var r = row("r", DType::Float64);
  std::vector<Var> outs = {sum(m * s),          sum(s * m, Axes(0)),
                           sum(m / s, Axes(1)), mean(m * s),
                           sum(m * r, Axes(0)), sum(r * m, Axes(0), true)};
  Graph g = canon({m, s, r}, outs);
  // The multiplications happen after the sums.
  for (Node *n : g.nodes())
    if (n->kind() == OpKind::Sum)
      CHECK(n->operand(0) == m);
  // Not when the factor varies along the summed axis.
  Graph varying = canon({m, r}, {sum(m * r, Axes(1))});
  CHECK(contains(varying, OpKind::Mul));
  CHECK(varying.outputs()[0].node()->kind() == OpKind::Sum);
  checkValues({m, s, r}, outs,
              {{array(DType::Float64, {2, 3}, {1, 2, 3, 4, 5, -6}),
                array(DType::Float64, {}, {2.5}),
                array(DType::Float64, {1, 3}, {1, 2, 3})},
               {array(DType::Float64, {2, 3}, {1, 1e300, 3, kNaN, 5, -6}),
                array(DType::Float64, {}, {-0.5}),
                array(DType::Float64, {1, 3}, {1, 2, 3})}},
              1e-13);
}

TEST_CASE("sum_alloc", "[canonicalize]") {
  Var m = matrix("m", DType::Float64);
  Var i = scalar("i", DType::Int8);
  Var n = shapeOf(m, 0);
  std::vector<Var> outs = {sum(alloc(2.0, {n, 3})), sum(alloc(i, {n, 4})),
                           sum(alloc(0.5, {n, 3}), Axes(0))};
  Graph g = canon({m, i}, outs);
  CHECK_FALSE(contains(g, OpKind::Sum));
  checkValues({m, i}, outs,
              {{iota(DType::Float64, {5, 1}), ints(DType::Int8, {}, {-100})},
               {iota(DType::Float64, {0, 1}), ints(DType::Int8, {}, {7})}});
  // A float variable stays: an empty sum is 0 but 0 * inf is NaN.
  Var x = scalar("x", DType::Float64);
  CHECK(contains(canon({m, x}, {sum(alloc(x, {n}))}), OpKind::Sum));
}

TEST_CASE("reduce_broadcast_axes", "[canonicalize]") {
  Var r = row("r", DType::Float32);
  Var c = tensor(DType::Int8, {U, 1, U}, "c");
  std::vector<Var> outs = {sum(r, Axes(0)), sum(r), max(c, Axes(1)),
                           prod(c, Axes(1), true), sum(c, Axes({0, 1}))};
  Graph g = canon({r, c}, outs);
  CHECK_FALSE(contains(g, OpKind::Max));
  CHECK_FALSE(contains(g, OpKind::Prod));
  checkValues({r, c}, outs,
              {{array(DType::Float32, {1, 3}, {1, kNaN, -2}),
                ints(DType::Int8, {2, 1, 2}, {127, -128, 3, 4})}});
}

TEST_CASE("useless cast, alloc and subtensor", "[canonicalize]") {
  Var m = matrix("m", DType::Float64);
  Var s = tensor(DType::Float32, {2, 3}, "s");
  Attrs a;
  a.dtype = DType::Float64;
  Var castSame = makeOp(OpKind::Cast, {m}, a)[0];
  Var allocSame = alloc(m, {shapeOf(m, 0), shapeOf(m, 1)});
  Var allocStatic = alloc(s, {2, 3});
  std::vector<Var> subs = {
      subtensor(m, {Index::slice(0)}),
      subtensor(m,
                {Index::slice({}, {}, Operand(constant(Scalar::fromInt(1))))}),
      subtensor(m, {Index::all(), Index::slice({}, shapeOf(m, 1))}),
      subtensor(m, {Index::slice({}, subtensor(shape(m), {Index::at(0)}))}),
      subtensor(s, {Index::slice(0, 5)})};
  std::vector<Var> outs = {castSame, allocSame, allocStatic};
  outs.insert(outs.end(), subs.begin(), subs.end());
  Graph g = canon({m, s}, outs);
  CHECK(countOps(g) == 0);
  checkValues({m, s}, outs,
              {{iota(DType::Float64, {2, 3}), iota(DType::Float32, {2, 3})}});
  // Not useless: a real broadcast, a real slice.
  Var v = vector("v", DType::Float64);
  CHECK(contains(canon({v, m}, {alloc(v, {shapeOf(m, 0), shapeOf(v, 0)})}),
                 OpKind::Alloc));
  CHECK(contains(canon({m}, {subtensor(m, {Index::slice(1)})}),
                 OpKind::Subtensor));
  CHECK(contains(canon({m}, {subtensor(m, {Index::slice({}, 2)})}),
                 OpKind::Subtensor));
}

TEST_CASE("shapes: shape_i of computed values", "[canonicalize]") {
  Var m = matrix("m", DType::Float64);
  Var v = vector("v", DType::Float64);
  Var y = mean(exp(m) + v);
  Graph g = canon({m, v}, {y});
  // The count reads the inputs' shapes, not the sum's operand's.
  for (Node *n : g.nodes())
    if (n->kind() == OpKind::ShapeI)
      CHECK(n->operand(0).isInput());
  checkValues({m, v}, {y}, {{iota(DType::Float64, {2, 3}), vec({1, 2, 3})}},
              1e-13);
  Var s = tensor(DType::Float64, {4, U}, "s");
  Graph g2 = canon({s}, {shapeOf(s * 2.0, 0) + shapeOf(s, 1)});
  CHECK(countOps(g2) == 2);
}

TEST_CASE("elemwise_alloc", "[canonicalize]") {
  // The gradient of 0.01 * sum(w ** 2) allocs 0.01 in w's shape; an
  // element-wise op with w (or a value of w's shape) broadcasts it itself.
  Var w = vector("w", DType::Float64), m = matrix("m", DType::Float64);
  Var r = row("r", DType::Float64);
  Var n = shapeOf(w, 0);
  std::vector<Var> outs = {
      alloc(0.01, {n}) * w,                       // size from w
      alloc(0.5, {n}) * (1.0 - w),                // through an element-wise op
      alloc(2.0, {shapeOf(m, 0), shapeOf(m, 1)}) + m,
      alloc(r, {shapeOf(m, 0), shapeOf(m, 1)}) * m};
  std::vector<Var> ins = {w, m, r};
  Graph g = canon(ins, outs);
  CHECK_FALSE(contains(g, OpKind::Alloc));
  checkValues(ins, outs,
              {{iota(DType::Float64, {4}), iota(DType::Float64, {2, 3}),
                iota(DType::Float64, {1, 3})}});
  // A size nothing else gives stays: without the alloc the shape (or the
  // shape error) would change.
  Var k = scalar("k", DType::Int64), x = vector("x", DType::Float64);
  CHECK(contains(canon({k, x}, {alloc(1.0, {k}) + x}), OpKind::Alloc));
  CHECK(contains(canon({w}, {alloc(1.0, {n, 3}) * w}), OpKind::Alloc));
}
