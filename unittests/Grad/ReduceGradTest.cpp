//===- ReduceGradTest.cpp - Gradients of reductions -----------------------===//
#include "GradCheck.h"

using namespace thjit;
using namespace thjit::test;

namespace {

using Reducer = std::function<Var(const Var &, const Axes &, bool)>;

/// The axis sets tried on a rank-3 input.
std::vector<Axes> rank3Axes() {
  return {Axes(), Axes(0), Axes(1), Axes(-1), Axes({0, 2}), Axes({1, 2})};
}

/// The smallest gap between two elements of x: max and min have kinks where
/// two elements tie.
Var smallestGap(const Var &x) {
  Var f = flatten(x);
  Var n = shapeOf(f, 0);
  Var d = abs(dimshuffle(f, {0, -1}) - dimshuffle(f, {-1, 0}));
  return min(d + eye(n, n) * 10.0);
}

void checkReducer(const Reducer &r, double lo = -2, double hi = 2,
                  const GradCheckOptions &opt = {}) {
  for (const Axes &axes : rank3Axes())
    for (bool keep : {false, true})
      checkGrad([&](const std::vector<Var> &x) { return r(x[0], axes, keep); },
                {arg({2, 3, 2}, lo, hi)}, opt);
  // A matrix, a broadcastable row, a vector and a 0-d value.
  checkGrad([&](const std::vector<Var> &x) { return r(x[0], Axes(1), false); },
            {arg({3, 4}, lo, hi)}, opt);
  checkGrad([&](const std::vector<Var> &x) { return r(x[0], Axes(0), false); },
            {bcast({1, 4}, lo, hi)}, opt);
  checkGrad([&](const std::vector<Var> &x) { return r(x[0], Axes(), true); },
            {bcast({1, 4}, lo, hi)}, opt);
  checkGrad([&](const std::vector<Var> &x) { return r(x[0], Axes(), false); },
            {arg({5}, lo, hi)}, opt);
  checkGrad([&](const std::vector<Var> &x) { return r(x[0], Axes(), false); },
            {arg({}, lo, hi)}, opt);
}

} // namespace

TEST_CASE("Gradient of sum", "[grad][reduce]") {
  checkReducer(
      [](const Var &x, const Axes &a, bool k) { return sum(x, a, k); });
  // A sum feeding a broadcast: the gradient comes back through both.
  checkGrad(
      [](const std::vector<Var> &x) { return x[0] * sum(x[0], Axes(0), true); },
      {arg({3, 2})});
}

TEST_CASE("Gradient of prod, with and without zeros", "[grad][reduce]") {
  Reducer p = [](const Var &x, const Axes &a, bool k) { return prod(x, a, k); };
  checkReducer(p, 0.5, 1.5);
  checkReducer(p, -1.5, 1.5);
  // Rows with no zero, one zero and two zeros (prod is linear in each
  // element, so central differences are exact there too).
  GradCheckOptions zeros;
  zeros.adjust = [](std::vector<NDArray> &v) {
    double *x = v[0].data<double>(); // shape (3, 4)
    x[4 + 2] = 0;
    x[8 + 0] = 0;
    x[8 + 3] = 0;
  };
  for (int axis : {0, 1})
    checkGrad([&](const std::vector<Var> &x) { return prod(x[0], axis); },
              {arg({3, 4}, -2, 2)}, zeros);
  checkGrad([](const std::vector<Var> &x) { return prod(x[0]); },
            {arg({3, 4}, -2, 2)}, zeros);
  // Over two axes: groups with one zero and with two zeros.
  GradCheckOptions grouped;
  grouped.adjust = [](std::vector<NDArray> &v) {
    double *x = v[0].data<double>(); // shape (2, 2, 3), groups along axis 2
    x[0] = 0;
    x[3] = 0;
    x[7] = 0;
  };
  checkGrad([](const std::vector<Var> &x) { return prod(x[0], {0, 1}); },
            {arg({2, 2, 3}, -2, 2)}, grouped);
  GradCheckOptions oneZero;
  oneZero.adjust = [](std::vector<NDArray> &v) { v[0].data<double>()[1] = 0; };
  checkGrad([](const std::vector<Var> &x) { return prod(x[0]); },
            {arg({5}, -2, 2)}, oneZero);
  checkGrad([](const std::vector<Var> &x) { return prod(x[0], {0}, true); },
            {arg({5}, -2, 2)}, oneZero);
}

TEST_CASE("Gradients of max and min", "[grad][reduce]") {
  GradCheckOptions distinct;
  distinct.kinkDistance = [](const std::vector<Var> &x) {
    return smallestGap(x[0]);
  };
  distinct.margin = 0.02;
  checkReducer([](const Var &x, const Axes &a, bool k) { return max(x, a, k); },
               -2, 2, distinct);
  checkReducer([](const Var &x, const Axes &a, bool k) { return min(x, a, k); },
               -2, 2, distinct);
}

TEST_CASE("Gradients of mean, var and std", "[grad][reduce]") {
  checkReducer(
      [](const Var &x, const Axes &a, bool k) { return mean(x, a, k); });
  checkReducer(
      [](const Var &x, const Axes &a, bool k) { return var(x, a, k); });
  // ddof = 1 and std need two elements or more in each reduction (std of
  // one element is 0, where sqrt has no derivative): every axis set of the
  // rank-3 input reduces at least two.
  for (const Axes &axes : rank3Axes())
    for (bool keep : {false, true}) {
      checkGrad(
          [&](const std::vector<Var> &x) { return var(x[0], axes, keep, 1); },
          {arg({2, 3, 2}, -2, 2)});
      checkGrad(
          [&](const std::vector<Var> &x) {
            return thjit::std(x[0], axes, keep);
          },
          {arg({2, 3, 2}, -2, 2)});
    }
  checkGrad(
      [](const std::vector<Var> &x) {
        return thjit::std(x[0], Axes(), false, 1);
      },
      {arg({4})});
}

TEST_CASE("Non-differentiable reductions give zero gradients",
          "[grad][reduce]") {
  GradCheckOptions distinct;
  distinct.kinkDistance = [](const std::vector<Var> &x) {
    return smallestGap(x[0]);
  };
  checkGrad(
      [](const std::vector<Var> &x) {
        return cast(argmax(x[0], 1), DType::Float64) + sum(x[0], 1);
      },
      {arg({3, 4})}, distinct);
  checkGrad(
      [](const std::vector<Var> &x) {
        return cast(any(x[0] > 0.5, 0), DType::Float64) +
               cast(all(x[0] > -0.5, 0), DType::Float64) +
               cast(argmin(x[0], 0), DType::Float64);
      },
      {arg({3, 4})},
      [] {
        GradCheckOptions o;
        o.kinkDistance = [](const std::vector<Var> &x) {
          return minimum(smallestGap(x[0]), min(abs(abs(x[0]) - 0.5)));
        };
        return o;
      }());
}
