//===- GradCheck.h - Gradients against central differences -----*- C++ -*-===//
//
// checkGrad() is Theano's verify_grad: it builds an expression from float64
// inputs, projects it onto a random tensor to get a scalar cost (Theano's
// random projection), compiles grad() of that cost with function(), and
// compares it element by element with central differences of the cost, at
// several random points. Inputs are drawn from each op's domain by a
// deterministic std::mt19937, and points too close to a kink (an optional
// "distance to the kinks" expression) are drawn again.
//
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_GRAD_GRADCHECK_H
#define THJIT_UNITTESTS_GRAD_GRADCHECK_H

#include "../Ops/OpsTestUtil.h"
#include "thjit/Support/Format.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace thjit::test {

/// One float64 input of the expression under test.
struct GradArg {
  /// The shape of the values drawn.
  Shape shape;
  /// Values are uniform in [lo, hi].
  double lo = -1, hi = 1;
  /// Make the dimensions of size 1 broadcastable in the input's type (a
  /// row, a column, ...); otherwise every size is unknown.
  bool broadcast = false;
  /// The type's static shape when given explicitly (overrides `broadcast`).
  std::vector<int64_t> typeShape = {};
  /// Keep |value| at least this far from 0 (for abs, sign-like kinks).
  double awayFromZero = 0;
};

/// A broadcastable input: dimensions of size 1 in `shape` broadcast.
inline GradArg bcast(Shape shape, double lo = -1, double hi = 1) {
  GradArg a;
  a.shape = std::move(shape);
  a.lo = lo;
  a.hi = hi;
  a.broadcast = true;
  return a;
}

/// An input of unknown sizes with values in [lo, hi].
inline GradArg arg(Shape shape, double lo = -1, double hi = 1) {
  GradArg a;
  a.shape = std::move(shape);
  a.lo = lo;
  a.hi = hi;
  return a;
}

struct GradCheckOptions {
  double rtol = 1e-6;
  double atol = 1e-8;
  /// The central-difference step.
  double eps = 1e-6;
  /// Random points per call.
  int points = 2;
  unsigned seed = 42;
  /// Optional: a scalar that must exceed `margin` at a point (e.g. the
  /// smallest |x - y| for maximum(x, y)); points that fail are redrawn.
  std::function<Var(const std::vector<Var> &)> kinkDistance = nullptr;
  double margin = 1e-2;
  /// Optional: fixes some input values after drawing (e.g. puts zeros in).
  std::function<void(std::vector<NDArray> &)> adjust = nullptr;
};

using Builder = std::function<Var(const std::vector<Var> &)>;

inline NDArray uniformArray(const Shape &shape, double lo, double hi,
                            double awayFromZero, std::mt19937 &rng) {
  std::uniform_real_distribution<double> dist(lo, hi);
  NDArray a = NDArray::empty(DType::Float64, shape);
  double *p = a.data<double>();
  for (int64_t i = 0; i < a.size(); ++i) {
    double v;
    do
      v = dist(rng);
    while (std::fabs(v) < awayFromZero);
    p[i] = v;
  }
  return a;
}

inline double scalarOf(const NDArray &a) { return a.item().toDouble(); }

/// Runs a function of `ins` (not all of which need be used).
inline std::vector<NDArray> call(const std::vector<Var> &ins,
                                 const std::vector<Var> &outs,
                                 const std::vector<NDArray> &args) {
  FunctionOptions opts;
  opts.onUnusedInput = OnUnusedInput::Ignore;
  return function(ins, outs, opts)(args);
}

/// Checks J . v from the compiled R-op against central differences of the
/// expression along v, for a random v.
template <class Layout>
void checkRop(Function &outFn, Function &ropFn,
              const std::vector<NDArray> &values, const GradCheckOptions &opt,
              std::mt19937 &rng, Layout layout, int point) {
  std::vector<NDArray> v, plus, minus;
  for (const NDArray &x : values) {
    v.push_back(uniformArray(x.shape(), -1, 1, 0, rng));
    plus.push_back(x.copy());
    minus.push_back(x.copy());
    double *pp = plus.back().data<double>(), *pm = minus.back().data<double>();
    const double *pv = v.back().data<double>();
    for (int64_t j = 0; j < x.size(); ++j) {
      pp[j] += opt.eps * pv[j];
      pm[j] -= opt.eps * pv[j];
    }
  }
  NDArray fp = outFn(plus)[0], fm = outFn(minus)[0];
  std::vector<NDArray> args = values;
  args.insert(args.end(), v.begin(), v.end());
  NDArray jv = ropFn(layout(args))[0];
  REQUIRE(jv.shape() == fp.shape());
  // Central differences lose about one rounding of the largest value
  // involved per eps.
  double largest = 0;
  for (const NDArray *a : {&fp, &fm})
    for (int64_t j = 0; j < a->size(); ++j)
      largest = std::max(largest, std::fabs(a->flatAt(j).toDouble()));
  for (const NDArray &x : values)
    for (int64_t j = 0; j < x.size(); ++j)
      largest = std::max(largest, std::fabs(x.flatAt(j).toDouble()));
  double atol = opt.atol + 4e-16 * largest / opt.eps;
  for (int64_t j = 0; j < jv.size(); ++j) {
    double numeric =
        (fp.flatAt(j).toDouble() - fm.flatAt(j).toDouble()) / (2 * opt.eps);
    double got = jv.flatAt(j).toDouble();
    INFO("point " << point << ", R-op element " << j << ": " << got
                  << ", central difference " << numeric);
    CHECK(std::fabs(got - numeric) <=
          atol + opt.rtol * std::max(std::fabs(got), std::fabs(numeric)));
  }
}

/// Checks grad(sum(build(inputs) * P)) for a random P against central
/// differences, for inputs drawn as `args` say, and the R-op J . v against
/// central differences along a random v.
inline void checkGrad(const Builder &build, const std::vector<GradArg> &args,
                      const GradCheckOptions &opt = {}) {
  std::vector<Var> inputs;
  for (size_t i = 0; i < args.size(); ++i) {
    const GradArg &a = args[i];
    std::vector<int64_t> type = a.typeShape;
    if (type.empty() && !a.shape.empty())
      for (int64_t d : a.shape)
        type.push_back(a.broadcast && d == 1 ? 1 : U);
    inputs.push_back(tensor(DType::Float64, type, "x" + std::to_string(i)));
  }
  Var out = build(inputs);
  INFO("checking the gradient of " << out.node()->name() << " giving "
                                   << out.type()->str());
  // The random projection of a non-scalar expression.
  Var proj = tensor(DType::Float64, out.type()->shape(), "proj");
  Var cost = out.ndim() == 0 ? mul(out, proj) : sum(mul(out, proj));
  REQUIRE(cost.ndim() == 0);
  std::vector<Var> grads = grad(cost, inputs);
  REQUIRE(grads.size() == inputs.size());
  // Each gradient has its input's dtype and broadcastable pattern.
  for (size_t i = 0; i < grads.size(); ++i) {
    CHECK(grads[i].dtype() == DType::Float64);
    CHECK(grads[i].type()->broadcastable() ==
          inputs[i].type()->broadcastable());
  }

  // Forward mode: J . v for a tangent v of each input.
  std::vector<Var> tangents;
  for (size_t i = 0; i < inputs.size(); ++i)
    tangents.push_back(tensor(DType::Float64, inputs[i].type()->shape(),
                              "v" + std::to_string(i)));
  RopOptions ro;
  ro.disconnectedOutputs = DisconnectedInputs::Ignore;
  Var jv = Rop({out}, inputs, tangents, ro)[0];
  CHECK(jv.dtype() == out.dtype());
  CHECK(jv.type()->broadcastable() == out.type()->broadcastable());

  std::vector<Var> fnInputs = inputs;
  fnInputs.push_back(proj);
  FunctionOptions fo;
  fo.onUnusedInput = OnUnusedInput::Ignore;
  Function outFn = function(inputs, {out}, fo);
  Function costFn = function(fnInputs, {cost}, fo);
  Function gradFn = function(fnInputs, grads, fo);
  std::vector<Var> ropInputs = inputs;
  ropInputs.insert(ropInputs.end(), tangents.begin(), tangents.end());
  Function ropFn = function(ropInputs, {jv}, fo);
  std::optional<Function> kinkFn;
  if (opt.kinkDistance)
    kinkFn = function(inputs, {opt.kinkDistance(inputs)}, fo);

  std::mt19937 rng(opt.seed);
  for (int point = 0; point < opt.points; ++point) {
    std::vector<NDArray> values;
    for (int attempt = 0;; ++attempt) {
      REQUIRE(attempt < 1000);
      values.clear();
      for (const GradArg &a : args)
        values.push_back(
            uniformArray(a.shape, a.lo, a.hi, a.awayFromZero, rng));
      if (opt.adjust)
        opt.adjust(values);
      if (!kinkFn || scalarOf((*kinkFn)(values)[0]) > opt.margin)
        break;
    }
    Shape outShape = outFn(values)[0].shape();
    NDArray p = uniformArray(outShape, -1, 1, 0, rng);
    std::vector<NDArray> callArgs = values;
    callArgs.push_back(p);
    // Odd points pass the compiled derivatives non-contiguous inputs (the
    // same values stored with their axes reversed).
    auto layout = [&](std::vector<NDArray> args) {
      if (point % 2)
        for (NDArray &a : args)
          a = transposedView(a);
      return args;
    };
    std::vector<NDArray> analytic = gradFn(layout(callArgs));
    checkRop(outFn, ropFn, values, opt, rng, layout, point);
    for (size_t i = 0; i < inputs.size(); ++i) {
      REQUIRE(analytic[i].shape() == values[i].shape());
      for (int64_t j = 0; j < values[i].size(); ++j) {
        std::vector<NDArray> plus = callArgs, minus = callArgs;
        plus[i] = values[i].copy();
        minus[i] = values[i].copy();
        plus[i].data<double>()[j] += opt.eps;
        minus[i].data<double>()[j] -= opt.eps;
        double numeric =
            (scalarOf(costFn(plus)[0]) - scalarOf(costFn(minus)[0])) /
            (2 * opt.eps);
        double got = analytic[i].flatAt(j).toDouble();
        INFO("point " << point << ", input " << i << " of shape "
                      << formatShape(values[i].shape()) << ", element " << j
                      << ": grad " << got << ", central difference "
                      << numeric);
        CHECK(std::fabs(got - numeric) <=
              opt.atol +
                  opt.rtol * std::max(std::fabs(got), std::fabs(numeric)));
      }
    }
  }
}

/// The same builder checked at several argument shapes.
inline void checkGradShapes(const Builder &build,
                            const std::vector<std::vector<GradArg>> &shapes,
                            const GradCheckOptions &opt = {}) {
  for (const auto &args : shapes)
    checkGrad(build, args, opt);
}

} // namespace thjit::test

#endif
