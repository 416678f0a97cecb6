//===- VerifyGradTest.cpp - verify_grad, Theano's numerical check ---------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

TEST_CASE("verify_grad accepts right gradients in every float dtype",
          "[grad][verify]") {
  auto f = [](const std::vector<Var> &x) {
    return tanh(dot(x[0], x[1])) * sigmoid(x[0]);
  };
  for (DType t : {DType::Float64, DType::Float32}) {
    INFO(dtypeName(t));
    NDArray a = array(DType::Float64, {2, 3}, {0.1, -0.2, 0.3, 0.4, 0.5, -0.6}).astype(t);
    NDArray b = array(DType::Float64, {3, 3}, {1, 0.5, -1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7})
                    .astype(t);
    CHECK_NOTHROW(verifyGrad(f, {a, b}));
  }
  // A scalar expression, and one input that does not reach it.
  CHECK_NOTHROW(verifyGrad(
      [](const std::vector<Var> &x) { return sum(exp(x[0])); },
      {array(DType::Float64, {4}, {0, 1, 2, 3}), array(DType::Float64, {2}, {1, 2})}));
}

TEST_CASE("verify_grad names the op and the errors of a wrong gradient",
          "[grad][verify]") {
  // grad_scale doubles the gradient but not the value: a wrong gradient.
  auto wrong = [](const std::vector<Var> &x) {
    return gradScale(x[0], 2.0) * x[1];
  };
  NDArray a = array(DType::Float64, {2}, {1, 2}), b = array(DType::Float64, {2}, {3, -4});
  CHECK_THROWS_KIND(verifyGrad(wrong, {a, b}), GradientError,
                    "verify_grad: the gradient of mul is wrong with respect "
                    "to input 0 (shape (2,)): largest absolute error ");
  try {
    verifyGrad(wrong, {a, b});
  } catch (const GradientError &e) {
    std::string m = e.what();
    INFO(m);
    // The symbolic gradient is twice the numeric one: relative error 1/3.
    CHECK(m.find("(symbolic -") != std::string::npos);
    CHECK(m.find(", numeric -") != std::string::npos);
    CHECK(m.find("largest relative error 0.3333;") != std::string::npos);
    CHECK(m.find("tolerances 0.0001 absolute, 0.0001 relative") !=
          std::string::npos);
  }
  // Looser tolerances accept it.
  VerifyGradOptions loose;
  loose.absTol = 10;
  CHECK_NOTHROW(verifyGrad(wrong, {a, b}, loose));
  // Bad points.
  CHECK_THROWS_KIND(
      verifyGrad(wrong, {ints(DType::Int32, {2}, {1, 2}), b}), TypeError,
      "point 0 has dtype int32; gradients need float values");
  CHECK_THROWS_KIND(
      verifyGrad([](const std::vector<Var> &x) { return argmax(x[0]); }, {a}),
      TypeError, "has type i64[], which has no gradient");
}
