//===- GradControlTest.cpp - Gradient controls, grad options, Lop, Rop ----===//
//
// The gradient-control ops, grad's known_grads / return_disconnected /
// null_gradients, Lop and Rop with their errors, and the two Hessian-vector
// products (R-op of the gradient, L-op of the gradient) against the Hessian
// written by hand.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

void expectClose(const NDArray &got, const std::vector<double> &want,
                 double tol = 1e-12) {
  REQUIRE(got.size() == (int64_t)want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("element " << i << ": " << got.flatAt(i).toDouble() << " want "
                    << want[i]);
    CHECK(std::fabs(got.flatAt(i).toDouble() - want[i]) <=
          tol * (1 + std::fabs(want[i])));
  }
}

} // namespace

TEST_CASE("gradient controls are the identity on values", "[grad][control]") {
  Var x = vector("x");
  NDArray xv = array(DType::Float64, {3}, {1, -2, 3});
  for (Var y : {disconnectedGrad(x), zeroGrad(x), gradClip(x, -1.0, 1.0),
                gradScale(x, 2.0), undefinedGrad(x)}) {
    INFO(y.node()->name());
    for (const char *mode : {"FAST_RUN", "REFERENCE"}) {
      FunctionOptions o;
      o.mode = mode;
      NDArray out = function({x}, {y * 1.0, y}, o)({xv})[1];
      expectClose(out, {1, -2, 3});
      CHECK(out.data() != xv.data()); // an output never aliases an input
    }
  }
  CHECK_THROWS_KIND(zeroGrad(vector("i", DType::Int32)), TypeError,
                    "zero_grad: i32[?] has no gradient to control");
  CHECK_THROWS_KIND(gradScale(x, x), TypeError,
                    "the factor must be real scalars");
}

TEST_CASE("gradient controls change what flows back", "[grad][control]") {
  Var x = vector("x");
  NDArray xv = array(DType::Float64, {3}, {1, -2, 3});
  auto g = [&](const Var &y, const GradOptions &o = {}) {
    return call({x}, {grad(sum(y * y) + sum(x), x, o)}, {xv})[0];
  };
  // d/dx [sum(y^2) + sum(x)] = 2 y y' + 1 with y = x.
  expectClose(g(x), {3, -3, 7});
  expectClose(g(zeroGrad(x)), {1, 1, 1});
  expectClose(g(disconnectedGrad(x)), {1, 1, 1});
  expectClose(g(gradScale(x, 0.5)), {2, -1, 4});
  expectClose(g(gradClip(x, -3.0, 3.0)), {3, -2, 4});
  // disconnected_grad disconnects; zero_grad keeps x connected.
  CHECK_THROWS_KIND(grad(sum(disconnectedGrad(x)), x), ValueError,
                    "the cost does not depend on x");
  expectClose(call({x}, {grad(sum(zeroGrad(x)), x)}, {xv})[0], {0, 0, 0});
  // undefined_grad: an error naming it where a gradient needs it, NaN on
  // request, and nothing where no gradient flows through it.
  CHECK_THROWS_KIND(g(undefinedGrad(x)), ValueError,
                    "is undefined: it flows through undefined_grad");
  GradOptions nan;
  nan.nullGradients = NullGradients::ReturnNaN;
  NDArray nans = g(undefinedGrad(x), nan);
  for (int i = 0; i < 3; ++i)
    CHECK(std::isnan(nans.flatAt(i).toDouble()));
  Var w = vector("w");
  expectClose(call({x, w}, {grad(sum(undefinedGrad(x) * w), w)},
                   {xv, array(DType::Float64, {3}, {0, 0, 0})})[0],
              {1, -2, 3});
  // Forward mode.
  Var v = vector("v");
  NDArray vv = array(DType::Float64, {3}, {1, 1, 1});
  auto jv = [&](const Var &y) {
    return call({x, v}, {Rop({y}, {x}, {v})[0]}, {xv, vv})[0];
  };
  expectClose(jv(gradScale(x, 3.0) * x), {3 + 1, -6 - 2, 9 + 3});
  expectClose(jv(zeroGrad(x) * x), {1, -2, 3});
  expectClose(jv(gradClip(x, 0.0, 0.0)), {1, 1, 1});
  CHECK_THROWS_KIND(jv(undefinedGrad(x)), ValueError,
                    "Rop: the gradient of undefined_grad");
}

TEST_CASE("grad options: known_grads and return_disconnected",
          "[grad][options]") {
  Var x = vector("x"), w = vector("w");
  Var h = x * w; // an intermediate whose gradient we know
  Var gh = vector("gh");
  GradOptions o;
  o.knownGrads = {{h, gh}};
  std::vector<Var> gs = grad(Var(), {x, w}, o);
  std::vector<NDArray> out =
      call({x, w, gh}, gs,
           {array(DType::Float64, {2}, {1, 2}), array(DType::Float64, {2}, {3, 4}), array(DType::Float64, {2}, {10, 100})});
  expectClose(out[0], {30, 400});
  expectClose(out[1], {10, 200});
  // With a cost as well: both contribute.
  Var both = grad(sum(x), std::vector<Var>{x}, o)[0];
  expectClose(call({x, w, gh}, {both},
                   {array(DType::Float64, {2}, {1, 2}), array(DType::Float64, {2}, {3, 4}), array(DType::Float64, {2}, {10, 100})})[0],
              {31, 401});
  // A scalar known gradient broadcasts to the value's shape.
  GradOptions s;
  s.knownGrads = {{h, constant(Scalar(2.0))}};
  expectClose(call({x, w}, {grad(Var(), x, s)},
                   {array(DType::Float64, {2}, {1, 2}), array(DType::Float64, {2}, {3, 4})})[0],
              {6, 8});
  CHECK_THROWS_KIND(grad(Var(), x), ValueError, "no known_grads are given");
  GradOptions bad;
  bad.knownGrads = {{h, matrix("m")}};
  CHECK_THROWS_KIND(grad(Var(), x, bad), TypeError, "of higher rank");
  // return_disconnected='none' gives an undefined gradient.
  GradOptions none;
  none.disconnectedInputs = DisconnectedInputs::Ignore;
  none.returnDisconnected = ReturnDisconnected::None;
  std::vector<Var> g2 = grad(sum(x), {x, w}, none);
  CHECK(g2[0].defined());
  CHECK(!g2[1].defined());
}

TEST_CASE("Lop and Rop", "[grad][rop]") {
  Var a = matrix("a"), x = vector("x"), u = vector("u"), v = vector("v");
  NDArray av = array(DType::Float64, {2, 3}, {1, 2, 3, 4, 5, 6});
  NDArray xv = array(DType::Float64, {3}, {1, -1, 2});
  // f = tanh(A x): J = diag(1 - f^2) A.
  Var f = tanh(dot(a, x));
  NDArray fv = call({a, x}, {f}, {av, xv})[0];
  double d0 = 1 - std::pow(fv.flatAt(0).toDouble(), 2);
  double d1 = 1 - std::pow(fv.flatAt(1).toDouble(), 2);
  // J v with v = (1, 0, 1): A v = (4, 10).
  expectClose(call({a, x, v}, {Rop({f}, {x}, {v})[0]},
                   {av, xv, array(DType::Float64, {3}, {1, 0, 1})})[0],
              {4 * d0, 10 * d1});
  // u^T J with u = (1, 1): (d0 A[0] + d1 A[1]).
  expectClose(call({a, x, u}, {Lop({f}, {x}, {u})[0]},
                   {av, xv, array(DType::Float64, {2}, {1, 1})})[0],
              {d0 + 4 * d1, 2 * d0 + 5 * d1, 3 * d0 + 6 * d1});
  // Several wrt in forward mode: J_a . da + J_x . dx.
  Var da = matrix("da");
  Var both = Rop({dot(a, x)}, {a, x}, {da, v})[0];
  expectClose(call({a, x, da, v}, {both},
                   {av, xv, array(DType::Float64, {2, 3}, {1, 0, 0, 0, 0, 1}),
                    array(DType::Float64, {3}, {1, 1, 1})})[0],
              {1 + 6, 2 + 15});
  // Errors.
  CHECK_THROWS_KIND(Rop({f}, {x}, {a}), TypeError,
                    "Rop: eval point 0 has type f64[?,?] but x of type f64[?]");
  CHECK_THROWS_KIND(Rop({f}, {x}, {}), ValueError, "1 wrt variables but 0");
  CHECK_THROWS_KIND(Lop({f}, {x}, {a}), TypeError, "Lop: eval point 0");
  CHECK_THROWS_KIND(Rop({sum(a)}, {x}, {v}), ValueError,
                    "does not depend on any wrt variable");
  RopOptions quiet;
  quiet.disconnectedOutputs = DisconnectedInputs::Ignore;
  expectClose(call({a, x, v}, {Rop({sum(a)}, {x}, {v}, quiet)[0]},
                   {av, xv, array(DType::Float64, {3}, {1, 1, 1})})[0],
              {0});
  // Integer values carry no tangent; an op without a derivative is an error.
  expectClose(call({a, x, v}, {Rop({cast(argmax(x), DType::Float64) * x}, {x},
                                   {v})[0]},
                   {av, xv, array(DType::Float64, {3}, {1, 2, 3})})[0],
              {2, 4, 6});
  // Integer values inside a linear op carry a zero tangent, not their
  // value; indices stay.
  Var i = vector("i", DType::Int32);
  NDArray iv = NDArray::fromValues(DType::Int32, {Scalar::fromInt(5),
                                                  Scalar::fromInt(7)}, {2});
  std::vector<NDArray> linear =
      call({x, i, v},
           {Rop({concatenate({x, cast(i, DType::Float64)})}, {x}, {v})[0],
            Rop({concatenate({x, i})}, {x}, {v})[0],
            Rop({incSubtensor(subtensor(x, {Index::slice(0, 2)}), i)}, {x},
                {v})[0]},
           {xv, iv, array(DType::Float64, {3}, {1, 2, 3})});
  expectClose(linear[0], {1, 2, 3, 0, 0});
  expectClose(linear[1], {1, 2, 3, 0, 0});
  expectClose(linear[2], {1, 2, 3});
  Var s = scalar("s"), ds = scalar("ds");
  CHECK_THROWS_KIND(Rop({arange(0.0, s, 1.0)}, {s}, {ds}), TypeError,
                    "Rop: arange is not differentiable");
}

TEST_CASE("Hessian-vector products: Rop of grad and Lop of grad",
          "[grad][rop]") {
  // cost = sum(exp(A x)) + 0.5 x.x: H = A^T diag(exp(A x)) A + I.
  Var a = matrix("a"), x = vector("x"), v = vector("v");
  Var cost = sum(exp(dot(a, x))) + 0.5 * sum(x * x);
  Var g = grad(cost, x);
  Var hvR = Rop({g}, {x}, {v})[0];
  Var hvL = Lop({g}, {x}, {v})[0]; // H is symmetric
  NDArray av = array(DType::Float64, {2, 3}, {0.1, 0.2, -0.3, 0.4, -0.5, 0.6});
  NDArray xv = array(DType::Float64, {3}, {1, -1, 2}), vv = array(DType::Float64, {3}, {0.5, 1, -2});
  std::vector<NDArray> got = call({a, x, v}, {hvR, hvL}, {av, xv, vv});
  // By hand.
  double e[2], av2[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    double ax = 0;
    for (int j = 0; j < 3; ++j) {
      ax += av.flatAt(i * 3 + j).toDouble() * xv.flatAt(j).toDouble();
      av2[i] += av.flatAt(i * 3 + j).toDouble() * vv.flatAt(j).toDouble();
    }
    e[i] = std::exp(ax);
  }
  std::vector<double> want(3);
  for (int j = 0; j < 3; ++j) {
    want[j] = vv.flatAt(j).toDouble();
    for (int i = 0; i < 2; ++i)
      want[j] += av.flatAt(i * 3 + j).toDouble() * e[i] * av2[i];
  }
  expectClose(got[0], want);
  expectClose(got[1], want);
}
