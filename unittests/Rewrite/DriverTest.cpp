//===- DriverTest.cpp - The greedy driver and the pass table --------------===//
#include "RewriteTestUtil.h"

#include <sstream>

using namespace thjit;
using namespace thjit::test;

namespace {

/// neg(neg(x)) -> x, for the driver's tests (canonicalize has its own).
std::vector<Var> dropDoubleNeg(const Node &n, const RewriteContext &) {
  const Node *inner = n.operand(0).node();
  if (inner->kind() == OpKind::Neg)
    return {inner->operand(0)};
  return {};
}

/// Rewrites that undo each other: x * 2 <-> x + x.
std::vector<Var> mulToAdd(const Node &n, const RewriteContext &) {
  const Var &c = n.operand(1);
  if (c.isConstant() && c.ndim() == 0 && c.constantValue().item().toDouble() == 2)
    return {n.operand(0) + n.operand(0)};
  return {};
}
std::vector<Var> addToMul(const Node &n, const RewriteContext &) {
  if (n.operand(0) == n.operand(1))
    return {n.operand(0) * 2.0};
  return {};
}

} // namespace

TEST_CASE("driver: a rewrite applies bottom-up to a fixed point in one round",
          "[rewrite]") {
  Var x = vector("x");
  Var y = x;
  for (int i = 0; i < 100; ++i)
    y = neg(y);
  y = exp(y);
  RewriteSet set({{"neg_neg", {OpKind::Neg}, dropDoubleNeg}});
  Graph g({x}, {y});
  PassStats stats = applyRewrites(g, set, "test", PassOptions());
  // Rebuilt on x, the third neg is the first again (hash-consing), whose
  // rewrite is known: one rewrite does it all.
  CHECK(stats.rewrites == 1);
  CHECK(stats.rounds == 2); // the second confirms nothing changes
  CHECK(!stats.budgetExhausted);
  CHECK(g.outputs()[0] == exp(x));
}

TEST_CASE("driver: rewrites that undo each other stop at the budget, which "
          "is reported",
          "[rewrite]") {
  Var x = vector("x");
  RewriteSet set({{"mul_add", {OpKind::Mul}, mulToAdd},
                  {"add_mul", {OpKind::Add}, addToMul}});
  Graph g({x}, {exp(x * 2.0)});
  PassOptions options;
  options.budgetPerNode = 1;
  options.budgetBase = 10;
  PassStats stats = applyRewrites(g, set, "test", options);
  CHECK(stats.budgetExhausted);
  // The graph still computes the same thing.
  NDArray xs = array(DType::Float64, {2}, {1, 2});
  auto fast = evaluateGraph(g, {xs});
  CHECK(fast[0].values()[1].toDouble() == Approx(std::exp(4.0)));
  // optimizeGraph warns.
  std::ostringstream log;
  options.log = &log;
  options.passes = {"merge"};
  options.extraRewrites = {{"merge", {"mul_add", {OpKind::Mul}, mulToAdd}},
                           {"merge", {"add_mul", {OpKind::Add}, addToMul}}};
  Graph h({x}, {exp(x * 2.0)});
  optimizeGraph(h, options);
  CHECK_THAT(log.str(), Catch::Contains("pass merge stopped after") &&
                            Catch::Contains("budget"));
}

TEST_CASE("driver: nodes a rewrite makes keep the user's name and place",
          "[rewrite]") {
  Var x = vector("x");
  Var y;
  {
    LocationScope here(SourceLoc{"user.th", 3, 7});
    y = sqrt(neg(neg(x)) + 1.0);
    y.setName("y");
  }
  RewriteSet set({{"neg_neg", {OpKind::Neg}, dropDoubleNeg}});
  Graph g({x}, {y});
  applyRewrites(g, set, "test", PassOptions());
  Var out = g.outputs()[0];
  CHECK(out.node()->kind() == OpKind::Sqrt);
  CHECK(out.name() == "y");
  CHECK(out.node()->location().str() == "user.th:3:7");
  CHECK(out.node()->operand(0).node()->location().str() == "user.th:3:7");
}

TEST_CASE("driver: a rewrite's replacement of the wrong type is a "
          "CompileError naming it",
          "[rewrite]") {
  Var x = matrix("x");
  RewriteSet set({{"bad",
                   {OpKind::Exp},
                   [](const Node &n, const RewriteContext &) {
                     return std::vector<Var>{sum(n.operand(0))};
                   }}});
  Graph g({x}, {exp(x)});
  CHECK_THROWS_WITH(applyRewrites(g, set, "test", PassOptions()),
                    Catch::Contains("rewrite bad replaced a value of type "
                                    "f64[?,?] (exp) by one of type f64[]"));
}

TEST_CASE("driver: client counts see every reader", "[rewrite]") {
  Var x = vector("x");
  Var e = exp(x);
  std::vector<int> seen;
  static std::vector<int> *counts;
  counts = &seen;
  RewriteSet set({{"count",
                   {OpKind::Log},
                   [](const Node &n, const RewriteContext &ctx) {
                     counts->push_back(ctx.numClients(n.operand(0)));
                     return std::vector<Var>{};
                   }}});
  Graph g({x}, {log(e) + e, log(exp(x + 1.0))});
  applyRewrites(g, set, "test", PassOptions());
  // One round (nothing changes), each log looked at once.
  REQUIRE(seen.size() == 2);
  CHECK(std::count(seen.begin(), seen.end(), 2) == 1);
  CHECK(std::count(seen.begin(), seen.end(), 1) == 1);
}

TEST_CASE("passes: the table, the modes' pipelines and unknown names",
          "[rewrite]") {
  CHECK(findPass("fuse"));
  CHECK_FALSE(findPass("nope"));
  CHECK(passesForMode("FAST_COMPILE") ==
        std::vector<std::string>{"merge", "canonicalize"});
  CHECK(passesForMode("REFERENCE").empty());
  CHECK(passesForMode("FAST_RUN").size() == passTable().size());
  CHECK_THROWS_WITH(checkPassNames({"merge", "fusion"}, "--passes"),
                    Catch::Contains("unknown pass 'fusion'") &&
                        Catch::Contains("merge, canonicalize"));
  std::string listed = describePasses();
  for (const Pass &p : passTable())
    CHECK_THAT(listed, Catch::Contains(p.name));
}

TEST_CASE("passes: merge makes one node of equal ones after givens",
          "[rewrite]") {
  Var x = vector("x"), y = vector("y");
  Var a = exp(x), b = exp(y);
  FunctionOptions options;
  options.givens = {{y, x}};
  options.mode = "FAST_COMPILE";
  Function f = function({x}, {a + b}, options);
  int exps = 0;
  for (Node *n : f.graph().nodes())
    exps += n->kind() == OpKind::Exp;
  CHECK(exps == 1);
}

TEST_CASE("passes: a long chain is rewritten in linear rounds", "[rewrite]") {
  // 10k nodes: two rounds of the sweep, whatever the length.
  Var x = vector("x");
  Var y = x;
  for (int i = 0; i < 5000; ++i)
    y = neg(neg(y) * 1.5);
  Graph g({x}, {y});
  PassOptions options;
  options.passes = {"merge", "canonicalize", "stabilize", "specialize", "fuse"};
  std::vector<PassStats> stats = optimizeGraph(g, options);
  for (const PassStats &s : stats)
    CHECK(s.rounds <= 3);
  CHECK(countOps(g) >= 1);
}
