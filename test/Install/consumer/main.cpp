//===- main.cpp - A program built against an installed thjit --------------===//
///
/// \file
/// Builds two graphs through the public API, compiles them and prints what
/// they compute: y = x * 2 + 1, and one gradient step of a logistic
/// regression on a shared weight vector.
///
//===----------------------------------------------------------------------===//
#include "thjit/thjit.h"

#include <cstdio>
#include <iostream>

using namespace thjit;

int main() {
  Var x = vector("x");
  Function f = function({x}, {x * 2 + 1});
  NDArray xs = NDArray::fromValues(DType::Float64, {0.0, 1.0, 2.5, -3.0}, {4});
  std::cout << "x * 2 + 1 = " << f({xs})[0].str() << "\n";

  // A logistic regression step: the cost falls after the update of w.
  Var X = matrix("X"), t = vector("t");
  Var w = shared(NDArray::zeros(DType::Float64, {2}), "w");
  Var p = sigmoid(dot(X, w));
  Var cost = mean(-t * log(p) - (1 - t) * log(1 - p));
  FunctionOptions opts;
  opts.updates = {{w, w - 0.5 * grad(cost, w)}};
  Function step = function({X, t}, {cost}, opts);
  NDArray data = NDArray::fromValues(DType::Float64,
                                     {1.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.5, 1.0},
                                     {4, 2});
  NDArray labels = NDArray::fromValues(DType::Float64, {1, 0, 1, 0}, {4});
  for (int i = 0; i < 3; ++i)
    std::printf("step %d  cost %.6f\n", i,
                step({data, labels})[0].item().toDouble());
  std::cout << "w = " << w.getValue().str() << "\n";
  return 0;
}
