//===- GradErrorsTest.cpp - grad()'s errors, options and second order -----===//
//
// The errors grad() gives, disconnected inputs and consider_constant, the
// types of gradients, grad of grad, and the logistic regression of the seed
// paper differentiated and trained.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"

#include <iostream>
#include <sstream>

using namespace thjit;
using namespace thjit::test;

namespace {

double run(const Var &out, const std::vector<Var> &ins,
           const std::vector<NDArray> &args) {
  return call(ins, {out}, args)[0].item().toDouble();
}

} // namespace

TEST_CASE("grad rejects bad costs and wrt", "[grad][errors]") {
  Var x = vector("x"), m = matrix("m");
  CHECK_THROWS_KIND(grad(x * 2.0, x), TypeError,
                    "grad: cost must be a scalar; got f64[?]");
  Var i = vector("i", DType::Int64);
  CHECK_THROWS_KIND(grad(sum(i), i), TypeError,
                    "cost must have a float dtype; got int64");
  CHECK_THROWS_KIND(grad(sum(x * cast(i, DType::Float64)), i), TypeError,
                    "cannot differentiate with respect to i of type i64[?]");
  CHECK_THROWS_KIND(grad(Var(), x), ValueError, "the cost is undefined");
  CHECK_THROWS_KIND(grad(sum(x), Var()), ValueError, "undefined");
  // A float cost of another precision is fine.
  Var f = vector("f", DType::Float32);
  CHECK(grad(sum(f), f).dtype() == DType::Float32);
  // An op without a gradient, on the path from a float input.
  Var n = scalar("n");
  CHECK_THROWS_KIND(grad(sum(arange(0.0, n, 1.0)), n), TypeError,
                    "arange is not differentiable");
}

TEST_CASE("Disconnected inputs", "[grad][errors]") {
  Var x = vector("x"), z = matrix("z");
  Var cost = sum(exp(x));
  CHECK_THROWS_KIND(grad(cost, {x, z}), ValueError,
                    "grad: the cost does not depend on z of type f64[?,?]");
  GradOptions ignore;
  ignore.disconnectedInputs = DisconnectedInputs::Ignore;
  std::vector<Var> g = grad(cost, {x, z}, ignore);
  NDArray gz = call({x, z}, {g[1]},
                    {array(DType::Float64, {2}, {1, 2}), array(DType::Float64, {2, 2}, {1, 2, 3, 4})})[0];
  CHECK(gz.shape() == Shape{2, 2});
  for (const Scalar &v : gz.values())
    CHECK(v.toDouble() == 0);
  // Warn writes a warning and gives zeros too.
  GradOptions warn;
  warn.disconnectedInputs = DisconnectedInputs::Warn;
  std::streambuf *old = std::cerr.rdbuf();
  std::ostringstream captured;
  std::cerr.rdbuf(captured.rdbuf());
  Var gw = grad(cost, z, warn);
  std::cerr.rdbuf(old);
  CHECK(captured.str().find("warning: grad: the cost does not depend on z") !=
        std::string::npos);
  CHECK(gw.type() == z.type());
  // Depending only through integers (a comparison, a cast, argmax) is not
  // being disconnected: the gradient is zero.
  Var step = sum(cast(x > 0.0, DType::Float64));
  NDArray g0 = function({x}, {grad(step, x)})({array(DType::Float64, {2}, {-1, 1})})[0];
  CHECK(g0.values()[0].toDouble() == 0);
  CHECK(g0.values()[1].toDouble() == 0);
}

TEST_CASE("consider_constant", "[grad]") {
  Var x = vector("x");
  Var c = exp(x);
  Var cost = sum(c * x);
  GradOptions opts;
  opts.considerConstant = {c};
  // d/dx sum(exp(x) * x) with exp(x) held constant is exp(x).
  NDArray xv = array(DType::Float64, {2}, {0.5, -1});
  NDArray held = function({x}, {grad(cost, x, opts)})({xv})[0];
  NDArray full = function({x}, {grad(cost, x)})({xv})[0];
  CHECK(held.at({0}).toDouble() == Approx(std::exp(0.5)));
  CHECK(held.at({1}).toDouble() == Approx(std::exp(-1.0)));
  CHECK(full.at({0}).toDouble() == Approx(std::exp(0.5) * 1.5));
  // When the constant is the only path, the input is disconnected.
  GradOptions cut;
  cut.considerConstant = {c};
  CHECK_THROWS_KIND(grad(sum(c), x, cut), ValueError,
                    "the cost does not depend on x");
}

TEST_CASE("Gradients have the type of their wrt", "[grad]") {
  Var r = row("r"), c = col("c"), m = matrix("m"), s = scalar("s");
  Var t = tensor(DType::Float64, {2, 3}, "t");
  Var cost = sum(r * c * m + s * t);
  std::vector<Var> wrt = {r, c, m, s, t};
  std::vector<Var> g = grad(cost, wrt);
  for (size_t i = 0; i < wrt.size(); ++i) {
    INFO(wrt[i].name() << ": gradient of type " << g[i].type()->str());
    // The same dtype and broadcastable pattern; sizes known from t may
    // be known in the gradient too.
    CHECK(g[i].type()->broadcastable() == wrt[i].type()->broadcastable());
    CHECK(isAssignable(g[i].type(), wrt[i].type()));
  }
  CHECK(g[4].type()->str() == "f64[2,3]");
  // A float32 input of a float64 cost gets a float32 gradient.
  Var f = vector("f", DType::Float32);
  Var gf = grad(sum(f * vector("d")), f);
  CHECK(gf.dtype() == DType::Float32);
  // The gradient of the cost with respect to itself is 1.
  CHECK(run(grad(s, s), {s}, {array(DType::Float64, {}, {3})}) == 1);
  // With respect to an intermediate value.
  Var e = exp(m);
  NDArray ge =
      function({m}, {grad(sum(e * 2.0), e)})({array(DType::Float64, {1, 2}, {0, 1})})[0];
  CHECK(ge.values()[0].toDouble() == 2);
}

TEST_CASE("Second derivatives: grad of grad", "[grad][second]") {
  // checkGrad of a gradient checks Hessian-vector products.
  auto gradOf = [](std::function<Var(const std::vector<Var> &)> f, int i) {
    return [f, i](const std::vector<Var> &x) { return grad(sum(f(x)), x[i]); };
  };
  GradCheckOptions loose;
  loose.rtol = 1e-5;
  loose.atol = 1e-7;
  checkGrad(gradOf([](const std::vector<Var> &x) { return tanh(x[0]); }, 0),
            {arg({2, 3})}, loose);
  checkGrad(gradOf([](const std::vector<Var> &x) { return x[0] * x[1]; }, 0),
            {arg({2, 3}), bcast({1, 3})}, loose);
  checkGrad(
      gradOf([](const std::vector<Var> &x) { return pow(x[0], x[1]); }, 1),
      {arg({3}, 0.5, 2), arg({3})}, loose);
  checkGrad(
      gradOf([](const std::vector<Var> &x) { return sqr(dot(x[0], x[1])); }, 0),
      {arg({2, 3}), arg({3, 2})}, loose);
  checkGrad(
      gradOf([](const std::vector<Var> &x) { return softmax(x[0]) * x[1]; }, 0),
      {arg({2, 3}), arg({2, 3})}, loose);
  checkGrad(gradOf([](const std::vector<Var> &x) { return prod(x[0], 1); }, 0),
            {arg({2, 3}, 0.5, 1.5)}, loose);
  checkGrad(gradOf(
                [](const std::vector<Var> &x) {
                  return log(sigmoid(x[0])) + erf(x[0]);
                },
                0),
            {arg({4}, -2, 2)}, loose);
  // The second derivative of a scalar function, compared with its formula.
  Var s = scalar("s");
  Var d2 = grad(grad(sin(s) * s, s), s); // 2 cos(s) - s sin(s)
  double at = 0.7;
  CHECK(run(d2, {s}, {array(DType::Float64, {}, {at})}) ==
        Approx(2 * std::cos(at) - at * std::sin(at)).epsilon(1e-12));
}

TEST_CASE("Logistic regression of the seed paper", "[grad][example]") {
  // x: 4 examples of 3 features; y: int64 labels; shared w and b.
  Var x = matrix("x"), y = vector("y", DType::Int64);
  NDArray xv = array(DType::Float64,
      {4, 3}, {0.5, -1, 2, 1.5, 0.3, -0.7, -1, 0.2, 0.4, 0.8, -0.5, 1.2});
  NDArray yv = NDArray::fromValues(DType::Int64,
                                   {Scalar::fromInt(1), Scalar::fromInt(0),
                                    Scalar::fromInt(0), Scalar::fromInt(1)},
                                   {4});
  Var w = shared(array(DType::Float64, {3}, {0.1, -0.2, 0.3}), "w");
  Var b = shared(NDArray::scalar(Scalar(0.05)), "b");
  Var p1 = 1.0 / (1.0 + exp(-dot(x, w) - b));
  Var xent = -y * log(p1) - (1 - y) * log(1 - p1);
  Var cost = mean(xent) + 0.01 * sum(pow(w, 2));
  CHECK(cost.dtype() == DType::Float64);
  std::vector<Var> g = grad(cost, {w, b});
  CHECK(g[0].type() == w.type());
  CHECK(g[1].type() == b.type());
  Function f = function({x, y}, {cost, g[0], g[1]});
  std::vector<NDArray> out = f({xv, yv});

  // Closed form: dw = x^T (p - y) / n + 0.02 w, db = mean(p - y).
  std::vector<double> wv = {0.1, -0.2, 0.3}, dw(3, 0.0);
  std::vector<double> labels = {1, 0, 0, 1};
  double db = 0;
  for (int i = 0; i < 4; ++i) {
    double z = 0.05;
    for (int j = 0; j < 3; ++j)
      z += xv.at({i, j}).toDouble() * wv[j];
    double p = 1 / (1 + std::exp(-z));
    for (int j = 0; j < 3; ++j)
      dw[j] += xv.at({i, j}).toDouble() * (p - labels[i]) / 4;
    db += (p - labels[i]) / 4;
  }
  for (int j = 0; j < 3; ++j)
    CHECK(out[1].at({j}).toDouble() ==
          Approx(dw[j] + 0.02 * wv[j]).epsilon(1e-12));
  CHECK(out[2].item().toDouble() == Approx(db).epsilon(1e-12));

  // Central differences through the shared variables' values.
  auto costAt = [&](const NDArray &wNew, const NDArray &bNew) {
    NDArray wOld = w.getValue(), bOld = b.getValue();
    w.setValue(wNew);
    b.setValue(bNew);
    double c = f({xv, yv})[0].item().toDouble();
    w.setValue(wOld);
    b.setValue(bOld);
    return c;
  };
  const double eps = 1e-6;
  for (int j = 0; j < 3; ++j) {
    NDArray plus = w.getValue().copy(), minus = w.getValue().copy();
    plus.data<double>()[j] += eps;
    minus.data<double>()[j] -= eps;
    double numeric =
        (costAt(plus, b.getValue()) - costAt(minus, b.getValue())) / (2 * eps);
    CHECK(out[1].at({j}).toDouble() == Approx(numeric).epsilon(1e-7));
  }
  double numericB =
      (costAt(w.getValue(), NDArray::scalar(Scalar(0.05 + eps))) -
       costAt(w.getValue(), NDArray::scalar(Scalar(0.05 - eps)))) /
      (2 * eps);
  CHECK(out[2].item().toDouble() == Approx(numericB).epsilon(1e-7));

  // Training with updates lowers the cost.
  FunctionOptions opts;
  opts.updates = {{w, w - 0.5 * g[0]}, {b, b - 0.5 * g[1]}};
  Function train = function({x, y}, {cost}, opts);
  double first = train({xv, yv})[0].item().toDouble();
  double last = first;
  for (int step = 0; step < 50; ++step)
    last = train({xv, yv})[0].item().toDouble();
  CHECK(first == Approx(out[0].item().toDouble()));
  CHECK(last < first);
}
