//===- VerifyGrad.cpp - Theano's verify_grad ------------------------------===//
///
/// \file
/// The symbolic gradient of sum(f(x) * P) for a random projection P, and
/// the R-op J . v for a random direction v, compared element by element
/// with central differences of the compiled expression. Steps are taken in
/// the inputs' own dtypes, and the step actually taken (after rounding) is
/// what the differences divide by.
///
//===----------------------------------------------------------------------===//
#include "thjit/Runtime/VerifyGrad.h"
#include "thjit/Array/Random.h"
#include "thjit/Grad/Grad.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Runtime/Function.h"
#include "thjit/Support/Format.h"

#include <cmath>
#include <cstdio>

namespace thjit {

namespace {

double defaultEps(DType t) {
  return t == DType::Float64 ? 1e-6 : t == DType::Float32 ? 3e-3 : 3e-2;
}
double defaultTol(DType t) {
  return t == DType::Float64 ? 1e-4 : t == DType::Float32 ? 1e-2 : 5e-2;
}

/// The index of the flat (C order) position `flat` in `shape`.
std::vector<int64_t> unravel(const Shape &shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx;
}

std::string indexOf(const Shape &shape, int64_t flat) {
  std::vector<int64_t> idx = unravel(shape, flat);
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d)
    s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

/// The worst elements of one comparison, and whether any failed.
struct Errors {
  double maxAbs = 0, maxRel = 0;
  int64_t atAbs = -1;
  double analytic = 0, numeric = 0;
  bool failed = false;

  void add(int64_t j, double got, double want, double absTol, double relTol) {
    double abs = std::fabs(got - want);
    double rel = abs / std::max(std::fabs(got) + std::fabs(want), 1e-300);
    if (std::isnan(got) != std::isnan(want) || std::isnan(abs))
      abs = rel = INFINITY;
    if (abs > maxAbs || atAbs < 0) {
      maxAbs = abs;
      atAbs = j;
      analytic = got;
      numeric = want;
    }
    maxRel = std::max(maxRel, rel);
    failed |= abs > absTol && rel > relTol;
  }
};

/// `x` with element j moved by `delta` in x's dtype; the step actually
/// taken in `taken`.
NDArray moved(const NDArray &x, int64_t j, double delta, double &taken) {
  NDArray y = x.copy();
  std::vector<int64_t> idx = unravel(x.shape(), j);
  double v = x.at(idx).toDouble();
  y.setAt(idx, Scalar(v + delta).cast(x.dtype()));
  taken = y.at(idx).toDouble() - v;
  return y;
}

double scalarValue(const NDArray &a) { return a.item().toDouble(); }

/// Four significant digits: enough to see how wrong a number is.
std::string brief(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

} // namespace

void verifyGrad(const std::function<Var(const std::vector<Var> &)> &fun,
                const std::vector<NDArray> &pt,
                const VerifyGradOptions &opt) {
  if (pt.empty())
    throw ValueError("verify_grad: no points given");
  double eps = opt.eps, absTol = opt.absTol, relTol = opt.relTol;
  std::vector<Var> inputs, tangents;
  for (size_t i = 0; i < pt.size(); ++i) {
    DType t = pt[i].dtype();
    if (!isFloat(t))
      throw TypeError("verify_grad: point " + std::to_string(i) +
                      " has dtype " + dtypeName(t) +
                      "; gradients need float values");
    eps = opt.eps ? eps : std::max(eps, defaultEps(t));
    absTol = opt.absTol ? absTol : std::max(absTol, defaultTol(t));
    relTol = opt.relTol ? relTol : std::max(relTol, defaultTol(t));
    std::vector<int64_t> unknown(pt[i].ndim(), TensorType::kUnknown);
    inputs.push_back(tensor(t, unknown, "x" + std::to_string(i)));
    tangents.push_back(tensor(t, unknown, "v" + std::to_string(i)));
  }
  Var out = fun(inputs);
  if (!out.defined())
    throw ValueError("verify_grad: the function gave no expression");
  if (!isFloat(out.dtype()))
    throw TypeError("verify_grad: the expression has type " +
                    out.type()->str() + ", which has no gradient");
  std::string what = std::string(out.node()->name()) +
                     out.node()->whereCreated();

  Var proj = tensor(out.dtype(),
                    std::vector<int64_t>(out.ndim(), TensorType::kUnknown),
                    "projection");
  Var cost = out.ndim() == 0 ? out * proj : sum(out * proj);
  GradOptions go;
  go.disconnectedInputs = DisconnectedInputs::Ignore;
  std::vector<Var> grads = grad(cost, inputs, go);
  RopOptions ro;
  ro.disconnectedOutputs = DisconnectedInputs::Ignore;
  Var jv = Rop({out}, inputs, tangents, ro)[0];

  FunctionOptions fo;
  fo.mode = opt.mode;
  fo.onUnusedInput = OnUnusedInput::Ignore;
  std::vector<Var> withProj = inputs, withTangents = inputs;
  withProj.push_back(proj);
  withTangents.insert(withTangents.end(), tangents.begin(), tangents.end());
  Function outFn = function(inputs, {out}, fo);
  Function costFn = function(withProj, {cost}, fo);
  Function gradFn = function(withProj, grads, fo);
  Function ropFn = function(withTangents, {jv}, fo);

  auto fail = [&](const std::string &which, size_t input, const Shape &shape,
                  const Errors &e) {
    throw GradientError(
        "verify_grad: the " + which + " of " + what + " is wrong" +
        (input < pt.size() ? " with respect to input " +
                                 std::to_string(input) + " (shape " +
                                 formatShape(shape) + ")"
                           : std::string()) +
        ": largest absolute error " + brief(e.maxAbs) +
        " at element " + indexOf(shape, e.atAbs) + " (symbolic " +
        brief(e.analytic) + ", numeric " + brief(e.numeric) +
        "), largest relative error " + brief(e.maxRel) +
        "; tolerances " + brief(absTol) + " absolute, " +
        brief(relTol) + " relative");
  };

  RandomState rs(opt.seed);
  Shape outShape = outFn(pt)[0].shape();
  for (int test = 0; test < opt.nTests; ++test) {
    // The gradient of the projected cost, input by input.
    std::vector<NDArray> args = pt;
    args.push_back(rs.uniform(-1, 1, outShape).astype(out.dtype()));
    std::vector<NDArray> analytic = gradFn(args);
    for (size_t i = 0; i < pt.size(); ++i) {
      Errors e;
      for (int64_t j = 0; j < pt[i].size(); ++j) {
        std::vector<NDArray> plus = args, minus = args;
        double up, down;
        plus[i] = moved(pt[i], j, eps, up);
        minus[i] = moved(pt[i], j, -eps, down);
        double numeric =
            (scalarValue(costFn(plus)[0]) - scalarValue(costFn(minus)[0])) /
            (up - down);
        e.add(j, analytic[i].flatAt(j).toDouble(), numeric, absTol, relTol);
      }
      if (e.failed)
        fail("gradient", i, pt[i].shape(), e);
    }
    // J . v along a random direction, as the step actually taken.
    std::vector<NDArray> plus, minus, dirs;
    for (const NDArray &x : pt) {
      NDArray v = rs.uniform(-1, 1, x.shape());
      NDArray hi = x.copy(), lo = x.copy();
      NDArray d = NDArray::empty(x.dtype(), x.shape());
      for (int64_t j = 0; j < x.size(); ++j) {
        std::vector<int64_t> idx = unravel(x.shape(), j);
        double vj = v.flatAt(j).toDouble(), xj = x.at(idx).toDouble();
        hi.setAt(idx, Scalar(xj + eps * vj).cast(x.dtype()));
        lo.setAt(idx, Scalar(xj - eps * vj).cast(x.dtype()));
        d.setAt(idx, Scalar((hi.at(idx).toDouble() - lo.at(idx).toDouble()) /
                            (2 * eps))
                         .cast(x.dtype()));
      }
      plus.push_back(hi);
      minus.push_back(lo);
      dirs.push_back(d);
    }
    NDArray fp = outFn(plus)[0], fm = outFn(minus)[0];
    std::vector<NDArray> ropArgs = pt;
    ropArgs.insert(ropArgs.end(), dirs.begin(), dirs.end());
    NDArray got = ropFn(ropArgs)[0];
    Errors e;
    for (int64_t j = 0; j < got.size(); ++j)
      e.add(j, got.flatAt(j).toDouble(),
            (fp.flatAt(j).toDouble() - fm.flatAt(j).toDouble()) / (2 * eps),
            absTol, relTol);
    if (e.failed)
      fail("R-op (J . v)", pt.size(), got.shape(), e);
  }
}

} // namespace thjit
