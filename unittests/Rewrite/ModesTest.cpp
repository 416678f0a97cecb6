//===- ModesTest.cpp - FAST_COMPILE, DEBUG, NANGUARD, PROFILE -------------===//
#include "RewriteTestUtil.h"

#include <cmath>
#include <cstdlib>

using namespace thjit;
using namespace thjit::test;

namespace {

/// A deliberately wrong rewrite: exp(x) -> x + 1 (only near 0).
std::vector<Var> wrongExp(const Node &n, const RewriteContext &) {
  return {n.operand(0) + 1.0};
}

Function compileIn(const std::string &mode, const std::vector<Var> &inputs,
                   const std::vector<Var> &outputs,
                   std::vector<std::pair<std::string, Rewrite>> extra = {}) {
  FunctionOptions options;
  options.mode = mode;
  options.extraRewrites = std::move(extra);
  return function(inputs, outputs, options);
}

} // namespace

TEST_CASE("DEBUG mode names a wrong rewrite with the node before and after",
          "[rewrite][modes]") {
  Var x = vector("x");
  Var y;
  {
    LocationScope here(SourceLoc{"user.th", 4, 9});
    y = exp(x) * 2.0;
  }
  Function f = compileIn("DEBUG", {x}, {y},
                         {{"canonicalize", {"wrong_exp", {OpKind::Exp}, wrongExp}}});
  // Where the rewrite happens to be right, the call succeeds.
  CHECK(f({array(DType::Float64, {1}, {0})})[0].values()[0].toDouble() == 2);
  try {
    f({array(DType::Float64, {2}, {0, 1})});
    FAIL("DEBUG mode did not catch the wrong rewrite");
  } catch (const AssertionError &e) {
    std::string m = e.what();
    CHECK_THAT(m, Catch::Contains("rewrite wrong_exp (pass canonicalize) "
                                  "changed a value"));
    CHECK_THAT(m, Catch::Contains("before: exp(x)"));
    CHECK_THAT(m, Catch::Contains("after:  add(x, 1.0)"));
    CHECK_THAT(m, Catch::Contains("user.th:4:9"));
  }
  // The same function without the wrong rewrite passes every check.
  Function g = compileIn("DEBUG", {x}, {y});
  NDArray out = g({array(DType::Float64, {2}, {0, 1})})[0];
  CHECK(out.values()[1].toDouble() == Approx(2 * std::exp(1.0)));
}

TEST_CASE("DEBUG mode leaves shared variables alone when a check fails",
          "[rewrite][modes]") {
  Var x = vector("x");
  Var acc = shared(array(DType::Float64, {2}, {5, 5}), "acc");
  FunctionOptions options;
  options.mode = "DEBUG";
  options.updates = {{acc, acc + exp(x)}};
  options.extraRewrites = {{"canonicalize", {"wrong_exp", {OpKind::Exp}, wrongExp}}};
  Function f = function({x}, {}, options);
  CHECK_THROWS_AS(f({array(DType::Float64, {2}, {1, 2})}), AssertionError);
  CHECK(acc.getValue().values()[0].toDouble() == 5);
}

TEST_CASE("DEBUG mode accepts the rewrites of every pass on a training "
          "graph",
          "[rewrite][modes]") {
  Var X = matrix("X"), t = vector("t");
  Var w = shared(array(DType::Float64, {3}, {0.1, -0.2, 0.3}), "w");
  Var p = sigmoid(dot(X, w));
  Var cost = mean(-t * log(p) - (1.0 - t) * log(1.0 - p)) +
             0.01 * sum(w * w);
  Var gw = grad(cost, w);
  FunctionOptions options;
  options.mode = "DEBUG";
  options.updates = {{w, w - 0.1 * gw}};
  Function f = function({X, t}, {cost}, options);
  NDArray xs = iota(DType::Float64, {4, 3}, -1, 0.25);
  NDArray ts = array(DType::Float64, {4}, {0, 1, 1, 0});
  double first = f({xs, ts})[0].item().toDouble();
  double second = f({xs, ts})[0].item().toDouble();
  CHECK(second < first);
}

TEST_CASE("NANGUARD mode names the first node making a NaN or infinity",
          "[rewrite][modes]") {
  Var x = vector("x");
  Var y;
  {
    LocationScope here(SourceLoc{"user.th", 2, 5});
    y = log(x);
  }
  Var z;
  {
    LocationScope here(SourceLoc{"user.th", 3, 5});
    z = exp(y * 2.0) + 1.0;
  }
  Function f = compileIn("NANGUARD", {x}, {z});
  CHECK(f({array(DType::Float64, {2}, {1, 2})})[0].values()[1].toDouble() ==
        Approx(5));
  CHECK_THROWS_WITH(f({array(DType::Float64, {2}, {1, -1})}),
                    Catch::Contains("NANGUARD: log produced nan at flat index "
                                    "1") &&
                        Catch::Contains("user.th:2:5"));
  CHECK_THROWS_WITH(f({array(DType::Float64, {2}, {0, 1})}),
                    Catch::Contains("log produced -inf at flat index 0"));
  CHECK_THROWS_WITH(f({array(DType::Float64, {1}, {test::kNaN})}),
                    Catch::Contains("input 'x' holds nan"));
  // Overflow: the user's exp is named (NANGUARD does not fuse).
  CHECK_THROWS_WITH(f({array(DType::Float64, {1}, {1e200})}),
                    Catch::Contains("exp produced inf") &&
                        Catch::Contains("user.th:3:5"));
}

TEST_CASE("PROFILE mode times every node and every pass",
          "[rewrite][modes]") {
  Var x = matrix("x", DType::Float32);
  Var w = shared(iota(DType::Float32, {4, 4}, 0, 0.1), "w");
  Var y = sum(tanh(dot(x, w)) * 2.0f);
  Function f = compileIn("PROFILE", {x}, {y});
  for (int i = 0; i < 3; ++i)
    f({iota(DType::Float32, {2, 4})});
  std::string report = f.profileReport();
  CHECK_THAT(report, Catch::Contains("Profile of function f: 3 calls"));
  CHECK_THAT(report, Catch::Contains("per node:"));
  CHECK_THAT(report, Catch::Contains("per op:"));
  CHECK_THAT(report, Catch::Contains("dot"));
  CHECK_THAT(report, Catch::Contains("runtime  dot"));
  CHECK_THAT(report, Catch::Contains("loop     sum"));
  for (const Pass &p : passTable())
    CHECK_THAT(report, Catch::Contains(std::string(p.name) + " "));
  CHECK_THAT(report, Catch::Contains("code generation"));
  Function plain = compileIn("FAST_RUN", {x}, {y});
  CHECK_THROWS_AS(plain.profileReport(), ValueError);
}

TEST_CASE("modes: FAST_COMPILE rewrites little; THJIT_MODE is the default",
          "[rewrite][modes]") {
  Var x = vector("x");
  Var y = exp(x) * 2.0 + 1.0;
  Function fast = compileIn("FAST_COMPILE", {x}, {y});
  CHECK(fast.mode() == "FAST_COMPILE");
  CHECK_FALSE(contains(fast.graph(), OpKind::Composite));
  CHECK(fast.passStats().size() == 2);
  Function run = compileIn("", {x}, {y});
  CHECK(run.mode() == "FAST_RUN");
  CHECK(contains(run.graph(), OpKind::Composite));
  CHECK_FALSE(contains(run.sourceGraph(), OpKind::Composite));
  ::setenv("THJIT_MODE", "FAST_COMPILE", 1);
  Function env = compileIn("", {x}, {y});
  ::setenv("THJIT_MODE", "FAST", 1);
  CHECK_THROWS_WITH(compileIn("", {x}, {y}),
                    Catch::Contains("unknown mode 'FAST' (from THJIT_MODE)"));
  ::unsetenv("THJIT_MODE");
  CHECK(env.mode() == "FAST_COMPILE");
}
