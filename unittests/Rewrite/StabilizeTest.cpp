//===- StabilizeTest.cpp - The stabilize pass's rewrites ------------------===//
//
// For each rewrite of the stabilize pass: the graph after the pass has the
// stable form, the naive form (REFERENCE mode, no rewriting) gives
// inf/NaN/0 at an extreme input while the rewritten graph gives the right
// value (against a closed form), and both agree on ordinary inputs (DEBUG
// mode checks every rewrite against the reference kernels).
//
//===----------------------------------------------------------------------===//
#include "RewriteTestUtil.h"

using namespace thjit;
using namespace thjit::test;

namespace {

/// What `out` computes without rewriting (the reference kernels).
NDArray naive(const std::vector<Var> &ins, const Var &out,
              const std::vector<NDArray> &args) {
  return runIn("REFERENCE", ins, {out}, args)[0];
}

/// What `out` computes after the stabilize pass alone (reference kernels),
/// and checks that FAST_RUN's compiled code gives the same.
NDArray stable(const std::vector<Var> &ins, const Var &out,
               const std::vector<NDArray> &args) {
  Graph g = rewrite(ins, {out}, {"stabilize"});
  NDArray r = runIn("REFERENCE", g.inputs(), g.outputs(), args)[0];
  NDArray fast = runIn("FAST_RUN", ins, {out}, args)[0];
  CHECK(fast.dtype() == r.dtype());
  std::vector<double> a = flat(r), b = flat(fast);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("FAST_RUN's element " << i << ": " << b[i] << ", not " << a[i]);
    if (std::isfinite(a[i]))
      CHECK(b[i] == Approx(a[i]).epsilon(1e-5).margin(1e-300));
    else
      CHECK((std::isnan(a[i]) ? std::isnan(b[i]) : a[i] == b[i]));
  }
  return r;
}

/// a equals `want` element by element: inf and NaN exactly, the rest to a
/// relative `eps`.
void checkValues(const NDArray &a, const std::vector<double> &want,
                 double eps = 1e-12) {
  std::vector<double> got = flat(a);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    if (std::isnan(want[i]))
      CHECK(std::isnan(got[i]));
    else if (std::isinf(want[i]))
      CHECK(got[i] == want[i]);
    else
      CHECK(got[i] == Approx(want[i]).epsilon(eps).margin(1e-300));
  }
}

/// The graph of `out` after the pass, printed.
std::string after(const std::vector<Var> &ins, const Var &out) {
  return printed(rewrite(ins, {out}, {"stabilize"}));
}

Graph stabilized(const std::vector<Var> &ins, const Var &out) {
  return rewrite(ins, {out}, {"stabilize"});
}

NDArray vec(const std::vector<double> &v, DType t = DType::Float64) {
  return array(t, {(int64_t)v.size()}, v);
}

const double kLog2 = std::log(2.0);

} // namespace

TEST_CASE("softplus: log(1 + exp x), both orders and log1p(exp x)",
          "[stabilize]") {
  Var x = vector("x", DType::Float64);
  for (Var y : {log(1.0 + exp(x)), log(exp(x) + 1.0), log1p(exp(x))}) {
    Graph g = stabilized({x}, y);
    CHECK(contains(g, OpKind::Softplus));
    CHECK(!contains(g, OpKind::Exp));
    CHECK(countOps(g) == 1);
    NDArray in = vec({-800, 0, 1, 800});
    checkValues(naive({x}, y, {in}),
                {0, kLog2, std::log1p(std::exp(1.0)), kInf});
    checkValues(stable({x}, y, {in}),
                {0, kLog2, std::log1p(std::exp(1.0)), 800});
  }
}

TEST_CASE("softplus in float32, and with a broadcast constant", "[stabilize]") {
  Var x = vector("x", DType::Float32);
  Var y = log(1.0 + exp(x));
  CHECK(y.dtype() == DType::Float32);
  NDArray in = vec({0, 100}, DType::Float32);
  checkValues(naive({x}, y, {in}), {kLog2, kInf}, 1e-6);
  NDArray r = stable({x}, y, {in});
  CHECK(r.dtype() == DType::Float32);
  checkValues(r, {kLog2, 100}, 1e-6);

  // A float64 matrix of ones: the result is float64 and 2x3, computed from
  // the float32 scalar in float64.
  Var s = scalar("s", DType::Float32);
  Var ones23 = constant(array(DType::Float64, {2, 3}, {1, 1, 1, 1, 1, 1}));
  Var z = log(ones23 + exp(s));
  Graph g = stabilized({s}, z);
  CHECK(contains(g, OpKind::Softplus));
  CHECK(g.outputs()[0].type() == z.type());
  NDArray r2 = stable({s}, z, {array(DType::Float32, {}, {100})});
  CHECK(r2.shape() == Shape{2, 3});
  checkValues(r2, std::vector<double>(6, 100.0));
}

TEST_CASE("a replacement whose sizes are less known than the result's gets "
          "them by alloc",
          "[stabilize]") {
  // ones(3) gives the sum the static size 3 that softplus(x) lacks: the
  // replacement is allocated to the result's type (it was a CompileError).
  Var x = vector("x", DType::Float64);
  Var y = log(constant(array(DType::Float64, {3}, {1, 1, 1})) + exp(x));
  Graph g = stabilized({x}, y);
  CHECK(contains(g, OpKind::Softplus));
  CHECK(g.outputs()[0].type() == y.type());
  checkValues(stable({x}, y, {vec({-800, 0, 800})}), {0, kLog2, 800});
}

TEST_CASE("log1p: log(1 + x), log(x + 1), log(1 - x)", "[stabilize]") {
  Var x = vector("x", DType::Float64);
  NDArray in = vec({1e-20, 0.5});
  for (Var y : {log(1.0 + x), log(x + 1.0)}) {
    Graph g = stabilized({x}, y);
    CHECK(contains(g, OpKind::Log1p));
    CHECK(!contains(g, OpKind::Log));
    checkValues(naive({x}, y, {in}), {0, std::log(1.5)});
    checkValues(stable({x}, y, {in}), {1e-20, std::log(1.5)});
  }
  Var y = log(1.0 - x);
  CHECK(contains(stabilized({x}, y), OpKind::Log1p));
  checkValues(naive({x}, y, {in}), {0, std::log(0.5)});
  checkValues(stable({x}, y, {in}), {-1e-20, std::log(0.5)});

  Var f = vector("f", DType::Float32);
  Var yf = log(1.0 + f);
  NDArray inf32 = vec({1e-10, 0.5}, DType::Float32);
  checkValues(naive({f}, yf, {inf32}), {0, std::log(1.5)}, 1e-6);
  checkValues(stable({f}, yf, {inf32}), {1e-10, std::log(1.5)}, 1e-6);
}

TEST_CASE("expm1: exp(x) - 1 in its forms", "[stabilize]") {
  Var x = vector("x", DType::Float64);
  NDArray in = vec({1e-20, 1});
  for (Var y : {exp(x) - 1.0, exp(x) + -1.0, -1.0 + exp(x)}) {
    Graph g = stabilized({x}, y);
    CHECK(contains(g, OpKind::Expm1));
    CHECK(countOps(g) == 1);
    checkValues(naive({x}, y, {in}), {0, std::expm1(1.0)});
    checkValues(stable({x}, y, {in}), {1e-20, std::expm1(1.0)});
  }
  Var f = vector("f", DType::Float32);
  Var yf = exp(f) - 1.0;
  NDArray inf32 = vec({1e-10, 1}, DType::Float32);
  checkValues(naive({f}, yf, {inf32}), {0, std::expm1(1.0)}, 1e-6);
  checkValues(stable({f}, yf, {inf32}), {1e-10, std::expm1(1.0)}, 1e-6);
}

TEST_CASE("log(sigmoid x) -> -softplus(-x)", "[stabilize]") {
  Var x = vector("x", DType::Float64);
  Var y = log(sigmoid(x));
  Graph g = stabilized({x}, y);
  CHECK(contains(g, OpKind::Softplus));
  CHECK(!contains(g, OpKind::Log));
  CHECK(!contains(g, OpKind::Sigmoid));
  NDArray in = vec({-800, 0});
  checkValues(naive({x}, y, {in}), {-kInf, -kLog2});
  checkValues(stable({x}, y, {in}), {-800, -kLog2});
  // log(sigmoid(-x)) needs no double negation.
  CHECK(after({x}, log(sigmoid(-x))) == "graph f(x: f64[?]) {\n"
                                        "  %0: f64[?] = softplus(x)\n"
                                        "  %1: f64[?] = neg(%0)\n"
                                        "  return %1\n}\n");

  Var f = vector("f", DType::Float32);
  Var yf = log(sigmoid(f));
  NDArray inf32 = vec({-200, 0}, DType::Float32);
  checkValues(naive({f}, yf, {inf32}), {-kInf, -kLog2}, 1e-6);
  checkValues(stable({f}, yf, {inf32}), {-200, -kLog2}, 1e-6);
}

TEST_CASE("log(1 - sigmoid x) and log1p(-sigmoid x) -> -softplus x",
          "[stabilize]") {
  Var x = vector("x", DType::Float64);
  NDArray in = vec({800, 0});
  for (Var y : {log(1.0 - sigmoid(x)), log(1.0 + -sigmoid(x)),
                log(-sigmoid(x) + 1.0), log1p(-sigmoid(x))}) {
    CHECK(after({x}, y) == "graph f(x: f64[?]) {\n"
                           "  %0: f64[?] = softplus(x)\n"
                           "  %1: f64[?] = neg(%0)\n"
                           "  return %1\n}\n");
    checkValues(naive({x}, y, {in}), {-kInf, -kLog2});
    checkValues(stable({x}, y, {in}), {-800, -kLog2});
  }
}

TEST_CASE("1 - sigmoid x -> sigmoid(-x)", "[stabilize]") {
  Var x = vector("x", DType::Float64);
  NDArray in = vec({40, 0});
  for (Var y : {1.0 - sigmoid(x), 1.0 + -sigmoid(x), -sigmoid(x) + 1.0}) {
    Graph g = stabilized({x}, y);
    CHECK(contains(g, OpKind::Sigmoid));
    CHECK(contains(g, OpKind::Neg));
    CHECK(!contains(g, OpKind::Sub));
    CHECK(!contains(g, OpKind::Add));
    checkValues(naive({x}, y, {in}), {0, 0.5});
    checkValues(stable({x}, y, {in}),
                {std::exp(-40.0) / (1 + std::exp(-40.0)), 0.5});
  }
  Var f = vector("f", DType::Float32);
  Var yf = 1.0 - sigmoid(f);
  NDArray inf32 = vec({20, 0}, DType::Float32);
  checkValues(naive({f}, yf, {inf32}), {0, 0.5});
  checkValues(stable({f}, yf, {inf32}), {std::exp(-20.0), 0.5}, 1e-6);
}

TEST_CASE("exp(x) / (1 + exp x) -> sigmoid x", "[stabilize]") {
  Var x = vector("x", DType::Float64);
  NDArray in = vec({800, 0, -800});
  for (Var y : {exp(x) / (1.0 + exp(x)), exp(x) / (exp(x) + 1.0)}) {
    Graph g = stabilized({x}, y);
    CHECK(contains(g, OpKind::Sigmoid));
    CHECK(countOps(g) == 1);
    checkValues(naive({x}, y, {in}), {kNaN, 0.5, 0});
    checkValues(stable({x}, y, {in}), {1, 0.5, 0});
  }
  // 1 / (1 + exp(-x)) is sigmoid x; 1 / (1 + exp x) sigmoid(-x).
  CHECK(countOps(stabilized({x}, 1.0 / (1.0 + exp(-x)))) == 1);
  Var y = 1.0 / (1.0 + exp(x));
  CHECK(countOps(stabilized({x}, y)) == 2);
  checkValues(stable({x}, y, {vec({1, 0})}), {1 / (1 + std::exp(1.0)), 0.5});

  Var f = vector("f", DType::Float32);
  Var yf = exp(f) / (1.0 + exp(f));
  NDArray inf32 = vec({100, 0}, DType::Float32);
  checkValues(naive({f}, yf, {inf32}), {kNaN, 0.5});
  checkValues(stable({f}, yf, {inf32}), {1, 0.5});
}

TEST_CASE("sigmoid_products: exp u / (1 + exp u)^2 and sigmoids of u",
          "[stabilize]") {
  Var u = vector("u", DType::Float64), a = vector("a", DType::Float64);
  NDArray in = vec({800, 0, -800}), as = vec({2, 2, 2});
  // The gradient of 1 / (1 + exp u): sigmoid u * sigmoid(-u).
  Var y = a * exp(u) / sqr(1.0 + exp(u));
  Graph g = stabilized({a, u}, y);
  CHECK(!contains(g, OpKind::Exp));
  CHECK(contains(g, OpKind::Sigmoid));
  checkValues(naive({a, u}, y, {as, in}), {kNaN, 0.5, 0});
  checkValues(stable({a, u}, y, {as, in}), {0, 0.5, 0});
  // exp u times sigmoid(-u) is sigmoid u; a quotient by sigmoid u cancels.
  Var z = exp(u) * sigmoid(-u) * a;
  checkValues(naive({a, u}, z, {as, in}), {kNaN, 1, 0});
  checkValues(stable({a, u}, z, {as, in}), {2, 1, 0});
  Var q = a / sigmoid(u) * exp(u) / sqr(1.0 + exp(u));
  checkValues(naive({a, u}, q, {as, in}), {kNaN, 1, kNaN});
  checkValues(stable({a, u}, q, {as, in}), {0, 1, 2});
  // Left alone where the powers make no sigmoids: exp u squared over 1 + exp u.
  Var w = sqr(exp(u)) / (1.0 + exp(u));
  CHECK(contains(stabilized({u}, w), OpKind::Exp));
}

TEST_CASE("sigmoid_products: the logistic regression gradient is multiplied "
          "out", "[stabilize]") {
  // d/dz of -y log p - (1 - y) log(1 - p), p = 1 / (1 + exp(-z)), as grad
  // writes it: NaN once exp(-z) overflows; sigmoid(z) - y after the pass.
  Var z = vector("z", DType::Float64), y = vector("y", DType::Float64);
  Var p = 1.0 / (1.0 + exp(-z));
  Var xent = -y * log(p) - (1.0 - y) * log(1.0 - p);
  Var d = grad(sum(xent), z);
  NDArray zs = vec({-800, 800, 1, -30}), ys = vec({0, 1, 0, 1});
  auto s = [](double x) { return 1 / (1 + std::exp(-x)); };
  std::vector<double> want{0, 0, s(1), s(-30) - 1};
  std::vector<NDArray> args{zs, ys};
  Graph g = rewrite({z, y}, {d}, {"canonicalize", "stabilize"});
  CHECK(!contains(g, OpKind::Exp));
  std::vector<double> naiveValues = flat(naive({z, y}, d, args));
  CHECK(std::isnan(naiveValues[0]));
  checkValues(runIn("REFERENCE", g.inputs(), g.outputs(), args)[0], want, 1e-9);
  checkValues(runIn("FAST_RUN", {z, y}, {d}, args)[0], want, 1e-9);
}

TEST_CASE("sigmoid_complements: a sigmoid(u) + a sigmoid(-u) is a",
          "[stabilize]") {
  Var u = vector("u", DType::Float64), y = vector("y", DType::Float64),
      c = vector("c", DType::Float64);
  NDArray us = vec({-800, 800, 1, -30}), ys = vec({0, 1, 0.25, 1}),
          cs = vec({2, 2, 3, 0.5});
  auto s = [](double x) { return 1 / (1 + std::exp(-x)); };
  // The logistic regression's gradient as sigmoid_products leaves it:
  // c (1 - y) sigmoid u - c y sigmoid(-u) is c (sigmoid u - y), with one
  // sigmoid and the common factor taken out.
  Var d = (1.0 - y) * sigmoid(u) * c - y * sigmoid(-u) * c;
  Graph g = stabilized({u, y, c}, d);
  int sigmoids = 0;
  for (Node *n : g.nodes())
    sigmoids += n->kind() == OpKind::Sigmoid;
  CHECK(sigmoids == 1);
  CHECK(printGraph(g, "f", {}).find("sub(%0, y)") != std::string::npos);
  std::vector<double> want;
  for (int i = 0; i < 4; ++i)
    want.push_back(cs.data<double>()[i] * (s(us.data<double>()[i]) - ys.data<double>()[i]));
  checkValues(stable({u, y, c}, d, {us, ys, cs}), want, 1e-12);
  // Divided rather than multiplied, and the other way round.
  Var q = y * sigmoid(-u) / c + y * sigmoid(u) / c;
  CHECK(!contains(stabilized({u, y, c}, q), OpKind::Sigmoid));
  checkValues(stable({u, y, c}, q, {us, ys, cs}), {0, 0.5, 0.25 / 3, 2});
  // Left alone: the other factors differ.
  Var r = y * sigmoid(u) + c * sigmoid(-u);
  CHECK(contains(stabilized({u, y, c}, r), OpKind::Sigmoid));
}

TEST_CASE("log(softmax x) -> log_softmax x", "[stabilize]") {
  Var x = matrix("x", DType::Float64);
  Var y = log(softmax(x));
  Graph g = stabilized({x}, y);
  CHECK(contains(g, OpKind::LogSoftmax));
  CHECK(countOps(g) == 1);
  NDArray in = array(DType::Float64, {2, 2}, {0, 1000, 0, 0});
  checkValues(naive({x}, y, {in}), {-kInf, 0, -kLog2, -kLog2});
  checkValues(stable({x}, y, {in}), {-1000, 0, -kLog2, -kLog2});

  Var f = matrix("f", DType::Float32);
  Var yf = log(softmax(f));
  NDArray inf32 = array(DType::Float32, {1, 2}, {0, 200});
  checkValues(naive({f}, yf, {inf32}), {-kInf, 0});
  checkValues(stable({f}, yf, {inf32}), {-200, 0});
}

TEST_CASE("logsumexp: log(sum(exp x)) with the max subtracted", "[stabilize]") {
  Var x = matrix("x", DType::Float64);
  Var y = log(sum(exp(x), Axes(1)));
  Graph g = stabilized({x}, y);
  CHECK(contains(g, OpKind::Max));
  CHECK(g.outputs()[0].type() == y.type());
  // Rows: overflow, underflow, all -inf, ordinary.
  NDArray in = array(DType::Float64, {4, 2},
                     {1000, 1000, -1000, -1000, -kInf, -kInf, 0, 1});
  double ordinary = std::log(1 + std::exp(1.0));
  checkValues(naive({x}, y, {in}), {kInf, -kInf, -kInf, ordinary});
  checkValues(stable({x}, y, {in}),
              {1000 + kLog2, -1000 + kLog2, -kInf, ordinary});
  // A row with +inf: m is taken as 0 there, the sum is inf.
  checkValues(stable({x}, y, {array(DType::Float64, {1, 2}, {kInf, 0})}),
              {kInf});
  // A NaN stays NaN.
  checkValues(stable({x}, y, {array(DType::Float64, {1, 2}, {kNaN, 0})}),
              {kNaN});

  // keepdims, axis 0, every axis.
  NDArray big = array(DType::Float64, {2, 2}, {1000, 0, 1000, 0});
  Var k = log(sum(exp(x), Axes(1), true));
  CHECK(stabilized({x}, k).outputs()[0].type() == k.type());
  checkValues(stable({x}, k, {big}), {1000, 1000});
  Var a0 = log(sum(exp(x), Axes(0)));
  checkValues(stable({x}, a0, {big}), {1000 + kLog2, kLog2});
  Var all = log(sum(exp(x)));
  CHECK(stabilized({x}, all).outputs()[0].ndim() == 0);
  checkValues(naive({x}, all, {big}), {kInf});
  checkValues(stable({x}, all, {big}),
              {1000 + kLog2 + std::log1p(std::exp(-1000.0))});

  // Two axes of three.
  Var t = tensor3("t", DType::Float64);
  Var yt = log(sum(exp(t), Axes({0, 2})));
  NDArray in3 = array(DType::Float64, {2, 1, 2}, {800, 800, 800, 800});
  checkValues(naive({t}, yt, {in3}), {kInf});
  checkValues(stable({t}, yt, {in3}), {800 + 2 * kLog2});

  // float32.
  Var f = matrix("f", DType::Float32);
  Var yf = log(sum(exp(f), Axes(1)));
  NDArray inf32 = array(DType::Float32, {1, 2}, {100, 100});
  checkValues(naive({f}, yf, {inf32}), {kInf});
  NDArray r = stable({f}, yf, {inf32});
  CHECK(r.dtype() == DType::Float32);
  checkValues(r, {100 + kLog2}, 1e-6);
}

TEST_CASE("logsumexp leaves a shifted form alone", "[stabilize]") {
  Var x = matrix("x", DType::Float64);
  Var m = max(x, Axes(1), true);
  Var y = log(sum(exp(x - m), Axes(1)));
  Graph g = stabilized({x}, y);
  CHECK(printed(g) == printed(Graph({x}, {y})));
  // And is applied once (a fixed point).
  Var z = log(sum(exp(x), Axes(1)));
  PassOptions options;
  options.passes = {"stabilize"};
  Graph h({x}, {z});
  std::vector<PassStats> stats = optimizeGraph(h, options);
  CHECK(stats[0].rewrites == 1);
  CHECK(!stats[0].budgetExhausted);
}

TEST_CASE("logaddexp: log(exp a + exp b)", "[stabilize]") {
  Var a = vector("a", DType::Float64), b = vector("b", DType::Float64);
  Var y = log(exp(a) + exp(b));
  Graph g = stabilized({a, b}, y);
  CHECK(contains(g, OpKind::Softplus));
  CHECK(!contains(g, OpKind::Exp));
  NDArray va = vec({800, -800, -kInf, kInf, 0, 1});
  NDArray vb = vec({800, -800, -kInf, 0, 0, -kInf});
  checkValues(naive({a, b}, y, {va, vb}), {kInf, -kInf, -kInf, kInf, kLog2, 1});
  checkValues(stable({a, b}, y, {va, vb}),
              {800 + kLog2, -800 + kLog2, -kInf, kInf, kLog2, 1});

  Var fa = vector("fa", DType::Float32), fb = vector("fb", DType::Float32);
  Var yf = log(exp(fa) + exp(fb));
  NDArray v32 = vec({100}, DType::Float32);
  checkValues(naive({fa, fb}, yf, {v32, v32}), {kInf});
  checkValues(stable({fa, fb}, yf, {v32, v32}), {100 + kLog2}, 1e-6);
}

TEST_CASE("softmax cross-entropy: forward and gradient", "[stabilize]") {
  Var x = matrix("x", DType::Float64), t = matrix("t", DType::Float64);
  Var cost = -sum(t * log(softmax(x)));
  Var gx = grad(cost, x);
  Graph g = rewrite({t, x}, {cost, gx}, {"stabilize"});
  CHECK(contains(g, OpKind::LogSoftmax));
  CHECK(!contains(g, OpKind::TrueDiv));
  CHECK(!contains(g, OpKind::Log));

  // Logits far apart: softmax is exactly 0 and 1 in the first row.
  NDArray vt = array(DType::Float64, {2, 2}, {1, 0, 0, 1});
  NDArray vx = array(DType::Float64, {2, 2}, {0, 1000, 1, 2});
  double p = 1 / (1 + std::exp(-1.0)); // softmax([1, 2])[1]
  std::vector<NDArray> ref = runIn("REFERENCE", {t, x}, {cost, gx}, {vt, vx});
  checkValues(ref[0], {kInf});
  checkValues(ref[1], {kNaN, kNaN, 1 - p, p - 1});
  std::vector<NDArray> got =
      runIn("REFERENCE", g.inputs(), g.outputs(), {vt, vx});
  checkValues(got[0], {1000 - std::log(p)});
  // d cost / dx = softmax(x) - t (rows of t sum to 1).
  checkValues(got[1], {-1, 1, 1 - p, p - 1});
  std::vector<NDArray> fast = runIn("FAST_RUN", {t, x}, {cost, gx}, {vt, vx});
  checkValues(fast[0], {1000 - std::log(p)});
  checkValues(fast[1], {-1, 1, 1 - p, p - 1});
}

TEST_CASE("softmax cross-entropy: the mean over rows, float32", "[stabilize]") {
  Var x = matrix("x", DType::Float32), t = matrix("t", DType::Float32);
  Var cost = -mean(sum(log(softmax(x)) * t, Axes(1)));
  Var gx = grad(cost, x);
  Graph g = rewrite({t, x}, {cost, gx}, {"stabilize"});
  CHECK(!contains(g, OpKind::Log));
  NDArray vt = array(DType::Float32, {1, 3}, {0, 1, 0});
  NDArray vx = array(DType::Float32, {1, 3}, {200, 0, 0});
  std::vector<NDArray> ref = runIn("REFERENCE", {t, x}, {cost, gx}, {vt, vx});
  checkValues(ref[0], {kNaN}); // 0 * log(0)
  checkValues(ref[1], {kNaN, kNaN, kNaN});
  std::vector<NDArray> got = runIn("FAST_RUN", {t, x}, {cost, gx}, {vt, vx});
  CHECK(got[1].dtype() == DType::Float32);
  checkValues(got[0], {200}, 1e-6);
  checkValues(got[1], {1, -1, 0}, 1e-6);
}

TEST_CASE("softmax's gradient of a / softmax x in other forms", "[stabilize]") {
  // What canonicalize may leave: the sum of (a/z) * z made sum(a), or the
  // subtraction an addition of a negation.
  Var x = matrix("x", DType::Float64), a = matrix("a", DType::Float64);
  Var z = softmax(x);
  Var s = sum(a, Axes(1), true);
  NDArray va = array(DType::Float64, {1, 2}, {-1, 0});
  NDArray vx = array(DType::Float64, {1, 2}, {0, 1000});
  for (Var y : {(a / z - s) * z, z * (a / z + -s), (-s + a / z) * z}) {
    Graph g = stabilized({x, a}, y);
    CHECK(!contains(g, OpKind::TrueDiv));
    checkValues(naive({x, a}, y, {vx, va}), {kNaN, 1});
    checkValues(stable({x, a}, y, {vx, va}), {-1, 1});
  }
}

TEST_CASE("softmax's gradient elsewhere is left alone", "[stabilize]") {
  Var x = matrix("x", DType::Float64), w = matrix("w", DType::Float64);
  Var gx = grad(sum(softmax(x) * w), x);
  Graph g = rewrite({x, w}, {gx}, {"stabilize"});
  CHECK(printed(g) == printed(Graph({x, w}, {gx})));
}

TEST_CASE("sqrt(x*x): x where known non-negative, else abs x", "[stabilize]") {
  Var x = vector("x", DType::Float64);
  for (Var y : {sqrt(x * x), sqrt(sqr(x)), sqrt(pow(x, 2))}) {
    Graph g = stabilized({x}, y);
    CHECK(contains(g, OpKind::Abs));
    CHECK(countOps(g) == 1);
    NDArray in = vec({-1e200, 1e-200, -3});
    checkValues(naive({x}, y, {in}), {kInf, 0, 3});
    checkValues(stable({x}, y, {in}), {1e200, 1e-200, 3});
  }
  // exp(x) >= 0: no abs.
  Var y = sqrt(exp(x) * exp(x));
  Graph g = stabilized({x}, y);
  CHECK(countOps(g) == 1);
  CHECK(contains(g, OpKind::Exp));
  checkValues(naive({x}, y, {vec({400, 0})}), {kInf, 1});
  checkValues(stable({x}, y, {vec({400, 0})}), {std::exp(400.0), 1});
  for (Var nn : {abs(x), sigmoid(x), softplus(x), sqr(x), exp(x) + 0.0})
    CHECK(stabilized({x}, sqrt(nn * nn)).outputs()[0] ==
          (nn.node()->kind() == OpKind::Add ? abs(nn) : nn));

  Var f = vector("f", DType::Float32);
  Var yf = sqrt(f * f);
  NDArray inf32 = vec({-1e20f, 2}, DType::Float32);
  checkValues(naive({f}, yf, {inf32}), {kInf, 2});
  checkValues(stable({f}, yf, {inf32}), {1e20, 2}, 1e-6);
  // Integers square exactly: left alone.
  Var i = vector("i", DType::Int64);
  CHECK(!contains(stabilized({i}, sqrt(i * i)), OpKind::Abs));
}

TEST_CASE("forms that are not the patterns are left alone", "[stabilize]") {
  Var x = vector("x", DType::Float64), a = vector("a", DType::Float64);
  for (Var y : {log(2.0 + exp(x)), exp(x) - 2.0, log(exp(x) - exp(a)),
                2.0 - sigmoid(x), exp(x) / (1.0 + exp(a)), log(exp(x) * exp(a)),
                sqrt(x * a), log(sum(x))}) {
    Graph before({x, a}, {y});
    Graph g = rewrite({x, a}, {y}, {"stabilize"});
    CHECK(printed(g) == printed(before));
  }
  // Complex values are not rewritten (softplus and sigmoid are real).
  Var z = vector("z", DType::Complex128);
  Var y = log(1.0 + exp(z));
  CHECK(printed(rewrite({z}, {y}, {"stabilize"})) == printed(Graph({z}, {y})));
}

TEST_CASE("rewritten graphs agree with the naive ones on ordinary inputs",
          "[stabilize]") {
  Var x = vector("x", DType::Float64), a = vector("a", DType::Float64);
  Var m = matrix("m", DType::Float64), t = matrix("t", DType::Float64);
  std::vector<Var> outs = {log(1.0 + exp(x)),
                           log(1.0 + x),
                           exp(x) - 1.0,
                           log(sigmoid(x)),
                           log(1.0 - sigmoid(x)),
                           1.0 - sigmoid(x),
                           exp(x) / (1.0 + exp(x)),
                           log(exp(x) + exp(a)),
                           sqrt(x * x),
                           log(softmax(m)),
                           log(sum(exp(m), Axes(0))),
                           grad(-sum(t * log(softmax(m))), m)};
  std::vector<NDArray> args = {
      vec({-2, 0.25, 3}), vec({1, -1, 0.5}),
      array(DType::Float64, {3, 2}, {0.1, -0.5, 2, 1, -3, 0}),
      array(DType::Float64, {3, 2}, {0.3, 0.7, 1, 0, 0.5, 0.5})};
  // DEBUG checks every rewrite against the reference kernels.
  std::vector<NDArray> dbg = runIn("DEBUG", {x, a, m, t}, outs, args);
  std::vector<NDArray> ref = runIn("REFERENCE", {x, a, m, t}, outs, args);
  REQUIRE(dbg.size() == ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    INFO("output " << i);
    checkValues(dbg[i], flat(ref[i]), 1e-10);
  }
}
