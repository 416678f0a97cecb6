//===- logistic_regression.cpp - The seed paper's example in C++ ----------===//
///
/// \file
/// Figures 1-4 of the Theano paper through thjit's C++ API: the same
/// program as logistic_regression.th, with the same random data.
///
//===----------------------------------------------------------------------===//
#include "thjit/Array/Random.h"
#include "thjit/thjit.h"

#include <cstdio>
#include <iostream>

using namespace thjit;

int main() {
  RandomState rng(0);
  const int64_t n = 400, feats = 100, steps = 200;
  NDArray dataX = rng.randn({n, feats});
  NDArray dataY = rng.randint(0, 2, {n});

  // Figure 1: symbolic variables and shared parameters.
  Var x = matrix("x");
  Var y = vector("y", DType::Int64);
  NDArray w0 = rng.randn({feats});
  for (int64_t i = 0; i < feats; ++i)
    w0.setAt({i}, Scalar(w0.at({i}).toDouble() * 0.01));
  Var w = shared(w0, "w");
  Var b = shared(NDArray::scalar(Scalar(0.0)), "b");

  // Figure 2: the expression graph.
  Var p1 = 1 / (1 + exp(-dot(x, w) - b));
  Var xent = -y * log(p1) - (1 - y) * log(1 - p1);
  Var cost = mean(xent) + 0.01 * sum(pow(w, 2));
  std::vector<Var> g = grad(cost, {w, b});
  Var prediction = p1 > 0.5;

  // Figure 3: compilation.
  FunctionOptions opts;
  opts.name = "train";
  opts.updates = {{w, w - 0.1 * g[0]}, {b, b - 0.1 * g[1]}};
  Function train = function({x, y}, {prediction, mean(xent)}, opts);
  Function predict = function({x}, {prediction});

  // Figure 4: training.
  for (int64_t i = 0; i < steps; ++i) {
    std::vector<NDArray> r = train({dataX, dataY});
    if (i % 20 == 0 || i == steps - 1)
      std::printf("step %3lld  cost %.6f\n", (long long)i,
                  r[1].item().toDouble());
  }
  std::cout << "final b: " << b.getValue().str() << "\n";
  std::cout << "prediction on D: "
            << predict({dataX})[0].astype(DType::Int64).slice(0, 0, 20, 1).str()
            << "\n";
  return 0;
}
