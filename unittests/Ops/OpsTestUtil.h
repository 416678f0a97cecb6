//===- OpsTestUtil.h - Helpers for the op-set tests -------------*- C++ -*-===//
//
// Building arrays from literals, evaluating graphs with function(), checking
// the symbolic shape (inferNodeShape) against the real one, and comparing
// results with NumPy's values.
//
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_OPS_OPSTESTUTIL_H
#define THJIT_UNITTESTS_OPS_OPSTESTUTIL_H

#include "thjit/Ops/OpDef.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace thjit::test {

constexpr int64_t U = TensorType::kUnknown;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// An array of dtype `t` and shape `shape` from row-major values.
inline NDArray array(DType t, const Shape &shape,
                     const std::vector<double> &values) {
  REQUIRE((int64_t)values.size() == shapeSize(shape));
  std::vector<Scalar> s;
  for (double v : values)
    s.push_back(Scalar(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()}).reshape(shape);
}

/// An integer array (exact for all of int64).
inline NDArray ints(DType t, const Shape &shape,
                    const std::vector<int64_t> &values) {
  REQUIRE((int64_t)values.size() == shapeSize(shape));
  std::vector<Scalar> s;
  for (int64_t v : values)
    s.push_back(Scalar::fromInt(v));
  return NDArray::fromValues(t, s, {(int64_t)values.size()}).reshape(shape);
}

/// np.arange(size).reshape(shape) * step + start, as dtype `t`.
inline NDArray iota(DType t, const Shape &shape, double start = 0,
                    double step = 1) {
  std::vector<double> v;
  for (int64_t i = 0; i < shapeSize(shape); ++i)
    v.push_back(start + step * (double)i);
  return array(t, shape, v);
}

/// The same values as `a`, stored with the axes in reverse order: a
/// non-contiguous (transposed) view of a contiguous buffer.
inline NDArray transposedView(const NDArray &a) {
  return a.transpose().copy().transpose();
}

using Bindings = std::vector<std::pair<Var, NDArray>>;

/// The outputs of a function of the bound inputs (unused ones allowed).
inline std::vector<NDArray> evalAll(const std::vector<Var> &outs,
                                    const Bindings &args = {}) {
  std::vector<Var> ins;
  std::vector<NDArray> vals;
  for (const auto &[v, a] : args) {
    ins.push_back(v);
    vals.push_back(a);
  }
  FunctionOptions opts;
  opts.onUnusedInput = OnUnusedInput::Ignore;
  return function(ins, outs, opts)(vals);
}

inline NDArray eval(const Var &out, const Bindings &args = {}) {
  return evalAll({out}, args)[0];
}

/// Evaluates the symbolic shape of `out` on the same arguments and checks
/// that it is the shape of `result`; also checks the static type fits.
inline void checkShapeInference(const Var &out, const Bindings &args,
                                const NDArray &result) {
  INFO("shape inference of " << out.node()->name() << " giving "
                             << out.type()->str());
  CHECK(typeMismatch(result, out.type()) == "");
  SymShape s = inferNodeShape(*out.node())[out.index()];
  REQUIRE((int)s.size() == result.ndim());
  if (s.empty())
    return;
  for (const Var &d : s) {
    REQUIRE(d.ndim() == 0);
    REQUIRE(d.dtype() == DType::Int64);
  }
  std::vector<NDArray> dims = evalAll(s, args);
  Shape got;
  for (const NDArray &d : dims)
    got.push_back(d.item().toInt());
  CHECK(got == result.shape());
}

/// eval() followed by checkShapeInference() and a dtype check against the
/// Var's type.
inline NDArray evalChecked(const Var &out, const Bindings &args = {}) {
  NDArray r = eval(out, args);
  CHECK(r.dtype() == out.dtype());
  checkShapeInference(out, args, r);
  return r;
}

inline std::vector<double> flat(const NDArray &a) {
  std::vector<double> out;
  for (const Scalar &s : a.values())
    out.push_back(s.toDouble());
  return out;
}

inline std::vector<int64_t> flatInts(const NDArray &a) {
  std::vector<int64_t> out;
  for (const Scalar &s : a.values())
    out.push_back(s.toInt());
  return out;
}

/// Equal within rtol/atol; NaN equals NaN, infinities and the signs of
/// zeros must match exactly.
inline bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want) || std::isnan(got))
    return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got))
    return got == want;
  if (want == 0 && got == 0)
    return std::signbit(got) == std::signbit(want);
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

/// Checks dtype, shape and values (NaN-aware) of `got`.
inline void expectValues(const NDArray &got, DType dtype, const Shape &shape,
                         const std::vector<double> &want, double rtol = 1e-13,
                         double atol = 0) {
  REQUIRE(got.defined());
  CHECK(dtypeName(got.dtype()) == std::string(dtypeName(dtype)));
  REQUIRE(got.shape() == shape);
  std::vector<double> g = flat(got);
  REQUIRE(g.size() == want.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("element " << i << ": got " << g[i] << ", want " << want[i]);
    CHECK(close(g[i], want[i], rtol, atol));
  }
}

/// Checks dtype, shape and exact integer (or bool) values of `got`.
inline void expectInts(const NDArray &got, DType dtype, const Shape &shape,
                       const std::vector<int64_t> &want) {
  REQUIRE(got.defined());
  CHECK(dtypeName(got.dtype()) == std::string(dtypeName(dtype)));
  REQUIRE(got.shape() == shape);
  CHECK(flatInts(got) == want);
}

/// Matches a thjit::Error whose message contains a substring.
class MessageContains : public Catch::MatcherBase<Error> {
public:
  explicit MessageContains(std::string s) : part(std::move(s)) {}
  bool match(const Error &e) const override {
    return std::string(e.what()).find(part) != std::string::npos;
  }
  std::string describe() const override {
    return "has a message containing \"" + part + "\"";
  }

private:
  std::string part;
};

} // namespace thjit::test

/// Checks that EXPR throws KIND (a thjit::Error subclass) whose message
/// contains SUBSTR.
#define CHECK_THROWS_KIND(EXPR, KIND, SUBSTR)                                  \
  CHECK_THROWS_MATCHES(EXPR, KIND, ::thjit::test::MessageContains(SUBSTR))

#endif
