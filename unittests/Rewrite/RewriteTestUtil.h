//===- RewriteTestUtil.h - Running passes in tests ---------------*- C++ -*-===//
//
// rewrite() runs passes on the graph of some outputs and returns the result;
// printed() prints it; numeric helpers compile a function with the rewrites
// (FAST_RUN) and without (REFERENCE) to compare what each computes.
//
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_REWRITE_REWRITETESTUTIL_H
#define THJIT_UNITTESTS_REWRITE_REWRITETESTUTIL_H

#include "../Ops/OpsTestUtil.h"
#include "thjit/Rewrite/Rewrite.h"
#include "thjit/thjit.h"

#include <catch2/catch.hpp>

namespace thjit::test {

/// The graph of `outputs` over `inputs` after `passes`.
inline Graph rewrite(const std::vector<Var> &inputs,
                     const std::vector<Var> &outputs,
                     const std::vector<std::string> &passes) {
  Graph g(inputs, outputs);
  PassOptions options;
  options.passes = passes;
  optimizeGraph(g, options);
  return g;
}

/// Whether a node of this kind is in the graph.
inline bool contains(const Graph &g, OpKind kind) {
  for (Node *n : g.nodes())
    if (n->kind() == kind)
      return true;
  return false;
}

/// How many non-leaf nodes the graph has.
inline int countOps(const Graph &g) {
  int n = 0;
  for (Node *node : g.nodes())
    n += !node->isLeaf();
  return n;
}

/// The printed graph (title "f").
inline std::string printed(const Graph &g) { return printGraph(g, "f"); }

/// The outputs a function computes in `mode` on `args`.
inline std::vector<NDArray> runIn(const std::string &mode,
                                  const std::vector<Var> &inputs,
                                  const std::vector<Var> &outputs,
                                  const std::vector<NDArray> &args) {
  FunctionOptions options;
  options.mode = mode;
  options.onUnusedInput = OnUnusedInput::Ignore;
  return function(inputs, outputs, options)(args);
}

} // namespace thjit::test

#endif
